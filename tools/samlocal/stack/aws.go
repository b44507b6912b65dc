package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// ErrNoMoto says what to install when moto_server is missing.
var ErrNoMoto = errors.New("moto_server (local DynamoDB and Secrets Manager) is not installed: pip install 'moto[server]'")

// The fake credentials every local client and function uses.
const (
	LocalAccessKeyID     = "testing"
	LocalSecretAccessKey = "testing"
)

// DefaultMerchantAPIKey is the merchant API key of the local stack: a
// documented test value, never a live key.
const DefaultMerchantAPIKey = "local_merchant_key_for_testing_only_0001"

// Keys are the contents of the keys secret.
type Keys struct {
	TossSecretKey  string `json:"tossSecretKey"`
	TossClientKey  string `json:"tossClientKey"`
	MerchantAPIKey string `json:"merchantApiKey"`
}

// DefaultKeys are the sandbox's default test keys and the local merchant key.
func DefaultKeys() Keys {
	return Keys{TossSecretKey: tosstest.DefaultSecretKey, TossClientKey: tosstest.DefaultClientKey, MerchantAPIKey: DefaultMerchantAPIKey}
}

// String never shows the keys, so a Keys printed by mistake leaks nothing.
func (k Keys) String() string { return "stack.Keys{…}" }

// GoString is String for %#v.
func (k Keys) GoString() string { return k.String() }

// check refuses anything but test keys: the local stack must never hold a
// key that can move real money.
func (k Keys) check() error {
	if !strings.HasPrefix(k.TossSecretKey, "test_sk_") {
		return errors.New("the Toss secret key must be a test key (test_sk_…); the local stack never takes a live key")
	}
	if !strings.HasPrefix(k.TossClientKey, "test_ck_") {
		return errors.New("the Toss client key must be a test key (test_ck_…)")
	}
	if k.MerchantAPIKey == "" {
		return errors.New("the merchant API key is empty")
	}
	return nil
}

// moto is a moto_server this process started.
type moto struct {
	url    string
	pid    int
	exited chan struct{}
	once   sync.Once
}

// startMoto starts moto_server on a free loopback port, in its own process
// group and tied to this process's life, and waits until it answers.
func startMoto(ctx context.Context) (*moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNoMoto
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
	m := &moto{url: fmt.Sprintf("http://127.0.0.1:%d", port), pid: cmd.Process.Pid, exited: make(chan struct{})}
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(m.exited)
	}()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"/moto-api/", nil)
		if err != nil {
			m.stop()
			return nil, fmt.Errorf("moto_server request: %w", err)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return m, nil
		}
		select {
		case <-m.exited:
			return nil, fmt.Errorf("moto_server exited before answering: %v", waitErr)
		case <-ctx.Done():
			m.stop()
			return nil, fmt.Errorf("waiting for moto_server: %w", ctx.Err())
		case <-deadline.C:
			m.stop()
			return nil, fmt.Errorf("moto_server on port %d did not answer within 30s", port)
		case <-tick.C:
		}
	}
}

// stop kills moto_server's process group and waits until it is gone.
func (m *moto) stop() {
	m.once.Do(func() {
		select {
		case <-m.exited:
			return // already reaped: its group id may belong to someone else now
		default:
		}
		_ = syscall.Kill(-m.pid, syscall.SIGKILL)
		<-m.exited
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

// awsClients returns clients on endpoint with the local credentials.
func awsClients(endpoint string) (*dynamodb.Client, *secretsmanager.Client) {
	creds := credentials.NewStaticCredentialsProvider(LocalAccessKeyID, LocalSecretAccessKey, "")
	return dynamodb.New(dynamodb.Options{Region: Region, Credentials: creds, BaseEndpoint: aws.String(endpoint)}),
		secretsmanager.New(secretsmanager.Options{Region: Region, Credentials: creds, BaseEndpoint: aws.String(endpoint)})
}

// createTables creates each table and turns on its TTL (moto's own
// CloudFormation would skip TimeToLiveSpecification).
func createTables(ctx context.Context, db *dynamodb.Client, tables []*Table) error {
	for _, t := range tables {
		// The tables are new to this moto_server, so "already exists" means
		// the SDK retried a CreateTable that had taken effect.
		var inUse *types.ResourceInUseException
		if _, err := db.CreateTable(ctx, t.Create); err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s (%s): %w", t.Name, t.LogicalID, err)
		}
		if t.TTL != nil {
			if _, err := db.UpdateTimeToLive(ctx, t.TTL); err != nil {
				return fmt.Errorf("enable TTL on %s: %w", t.Name, err)
			}
		}
	}
	return nil
}

// secretValue is what a template secret holds locally: a secret whose
// template value is a JSON object with the keys' fields (empty
// placeholders, say) gets the keys; any other keeps its template value.
func secretValue(s *Secret, keys Keys) (string, error) {
	var fields map[string]any
	if json.Unmarshal([]byte(s.SecretString), &fields) != nil || fields == nil {
		if s.SecretString == "" {
			return "{}", nil
		}
		return s.SecretString, nil
	}
	_, a := fields["tossSecretKey"]
	_, b := fields["tossClientKey"]
	_, c := fields["merchantApiKey"]
	if !a && !b && !c {
		return s.SecretString, nil
	}
	fields["tossSecretKey"], fields["tossClientKey"], fields["merchantApiKey"] = keys.TossSecretKey, keys.TossClientKey, keys.MerchantAPIKey
	out, err := json.Marshal(fields)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", s.Name, err)
	}
	return string(out), nil
}

// createSecrets creates each secret with its local value.
func createSecrets(ctx context.Context, sm *secretsmanager.Client, secrets []*Secret, keys Keys) error {
	for _, s := range secrets {
		v, err := secretValue(s, keys)
		if err != nil {
			return err
		}
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(s.Name), SecretString: aws.String(v)}); err != nil {
			// The error names the secret, never its value.
			return fmt.Errorf("create secret %s (%s): %w", s.Name, s.LogicalID, err)
		}
	}
	return nil
}
