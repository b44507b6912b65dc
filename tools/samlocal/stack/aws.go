package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

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

// DynamoDB is a client of the stack's DynamoDB Local, past the proxy and
// its hooks, with the local credentials: for fixtures and checks.
func (s *Stack) DynamoDB() *dynamodb.Client {
	creds := credentials.NewStaticCredentialsProvider(LocalAccessKeyID, LocalSecretAccessKey, "")
	return dynamodb.New(dynamodb.Options{Region: Region, Credentials: creds, BaseEndpoint: aws.String(s.DynamoDBURL)})
}

// secretsClient is a Secrets Manager client on endpoint with the local
// credentials.
func secretsClient(endpoint string) *secretsmanager.Client {
	creds := credentials.NewStaticCredentialsProvider(LocalAccessKeyID, LocalSecretAccessKey, "")
	return secretsmanager.New(secretsmanager.Options{Region: Region, Credentials: creds, BaseEndpoint: aws.String(endpoint)})
}

// createTables creates each table and turns on its TTL and its stream.
// Point-in-time recovery is left off: DynamoDB Local serves neither
// UpdateContinuousBackups nor DescribeContinuousBackups (make doctor says
// "not available locally"; README's differences from DynamoDB).
func createTables(ctx context.Context, db *dynamodb.Client, tables []*Table) error {
	for _, t := range tables {
		// The tables are new to this DynamoDB Local, so "already exists"
		// means the SDK retried a CreateTable that had taken effect.
		var inUse *types.ResourceInUseException
		if _, err := db.CreateTable(ctx, t.Create); err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s (%s): %w", t.Name, t.LogicalID, err)
		}
		if t.TTL != nil {
			if _, err := db.UpdateTimeToLive(ctx, t.TTL); err != nil {
				return fmt.Errorf("enable TTL on %s: %w", t.Name, err)
			}
		}
		if t.Stream != nil {
			if _, err := db.UpdateTable(ctx, t.Stream); err != nil {
				return fmt.Errorf("enable the stream of %s: %w", t.Name, err)
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
