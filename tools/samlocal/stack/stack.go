package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/tossintl/backend/tools/awsproxy"
	"github.com/tossintl/backend/tools/dynamodblocal"
	"github.com/tossintl/backend/tools/moto"
	"github.com/tossintl/backend/tools/samlocal/lambdarun"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// DefaultMaxConcurrency is how many warm processes a function may have when
// the template reserves no concurrency for it.
const DefaultMaxConcurrency = 10

// Options configure Start. The zero value runs every function of
// ./template.yaml with a fresh DynamoDB Local and moto_server, an
// in-process sandbox on a free port and the API on a free port.
type Options struct {
	Template  string   // SAM template; "template.yaml" when empty
	BuildDir  string   // bootstraps go to BuildDir/<LogicalId>/; <template dir>/.aws-sam/local when empty
	Functions []string // logical ids to run; all when empty
	// SkipBuild uses the bootstraps in BuildDir as they are; otherwise a
	// function is rebuilt when any Go source, go.mod or Makefile is newer.
	SkipBuild  bool
	ForceBuild bool

	Host  string // API listen host; 127.0.0.1 when empty
	Port  int    // API port; 0 picks a free one
	NoAPI bool   // run the functions only (Invoke)

	EnvFile      string            // SAM env.json
	EnvOverrides EnvFile           // applied after EnvFile, same shape
	Parameters   map[string]string // template parameter overrides, after EnvFile's "Parameters"

	// DynamoDBURL is an already running DynamoDB Local (package
	// tools/dynamodblocal) for DynamoDB and its streams; when empty, Start
	// starts one, and Close stops it.
	DynamoDBURL string
	// MotoURL is an already running moto_server for Secrets Manager (and
	// every other AWS call but DynamoDB's); when empty, Start starts one.
	MotoURL string
	// TossAPIBaseURL points the functions at another Toss API (Toss's own
	// test environment, a standalone sandbox); the in-process sandbox runs
	// only when it is empty. TossSDKURL then goes with it.
	TossAPIBaseURL string
	TossSDKURL     string
	SandboxAddr    string // in-process sandbox listen address; 127.0.0.1:0 when empty
	Keys           Keys   // the keys secret's contents; empty fields take DefaultKeys'

	// AWSProxy, when set, is called once per function for a hook of the
	// stack's AWS proxy (package tools/awsproxy) that every AWS call of
	// that function passes through: a recorder sees the calls, a fault
	// injector fails some. Each function then gets an endpoint of its own.
	AWSProxy func(function string) awsproxy.Hook

	// APIHook, when set, wraps the API's HTTP handler (outermost, before
	// CORS): a test sees every request any client sends the API, its own,
	// a browser's, a script's or the sandbox's webhooks, and each answer.
	APIHook func(http.Handler) http.Handler

	// RedactBusLog, when set, rewrites each event's line in the log of the
	// stack's EventBridge before it is written (the product masks what its
	// logs must not show); the event itself reaches LOCAL_EVENTS_URL whole.
	RedactBusLog func(line []byte) []byte

	MaxConcurrency int       // processes per function; DefaultMaxConcurrency (or the template's reserved concurrency) when zero
	EventsURL      string    // LOCAL_EVENTS_URL: every event put on the template's buses is also POSTed there
	Logs           io.Writer // functions' output, prefixed by logical id, and the stack's messages; os.Stderr when nil
	BuildOutput    io.Writer // make's output; Logs when nil
}

// Stack is a running local stack.
type Stack struct {
	URL        string            // the API's base URL ("" with NoAPI)
	SandboxURL string            // the Toss API base the functions use
	Sandbox    *tosstest.Sandbox // the in-process sandbox; nil with TossAPIBaseURL
	// AWSURL is the stack's AWS endpoint: the proxy that routes each call
	// to its server, with the stack's EventBridge in it (no function's
	// hooks). Tools that act as an operator would use it.
	AWSURL string
	// DynamoDBURL is DynamoDB Local itself, MotoURL moto_server itself
	// (Secrets Manager): past every hook, for fixtures and checks.
	DynamoDBURL string
	MotoURL     string
	Template    *Template
	Resolver    *Resolver
	Keys        Keys
	Routes      []Route

	logs      io.Writer
	dynamo    *dynamodblocal.Server // nil when Options.DynamoDBURL was given
	functions map[string]*lambdarun.Function
	env       map[string]map[string]string
	bus       *bus // the template's EventBridge buses (bus.go)

	mu      sync.Mutex
	closers []func() error // run last first
	closed  bool
}

