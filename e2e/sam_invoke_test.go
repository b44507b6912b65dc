package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	sampleevents "github.com/tossintl/backend/events"
	"github.com/tossintl/backend/internal/procnet"
	"github.com/tossintl/backend/internal/wait"
	"github.com/tossintl/backend/tools/samlocal/lambdarun"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// TestEveryEventThroughAFreshEmulatorWithEnvJSON holds the launch README's
// "With SAM CLI and Docker" section describes, without SAM CLI or Docker:
// `sam local invoke <Fn> -e events/<file> -n env.json` runs the bootstrap
// under aws-lambda-rie with the variables of env.json in SAM's format.
// Here an env.json is written in that format and read back through the
// loader `make invoke -n` and start-api use, and every file in events/
// goes through a fresh aws-lambda-rie started on the host as SAM starts it
// in its container, one invocation each, with nothing of the local stack
// in between but its AWS endpoint (DynamoDB Local, moto) and the sandbox
// env.json points at. Each answers what `make invoke` answers
// (TestEveryEventThroughItsBootstrap holds that one to the same cases).
// Whether SAM CLI itself starts the container this way is not tested here.
func TestEveryEventThroughAFreshEmulatorWithEnvJSON(t *testing.T) {
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
		event, err := sampleevents.Read(c.file)
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
	vars := []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_FUNCTION_NAME=" + fn,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(timeout/time.Second)),
	}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	var front int
	var stop func()
	var err error
	for range 5 {
		var taken bool
		if front, stop, taken, err = startRIE(ctx, rie, bootstrap, vars, logs); err == nil || !taken {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	defer stop()
	// Sent once: a retried POST could run an event with side effects twice.
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", front), "application/json", bytes.NewReader(event))
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

// startRIE starts aws-lambda-rie and returns the port of its invocation
// endpoint once it listens there and on its Runtime API's port. The
// endpoint it binds itself (port 0), so no other process can hold it, and
// it is the port RIE listens on besides its Runtime API's. The Runtime
// API's port must be chosen here (RIE would hand the bootstrap port 0 to
// dial): a random one below the ephemeral range, which the
// bootstrap reaches only once RIE holds it; taken says another process held
// it first, and the caller tries again.
func startRIE(ctx context.Context, rie, bootstrap string, env []string, logs io.Writer) (front int, stop func(), taken bool, _ error) {
	api := 20000 + rand.IntN(32768-20000)
	cmd := exec.CommandContext(ctx, rie, "--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", api),
		"--runtime-interface-emulator-address", "127.0.0.1:0", bootstrap)
	cmd.Env = env
	out := &bytes.Buffer{}
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		out.Write(p)
		mu.Unlock()
		return logs.Write(p)
	})
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, nil, false, fmt.Errorf("start aws-lambda-rie: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	errExited := errors.New("exited")
	err := wait.Until(ctx, 30*time.Second, func() (bool, error) {
		select {
		case <-exited:
			return false, errExited
		default:
		}
		ports := procnet.ListeningPorts(cmd.Process.Pid)
		if !slices.Contains(ports, api) {
			return false, nil
		}
		for _, p := range ports {
			if p != api {
				front = p
				return true, nil
			}
		}
		return false, nil
	})
	if err == nil {
		return front, stop, false, nil
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if errors.Is(err, errExited) {
		taken = bytes.Contains(out.Bytes(), []byte("address already in use"))
		return 0, nil, taken, fmt.Errorf("aws-lambda-rie exited before it listened (%v): %s", cmd.ProcessState, out.Bytes())
	}
	return 0, nil, false, fmt.Errorf("aws-lambda-rie never listened: %w", err)
}

// writerFunc is an io.Writer of a func.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
