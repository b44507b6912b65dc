// Package child starts a local server process (DynamoDB Local, moto_server)
// on a loopback port and knows it is listening there itself.
//
// A server that can bind port 0 and print the port it got (moto_server)
// is started so, and its port read from its output: no other process can
// hold that port. One that cannot (DynamoDB Local refuses -port 0) is
// started on a random port, and Start waits until the kernel shows a
// listening socket on that port held by the child itself (its /proc fd
// table); if the child exits first because the port was taken, it tries
// another port. (Finding a free port first, closing it and handing its
// number to the child is a race: another process may take the port in
// between, and a readiness probe would then talk to that process instead.)
package child

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tossintl/backend/internal/procnet"
	"github.com/tossintl/backend/internal/wait"
)

// Spec says how to start one server.
type Spec struct {
	Name string // for messages: "DynamoDB Local"
	// Command is the command that serves on port. Start sets its process
	// group, ties it to this process's life and captures its output.
	Command func(port int) *exec.Cmd
	// ReportedPort, when set, reads the port a child started on port 0
	// says it bound from its output so far (0 until it has said). Start
	// then starts the child once, on port 0.
	ReportedPort func(output []byte) int
	// PortTaken reports whether the output of a child that exited says its
	// port was in use (then another port is tried). Not used with
	// ReportedPort.
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
	if spec.ReportedPort != nil {
		p, _, err := startOn(ctx, spec, 0)
		return p, err
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
	// Listening on its port, or (started on port 0) on the port it said.
	listens := func() (bool, error) {
		select {
		case <-p.exited:
			return false, errExited
		default:
		}
		if p.Port == 0 {
			if p.Port = spec.ReportedPort(out.bytes()); p.Port == 0 {
				return false, nil
			}
		}
		return procnet.Listening(p.PID, p.Port), nil
	}
	err := wait.Until(ctx, spec.Timeout, listens)
	switch {
	case err == nil:
		return p, false, nil
	case errors.Is(err, errExited):
		if spec.PortTaken != nil && spec.PortTaken(out.bytes()) {
			return nil, true, fmt.Errorf("%s: port %d is taken", spec.Name, port)
		}
		return nil, false, fmt.Errorf("%s exited before listening on %s (%v): %s", spec.Name, portName(p.Port), p.err, out.bytes())
	case errors.Is(err, wait.ErrTimeout):
		p.Close()
		return nil, false, fmt.Errorf("%s did not listen on %s within %s: %s", spec.Name, portName(p.Port), spec.Timeout, out.bytes())
	default:
		p.Close()
		return nil, false, fmt.Errorf("waiting for %s: %w", spec.Name, err)
	}
}

// errExited: the child exited before it listened.
var errExited = errors.New("exited")

func portName(port int) string {
	if port == 0 {
		return "the port it was to report"
	}
	return fmt.Sprintf("port %d", port)
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
func Listening(pid, port int) bool { return procnet.Listening(pid, port) }

// Listened reports whether any process listens on TCP port (in this
// process's network namespace).
func Listened(port int) bool { return procnet.Listened(port) }

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
