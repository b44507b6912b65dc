// Package child starts a local server process (DynamoDB Local, moto_server)
// on a loopback port of our choosing and knows it is listening there itself.
//
// Neither server can bind port 0 and say which port it got (DynamoDB Local
// refuses -port 0), and finding a free port first, closing it and handing
// its number to the child is a race: another process may take the port in
// between, and a readiness probe would then talk to that process instead.
// So Start picks a random port, starts the child on it, and waits until the
// kernel shows a listening socket on that port held by the child itself
// (its /proc fd table); if the child exits first because the port was
// taken, it tries another port.
package child

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec says how to start one server.
type Spec struct {
	Name string // for messages: "DynamoDB Local"
	// Command is the command that serves on port. Start sets its process
	// group, ties it to this process's life and captures its output.
	Command func(port int) *exec.Cmd
	// PortTaken reports whether the output of a child that exited says its
	// port was in use (then another port is tried).
	PortTaken func(output []byte) bool
	// Timeout bounds the wait for one child to listen (60 s when zero:
	// a JVM on a loaded two-core machine takes seconds).
	Timeout time.Duration
	// Logs receives the child's output as it comes; nil discards it (the
	// last lines are kept for errors either way).
	Logs io.Writer
}

// Process is a running child that listens on Port.
type Process struct {
	Port int
	PID  int

	exited chan struct{}
	err    error // Wait's error, once exited is closed
	out    *tail
	once   sync.Once
}

// The ports tried: below Linux's default ephemeral range (32768–60999), so
// the outgoing connections of this machine's clients never hold them.
const (
	lowPort  = 20000
	highPort = 32767
	tries    = 8
)

// pickPort chooses the next port to try (a test chooses its own).
var pickPort = func() int { return lowPort + rand.IntN(highPort-lowPort+1) }

// Start starts the child on a random port until one is its own, or fails.
func Start(ctx context.Context, spec Spec) (*Process, error) {
	if spec.Timeout <= 0 {
		spec.Timeout = 60 * time.Second
	}
	var last error
	for range tries {
		port := pickPort()
		p, taken, err := startOn(ctx, spec, port)
		if err == nil {
			return p, nil
		}
		if !taken {
			return nil, err
		}
		last = err
	}
	return nil, fmt.Errorf("%s: no free port in %d tries: %w", spec.Name, tries, last)
}

func startOn(ctx context.Context, spec Spec, port int) (_ *Process, taken bool, _ error) {
	cmd := spec.Command(port)
	// Its own process group, so Close can stop whatever it forks; killed
	// with this process should this one die without closing it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out := &tail{next: spec.Logs}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	p := &Process{Port: port, PID: cmd.Process.Pid, exited: make(chan struct{}), out: out}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	deadline := time.NewTimer(spec.Timeout)
	defer deadline.Stop()
	// The child needs a moment to listen; a short tick keeps the wait
	// close to its start time without spinning.
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if listening(p.PID, port) {
			return p, false, nil
		}
		select {
		case <-p.exited:
			if spec.PortTaken != nil && spec.PortTaken(out.bytes()) {
				return nil, true, fmt.Errorf("%s: port %d is taken", spec.Name, port)
			}
			return nil, false, fmt.Errorf("%s exited before listening on port %d (%v): %s", spec.Name, port, p.err, out.bytes())
		case <-ctx.Done():
			p.Close()
			return nil, false, fmt.Errorf("waiting for %s: %w", spec.Name, ctx.Err())
		case <-deadline.C:
			p.Close()
			return nil, false, fmt.Errorf("%s did not listen on port %d within %s: %s", spec.Name, port, spec.Timeout, out.bytes())
		case <-tick.C:
		}
	}
}

// Exited is closed once the child has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Output is the last of what the child printed.
func (p *Process) Output() string { return string(p.out.bytes()) }

// Close kills the child's process group and waits until the child is gone.
// It is safe to call more than once.
func (p *Process) Close() {
	p.once.Do(func() {
		select {
		case <-p.exited:
			return // already reaped: its group id may belong to someone else now
		default:
		}
		_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		<-p.exited
	})
}

// CPUSeconds is the CPU time the child has used so far (user and system,
// from /proc/<pid>/stat); ok is false once it is gone.
func (p *Process) CPUSeconds() (seconds float64, ok bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return 0, false
	}
	end := bytes.LastIndexByte(raw, ')')
	if end < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[end+1:]))
	// After the command: state, ppid, …, utime (14th field of the line),
	// stime (15th), in clock ticks (USER_HZ, 100 wherever Go runs Linux).
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100, true
}

// Listening reports whether pid itself holds a listening TCP socket on
// port, as opposed to any process on the machine.
func Listening(pid, port int) bool { return listening(pid, port) }

// Listened reports whether any process listens on TCP port (in this
// process's network namespace).
func Listened(port int) bool {
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if listenerOn(f, port, nil) {
			return true
		}
	}
	return false
}

// listening reports whether pid holds a listening TCP socket on port.
func listening(pid, port int) bool {
	inodes := socketInodes(pid)
	if len(inodes) == 0 {
		return false
	}
	for _, f := range []string{"tcp", "tcp6"} {
		if listenerOn(fmt.Sprintf("/proc/%d/net/%s", pid, f), port, inodes) {
			return true
		}
	}
	return false
}

// socketInodes are the inodes of pid's open sockets ("socket:[123]" links
// in /proc/<pid>/fd).
func socketInodes(pid int) map[string]bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			out[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return out
}

// listenerOn reads a /proc/net/tcp table: a row in state 0A (LISTEN) on
// port whose inode is one of inodes (any, when inodes is nil).
func listenerOn(path string, port int, inodes map[string]bool) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	want := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" || !strings.HasSuffix(fields[1], want) {
			continue
		}
		if inodes == nil || inodes[fields[9]] {
			return true
		}
	}
	return false
}

// tail keeps the last 8 KiB a child printed and passes everything on.
type tail struct {
	mu   sync.Mutex
	buf  []byte
	next io.Writer
}

const tailSize = 8 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailSize:]...)
	}
	next := t.next
	t.mu.Unlock()
	if next != nil {
		_, _ = next.Write(p) // a failing log never stops the child
	}
	return len(p), nil
}

func (t *tail) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.TrimSpace(append([]byte(nil), t.buf...))
}
