package lambdarun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tossintl/backend/tools/internal/child"
)

// RIEPackage is the emulator's command, pinned in go.mod as a tool.
const RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

var (
	rieOnce sync.Once
	rieBin  string
	rieErr  error
)

// RIEBinary builds the pinned aws-lambda-rie once per process and returns
// its path: starting a prebuilt binary costs milliseconds where `go tool`
// would check the build on every environment start. It builds in the
// current directory's module (the repository, for make and go test). The
// binary goes to a fixed place in the user's cache, written under a
// temporary name and renamed, so concurrent test processes neither leak
// copies nor replace a file another one is executing.
func RIEBinary(ctx context.Context) (string, error) {
	rieOnce.Do(func() {
		rieBin, rieErr = buildRIE(ctx)
	})
	return rieBin, rieErr
}

func buildRIE(ctx context.Context) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "lambdarun")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("aws-lambda-rie: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "aws-lambda-rie-*.tmp")
	if err != nil {
		return "", fmt.Errorf("aws-lambda-rie: %w", err)
	}
	_ = tmp.Close()
	defer os.Remove(tmp.Name())
	// A build that hangs (a module download, say) must not hang every caller.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp.Name(), RIEPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", RIEPackage, err, out)
	}
	bin := filepath.Join(dir, "aws-lambda-rie")
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", fmt.Errorf("aws-lambda-rie: %w", err)
	}
	return bin, nil
}

// environment is one execution environment: an RIE process, and the
// bootstrap it starts and restarts.
type environment struct {
	f          *Function
	cmd        *exec.Cmd
	pid        int
	url        string // RIE's invocation endpoint
	outP, errP *logPipe
	exited     chan struct{} // closed once RIE has been reaped

	mu        sync.Mutex
	killed    bool
	current   string        // request id of the running invocation
	started   chan struct{} // closed at RIE's INVOKE START of current
	init      time.Duration // last INIT REPORT since the invocation began
	failure   string        // last "… failed … error=" RIE logged since then
	bootstrap int           // the bootstrap that served the last invocation
}

// RIE's log lines this layer reads (its stderr, log level info).
var (
	reInitReport  = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	reInvokeStart = regexp.MustCompile(`INVOKE START\(requestId: ([^)]+)\)`)
	reFailed      = regexp.MustCompile(`\b(?:Init|Invoke) failed\b.*?\berror=(.+?)(?: InvokeID=\S*)?$`)
	reTimedOut    = regexp.MustCompile(`^Task timed out after [0-9.]+ seconds$`)
)

// newEnv starts an RIE process and waits until it accepts invocations.
func (f *Function) newEnv(ctx context.Context) (*environment, error) {
	// Free ports are picked, then bound by RIE (it takes addresses, not
	// sockets, and reports no port of its choosing): another process may
	// bind one in between, so a start whose RIE did not get its ports is
	// tried again with new ones.
	for attempt := 1; ; attempt++ {
		e, err := f.startRIE(ctx)
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return e, err
		}
	}
}

func (f *Function) startRIE(ctx context.Context) (*environment, error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, fmt.Errorf("lambdarun: %s: %w", f.cfg.Name, err)
	}
	apiAddr, invokeAddr := "127.0.0.1:"+ports[0], "127.0.0.1:"+ports[1]
	e := &environment{f: f, url: "http://" + invokeAddr + "/2015-03-31/functions/function/invocations", exited: make(chan struct{})}
	var prefix []byte
	if f.cfg.LogPrefix {
		prefix = []byte("[" + f.cfg.Name + "] ")
	}
	if e.outP, err = newLogPipe(f.stdout, prefix, nil); err != nil {
		return nil, err
	}
	if e.errP, err = newLogPipe(f.stderr, prefix, e.rieLine); err != nil {
		e.outP.close()
		return nil, err
	}
	cmd := exec.Command(f.rie, "--log-level", "info",
		"--runtime-api-address", apiAddr, "--runtime-interface-emulator-address", invokeAddr, f.cfg.Bootstrap)
	cmd.Dir = filepath.Dir(f.cfg.Bootstrap)
	cmd.Env = f.baseEnv
	cmd.Stdout, cmd.Stderr = e.outP.w, e.errP.w
	// Pdeathsig: RIE does not outlive this process, even if it is killed.
	// (RIE puts the bootstrap in a process group of its own; a bootstrap
	// orphaned that way exits when its Runtime API goes.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		e.outP.close()
		e.errP.close()
		return nil, fmt.Errorf("lambdarun: %s: start %s: %w", f.cfg.Name, f.rie, err)
	}
	e.cmd, e.pid = cmd, cmd.Process.Pid

	f.mu.Lock()
	closed = f.closed
	if !closed {
		f.all[e] = struct{}{}
		f.wg.Add(1)
	}
	f.mu.Unlock()
	if closed {
		// Close ran while this RIE started: it did not see it.
		e.kill()
		e.reap()
		return nil, ErrClosed
	}
	go func() {
		defer f.wg.Done()
		e.reap()
		f.mu.Lock()
		delete(f.all, e)
		f.mu.Unlock()
	}()
	if err := e.waitListening(ctx, ports); err != nil {
		e.kill()
		<-e.exited
		return nil, fmt.Errorf("lambdarun: %s: %w", f.cfg.Name, err)
	}
	return e, nil
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ports := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a port for RIE: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	return ports, nil
}

