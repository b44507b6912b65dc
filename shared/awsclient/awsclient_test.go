package awsclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var key = map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}}

func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want Env
	}{
		{
			name: "nothing set: us-east-1, no credentials, AWS endpoints",
			want: Env{Region: "us-east-1"},
		},
		{
			name: "Lambda's variables",
			vars: map[string]string{
				"AWS_REGION": "ap-northeast-2", "AWS_DEFAULT_REGION": "eu-west-1",
				"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_SESSION_TOKEN": "TOKEN",
			},
			want: Env{Region: "ap-northeast-2", AccessKeyID: "AKID", SecretAccessKey: "SECRET", SessionToken: "TOKEN"},
		},
		{
			name: "AWS_DEFAULT_REGION when AWS_REGION is unset",
			vars: map[string]string{"AWS_DEFAULT_REGION": "eu-west-1"},
			want: Env{Region: "eu-west-1"},
		},
		{
			name: "AWS_ENDPOINT_URL serves both services",
			vars: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
			want: Env{Region: "us-east-1", DynamoDBEndpoint: "http://127.0.0.1:5000", SecretsEndpoint: "http://127.0.0.1:5000"},
		},
		{
			name: "a service's own endpoint wins over AWS_ENDPOINT_URL",
			vars: map[string]string{
				"AWS_ENDPOINT_URL":                 "http://generic:5000",
				"AWS_ENDPOINT_URL_DYNAMODB":        "http://dynamo:8000",
				"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://secrets:9000",
			},
			want: Env{Region: "us-east-1", DynamoDBEndpoint: "http://dynamo:8000", SecretsEndpoint: "http://secrets:9000"},
		},
		{
			name: "AWS_ENDPOINT_URL_DYNAMODB alone leaves Secrets Manager on AWS",
			vars: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://dynamo:8000"},
			want: Env{Region: "us-east-1", DynamoDBEndpoint: "http://dynamo:8000"},
		},
		{
			name: "AWS_ENDPOINT_URL_SECRETS_MANAGER alone leaves DynamoDB on AWS",
			vars: map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://secrets:9000"},
			want: Env{Region: "us-east-1", SecretsEndpoint: "http://secrets:9000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Load(getenv(tt.vars))
			if got.Region != tt.want.Region || got.AccessKeyID != tt.want.AccessKeyID ||
				got.SecretAccessKey != tt.want.SecretAccessKey || got.SessionToken != tt.want.SessionToken ||
				got.DynamoDBEndpoint != tt.want.DynamoDBEndpoint || got.SecretsEndpoint != tt.want.SecretsEndpoint ||
				got.APIOptions != nil || got.RetryMaxAttempts != 0 {
				t.Errorf("Load = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestFromEnvReadsTheProcessEnvironment: FromEnv is Load(os.Getenv).
func TestFromEnvReadsTheProcessEnvironment(t *testing.T) {
	vars := map[string]string{
		"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "", "AWS_ACCESS_KEY_ID": "AKID",
		"AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_SESSION_TOKEN": "TOKEN", "AWS_ENDPOINT_URL": "http://generic:1",
		"AWS_ENDPOINT_URL_DYNAMODB": "http://dynamo:2", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "",
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	got, want := FromEnv(), Load(getenv(vars))
	if got.Region != want.Region || got.AccessKeyID != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey ||
		got.SessionToken != want.SessionToken || got.DynamoDBEndpoint != want.DynamoDBEndpoint || got.SecretsEndpoint != want.SecretsEndpoint {
		t.Fatalf("FromEnv = %+v, want %+v", got, want)
	}
	if got.DynamoDBEndpoint != "http://dynamo:2" || got.SecretsEndpoint != "http://generic:1" {
		t.Fatalf("FromEnv endpoints = %q, %q", got.DynamoDBEndpoint, got.SecretsEndpoint)
	}
}

// sent is a request as the client would have put it on the wire, signed.
type sent struct {
	url, authorization, securityToken string
}

var errStop = errors.New("stopped before sending")

// capture is SDK middleware that records the signed request at the end of
// the Finalize step and stops it there, so nothing leaves the process.
func capture(got *sent) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("capture",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				req, ok := in.Request.(*smithyhttp.Request)
				if !ok {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, errors.New("not an HTTP request")
				}
				*got = sent{
					url:           req.URL.String(),
					authorization: req.Header.Get("Authorization"),
					securityToken: req.Header.Get("X-Amz-Security-Token"),
				}
				return middleware.FinalizeOutput{}, middleware.Metadata{}, errStop
			}), middleware.After)
	}
}

// TestClientsSignForTheEnvironment builds each client from an Env and looks
// at the request it would send: where to, signed for which region and
// service, with which credentials.
func TestClientsSignForTheEnvironment(t *testing.T) {
	creds := Env{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "SECRET", SessionToken: "TOKEN"}
	tests := []struct {
		name        string
		env         Env
		wantDynamo  string // request URL prefix
		wantSecrets string
		wantToken   string
	}{
		{
			name:        "AWS endpoints of the region",
			env:         Env{Region: "ap-northeast-2", AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken},
			wantDynamo:  "https://dynamodb.ap-northeast-2.amazonaws.com/",
			wantSecrets: "https://secretsmanager.ap-northeast-2.amazonaws.com/",
			wantToken:   "TOKEN",
		},
		{
			name:        "endpoint overrides, no session token",
			env:         Env{Region: "us-east-1", AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, DynamoDBEndpoint: "http://127.0.0.1:8000", SecretsEndpoint: "http://127.0.0.1:9000"},
			wantDynamo:  "http://127.0.0.1:8000/",
			wantSecrets: "http://127.0.0.1:9000/",
		},
		{
			name:        "one override: the other service stays on AWS",
			env:         Env{Region: "eu-west-1", AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, DynamoDBEndpoint: "http://localhost:4566"},
			wantDynamo:  "http://localhost:4566/",
			wantSecrets: "https://secretsmanager.eu-west-1.amazonaws.com/",
		},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, svc := range []struct {
				name, signingName, wantURL string
				call                       func(Env) error
			}{
				{"DynamoDB", "dynamodb", tt.wantDynamo, func(e Env) error {
					_, err := e.DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key})
					return err
				}},
				{"SecretsManager", "secretsmanager", tt.wantSecrets, func(e Env) error {
					_, err := e.SecretsManager().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
					return err
				}},
			} {
				var got sent
				env := tt.env
				env.APIOptions = []func(*middleware.Stack) error{capture(&got)}
				if err := svc.call(env); !errors.Is(err, errStop) {
					t.Fatalf("%s: call error %v, want the capture's", svc.name, err)
				}
				if !strings.HasPrefix(got.url, svc.wantURL) {
					t.Errorf("%s: request to %q, want %q", svc.name, got.url, svc.wantURL)
				}
				scope := "/" + tt.env.Region + "/" + svc.signingName + "/aws4_request"
				if !strings.Contains(got.authorization, "Credential="+tt.env.AccessKeyID+"/") || !strings.Contains(got.authorization, scope) {
					t.Errorf("%s: Authorization %q, want key %s and scope %s", svc.name, got.authorization, tt.env.AccessKeyID, scope)
				}
				if got.securityToken != tt.wantToken {
					t.Errorf("%s: X-Amz-Security-Token %q, want %q", svc.name, got.securityToken, tt.wantToken)
				}
			}
		})
	}
}