// Start builds what is stale, starts DynamoDB Local with the template's
// tables and moto_server with its secrets, the AWS proxy in front of both,
// the sandbox, every function and the API. On error, whatever was started
// is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	opts.Template, opts.Host, opts.SandboxAddr = cmp.Or(opts.Template, "template.yaml"), cmp.Or(opts.Host, "127.0.0.1"), cmp.Or(opts.SandboxAddr, "127.0.0.1:0")
	opts.Logs = cmp.Or[io.Writer](opts.Logs, os.Stderr)
	opts.BuildOutput = cmp.Or(opts.BuildOutput, opts.Logs)
	// Say what is missing first: a build may take minutes.
	if opts.MotoURL == "" {
		if _, err := exec.LookPath("moto_server"); err != nil {
			return nil, moto.ErrNotInstalled
		}
	}
	if opts.DynamoDBURL == "" {
		if _, err := exec.LookPath("java"); err != nil {
			return nil, dynamodblocal.ErrNoJava
		}
		if _, err := dynamodblocal.FindDir(); err != nil {
			return nil, err
		}
	}
	t, err := LoadTemplate(opts.Template)
	if err != nil {
		return nil, err
	}
	if opts.BuildDir == "" {
		opts.BuildDir = filepath.Join(t.Dir, ".aws-sam", "local")
	}
	ids, err := t.selectFunctions(opts.Functions)
	if err != nil {
		return nil, err
	}
	var files []EnvFile
	if opts.EnvFile != "" {
		f, err := LoadEnvFile(opts.EnvFile)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if opts.EnvOverrides != nil {
		files = append(files, opts.EnvOverrides)
	}
	params := t.ParameterOverrides(files...)
	maps.Copy(params, opts.Parameters)
	res, err := t.Resolver(params)
	if err != nil {
		return nil, err
	}
	keys := opts.Keys.withDefaults()
	if err := keys.check(); err != nil {
		return nil, err
	}
	routes, err := t.Routes(ids...)
	if err != nil {
		return nil, err
	}
	router, err := NewRouter(routes)
	if err != nil {
		return nil, err
	}

	s := &Stack{Template: t, Resolver: res, Keys: keys, Routes: routes, logs: opts.Logs,
		functions: map[string]*lambdarun.Function{}, env: map[string]map[string]string{}}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()

	// The servers start while the bootstraps build: a JVM and a Python
	// server spend seconds of their start waiting on their runtimes.
	aws := make(chan error, 1)
	go func() { aws <- s.startAWS(ctx, opts) }()
	paths := map[string]string{}
	if opts.SkipBuild {
		for _, id := range ids {
			paths[id] = filepath.Join(opts.BuildDir, id, "bootstrap")
		}
	} else {
		paths, err = Build(ctx, t, BuildOptions{Dir: opts.BuildDir, Functions: ids, Force: opts.ForceBuild, Output: opts.BuildOutput})
	}
	if awsErr := <-aws; err == nil {
		err = awsErr
	}
	if err != nil {
		return nil, err
	}
	if err := s.seed(ctx, keys); err != nil {
		return nil, err
	}

	tossAPI, tossSDK := opts.TossAPIBaseURL, opts.TossSDKURL
	if tossAPI == "" {
		if err := s.startSandbox(opts.SandboxAddr, keys); err != nil {
			return nil, err
		}
		tossAPI, tossSDK = s.SandboxURL, s.SandboxURL+"/v2/standard"
	} else {
		s.SandboxURL = tossAPI
	}

	proxy, err := s.startProxy(opts.Host, opts.EventsURL, opts.RedactBusLog)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		endpoint := s.AWSURL
		if opts.AWSProxy != nil {
			if endpoint, err = s.serve(opts.Host+":0", proxy.Handler(id, opts.AWSProxy(id))); err != nil {
				return nil, fmt.Errorf("%s AWS endpoint: %w", id, err)
			}
		}
		local := map[string]string{
			"AWS_ENDPOINT_URL":      endpoint,
			"AWS_ACCESS_KEY_ID":     LocalAccessKeyID,
			"AWS_SECRET_ACCESS_KEY": LocalSecretAccessKey,
			"AWS_REGION":            Region,
			"TOSS_API_BASE_URL":     tossAPI,
		}
		if tossSDK != "" {
			local["TOSS_SDK_URL"] = tossSDK
		}
		env, err := res.FunctionEnv(id, local, files...)
		if err != nil {
			return nil, err
		}
		s.env[id] = env
		if err := s.startFunction(ctx, id, paths[id], env, opts.MaxConcurrency); err != nil {
			return nil, err
		}
	}

	if !opts.NoAPI {
		cors, err := res.CORS()
		if err != nil {
			return nil, err
		}
		handler := cors.Handler(APIHandler(router, s.invokePayload, func(format string, args ...any) { s.logf(format, args...) }))
		if opts.APIHook != nil {
			handler = opts.APIHook(handler)
		}
		if s.URL, err = s.serve(fmt.Sprintf("%s:%d", opts.Host, opts.Port), handler); err != nil {
			return nil, fmt.Errorf("API: %w", err)
		}
		// Like a MID's webhook registered in Toss's developer center: the
		// sandbox announces status changes to this stack's webhook route.
		if s.Sandbox != nil {
			for _, r := range s.Routes {
				if r.Method == "POST" && r.Path == "/webhooks/toss" {
					s.Sandbox.SetWebhookURL(s.URL + r.Path)
				}
			}
		}
	}
	return s, nil
}

