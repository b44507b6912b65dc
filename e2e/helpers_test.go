package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tossintl/backend/internal/contract"
	"github.com/tossintl/backend/internal/merchantapi"
	"github.com/tossintl/backend/internal/testenv"
	"github.com/tossintl/backend/shared/logsink"
	"github.com/tossintl/backend/tools/samlocal/stack"
	"github.com/tossintl/backend/tools/samlocal/tossintl"
)

// root is the module root: go test runs each package in its own directory,
// and e2e/ sits one level below the root.
const root = ".."

// The SAM template the suites run (and through it the Makefile that builds
// every bootstrap); the sample events come from package events.
var realTemplate = filepath.Join(root, "template.yaml")

// localStack names what the suites start, for -short's skip message.
const localStack = "the local stack (DynamoDB Local, moto_server, aws-lambda-rie)"

// The suites call the API through merchantapi, under these short names.
type httpResult = merchantapi.Response

var (
	do    = merchantapi.MustDo
	basic = merchantapi.Basic
)

// The published contract, held to what the stacks here answer and put on
// their buses: every request any client sends a stack's API (a test's, a
// browser's, the merchant example's, the sandbox's webhooks) and its
// answer go through apiContract (startStack), every event through
// eventContract, and TestMain fails the package when an operation or an
// event type was never seen.
var (
	apiContract   = contract.MustLoadAPI()
	eventContract = mustLoadEvents()
)

func mustLoadEvents() *contract.Events {
	ev, err := contract.LoadEvents()
	if err != nil {
		panic(err)
	}
	return ev
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && wholePackage() {
		var missing []string
		for _, op := range apiContract.UncalledOperations() {
			missing = append(missing, "docs/openapi.yaml's "+op+" was never called")
		}
		for _, dt := range eventContract.Unseen() {
			missing = append(missing, "no "+dt+" event reached a bus")
		}
		if len(missing) > 0 {
			fmt.Fprintln(os.Stderr, "FAIL: "+strings.Join(missing, "\nFAIL: "))
			code = 1
		}
	}
	os.Exit(code)
}

// wholePackage reports whether every suite ran (no -run filter and not
// -short, which skips every suite here; make test skips only the chaos
// campaign, which make chaos runs alone).
func wholePackage() bool {
	if testenv.Short() {
		return false
	}
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.run") {
			return false
		}
	}
	return true
}

// contractFailures collects what the contract checks found while a test's
// stack ran (its server answers on goroutines of its own); startStack
// reports them when the test ends.
type contractFailures struct {
	mu   sync.Mutex
	errs []error
}

func (c *contractFailures) add(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
}

func (c *contractFailures) report(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, err := range c.errs {
		t.Errorf("contract: %v", err)
	}
}

// holdToContract makes the stack opts start check every exchange of its
// API against docs/openapi.yaml; checked, called once the stack is closed,
// checks the events its buses received against docs/events and fails t
// with whatever did not match. Every suite's stack goes through here.
func holdToContract(opts *stack.Options) (checked func(t *testing.T, s *stack.Stack)) {
	failures := &contractFailures{}
	if opts.APIHook == nil {
		opts.APIHook = func(h http.Handler) http.Handler { return apiContract.Handler(h, failures.add) }
	}
	return func(t *testing.T, s *stack.Stack) {
		t.Helper()
		for _, ev := range s.BusEvents() {
			b, err := json.Marshal(ev)
			if err == nil {
				err = eventContract.Check(b)
			}
			if err != nil {
				failures.add(err)
			}
		}
		failures.report(t)
	}
}

// startStack starts the real template's stack for one test (its own
// build directory and, unless opts says otherwise, two environments per
// function), searches its logs for paymentKeys when the test ends, prints
// them if it failed, and stops it.
func startStack(t *testing.T, opts stack.Options) (*stack.Stack, *logsink.Buffer) {
	t.Helper()
	testenv.Skip(t, localStack)
	logs := &logsink.Buffer{}
	out := io.Writer(logs)
	if opts.Logs != nil {
		out = io.MultiWriter(logs, opts.Logs) // the test's own reader of the logs, as well
	}
	opts.Template, opts.Logs, opts.RedactBusLog = realTemplate, out, tossintl.MaskPaymentKeys
	if opts.BuildDir == "" {
		opts.BuildDir = t.TempDir()
	}
	if opts.MaxConcurrency == 0 {
		opts.MaxConcurrency = 2
	}
	checked := holdToContract(&opts)
	s, err := stack.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, logs)
	}
	guardPaymentKeys(t, s, logs)
	t.Cleanup(func() {
		_ = s.Close()
		checked(t, s)
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	})
	return s, logs
}

// logWatch is an io.Writer of a stack's logs that closes seen once all of
// its needles have been written (in any order, across writes): a test
// waits on it instead of polling the logs.
type logWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	needles [][]byte
	seen    chan struct{}
}

func newLogWatch(needles ...string) *logWatch {
	w := &logWatch{seen: make(chan struct{})}
	for _, n := range needles {
		w.needles = append(w.needles, []byte(n))
	}
	return w
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.needles == nil {
		return len(p), nil
	}
	w.buf.Write(p)
	for _, n := range w.needles {
		if !bytes.Contains(w.buf.Bytes(), n) {
			return len(p), nil
		}
	}
	w.needles, w.buf = nil, bytes.Buffer{}
	close(w.seen)
	return len(p), nil
}

// checkGranted checks that fn made each of the wanted calls and made no
// call its Policies in the template do not allow.
func checkGranted(t *testing.T, calls *stack.AWSRecorder, s *stack.Stack, fn string, want ...string) {
	t.Helper()
	var actions []string
	for _, c := range calls.Calls(fn) {
		actions = append(actions, c.Action)
		ok, err := s.Resolver.Allows(fn, c)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("%s called %s on %s, which its Policies do not grant", fn, c.Action, c.Resource)
		}
	}
	for _, w := range want {
		if !slices.Contains(actions, w) {
			t.Errorf("%s never called %s (calls: %v)", fn, w, actions)
		}
	}
}
