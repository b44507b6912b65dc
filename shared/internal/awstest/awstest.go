// Package awstest runs integration tests against AWS's DynamoDB Local and,
// for Secrets Manager, moto_server, over HTTP: the real wire protocols, no
// AWS account.
//
// A package's tests call Main from TestMain. Main starts DynamoDB Local
// (package tools/dynamodblocal) for the test process, or uses
// DYNAMODB_ENDPOINT's; moto_server starts the first time a test asks for
// Secrets Manager, or MOTO_ENDPOINT's is used. DynamoDB Local applies each
// conditional write atomically, as DynamoDB does, so tests that race
// writes meet the database the code runs on. A missing server fails the
// run: it is never skipped. Under go test -short nothing starts and the
// tests that need a server skip (package internal/testenv), so a package's
// other tests are the fast inner loop.
package awstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tossintl/backend/internal/testenv"
	"github.com/tossintl/backend/shared/awsclient"
	"github.com/tossintl/backend/tools/dynamodblocal"
	"github.com/tossintl/backend/tools/moto"
)

// The process's servers: DynamoDB Local from Main, moto on first use.
var (
	dynamoEndpoint string
	secrets        struct {
		once     sync.Once
		endpoint string
		err      error
		stop     func()
	}
)

// Main starts (or finds) DynamoDB Local, runs the tests and stops what it
// started. Under -short it starts nothing: DynamoDBEndpoint skips instead.
func Main(m *testing.M) int {
	dynamoEndpoint = os.Getenv("DYNAMODB_ENDPOINT")
	if dynamoEndpoint == "" && !testenv.Short() {
		s, err := dynamodblocal.Start(context.Background(), dynamodblocal.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "awstest:", err)
			return 1
		}
		defer s.Close()
		dynamoEndpoint = s.URL
	}
	defer func() {
		if secrets.stop != nil {
			secrets.stop()
		}
	}()
	return m.Run()
}

// DynamoDBEndpoint is the URL of the DynamoDB Local in use.
func DynamoDBEndpoint(t testing.TB) string {
	t.Helper()
	testenv.Skip(t, "DynamoDB Local")
	if dynamoEndpoint == "" {
		t.Fatal("awstest: no DynamoDB Local: call awstest.Main from TestMain")
	}
	return dynamoEndpoint
}

// SecretsEndpoint is the URL of the moto_server serving Secrets Manager,
// started on the first call.
func SecretsEndpoint(t testing.TB) string {
	t.Helper()
	testenv.Skip(t, "moto_server (Secrets Manager)")
	secrets.once.Do(func() {
		if secrets.endpoint = os.Getenv("MOTO_ENDPOINT"); secrets.endpoint != "" {
			return
		}
		s, err := moto.Start(context.Background())
		if err != nil {
			secrets.err = fmt.Errorf("awstest: %w", err)
			return
		}
		secrets.endpoint, secrets.stop = s.URL, s.Close
	})
	if secrets.err != nil {
		t.Fatal(secrets.err)
	}
	return secrets.endpoint
}

// Servers are the local AWS servers of a test that does not run Main.
type Servers struct {
	DynamoDB       string // DynamoDB Local
	SecretsManager string // moto_server
}

// StartServers starts DynamoDB Local and moto_server side by side (or takes
// DYNAMODB_ENDPOINT's and MOTO_ENDPOINT's) and returns a func stopping what
// it started. Under -short it skips t.
func StartServers(t testing.TB) (Servers, func(), error) {
	t.Helper()
	testenv.Skip(t, "DynamoDB Local and moto_server")
	out := Servers{DynamoDB: os.Getenv("DYNAMODB_ENDPOINT"), SecretsManager: os.Getenv("MOTO_ENDPOINT")}
	var stops []func()
	stop := func() {
		for _, f := range stops {
			f()
		}
	}
	var wg sync.WaitGroup
	var dynErr, motoErr error
	var mu sync.Mutex
	if out.DynamoDB == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := dynamodblocal.Start(context.Background(), dynamodblocal.Options{})
			if err != nil {
				dynErr = err
				return
			}
			mu.Lock()
			stops = append(stops, d.Close)
			mu.Unlock()
			out.DynamoDB = d.URL
		}()
	}
	if out.SecretsManager == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := moto.Start(context.Background())
			if err != nil {
				motoErr = err
				return
			}
			mu.Lock()
			stops = append(stops, m.Close)
			mu.Unlock()
			out.SecretsManager = m.URL
		}()
	}
	wg.Wait()
	if err := errors.Join(dynErr, motoErr); err != nil {
		stop()
		return Servers{}, nil, fmt.Errorf("awstest: %w", err)
	}
	return out, stop, nil
}

