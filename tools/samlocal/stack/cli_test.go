package stack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tossintl/backend/internal/testenv"
	"github.com/tossintl/backend/shared/logsink"
)

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	// Stderr carries the stack's logs, written concurrently by the sandbox
	// and by every function's RIE: it needs a buffer safe for that.
	var out bytes.Buffer
	var errOut logsink.Buffer
	code = Main(context.Background(), args, Env{Stdin: strings.NewReader(`{"queryStringParameters":{"mode":"raw"}}`), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

func TestInvokeCommand(t *testing.T) {
	testenv.Skip(t, localStack)
	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"rawPath":"/echo/x","queryStringParameters":{"mode":"error"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"-t", appTemplate, "-b", appBuild}

	// The result on stdout, the logs on stderr, as sam local invoke.
	code, stdout, stderr := runMain(t, append([]string{"invoke", "EchoFunction", "-e", "-"}, common...)...)
	if code != 0 || stdout != `{"hello":"world"}`+"\n" {
		t.Errorf("invoke: exit %d, stdout %q\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "[EchoFunction] echo") || !strings.Contains(stderr, "REPORT RequestId:") {
		t.Errorf("function logs missing from stderr:\n%s", stderr)
	}

	// A function error: its JSON on stdout, exit code 1. Flags may come first.
	code, stdout, _ = runMain(t, append(append([]string{"invoke", "-e", event}, common...), "EchoFunction")...)
	if code != 1 || !strings.Contains(stdout, `"errorType":"errorString"`) || !strings.Contains(stdout, `"errorMessage":"boom"`) {
		t.Errorf("invoke error: exit %d, stdout %q", code, stdout)
	}

	code, _, stderr = runMain(t, append([]string{"invoke", "NoSuchFunction"}, common...)...)
	if code != 1 || !strings.Contains(stderr, "NoSuchFunction is not an AWS::Serverless::Function") {
		t.Errorf("unknown function: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runMain(t, "invoke")
	if code != 1 || !strings.Contains(stderr, "logical id") {
		t.Errorf("no function: exit %d, stderr %q", code, stderr)
	}
}

func TestBuildCommand(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runMain(t, "build", "-t", appTemplate, "-b", dir, "EchoFunction")
	want := filepath.Join(dir, "EchoFunction", "bootstrap")
	if code != 0 || strings.TrimSpace(stdout) != want {
		t.Fatalf("build: exit %d stdout %q\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "make") && !strings.Contains(stderr, "go build") {
		t.Errorf("make's output not shown:\n%s", stderr)
	}
	if st, err := os.Stat(want); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("bootstrap: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "OrdersFunction")); err == nil {
		t.Error("built a function that was not asked for")
	}
}

func TestUsage(t *testing.T) {
	if code, _, stderr := runMain(t); code != 2 || !strings.Contains(stderr, "usage:") {
		t.Errorf("no command: %d %q", code, stderr)
	}
	if code, _, stderr := runMain(t, "deploy"); code != 2 || !strings.Contains(stderr, `unknown command "deploy"`) {
		t.Errorf("unknown command: %d %q", code, stderr)
	}
	if code, _, stderr := runMain(t, "up", "extra"); code != 1 || !strings.Contains(stderr, "takes no arguments") {
		t.Errorf("up extra: %d %q", code, stderr)
	}
}
