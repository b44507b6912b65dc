// Package lambdarun runs a real Lambda `bootstrap` executable the way the
// Lambda service does for a provided.al2023 function: each process is one
// execution environment with its own Runtime API endpoint
// (AWS_LAMBDA_RUNTIME_API), it gets one event at a time from
// GET /2018-06-01/runtime/invocation/next, answers on …/response or …/error,
// stays warm between invocations, is killed when it overruns its deadline
// and replaced when it exits. The binary under test is the one that ships,
// so what passes here exercises the same runtime loop as in AWS.
//
// It lives beside the local stack (tools/samlocal) rather than under
// shared/internal because Go forbids importing shared/internal/... from
// tools/...; it is importable by tests anywhere in the module.
package lambdarun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Lambda's own limits and defaults, so local runs fail the way AWS would.
const (
	DefaultTimeout     = 3 * time.Second  // Lambda's default function timeout
	DefaultInitTimeout = 10 * time.Second // Lambda's init phase limit
	DefaultMemoryMB    = 128
	MaxResponseBytes   = 6 << 20 // synchronous invocation response limit
)

// Error types of the failures the Lambda service itself reports (the
// function's own errors carry the type its runtime posts).
const (
	ErrorTypeTimeout          = "Sandbox.Timedout"
	ErrorTypeExit             = "Runtime.ExitError"
	ErrorTypeInit             = "Runtime.InitError"
	ErrorTypeResponseTooLarge = "Function.ResponseSizeTooLarge"
)

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("lambdarun: function closed")

// Config describes one function.
type Config struct {
	Name      string            // function name (AWS_LAMBDA_FUNCTION_NAME, log prefix)
	Bootstrap string            // path of the executable; its directory is LAMBDA_TASK_ROOT
	Env       map[string]string // the function's environment variables, nothing else is inherited
	// Timeout is the invocation timeout (DefaultTimeout when zero).
	Timeout time.Duration
	// InitTimeout bounds a new process's start-up until it asks for its
	// first event (DefaultInitTimeout when zero).
	InitTimeout time.Duration
	MemoryMB    int // AWS_LAMBDA_FUNCTION_MEMORY_SIZE (DefaultMemoryMB when zero)
	// MaxConcurrency is how many processes may run invocations at once
	// (1 when zero); more start on demand and stay warm.
	MaxConcurrency int
	// Stdout and Stderr receive the processes' output line by line, and
	// Stderr the START/END/REPORT lines; nil discards.
	Stdout, Stderr io.Writer
	// LogPrefix prefixes every line with "[Name] ", for several functions
	// sharing one terminal.
	LogPrefix bool
	// OnInvoke, when set, is called once an event has been handed to a
	// process and before its answer is awaited: a test can call Kill(reqID)
	// from it to crash the function in the middle of an invocation.
	OnInvoke func(reqID string)
}

// Result is the outcome of one invocation.
type Result struct {
	RequestID string
	Payload   []byte         // the response body; nil when Error is set
	Error     *FunctionError // the function's error, a timeout or a crash
	Duration  time.Duration  // from handing over the event to the answer
}

// Err returns r.Error as an error, or nil.
func (r Result) Err() error {
	if r.Error == nil {
		return nil
	}
	return r.Error
}

