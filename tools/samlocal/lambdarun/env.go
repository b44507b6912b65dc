package lambdarun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Headers and trailers of the Runtime API, as aws-lambda-go and the other
// runtime clients use them.
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody  = "Lambda-Runtime-Function-Error-Body"
	maxErrorBytes     = 1 << 20
)

// invocation is one event on its way through a process.
type invocation struct {
	id       string
	event    []byte
	deadline time.Time // set before the hand-over, read by the /next handler
	taken    chan bool // the /next handler's reply to a hand-over: delivered or not

	once     sync.Once
	done     chan struct{}
	payload  []byte
	ferr     *FunctionError
	answered atomic.Bool // the process posted a response or an error
}

// finish records the outcome once; later answers (a response after the
// timeout, say) are refused, as Lambda refuses them.
func (inv *invocation) finish(payload []byte, fe *FunctionError) bool {
	first := false
	inv.once.Do(func() {
		inv.payload, inv.ferr = payload, fe
		close(inv.done)
		first = true
	})
	return first
}

// execEnv is one execution environment: a bootstrap process and the Runtime
// API endpoint only it talks to.
type execEnv struct {
	f          *Function
	cmd        *exec.Cmd
	pid        int
	srv        *http.Server
	outP, errP *logPipe

	invokes    chan *invocation // unbuffered: taken by the process's GET …/next
	ready      chan struct{}    // closed at the first GET …/next
	readyOnce  sync.Once
	initFailed chan struct{} // closed when the process posts …/init/error
	initOnce   sync.Once
	initErr    *FunctionError
	exited     chan struct{} // closed once the process has been reaped
	exitErr    error
	stop       chan struct{} // closed on exit, releasing blocked handlers
	stopOnce   sync.Once

	mu      sync.Mutex
	current *invocation
	killed  bool
}

// newEnv starts a process with its own Runtime API endpoint.
func (f *Function) newEnv() (*execEnv, error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdarun: %s: runtime API listener: %w", f.cfg.Name, err)
	}
	e := &execEnv{
		f:          f,
		invokes:    make(chan *invocation),
		ready:      make(chan struct{}),
		initFailed: make(chan struct{}),
		exited:     make(chan struct{}),
		stop:       make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", e.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", e.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", e.invocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", e.initError)
	// Connection noise from killed processes is expected; keep it out of the logs.
	e.srv = &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = e.srv.Serve(ln) }()

	var prefix []byte
	if f.cfg.LogPrefix {
		prefix = []byte("[" + f.cfg.Name + "] ")
	}
	outP, err := newLogPipe(f.stdout, prefix)
	if err != nil {
		_ = e.srv.Close()
		return nil, err
	}
	errP, err := newLogPipe(f.stderr, prefix)
	if err != nil {
		outP.close()
		_ = e.srv.Close()
		return nil, err
	}
	e.outP, e.errP = outP, errP
	cmd := exec.Command(f.cfg.Bootstrap)
	cmd.Dir = filepath.Dir(f.cfg.Bootstrap)
	cmd.Env = append(slices.Clone(f.baseEnv), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	cmd.Stdout, cmd.Stderr = outP.w, errP.w
	// Own process group, so a kill takes anything the bootstrap started;
	// Pdeathsig, so nothing outlives this process even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		outP.close()
		errP.close()
		_ = e.srv.Close()
		return nil, fmt.Errorf("lambdarun: %s: start %s: %w", f.cfg.Name, f.cfg.Bootstrap, err)
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
		// Close ran while this process started: it did not see it.
		e.kill()
		e.reap()
		return nil, ErrClosed
	}
	go func() {
		defer f.wg.Done()
		e.reap()
		f.mu.Lock()
		delete(f.all, e)
		f.idle = slices.DeleteFunc(f.idle, func(x *execEnv) bool { return x == e })
		f.mu.Unlock()
	}()
	return e, nil
}

// reap waits for the process, then releases everything tied to it. Its
// output is drained before exited closes, so an exit's last words are
// logged before the invocation it ended returns.
func (e *execEnv) reap() {
	err := e.cmd.Wait()
	// Lambda ends the whole environment when its runtime exits: take any
	// child the bootstrap left behind (they would hold the log pipes).
	_ = syscall.Kill(-e.pid, syscall.SIGKILL)
	e.outP.close()
	e.errP.close()
	e.exitErr = err
	close(e.exited)
	e.stopOnce.Do(func() { close(e.stop) })
	_ = e.srv.Close()
	e.mu.Lock()
	killed, busy := e.killed, e.current != nil && !e.current.answered.Load()
	e.mu.Unlock()
	select {
	case <-e.ready:
		if !killed && !busy {
			e.f.logf("process %d exited between invocations (%s); the next invocation starts a new one", e.pid, exitText(err))
		}
	default:
	}
}

