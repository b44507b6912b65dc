package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tossintl/backend/tools/samlocal/lambdarun"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// TestEveryEventAsSAMCLIRunsIt holds README's "With SAM CLI and Docker"
// claim: `sam local invoke <Fn> -e events/<file> -n env.json` runs the
// bootstrap under aws-lambda-rie (inside a container) with the variables of
// env.json in SAM's format. Here every file in events/ goes through the
// same emulator started the way SAM starts it, with nothing of the local
// stack in between but its AWS endpoint (DynamoDB Local, moto) and the sandbox that env.json points at, and
// each answers what `make invoke` answers (TestEveryEventThroughItsBootstrap
// holds that one to the same cases).
func TestEveryEventAsSAMCLIRunsIt(t *testing.T) {
	buildDir := t.TempDir()
	s, logs := startEventsStack(t, stack.Options{BuildDir: buildDir})

	// env.json as a SAM user writes it: one object per logical id, read
	// back through the same loader `make invoke -n` and start-api use.
	envFile := stack.EnvFile{}
	for _, fn := range s.Template.Functions {
		envFile[fn] = s.Env(fn)
	}
	path := filepath.Join(t.TempDir(), "env.json")
	b, err := json.MarshalIndent(envFile, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := stack.LoadEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}

	rie, err := lambdarun.RIEBinary(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range eventCases {
		if c.before != nil {
			c.before(t, s)
		}
		event, err := os.ReadFile(filepath.Join(eventsDir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		timeout, err := s.Resolver.Timeout(c.function)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := samInvoke(t.Context(), rie, filepath.Join(buildDir, c.function, "bootstrap"), c.function, timeout, loaded[c.function], event, logs)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		c.check(t, payload)
	}
}

// samInvoke runs one event as `sam local invoke` does: a fresh emulator
// with the function's bootstrap and environment, one invocation, then the
// emulator stopped.
func samInvoke(ctx context.Context, rie, bootstrap, fn string, timeout time.Duration, env map[string]string, event []byte, logs io.Writer) ([]byte, error) {
	api, err := freeAddr()
	if err != nil {
		return nil, err
	}
	front, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, rie, "--runtime-api-address", api, "--runtime-interface-emulator-address", front, bootstrap)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_FUNCTION_NAME=" + fn,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(timeout/time.Second)),
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start aws-lambda-rie: %w", err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	// Wait until the emulator listens, then send the event once: a retried
	// POST could run an event with side effects twice.
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", front, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("aws-lambda-rie never listened: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Post("http://"+front+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("aws-lambda-rie answered %d: %s", resp.StatusCode, b)
	}
	return b, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