// errPortTaken: a port freePorts chose was taken before RIE bound it (by
// another RIE starting at the same moment, say), so that another process
// holds it or RIE exited on its failed bind. newEnv tries again with new
// ports.
var errPortTaken = errors.New("a port chosen for aws-lambda-rie was taken before it bound it")

// waitListening waits until RIE accepts on both its ports (its Runtime
// API, its invocation endpoint) and then checks, once, that the sockets
// are its own, RIE exits, or InitTimeout passes. freePorts' ports were
// free a moment ago: with environments starting side by side another RIE
// can take one first, and a dial alone would then reach that RIE while
// this one's bootstrap found no Runtime API. (Dials, not the kernel's
// socket tables, while waiting: on a busy machine the tables hold
// thousands of connections, and reading them every few milliseconds was
// most of the local stack's own CPU under load.)
func (e *environment) waitListening(ctx context.Context, ports []string) error {
	deadline := time.Now().Add(e.f.cfg.InitTimeout)
	for {
		accepting := 0
		for _, p := range ports {
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, 100*time.Millisecond)
			if err == nil {
				_ = c.Close()
				accepting++
			}
		}
		if accepting == len(ports) {
			for _, p := range ports {
				if n, _ := strconv.Atoi(p); !child.Listening(e.pid, n) {
					return fmt.Errorf("%w (port %s)", errPortTaken, p)
				}
			}
			return nil
		}
		select {
		case <-e.exited:
			return fmt.Errorf("%w: aws-lambda-rie exited before listening on ports %v (%v); see its log", errPortTaken, ports, e.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("waiting for aws-lambda-rie: %w", ctx.Err())
		case <-e.f.done:
			return ErrClosed
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("aws-lambda-rie did not listen on ports %v within %s", ports, e.f.cfg.InitTimeout)
		}
	}
}

// rieLine reads RIE's own log as it passes to Stderr.
func (e *environment) rieLine(line []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := reInitReport.FindSubmatch(line); m != nil {
		if ms, err := strconv.ParseFloat(string(m[1]), 64); err == nil {
			e.init = time.Duration(ms * float64(time.Millisecond))
		}
	} else if m := reInvokeStart.FindSubmatch(line); m != nil {
		if e.started != nil && string(m[1]) == e.current {
			close(e.started)
			e.started = nil
		}
	} else if m := reFailed.FindSubmatch(line); m != nil {
		e.failure = string(m[1])
	}
}

// reap waits for RIE, then releases everything tied to it. Its output is
// drained before exited closes.
func (e *environment) reap() {
	_ = e.cmd.Wait()
	e.outP.close()
	e.errP.close()
	close(e.exited)
}

// alive reports whether RIE runs and has not been condemned.
func (e *environment) alive() bool {
	e.mu.Lock()
	killed := e.killed
	e.mu.Unlock()
	if killed {
		return false
	}
	select {
	case <-e.exited:
		return false
	default:
		return true
	}
}

// kill ends the environment: its bootstraps first, while RIE still runs to
// reap them, then RIE (SIGKILL, as Lambda ends an environment: no grace
// period). It does not wait; <-e.exited does.
func (e *environment) kill() {
	e.mu.Lock()
	e.killed = true
	e.mu.Unlock()
	select {
	case <-e.exited:
		return
	default:
	}
	pids := e.bootstraps()
	e.killBootstraps()
	// Until RIE has reaped them: a child still a zombie when RIE dies is
	// left to whatever reaps orphans here. Bounded: RIE's supervisor waits
	// on its children, so it takes milliseconds.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if !anyExists(pids) {
			break
		}
	}
	_ = e.cmd.Process.Kill()
}