// alive reports whether the process runs and has not been condemned.
func (e *execEnv) alive() bool {
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

// kill sends SIGKILL to the process group (as Lambda ends an environment:
// no grace period). It does not wait; <-e.exited does.
func (e *execEnv) kill() {
	e.mu.Lock()
	e.killed = true
	e.mu.Unlock()
	select {
	case <-e.exited:
		return
	default:
	}
	_ = syscall.Kill(-e.pid, syscall.SIGKILL)
	_ = e.cmd.Process.Kill()
}

// waitReady waits until a new process asks for its first event. reqID names
// the invocation that waits, for the error message ("" at Start).
func (e *execEnv) waitReady(ctx context.Context, reqID string) *FunctionError {
	timer := time.NewTimer(e.f.cfg.InitTimeout)
	defer timer.Stop()
	prefix := ""
	if reqID != "" {
		prefix = "RequestId: " + reqID + " Error: "
	}
	select {
	case <-e.ready:
		return nil
	case <-e.initFailed:
		e.kill()
		<-e.exited
		return e.initErr
	case <-e.exited:
		select {
		case <-e.initFailed:
			return e.initErr
		default:
		}
		return &FunctionError{Type: ErrorTypeExit, Message: fmt.Sprintf(
			"%sRuntime exited with error: %s (during init, before asking for its first event; see its log)", prefix, exitText(e.exitErr))}
	case <-timer.C:
		e.kill()
		<-e.exited
		return &FunctionError{Type: ErrorTypeInit, Message: fmt.Sprintf(
			"%sinit did not finish within %s: the process never asked for its first event", prefix, e.f.cfg.InitTimeout)}
	case <-ctx.Done():
		e.kill()
		<-e.exited
		return &FunctionError{Type: ErrorTypeInit, Message: prefix + ctx.Err().Error()}
	case <-e.f.done:
		return &FunctionError{Type: ErrorTypeInit, Message: prefix + ErrClosed.Error()}
	}
}

// invoke hands inv to the process and waits for its answer, its death or
// its deadline. delivered is false when the process died before taking
// the event, so the caller may use another one.
func (e *execEnv) invoke(inv *invocation) (res Result, delivered bool, err error) {
	f := e.f
	res.RequestID = inv.id
	inv.deadline = time.Now().Add(f.cfg.Timeout)
	select {
	case e.invokes <- inv:
	case <-e.exited:
		return res, false, nil
	case <-f.done:
		return res, false, ErrClosed
	}
	if !<-inv.taken {
		return res, false, nil
	}
	start := time.Now()
	f.mu.Lock()
	f.running[inv.id] = e
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.running, inv.id)
		f.mu.Unlock()
	}()
	f.logf("START RequestId: %s Version: $LATEST", inv.id)
	if f.cfg.OnInvoke != nil {
		f.cfg.OnInvoke(inv.id)
	}

	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case <-inv.done:
	case <-e.exited:
		// An answer that arrived just before the exit still counts.
		inv.finish(nil, &FunctionError{Type: ErrorTypeExit, Message: fmt.Sprintf(
			"RequestId: %s Error: Runtime exited with error: %s", inv.id, exitText(e.exitErr))})
	case <-timer.C:
		if inv.finish(nil, &FunctionError{Type: ErrorTypeTimeout, Message: fmt.Sprintf(
			"RequestId: %s Error: Task timed out after %.2f seconds", inv.id, f.cfg.Timeout.Seconds())}) {
			e.kill()
			<-e.exited
			f.logf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, f.cfg.Timeout.Seconds())
		}
	case <-f.done:
		e.kill()
		return res, true, ErrClosed
	}
	res.Duration = time.Since(start)
	res.Payload, res.Error = inv.payload, inv.ferr
	e.outP.sync()
	e.errP.sync()
	f.logf("END RequestId: %s", inv.id)
	f.logf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB%s",
		inv.id, float64(res.Duration.Microseconds())/1000, int64(math.Ceil(float64(res.Duration.Microseconds())/1000)),
		f.cfg.MemoryMB, maxMemory(e.pid))
	return res, true, nil
}

