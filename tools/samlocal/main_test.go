package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tossintl/backend/internal/testenv"
)

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
	cmd := exec.Command(bin, "up", "-t", "stack/testdata/app/template.yaml", "-b", filepath.Join(dir, "build"))
	cmd.Env = append(os.Environ(), "LOCAL_API_PORT=0", "TOSS_SANDBOX_ADDR=127.0.0.1:0", "LOCAL_SCHEDULE_EVERY=1s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
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

	// The template's Schedule event runs at the local rate: give it two ticks.
	time.Sleep(2500 * time.Millisecond)
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
	if !strings.Contains(stderr.String(), "echo  hello, echo") {
		t.Errorf("the scheduled EchoFunction never ran; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "samlocal: stopping") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}