// bootstraps lists RIE's live child processes: the bootstrap (RIE runs no
// extensions here, so it is the only one).
func (e *environment) bootstraps() []int {
	select {
	case <-e.exited:
		return nil
	default:
	}
	return children(e.pid)
}

// killBootstraps SIGKILLs every bootstrap of this environment with its
// process group (RIE gives each one its own), and returns how many once
// they have exited: a signal lands asynchronously, and an invocation sent
// right after a kill must find the environment already broken (and so
// replaced), not crash when the signal lands. Bounded: SIGKILL takes
// milliseconds.
func (e *environment) killBootstraps() int {
	pids := e.bootstraps()
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		running := false
		for _, pid := range pids {
			running = running || processRunning(pid)
		}
		if !running {
			break
		}
	}
	return len(pids)
}

// lostBootstrap returns the pid of the bootstrap that served the last
// invocation if it has died since, 0 otherwise.
func (e *environment) lostBootstrap() int {
	e.mu.Lock()
	pid := e.bootstrap
	e.mu.Unlock()
	if pid != 0 && !processRunning(pid) {
		return pid
	}
	return 0
}

// invoke runs one invocation on this environment. keep is false when the
// environment must not be used again (RIE died or stopped answering).
func (e *environment) invoke(id string, event []byte) (res Result, keep bool) {
	f := e.f
	res.RequestID = id
	started := make(chan struct{})
	e.mu.Lock()
	e.current, e.started, e.init, e.failure = id, started, 0, ""
	e.mu.Unlock()
	f.mu.Lock()
	f.running[id] = e
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.running, id)
		f.mu.Unlock()
	}()

	// RIE enforces the timeout (init included); this bound only catches an
	// RIE that stopped answering altogether.
	ctx, cancel := context.WithTimeout(context.Background(), 2*f.cfg.Timeout+f.cfg.InitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(event))
	if err != nil {
		res.Error = &FunctionError{Type: ErrorTypeExit, Message: err.Error()}
		return res, false
	}
	req.Header.Set("X-Amzn-RequestId", id)
	req.Header.Set("X-Amzn-Trace-Id", newTraceID())
	type answer struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan answer, 1)
	begin := time.Now()
	go func() {
		resp, err := f.client.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
		answered <- answer{resp.StatusCode, body, err}
	}()
	var a answer
	var serving []int // the bootstrap RIE handed the event to
	select {
	case a = <-answered:
	case <-started:
		serving = e.liveChildren()
		if f.cfg.OnInvoke != nil {
			f.cfg.OnInvoke(id)
		}
		a = <-answered
	}
	wall := time.Since(begin)
	// Everything RIE and the bootstrap wrote before the answer is now in
	// the pipes: forward it, and read RIE's INIT REPORT and failure lines.
	e.outP.sync()
	e.errP.sync()
	e.mu.Lock()
	res.Init = e.init
	failure := e.failure
	e.current, e.started = "", nil
	e.mu.Unlock()
	res.Duration = max(wall-res.Init, 0)

	keep = true
	switch {
	case a.err != nil:
		keep = false
		select {
		case <-e.exited:
			res.Error = &FunctionError{Type: ErrorTypeExit, Message: fmt.Sprintf(
				"RequestId: %s Error: aws-lambda-rie exited (%v)", id, e.cmd.ProcessState)}
		default:
			if ctx.Err() != nil {
				f.logf("aws-lambda-rie %d gave no answer to %s within %s; replacing it", e.pid, id, 2*f.cfg.Timeout+f.cfg.InitTimeout)
			}
			res.Error = &FunctionError{Type: ErrorTypeExit, Message: fmt.Sprintf(
				"RequestId: %s Error: aws-lambda-rie: %v", id, a.err)}
		}
	case a.status == http.StatusOK && reTimedOut.Match(a.body):
		// RIE answers a timeout with 200 and this text; it has killed the
		// bootstrap and starts a new one on the next invocation.
		res.Error = &FunctionError{Type: ErrorTypeTimeout, Message: fmt.Sprintf(
			"RequestId: %s Error: Task timed out after %.2f seconds", id, f.cfg.Timeout.Seconds())}
		f.logf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), id, f.cfg.Timeout.Seconds())
	case a.status == http.StatusOK && len(a.body) > MaxResponseBytes:
		// RIE does not enforce Lambda's response limit.
		res.Error = &FunctionError{Type: ErrorTypeResponseTooLarge, Message: fmt.Sprintf(
			"Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseBytes)}
	case a.status == http.StatusOK:
		if fe := runtimeError(a.body); fe != nil {
			res.Error = fe
		} else {
			res.Payload = a.body
		}
	default:
		// 502: a crash (RIE's Runtime.ExitError), a panic reported before
		// the exit, a failed init (its init/error, or nothing when the
		// bootstrap just exited: RIE's log says why).
		res.Error = parseFunctionError(a.body)
		if res.Error == nil {
			msg := failure
			if msg == "" {
				msg = fmt.Sprintf("aws-lambda-rie answered %d with no body; see its log", a.status)
			}
			res.Error = &FunctionError{Type: ErrorTypeExit, Message: fmt.Sprintf("RequestId: %s Error: %s", id, msg)}
		}
	}
	// Which bootstrap stays warm, for acquire's check that it still lives.
	// After a crash or a timeout RIE starts a new one by itself on the next
	// invocation; otherwise it is the one that answered, even if it has
	// died since (then this environment is replaced).
	bootstrap := 0
	if a.err == nil && a.status == http.StatusOK && (res.Error == nil || !res.Error.Timeout()) {
		if pids := e.liveChildren(); len(pids) > 0 {
			bootstrap = pids[0]
		} else if len(serving) > 0 {
			bootstrap = serving[0]
		}
	}
	e.mu.Lock()
	e.bootstrap = bootstrap
	e.mu.Unlock()
	return res, keep
}

