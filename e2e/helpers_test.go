package e2e

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/tossintl/backend/internal/apicall"
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
