package e2e

import (
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/tossintl/backend/internal/apicall"
	"github.com/tossintl/backend/shared/logsink"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// root is the module root: go test runs each package in its own directory,
// and e2e/ sits one level below the root.
const root = ".."

// The project's own files the suites run: the SAM template (and through it
// the Makefile that builds every bootstrap) and the sample events.
var (
	realTemplate = filepath.Join(root, "template.yaml")
	eventsDir    = filepath.Join(root, "events")
)

// The suites call the API through apicall, under these short names.
type httpResult = apicall.Result

var (
	do    = apicall.Do
	basic = apicall.Basic
)

// startStack starts the real template's stack for one test (its own
// build directory and, unless opts says otherwise, two environments per
// function), searches its logs for paymentKeys when the test ends, prints
// them if it failed, and stops it.
func startStack(t *testing.T, opts stack.Options) (*stack.Stack, *logsink.Buffer) {
	t.Helper()
	logs := &logsink.Buffer{}
	out := io.Writer(logs)
	if opts.Logs != nil {
		out = io.MultiWriter(logs, opts.Logs) // the test's own reader of the logs, as well
	}
	opts.Template, opts.Logs = realTemplate, out
	if opts.BuildDir == "" {
		opts.BuildDir = t.TempDir()
	}
	if opts.MaxConcurrency == 0 {
		opts.MaxConcurrency = 2
	}
	s, err := stack.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, logs)
	}
	guardPaymentKeys(t, s, logs)
	t.Cleanup(func() {
		_ = s.Close()
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