func (k Keys) withDefaults() Keys {
	d := DefaultKeys()
	return Keys{TossSecretKey: cmp.Or(k.TossSecretKey, d.TossSecretKey), TossClientKey: cmp.Or(k.TossClientKey, d.TossClientKey),
		MerchantAPIKey: cmp.Or(k.MerchantAPIKey, d.MerchantAPIKey)}
}

// seed creates every table and secret of the template.
func (s *Stack) seed(ctx context.Context, keys Keys) error {
	var tables []*Table
	for _, id := range s.Template.Tables {
		tbl, err := s.Resolver.Table(id)
		if err != nil {
			return err
		}
		tables = append(tables, tbl)
	}
	var secrets []*Secret
	for _, id := range s.Template.Secrets {
		sec, err := s.Resolver.Secret(id)
		if err != nil {
			return err
		}
		secrets = append(secrets, sec)
	}
	if err := createTables(ctx, s.DynamoDB(), tables); err != nil {
		return err
	}
	return createSecrets(ctx, secretsClient(s.MotoURL), secrets, keys)
}

// startAWS starts DynamoDB Local and moto_server, side by side (each takes
// seconds, most of it waiting on its runtime), unless the options name
// running ones.
func (s *Stack) startAWS(ctx context.Context, opts Options) error {
	s.DynamoDBURL, s.MotoURL = opts.DynamoDBURL, opts.MotoURL
	var wg sync.WaitGroup
	var dynErr, motoErr error
	if s.DynamoDBURL == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The quick start, for load runs too: in runs of minutes its
			// optimising compiler costs more CPU than it saves (measured
			// on the checkout mix, and on make bench's confirm path at
			// concurrency 16 after a 30 s warm-up, runs interleaved on a
			// shared two-core machine: 99, 100, 88 paths/s quick against
			// 93, 75, 72 optimising).
			d, err := dynamodblocal.Start(ctx, dynamodblocal.Options{})
			if err != nil {
				dynErr = err
				return
			}
			s.onClose(func() error { d.Close(); return nil })
			s.dynamo, s.DynamoDBURL = d, d.URL
		}()
	}
	if s.MotoURL == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := moto.Start(ctx)
			if err != nil {
				motoErr = err
				return
			}
			s.onClose(func() error { m.Close(); return nil })
			s.MotoURL = m.URL
		}()
	}
	wg.Wait()
	return errors.Join(dynErr, motoErr)
}

// startProxy starts the stack's AWS proxy, with the stack's EventBridge in
// it, and serves its endpoint for callers other than the functions.
func (s *Stack) startProxy(host, eventsTarget string, redact func([]byte) []byte) (*awsproxy.Proxy, error) {
	b := s.newBus(eventsTarget, redact)
	s.bus = b
	s.onClose(b.close)
	proxy := awsproxy.New(s.DynamoDBURL, s.MotoURL, b.hook)
	s.onClose(func() error { proxy.Close(); return nil })
	var err error
	if s.AWSURL, err = s.serve(host+":0", proxy.Handler("")); err != nil {
		return nil, fmt.Errorf("AWS endpoint: %w", err)
	}
	return proxy, nil
}