// FunctionError is an invocation error as Lambda's Invoke API reports it
// (X-Amz-Function-Error: Unhandled), in the runtime's JSON shape.
type FunctionError struct {
	Type       string          `json:"errorType"`
	Message    string          `json:"errorMessage"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// Timeout reports whether the function overran its deadline.
func (e *FunctionError) Timeout() bool { return e.Type == ErrorTypeTimeout }

// reserved are the variables the emulator owns; Lambda refuses them as
// function configuration too.
var reserved = map[string]bool{
	"AWS_LAMBDA_RUNTIME_API":          true,
	"AWS_LAMBDA_FUNCTION_NAME":        true,
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION":     true,
	"_HANDLER":                        true,
	"LAMBDA_TASK_ROOT":                true,
}

// Function runs invocations of one function on a pool of warm processes.
type Function struct {
	cfg     Config
	baseEnv []string
	arn     string
	stdout  io.Writer
	stderr  io.Writer

	slots chan struct{} // one per concurrent invocation
	done  chan struct{} // closed by Close

	mu      sync.Mutex
	closed  bool
	idle    []*execEnv
	all     map[*execEnv]struct{}
	running map[string]*execEnv // request id → its process
	wg      sync.WaitGroup      // invocations and process waiters
}

// Start checks cfg, starts the first process and waits (bounded by ctx and
// InitTimeout) until it asks for its first event, so a function that cannot
// initialise fails here with its error rather than on the first request.
// ctx is not kept: Close stops the function.
func Start(ctx context.Context, cfg Config) (*Function, error) {
	if cfg.Name == "" {
		return nil, errors.New("lambdarun: Config.Name is empty")
	}
	bin, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("lambdarun: %s: bootstrap path: %w", cfg.Name, err)
	}
	st, err := os.Stat(bin)
	if err != nil {
		return nil, fmt.Errorf("lambdarun: %s: bootstrap: %w", cfg.Name, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("lambdarun: %s: bootstrap %s is not an executable file", cfg.Name, bin)
	}
	cfg.Bootstrap = bin
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 1
	}
	env, region, err := baseEnv(cfg)
	if err != nil {
		return nil, err
	}
	f := &Function{
		cfg:     cfg,
		baseEnv: env,
		arn:     fmt.Sprintf("arn:aws:lambda:%s:123456789012:function:%s", region, cfg.Name),
		stdout:  orDiscard(cfg.Stdout),
		stderr:  orDiscard(cfg.Stderr),
		slots:   make(chan struct{}, cfg.MaxConcurrency),
		done:    make(chan struct{}),
		all:     map[*execEnv]struct{}{},
		running: map[string]*execEnv{},
	}
	e, err := f.newEnv()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fe := e.waitReady(ctx, "init"); fe != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("lambdarun: %s: waiting for init: %w", cfg.Name, ctx.Err())
		}
		return nil, fmt.Errorf("lambdarun: %s: init failed: %w", cfg.Name, fe)
	}
	f.release(e)
	return f, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// baseEnv is the process environment minus AWS_LAMBDA_RUNTIME_API (one per
// process): only the configured variables plus what Lambda itself sets, so
// nothing from the developer's shell leaks in and hides a missing setting.
func baseEnv(cfg Config) ([]string, string, error) {
	vars := map[string]string{}
	for k, v := range cfg.Env {
		if reserved[k] {
			return nil, "", fmt.Errorf("lambdarun: %s: %s is set by the Lambda runtime and cannot be configured", cfg.Name, k)
		}
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
			return nil, "", fmt.Errorf("lambdarun: %s: invalid environment variable %q", cfg.Name, k)
		}
		vars[k] = v
	}
	region := vars["AWS_REGION"]
	if region == "" {
		region = vars["AWS_DEFAULT_REGION"]
	}
	if region == "" {
		region = "us-east-1"
	}
	if vars["AWS_REGION"] == "" {
		vars["AWS_REGION"] = region
	}
	if vars["AWS_DEFAULT_REGION"] == "" {
		vars["AWS_DEFAULT_REGION"] = region
	}
	if _, ok := vars["TZ"]; !ok {
		vars["TZ"] = "UTC"
	}
	vars["AWS_LAMBDA_FUNCTION_NAME"] = cfg.Name
	vars["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(cfg.MemoryMB)
	vars["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	vars["_HANDLER"] = filepath.Base(cfg.Bootstrap)
	vars["LAMBDA_TASK_ROOT"] = filepath.Dir(cfg.Bootstrap)
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env, region, nil
}

// Name is the function's name.
func (f *Function) Name() string { return f.cfg.Name }

// Invoke runs one invocation and returns its result. The function's own
// failures (error, panic, timeout, crash, failed init) are in Result.Error;
// the error return is for the emulator's (closed, ctx ended, cannot start a
// process). When ctx ends first, Invoke returns at once but the invocation
// runs on to its end, as in Lambda, where a caller hanging up stops nothing.
func (f *Function) Invoke(ctx context.Context, event []byte) (Result, error) {
	if len(event) == 0 {
		event = []byte("{}") // what Lambda delivers for an empty payload
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("lambdarun: %s: %w", f.cfg.Name, err)
	}
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("lambdarun: %s: waiting for a free process: %w", f.cfg.Name, ctx.Err())
	case <-f.done:
		return Result{}, ErrClosed
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		<-f.slots
		return Result{}, ErrClosed
	}
	f.wg.Add(1)
	f.mu.Unlock()

	inv := &invocation{id: newRequestID(), event: event, done: make(chan struct{}), taken: make(chan bool, 1)}
	type outcome struct {
		res Result
		err error
	}
	out := make(chan outcome, 1)
	go func() {
		defer f.wg.Done()
		defer func() { <-f.slots }()
		res, err := f.run(inv)
		out <- outcome{res, err}
	}()
	select {
	case o := <-out:
		return o.res, o.err
	case <-ctx.Done():
		return Result{RequestID: inv.id}, fmt.Errorf("lambdarun: %s: invocation %s: %w", f.cfg.Name, inv.id, ctx.Err())
	}
}

// run finds or starts a process and runs inv on it.
func (f *Function) run(inv *invocation) (Result, error) {
	for attempt := 0; ; attempt++ {
		e, fresh, err := f.acquire()
		if err != nil {
			return Result{RequestID: inv.id}, err
		}
		if fresh {
			if fe := e.waitReady(context.Background(), inv.id); fe != nil {
				select {
				case <-f.done:
					return Result{RequestID: inv.id}, ErrClosed
				default:
				}
				f.logf("%s", fe.Message)
				return Result{RequestID: inv.id, Error: fe}, nil
			}
		}
		res, delivered, err := e.invoke(inv)
		select {
		case <-f.done:
			// Close killed the process under this invocation: whatever
			// e.invoke saw (an exit, a broken connection) is the close.
			e.kill()
			return Result{RequestID: inv.id}, ErrClosed
		default:
		}
		if !delivered && err == nil && !fresh && attempt == 0 {
			// The warm process died between invocations before taking
			// this event: Lambda would simply use a fresh environment.
			continue
		}
		// A process that answered (even with an error) stays warm; one that
		// timed out, crashed or failed the emulator is gone.
		if err == nil && (res.Error == nil || !res.Error.Timeout()) && e.alive() {
			f.release(e)
		} else {
			e.kill()
		}
		return res, err
	}
}

// acquire returns an idle live process, or starts a new one. The caller
// holds a slot, so no more than MaxConcurrency processes are ever busy.
func (f *Function) acquire() (*execEnv, bool, error) {
	f.mu.Lock()
	for len(f.idle) > 0 {
		e := f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		if e.alive() {
			f.mu.Unlock()
			return e, false, nil
		}
	}
	f.mu.Unlock()
	e, err := f.newEnv()
	return e, true, err
}

// release puts a healthy process back in the idle pool.
func (f *Function) release(e *execEnv) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || !e.alive() {
		return
	}
	f.idle = append(f.idle, e)
}

// Kill kills the process running invocation reqID (a crash in the middle of
// it: the invocation returns a Runtime.ExitError and the next one gets a
// new process). It reports whether such an invocation was running.
func (f *Function) Kill(reqID string) bool {
	f.mu.Lock()
	e := f.running[reqID]
	f.mu.Unlock()
	if e == nil {
		return false
	}
	e.kill()
	return true
}

// KillAll kills every process of the function, busy or idle, and returns
// how many there were. Safe to call concurrently with Invoke; later
// invocations start new processes.
func (f *Function) KillAll() int {
	f.mu.Lock()
	envs := make([]*execEnv, 0, len(f.all))
	for e := range f.all {
		envs = append(envs, e)
	}
	f.mu.Unlock()
	for _, e := range envs {
		e.kill()
	}
	return len(envs)
}

// PIDs lists the process ids of the function's live processes.
func (f *Function) PIDs() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var pids []int
	for e := range f.all {
		if e.alive() {
			pids = append(pids, e.pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// Close kills every process, waits for them to exit and for running
// invocations to return (they return ErrClosed).
func (f *Function) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.done)
	envs := make([]*execEnv, 0, len(f.all))
	for e := range f.all {
		envs = append(envs, e)
	}
	f.idle = nil
	f.mu.Unlock()
	for _, e := range envs {
		e.kill()
	}
	f.wg.Wait()
	return nil
}

// logf writes an emulator line (START, REPORT, timeouts) to Stderr.
func (f *Function) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if f.cfg.LogPrefix {
		line = "[" + f.cfg.Name + "] " + line
	}
	writeLine(f.stderr, []byte(line+"\n"))
}

// newRequestID returns a random UUID, the shape of Lambda's request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newTraceID returns an X-Ray trace header value as Lambda passes it.
func newTraceID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[24:40])
}
