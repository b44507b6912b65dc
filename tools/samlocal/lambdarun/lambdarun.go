// Package lambdarun runs a real Lambda `bootstrap` executable under AWS's
// Lambda Runtime Interface Emulator (aws-lambda-rie, the Runtime API server
// SAM CLI runs in its containers), with no container. RIE owns the Runtime
// API: it starts the bootstrap, hands it one event at a time, enforces the
// function timeout, restarts the bootstrap on the invocation after a crash,
// and prints START/END/REPORT and INIT REPORT. It serves one invocation at a
// time and drops the X-Amz-Function-Error header, so this package is the thin
// layer that makes it behave like one Lambda function:
//
//   - a pool of RIE processes (execution environments) per function, up to
//     MaxConcurrency busy at once, kept warm between invocations;
//   - an environment whose bootstrap died between invocations is replaced
//     (RIE would answer the next event with that stale crash);
//   - Timeout and MemoryMB passed as AWS_LAMBDA_FUNCTION_TIMEOUT and
//     AWS_LAMBDA_FUNCTION_MEMORY_SIZE, and only the configured environment;
//   - RIE's answer turned into a Result: function errors, crashes and
//     timeouts as a FunctionError, the 6 MB response limit RIE does not
//     enforce, the init duration from its INIT REPORT;
//   - log lines prefixed with the function's name, each invocation's lines
//     out before Invoke returns;
//   - crash-test hooks (Kill, KillAll, PIDs) that act on the bootstrap
//     processes RIE started, so a "crash" kills the function, not RIE.
//
// The RIE binary is the module's tool dependency (go.mod's tool directive),
// built once per process.
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
	"net/http"
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
	// Timeout is the invocation timeout (DefaultTimeout when zero). RIE
	// takes whole seconds: it is rounded up to the next second.
	Timeout time.Duration
	// InitTimeout bounds a new RIE process's start until it accepts
	// invocations (DefaultInitTimeout when zero). The bootstrap's own init
	// runs inside the first invocation and is bounded by Timeout, by RIE.
	InitTimeout time.Duration
	MemoryMB    int // AWS_LAMBDA_FUNCTION_MEMORY_SIZE (DefaultMemoryMB when zero)
	// MaxConcurrency is how many environments may run invocations at once
	// (1 when zero); more start on demand and stay warm.
	MaxConcurrency int
	// Stdout receives the bootstrap's output (stdout and stderr: RIE merges
	// them, as CloudWatch does) and RIE's START/END/REPORT lines; Stderr
	// receives RIE's own log (INIT START, INIT REPORT, failures) and this
	// layer's. Line by line; nil discards.
	Stdout, Stderr io.Writer
	// LogPrefix prefixes every line with "[Name] ", for several functions
	// sharing one terminal.
	LogPrefix bool
	// OnInvoke, when set, is called once RIE has started the invocation
	// (its INVOKE START) and before its answer is awaited: a test can call
	// Kill(reqID) from it to crash the function in the middle of it.
	OnInvoke func(reqID string)
}

// Result is the outcome of one invocation.
type Result struct {
	RequestID string
	Payload   []byte         // the response body; nil when Error is set
	Error     *FunctionError // the function's error, a timeout or a crash
	// Init is the bootstrap's init when this invocation had to start one
	// (RIE's INIT REPORT: exec to its first request for an event); zero
	// on a warm environment.
	Init time.Duration
	// Duration is the invocation without Init: from the event's hand-over
	// to RIE to its answer.
	Duration time.Duration
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
	"AWS_LAMBDA_FUNCTION_TIMEOUT":     true,
	"AWS_LAMBDA_FUNCTION_VERSION":     true,
	"_HANDLER":                        true,
	"LAMBDA_TASK_ROOT":                true,
}

// Function runs invocations of one function on a pool of warm environments.
type Function struct {
	cfg     Config
	rie     string // the aws-lambda-rie binary
	baseEnv []string
	client  *http.Client
	stdout  io.Writer
	stderr  io.Writer

	slots chan struct{} // one per concurrent invocation
	done  chan struct{} // closed by Close

	mu      sync.Mutex
	closed  bool
	idle    []*environment
	all     map[*environment]struct{}
	running map[string]*environment // request id → its environment
	wg      sync.WaitGroup          // invocations and RIE waiters
}