// DynamoDBLocal is the DynamoDB Local this stack started (its thread dumps
// show where its time goes); nil when Options.DynamoDBURL named a running one.
func (s *Stack) DynamoDBLocal() *dynamodblocal.Server { return s.dynamo }

// DynamoDBCPU is the CPU time of the DynamoDB Local this stack started;
// ok is false when it started none.
func (s *Stack) DynamoDBCPU() (seconds float64, ok bool) {
	if s.dynamo == nil {
		return 0, false
	}
	return s.dynamo.CPUSeconds()
}

func (s *Stack) startSandbox(addr string, keys Keys) error {
	sb := tosstest.New(tosstest.Config{
		SecretKey: keys.TossSecretKey,
		ClientKey: keys.TossClientKey,
		Logger:    slog.New(slog.NewTextHandler(&prefixWriter{w: s.logs, prefix: "[TossSandbox] "}, nil)),
	})
	u, err := s.serve(addr, sb)
	if err != nil {
		return fmt.Errorf("Toss sandbox: %w", err)
	}
	// Release calls held by sandbox latency before its server stops.
	s.onClose(func() error { sb.Close(); return nil })
	s.Sandbox, s.SandboxURL = sb, u
	return nil
}

func (s *Stack) startFunction(ctx context.Context, id, bootstrap string, env map[string]string, maxConc int) error {
	timeout, err := s.Resolver.Timeout(id)
	if err != nil {
		return err
	}
	mem, err := s.Resolver.MemoryMB(id)
	if err != nil {
		return err
	}
	reserved, err := s.Resolver.ReservedConcurrency(id)
	if err != nil {
		return err
	}
	if maxConc <= 0 {
		maxConc = DefaultMaxConcurrency
	}
	if reserved > 0 && reserved < maxConc {
		maxConc = reserved
	}
	f, err := lambdarun.Start(ctx, lambdarun.Config{
		Name: id, Bootstrap: bootstrap, Env: env, Timeout: timeout, MemoryMB: mem,
		MaxConcurrency: maxConc, Stdout: s.logs, Stderr: s.logs, LogPrefix: true,
	})
	if err != nil {
		return err
	}
	s.functions[id] = f
	s.onClose(f.Close)
	return nil
}

// serve serves h on addr until Close and returns its base URL.
func (s *Stack) serve(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.onClose(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		return nil
	})
	return "http://" + ln.Addr().String(), nil
}

func (s *Stack) onClose(f func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, f)
}

// Invoke runs one invocation of a function, as `sam local invoke` does.
func (s *Stack) Invoke(ctx context.Context, function string, event []byte) (lambdarun.Result, error) {
	f, ok := s.functions[function]
	if !ok {
		return lambdarun.Result{}, fmt.Errorf("samlocal: %s is not running in this stack", function)
	}
	return f.Invoke(ctx, event)
}

// invokePayload is Invoke for the API: a function error is an error.
func (s *Stack) invokePayload(ctx context.Context, function string, event []byte) ([]byte, error) {
	res, err := s.Invoke(ctx, function, event)
	if err != nil {
		return nil, err
	}
	if res.Error != nil {
		return nil, fmt.Errorf("invocation %s failed: %w", res.RequestID, res.Error)
	}
	return res.Payload, nil
}

// Function is a running function, for Kill, KillAll and PIDs in crash tests.
func (s *Stack) Function(id string) *lambdarun.Function { return s.functions[id] }

// Env is the environment a function runs with (a copy).
func (s *Stack) Env(id string) map[string]string { return maps.Clone(s.env[id]) }

// TableName is the local name of a table resource.
func (s *Stack) TableName(id string) (string, error) {
	if s.Template.Resources[id].Type != TypeTable {
		return "", fmt.Errorf("%s is not an %s in the template", id, TypeTable)
	}
	return s.Resolver.names[id], nil
}

// Close stops the API, the functions, the sandbox, the AWS proxy,
// moto_server and DynamoDB Local, in that order, and waits for every
// process to be gone.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Stack) logf(format string, args ...any) {
	fmt.Fprintf(&prefixWriter{w: s.logs, prefix: "[samlocal] "}, format+"\n", args...)
}

// prefixWriter prefixes each write (one line each, as slog and logf write).
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