// runtimeError recognises a function error in a 200 answer. RIE drops the
// X-Amz-Function-Error header Lambda would send, so the error document the
// runtime posted (errorType/errorMessage, optional stackTrace, nothing
// else) is known by its shape; a success payload of exactly that shape
// would be taken for an error, as a Lambda client without the header would.
func runtimeError(body []byte) *FunctionError {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil || doc == nil {
		return nil
	}
	for k := range doc {
		if k != "errorType" && k != "errorMessage" && k != "stackTrace" {
			return nil
		}
	}
	return parseFunctionError(body)
}

// parseFunctionError reads the runtime's error JSON, nil if body is not one.
func parseFunctionError(body []byte) *FunctionError {
	var fe FunctionError
	if err := json.Unmarshal(body, &fe); err != nil || fe.Type == "" && fe.Message == "" {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil
		}
		return &FunctionError{Type: "Unhandled", Message: strings.TrimSpace(string(body))}
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return &fe
}

// children lists the live child processes of pid, from /proc (ppid is the
// fourth field of /proc/<pid>/stat). It reads a file per process on the
// machine: invocations use liveChildren, which rarely needs it.
func children(ppid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	// A child is newer than its parent, and so, until pids wrap around,
	// numbered above it: those first, the rest only if none is found.
	for _, newer := range []bool{true, false} {
		for _, ent := range ents {
			pid, err := strconv.Atoi(ent.Name())
			if err != nil || (pid > ppid) != newer {
				continue
			}
			if childOf(pid, ppid) {
				pids = append(pids, pid)
			}
		}
		if len(pids) > 0 {
			break
		}
	}
	return pids
}

// childOf reports whether pid is a live (not zombie) child of ppid.
func childOf(pid, ppid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
		return false
	}
	switch fields[0] {
	case "Z", "X", "x":
		return false // exited, not yet reaped
	}
	return true
}

// liveChildren is children(e.pid) at the cost of one file read in the
// common case: the bootstrap that served the last invocation, while it is
// still RIE's live child (RIE runs one bootstrap and no extensions here),
// else the scan. Scanning at every invocation read a file per process on
// the machine, and on a busy shared machine that was three quarters of
// the local stack's own CPU under load (make capacity's CPU profile).
func (e *environment) liveChildren() []int {
	e.mu.Lock()
	last := e.bootstrap
	e.mu.Unlock()
	if last > 0 && childOf(last, e.pid) {
		return []int{last}
	}
	return children(e.pid)
}

// anyExists reports whether any of pids is still a process, zombies
// included.
func anyExists(pids []int) bool {
	for _, pid := range pids {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			return true
		}
	}
	return false
}

// processRunning reports whether pid is a process that has not exited
// (killed but not yet reaped reads as exited).
func processRunning(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return true
	}
	switch b[i+2] {
	case 'Z', 'X', 'x':
		return false
	}
	return true
}
