// Package moto runs moto_server for what AWS's DynamoDB Local does not
// serve: Secrets Manager for the local stack and the tests, and
// CloudFormation and EventBridge's rules for the doctor's test of a
// deployed stack. DynamoDB itself is DynamoDB Local's (package
// tools/dynamodblocal): moto applies a conditional write as "check, then
// update" without a lock, so two concurrent claims of one item could both
// win, which DynamoDB never allows.
package moto

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"time"

	"github.com/tossintl/backend/tools/internal/child"
)

// ErrNotInstalled is returned by Start when moto_server is not on PATH.
var ErrNotInstalled = errors.New("moto_server (local Secrets Manager) is not installed: pip install 'moto[server]'")

// Server is a moto_server this process started.
type Server struct {
	// URL is its endpoint.
	URL  string
	proc *child.Process
}

// Start starts moto_server on a loopback port the kernel chooses (it binds
// port 0 and prints the port it got), in its own process group and tied to
// this process's life, and waits until it answers.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	p, err := child.Start(ctx, child.Spec{
		Name: "moto_server",
		Command: func(port int) *exec.Cmd {
			return exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		},
		ReportedPort: reportedPort,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", p.Port), proc: p}
	// The socket is open before the first request is served.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/", nil)
	if err == nil {
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("moto_server at %s: first request: %w", s.URL, err)
	}
	return s, nil
}

// running is the line werkzeug (moto_server's HTTP server) prints once
// it listens: " * Running on http://127.0.0.1:45237".
var running = regexp.MustCompile(`Running on http://127\.0\.0\.1:([0-9]+)`)

// reportedPort is the port moto_server says it listens on, 0 until it has.
func reportedPort(out []byte) int {
	m := running.FindSubmatch(out)
	if m == nil {
		return 0
	}
	port, _ := strconv.Atoi(string(m[1]))
	return port
}

// Close kills moto_server's process group and waits until it is gone. It is
// safe to call more than once.
func (s *Server) Close() { s.proc.Close() }
