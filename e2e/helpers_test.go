package e2e

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/tossintl/backend/internal/apicall"
	"github.com/tossintl/backend/internal/testenv"
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

// localStack names what the suites start, for -short's skip message.
const localStack = "the local stack (DynamoDB Local, moto_server, aws-lambda-rie)"

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
	testenv.Skip(t, localStack)
	logs := &logsink.Buffer{}
	opts.Template, opts.Logs = realTemplate, logs
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