func TestClientsRetryMaxAttempts(t *testing.T) {
	tests := []struct {
		name               string
		setting            int
		wantDynamo, wantSM int
	}{
		{"zero keeps each SDK client's default", 0, 4, 3},
		{"one: no retries", 1, 1, 1},
		{"five", 5, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := Env{Region: "us-east-1", RetryMaxAttempts: tt.setting}
			if got := env.DynamoDB().Options().Retryer.MaxAttempts(); got != tt.wantDynamo {
				t.Errorf("DynamoDB max attempts = %d, want %d", got, tt.wantDynamo)
			}
			if got := env.SecretsManager().Options().Retryer.MaxAttempts(); got != tt.wantSM {
				t.Errorf("Secrets Manager max attempts = %d, want %d", got, tt.wantSM)
			}
		})
	}
}

// TestFromEnvReachesLocalEndpoint is the promise the package makes to local
// runs: with AWS_ENDPOINT_URL set, both clients talk to that server (as to
// the local stack's AWS proxy), with the JSON protocol each service speaks.
func TestFromEnvReachesLocalEndpoint(t *testing.T) {
	var (
		mu      sync.Mutex
		targets []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		target := r.Header.Get("X-Amz-Target")
		mu.Lock()
		targets = append(targets, target)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		switch target {
		case "DynamoDB_20120810.GetItem":
			_, _ = io.WriteString(w, `{"Item":{"pk":{"S":"a"}}}`)
		case "secretsmanager.GetSecretValue":
			_, _ = io.WriteString(w, `{"Name":"s","SecretString":"value"}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"UnknownOperationException"}`)
		}
	}))
	defer srv.Close()
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"AWS_SESSION_TOKEN": "", "AWS_ENDPOINT_URL": srv.URL, "AWS_ENDPOINT_URL_DYNAMODB": "", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "",
	} {
		t.Setenv(k, v)
	}
	env := FromEnv()
	ctx := context.Background()
	item, err := env.DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if len(item.Item) != 1 {
		t.Fatalf("GetItem item = %v", item.Item)
	}
	secret, err := env.SecretsManager().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	if err != nil {
		t.Fatalf("GetSecretValue: %v", err)
	}
	if aws.ToString(secret.SecretString) != "value" {
		t.Fatalf("SecretString = %q", aws.ToString(secret.SecretString))
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"DynamoDB_20120810.GetItem", "secretsmanager.GetSecretValue"}; strings.Join(targets, ",") != strings.Join(want, ",") {
		t.Fatalf("server saw %q, want %q", targets, want)
	}
}