// maxMemory is the process's peak resident memory, for the REPORT line.
func maxMemory(pid int) string {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				return ""
			}
			return fmt.Sprintf("\tMax Memory Used: %d MB", (kb+1023)/1024)
		}
	}
	return ""
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

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// next is GET /2018-06-01/runtime/invocation/next: it blocks until an event
// is handed over, as in Lambda, where a process is frozen between events.
func (e *execEnv) next(w http.ResponseWriter, r *http.Request) {
	e.readyOnce.Do(func() { close(e.ready) })
	select {
	case inv := <-e.invokes:
		// A process killed while it waited here leaves this request
		// behind for a moment: give the event back rather than lose it
		// to a process that can no longer run it.
		if r.Context().Err() != nil || !processRunning(e.pid) {
			inv.taken <- false
			return
		}
		e.mu.Lock()
		e.current = inv
		e.mu.Unlock()
		h := w.Header()
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(headerFunctionARN, e.f.arn)
		h.Set(headerTraceID, newTraceID())
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.event)
		inv.taken <- true
	case <-e.stop:
		writeJSON(w, http.StatusGone, &FunctionError{Type: "Runtime.Stopped", Message: "execution environment stopped"})
	case <-r.Context().Done():
	}
}

// lookup finds the invocation a POST names; only the current one may answer.
func (e *execEnv) lookup(w http.ResponseWriter, r *http.Request) *invocation {
	id := r.PathValue("id")
	e.mu.Lock()
	inv := e.current
	e.mu.Unlock()
	if inv == nil || inv.id != id {
		writeJSON(w, http.StatusBadRequest, &FunctionError{Type: "InvalidRequestID", Message: "Invalid request ID"})
		return nil
	}
	return inv
}

// response is POST …/invocation/{id}/response. The body may be chunked and
// may end with error trailers (a response stream that failed midway).
func (e *execEnv) response(w http.ResponseWriter, r *http.Request) {
	inv := e.lookup(w, r)
	if inv == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseBytes+1))
	if err != nil {
		// The process died while sending; its exit decides the outcome.
		writeJSON(w, http.StatusBadRequest, &FunctionError{Type: "InvalidRequest", Message: err.Error()})
		return
	}
	inv.answered.Store(true)
	if len(body) > MaxResponseBytes {
		fe := &FunctionError{Type: ErrorTypeResponseTooLarge, Message: fmt.Sprintf(
			"Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseBytes)}
		inv.finish(nil, fe)
		writeJSON(w, http.StatusRequestEntityTooLarge, fe)
		return
	}
	var fe *FunctionError
	if t := r.Trailer.Get(headerErrorType); t != "" {
		fe = parseFunctionError(decodeBase64(r.Trailer.Get(trailerErrorBody)), t)
	}
	if !inv.finish(body, fe) {
		writeJSON(w, http.StatusForbidden, &FunctionError{Type: "InvalidStateTransition", Message: "invocation already finished"})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// invocationError is POST …/invocation/{id}/error.
func (e *execEnv) invocationError(w http.ResponseWriter, r *http.Request) {
	inv := e.lookup(w, r)
	if inv == nil {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBytes))
	inv.answered.Store(true)
	if !inv.finish(nil, parseFunctionError(body, r.Header.Get(headerErrorType))) {
		writeJSON(w, http.StatusForbidden, &FunctionError{Type: "InvalidStateTransition", Message: "invocation already finished"})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// initError is POST /2018-06-01/runtime/init/error.
func (e *execEnv) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBytes))
	fe := parseFunctionError(body, r.Header.Get(headerErrorType))
	if fe.Type == "Unhandled" {
		fe.Type = ErrorTypeInit
	}
	e.initOnce.Do(func() {
		e.initErr = fe
		close(e.initFailed)
	})
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// parseFunctionError reads the runtime's error JSON; anything else becomes
// the message, so no failure is ever lost to a format problem.
func parseFunctionError(body []byte, headerType string) *FunctionError {
	var fe FunctionError
	if err := json.Unmarshal(body, &fe); err != nil || fe.Type == "" && fe.Message == "" {
		fe = FunctionError{Message: strings.TrimSpace(string(body))}
	}
	if fe.Type == "" {
		fe.Type = headerType
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return &fe
}

func decodeBase64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return []byte(s)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
