package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tossintl/backend/internal/testenv"
	"github.com/tossintl/backend/shared/logsink"
)

// appTemplate is package stack's test app.
const appTemplate = "stack/testdata/app/template.yaml"

// descendants lists the processes below pid (children, grandchildren …),
// read from /proc.
func descendants(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command name (which may hold spaces): state ppid …
		i := bytes.LastIndexByte(stat, ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// countingWriter keeps what is written and closes seen once needle has
// been written want times.
type countingWriter struct {
	logsink.Buffer
	needle string
	want   int
	seen   chan struct{}
	once   sync.Once
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if strings.Count(w.String(), w.needle) >= w.want {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

// TestUpStopsEverythingOnSIGINT runs `up` as make local would, waits for
// it to be ready, sends SIGINT and checks that DynamoDB Local, moto_server, the function
// processes and everything else it started are gone.
func TestUpStopsEverythingOnSIGINT(t *testing.T) {
	testenv.Skip(t, "the local stack (make local's up: DynamoDB Local, moto_server, aws-lambda-rie)")
	dir := t.TempDir()
	bin := filepath.Join(dir, "samlocal")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "up", "-t", appTemplate, "-b", filepath.Join(dir, "build"))
	cmd.Env = append(os.Environ(), "LOCAL_API_PORT=0", "TOSS_SANDBOX_ADDR=127.0.0.1:0", "LOCAL_SCHEDULE_EVERY=1s")
	// The scheduled EchoFunction logs this line each run (its RouteKey empty).
	stderr := &countingWriter{needle: "echo  hello, echo", want: 2, seen: make(chan struct{})}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Tied to the test's life, should the test itself fail midway.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	var banner strings.Builder
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Ready.") {
			ready = true
			break
		}
	}
	if !ready {
		_ = cmd.Wait()
		t.Fatalf("up never became ready:\n%s\nstderr:\n%s", banner.String(), stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	out := banner.String()
	for _, want := range []string{"API:", "Toss sandbox:", "Merchant key:  local_merchant_key_for_testing_only_0001", "Checkout:", "curl -s -u",
		"Schedule:      EchoFunction every 1s (Nightly)"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	var api string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "API:"); ok {
			api = strings.TrimSpace(v)
		}
	}
	resp, err := http.Get(api + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("API answered %d for an unknown route", resp.StatusCode)
	}

	procs := descendants(t, cmd.Process.Pid)
	var names []string
	for _, p := range procs {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		names = append(names, strings.TrimSpace(string(comm)))
	}
	if joined := strings.Join(names, " "); !strings.Contains(joined, "bootstrap") || !strings.Contains(joined, "java") || len(procs) < 4 {
		t.Fatalf("expected DynamoDB Local, moto_server and two bootstraps below up, found %v", names)
	}

	// The template's Schedule event runs at the local rate: wait for two runs.
	select {
	case <-stderr.seen:
	case <-time.After(30 * time.Second):
		t.Errorf("the scheduled EchoFunction did not run twice within 30 s; stderr:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("up after SIGINT: %v\nstderr:\n%s", err, stderr.String())
	}
	for i, p := range procs {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p)); err == nil {
			t.Errorf("process %d (%s) outlived up", p, names[i])
		}
	}
	if !strings.Contains(stderr.String(), "samlocal: stopping") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	// Stderr carries the stack's logs, written concurrently by the sandbox
	// and by every function's RIE: it needs a buffer safe for that.
	var out bytes.Buffer
	var errOut logsink.Buffer
	code = run(context.Background(), args, Env{Stdin: strings.NewReader(`{"queryStringParameters":{"mode":"raw"}}`), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

func TestInvokeCommand(t *testing.T) {
	testenv.Skip(t, "the local stack (DynamoDB Local, moto_server, the test app under aws-lambda-rie)")
	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"rawPath":"/echo/x","queryStringParameters":{"mode":"error"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"-t", appTemplate, "-b", t.TempDir()}

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