// Start checks cfg and starts the first environment. RIE initialises the
// bootstrap lazily, on the first invocation, so a function that cannot
// initialise fails there (Result.Error), not here. ctx bounds the start
// only: Close stops the function.
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
	// RIE parses AWS_LAMBDA_FUNCTION_TIMEOUT as whole seconds.
	cfg.Timeout = (cfg.Timeout + time.Second - 1).Truncate(time.Second)
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 1
	}
	env, err := baseEnv(cfg)
	if err != nil {
		return nil, err
	}
	rie, err := RIEBinary(ctx)
	if err != nil {
		return nil, fmt.Errorf("lambdarun: %s: %w", cfg.Name, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // loopback only, whatever HTTP_PROXY says
	tr.MaxIdleConnsPerHost = 2
	f := &Function{
		cfg:     cfg,
		rie:     rie,
		baseEnv: env,
		client:  &http.Client{Transport: tr},
		stdout:  orDiscard(cfg.Stdout),
		stderr:  orDiscard(cfg.Stderr),
		slots:   make(chan struct{}, cfg.MaxConcurrency),
		done:    make(chan struct{}),
		all:     map[*environment]struct{}{},
		running: map[string]*environment{},
	}
	e, err := f.newEnv(ctx)
	if err != nil {
		f.Close()
		return nil, err
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

// baseEnv is RIE's environment, which it passes on to the bootstrap: only
// the configured variables plus what Lambda itself sets, so nothing from
// the developer's shell leaks in and hides a missing setting.
func baseEnv(cfg Config) ([]string, error) {
	vars := map[string]string{}
	for k, v := range cfg.Env {
		if reserved[k] {
			return nil, fmt.Errorf("lambdarun: %s: %s is set by the Lambda runtime and cannot be configured", cfg.Name, k)
		}
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
			return nil, fmt.Errorf("lambdarun: %s: invalid environment variable %q", cfg.Name, k)
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
	vars["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(int(cfg.Timeout / time.Second))
	vars["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	vars["_HANDLER"] = filepath.Base(cfg.Bootstrap)
	vars["LAMBDA_TASK_ROOT"] = filepath.Dir(cfg.Bootstrap)
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env, nil
}

// Name is the function's name.
func (f *Function) Name() string { return f.cfg.Name }

// Invoke runs one invocation and returns its result. The function's own
// failures (error, panic, timeout, crash, failed init) are in Result.Error;
// the error return is for the emulator's (closed, ctx ended, cannot start
// RIE). When ctx ends first, Invoke returns at once but the invocation runs
// on to its end, as in Lambda, where a caller hanging up stops nothing.
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
		return Result{}, fmt.Errorf("lambdarun: %s: waiting for a free environment: %w", f.cfg.Name, ctx.Err())
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

	id := newRequestID()
	type outcome struct {
		res Result
		err error
	}
	out := make(chan outcome, 1)
	go func() {
		defer f.wg.Done()
		defer func() { <-f.slots }()
		res, err := f.run(id, event)
		out <- outcome{res, err}
	}()
	select {
	case o := <-out:
		return o.res, o.err
	case <-ctx.Done():
		return Result{RequestID: id}, fmt.Errorf("lambdarun: %s: invocation %s: %w", f.cfg.Name, id, ctx.Err())
	}
}

// run finds or starts an environment and runs the invocation on it.
func (f *Function) run(id string, event []byte) (Result, error) {
	e, err := f.acquire()
	if err != nil {
		return Result{RequestID: id}, err
	}
	res, keep := e.invoke(id, event)
	select {
	case <-f.done:
		// Close killed the environment under this invocation: whatever
		// RIE answered (a crash, a broken connection) is the close.
		return Result{RequestID: id}, ErrClosed
	default:
	}
	if keep {
		f.release(e)
	} else {
		e.kill()
	}
	return res, nil
}

// acquire returns an idle healthy environment, or starts a new one. The
// caller holds a slot, so no more than MaxConcurrency are ever busy.
func (f *Function) acquire() (*environment, error) {
	for {
		f.mu.Lock()
		if len(f.idle) == 0 {
			f.mu.Unlock()
			break
		}
		e := f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		f.mu.Unlock()
		if !e.alive() {
			continue
		}
		if pid := e.lostBootstrap(); pid != 0 {
			// RIE would answer the next event with this crash; Lambda
			// would give it a fresh environment instead.
			f.logf("bootstrap %d exited between invocations; replacing its environment", pid)
			e.kill()
			continue
		}
		return e, nil
	}
	return f.newEnv(context.Background())
}

// release puts a healthy environment back in the idle pool.
func (f *Function) release(e *environment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || !e.alive() {
		return
	}
	f.idle = append(f.idle, e)
}

// Kill kills the bootstrap running invocation reqID (a crash in the middle
// of it: the invocation returns RIE's Runtime.ExitError and RIE starts a
// new bootstrap for the next one). It reports whether such an invocation
// was running.
func (f *Function) Kill(reqID string) bool {
	f.mu.Lock()
	e := f.running[reqID]
	f.mu.Unlock()
	if e == nil {
		return false
	}
	e.killBootstraps()
	return true
}

// KillAll kills the bootstrap of every environment, busy or idle, and
// returns how many it killed. Safe to call concurrently with Invoke: a busy
// one fails with Runtime.ExitError, an idle one is replaced when next used.
func (f *Function) KillAll() int {
	n := 0
	for _, e := range f.envs() {
		n += e.killBootstraps()
	}
	return n
}

// PIDs lists the process ids of the function's live bootstrap processes
// (RIE's children; RIE itself is not listed).
func (f *Function) PIDs() []int {
	var pids []int
	for _, e := range f.envs() {
		pids = append(pids, e.bootstraps()...)
	}
	sort.Ints(pids)
	return pids
}

func (f *Function) envs() []*environment {
	f.mu.Lock()
	defer f.mu.Unlock()
	envs := make([]*environment, 0, len(f.all))
	for e := range f.all {
		envs = append(envs, e)
	}
	return envs
}

// Close kills every environment (bootstraps first, so RIE reaps them),
// waits for them to exit and for running invocations to return (they
// return ErrClosed).
func (f *Function) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.done)
	f.idle = nil
	f.mu.Unlock()
	for _, e := range f.envs() {
		e.kill()
	}
	f.wg.Wait()
	f.client.CloseIdleConnections()
	return nil
}

// logf writes a line of this layer's to Stderr.
func (f *Function) logf(format string, args ...any) {
	line := "[lambdarun] " + fmt.Sprintf(format, args...)
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
