// Package moto runs moto_server (DynamoDB and Secrets Manager over their real
// wire protocols) for the local stack, the benchmarks and the tests, behind a
// proxy that makes its conditional writes atomic.
//
// moto_server serves each request on its own thread and applies a
// conditional write as "check, then update" without a lock, so two
// concurrent conditional UpdateItems on one item can both succeed. Real
// DynamoDB never does that: it serializes the writes to an item, and a
// condition is checked and applied as one step. Code tested against the raw
// emulator under concurrency would be tested against a database that does
// not exist. The proxy therefore passes DynamoDB requests to moto one at a
// time; reads are serialized too, so a read never sees an update half
// applied. moto runs Python under one interpreter lock, so it never served
// two DynamoDB requests at once in any useful sense: the serialization costs
// little throughput (make bench measures the end-to-end figures). Secrets
// Manager requests pass through unserialized.
package moto

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNotInstalled is returned by Start when moto_server is not on PATH.
var ErrNotInstalled = errors.New("moto_server (local DynamoDB and Secrets Manager) is not installed: pip install 'moto[server]'")

// Server is a moto_server this process started, and the proxy in front of it.
type Server struct {
	// URL is the proxy's address: give it to every client.
	URL string
	// RawURL is moto_server's own address, without the proxy: only for
	// showing what the proxy is for (see TestRawEmulatorIsNotAtomic).
	RawURL string

	pid    int
	exited chan struct{}
	proxy  *http.Server
	once   sync.Once
}

// Start starts moto_server on a free loopback port, in its own process group
// and tied to this process's life, waits until it answers, and starts the
// proxy on another free loopback port.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	s := &Server{RawURL: fmt.Sprintf("http://127.0.0.1:%d", port), pid: cmd.Process.Pid, exited: make(chan struct{})}
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, port, &waitErr); err != nil {
		return nil, err
	}
	if err := s.startProxy(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, port int, waitErr *error) error {
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.RawURL+"/moto-api/", nil)
		if err != nil {
			s.Close()
			return fmt.Errorf("moto_server request: %w", err)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("moto_server exited before answering: %v", *waitErr)
		case <-ctx.Done():
			s.Close()
			return fmt.Errorf("waiting for moto_server: %w", ctx.Err())
		case <-deadline.C:
			s.Close()
			return fmt.Errorf("moto_server on port %d did not answer within 30s", port)
		case <-tick.C:
		}
	}
}

func (s *Server) startProxy() error {
	target, err := url.Parse(s.RawURL)
	if err != nil {
		return fmt.Errorf("moto_server URL: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("moto proxy: listen: %w", err)
	}
	s.proxy = &http.Server{Handler: Serialize(httputil.NewSingleHostReverseProxy(target)), ReadHeaderTimeout: 10 * time.Second}
	s.URL = "http://" + l.Addr().String()
	go func() { _ = s.proxy.Serve(l) }()
	return nil
}

// Serialize passes DynamoDB requests (their X-Amz-Target names a DynamoDB
// operation) to next one at a time, as real DynamoDB applies the writes to
// an item; everything else passes straight through.
func Serialize(next http.Handler) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_") {
			mu.Lock()
			defer mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// Close stops the proxy, kills moto_server's process group and waits until
// it is gone. It is safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		if s.proxy != nil {
			_ = s.proxy.Close()
		}
		select {
		case <-s.exited:
			return // already reaped: its group id may belong to someone else now
		default:
		}
		_ = syscall.Kill(-s.pid, syscall.SIGKILL)
		<-s.exited
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