// Env returns client settings pointing at DynamoDB Local and moto (started
// by this call if no test asked for it yet), with optional SDK middleware.
func Env(t testing.TB, apiOptions ...func(*middleware.Stack) error) awsclient.Env {
	t.Helper()
	return awsclient.Env{
		Region:           "us-east-1",
		AccessKeyID:      "testing",
		SecretAccessKey:  "testing",
		DynamoDBEndpoint: DynamoDBEndpoint(t),
		SecretsEndpoint:  SecretsEndpoint(t),
		APIOptions:       apiOptions,
	}
}

// DynamoDB returns a DynamoDB client on DynamoDB Local.
func DynamoDB(t testing.TB, apiOptions ...func(*middleware.Stack) error) *dynamodb.Client {
	t.Helper()
	return awsclient.Env{Region: "us-east-1", AccessKeyID: "testing", SecretAccessKey: "testing",
		DynamoDBEndpoint: DynamoDBEndpoint(t), APIOptions: apiOptions}.DynamoDB()
}

// SecretsManager returns a Secrets Manager client on moto.
func SecretsManager(t testing.TB, apiOptions ...func(*middleware.Stack) error) *secretsmanager.Client {
	t.Helper()
	return awsclient.Env{Region: "us-east-1", AccessKeyID: "testing", SecretAccessKey: "testing",
		SecretsEndpoint: SecretsEndpoint(t), APIOptions: apiOptions}.SecretsManager()
}

// UniqueName returns prefix plus a random suffix, so tests sharing one
// server never see each other's tables or secrets.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// CreateTable creates a table and registers its deletion at the end of the test.
// Table names are unique per test (UniqueName), so "already exists" can only
// mean the SDK retried a CreateTable that had taken effect: it is accepted.
func CreateTable(t testing.TB, db *dynamodb.Client, in *dynamodb.CreateTableInput) {
	t.Helper()
	ctx := context.Background()
	var inUse *types.ResourceInUseException
	if _, err := db.CreateTable(ctx, in); err != nil && !errors.As(err, &inUse) {
		t.Fatalf("create table %s: %v", *in.TableName, err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: in.TableName})
	})
}

// Calls counts SDK operations by name ("PutItem", "GetSecretValue", …).
// Add Calls.Middleware to a client's APIOptions.
type Calls struct {
	mu     sync.Mutex
	counts map[string]int
}

// Middleware is an APIOptions entry that counts each operation once per call
// (retries included only once: it sits in the Initialize step).
func (c *Calls) Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("awstest.Calls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.add(middleware.GetOperationName(ctx))
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

func (c *Calls) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[op]++
}

// Count returns how many calls of op were made; with no op, all calls.
func (c *Calls) Count(ops ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(ops) == 0 {
		n := 0
		for _, v := range c.counts {
			n += v
		}
		return n
	}
	n := 0
	for _, op := range ops {
		n += c.counts[op]
	}
	return n
}

// Reset forgets all counts.
func (c *Calls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = nil
}

// String lists the counts, for failure messages.
func (c *Calls) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for k, v := range c.counts {
		fmt.Fprintf(&b, "%s=%d ", k, v)
	}
	return strings.TrimSpace(b.String())
}

// Replays makes chosen operations reach the server twice, as when the SDK
// retries a request whose first attempt took effect but whose answer was
// lost (a reset connection, a 500 after commit). The caller sees only the
// second answer. Add Replays.Middleware to a client's APIOptions.
type Replays struct {
	Ops []string // operation names to send twice, e.g. "PutItem"

	mu sync.Mutex
	n  int
}

// Middleware is the APIOptions entry. It sits at the start of the
// Deserialize step, after signing, so both sends carry the same request.
func (r *Replays) Middleware(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("awstest.Replays",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			if !r.selects(middleware.GetOperationName(ctx)) {
				return next.HandleDeserialize(ctx, in)
			}
			req, ok := in.Request.(*smithyhttp.Request)
			if !ok {
				return middleware.DeserializeOutput{}, middleware.Metadata{}, fmt.Errorf("awstest.Replays: request is %T", in.Request)
			}
			if out, md, err := next.HandleDeserialize(ctx, in); err != nil {
				return out, md, err // refused or failed: nothing to replay
			}
			if err := req.RewindStream(); err != nil {
				return middleware.DeserializeOutput{}, middleware.Metadata{}, fmt.Errorf("awstest.Replays: rewind: %w", err)
			}
			r.mu.Lock()
			r.n++
			r.mu.Unlock()
			return next.HandleDeserialize(ctx, in)
		}), middleware.Before)
}

func (r *Replays) selects(op string) bool {
	for _, o := range r.Ops {
		if o == op {
			return true
		}
	}
	return false
}

// Count is how many requests were sent twice: those whose first send
// succeeded.
func (r *Replays) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
