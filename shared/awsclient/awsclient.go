// Package awsclient builds the DynamoDB and Secrets Manager clients from the
// environment Lambda already provides (AWS_REGION and the AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN variables), without
// config.LoadDefaultConfig: that links shared-config, SSO, STS and IMDS code a
// Lambda function never needs, about 1.9 MiB in every function (measured in
// tools/bench/deps_test.go, which keeps it out).
//
// AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SECRETS_MANAGER,
// AWS_ENDPOINT_URL_EVENTBRIDGE and AWS_ENDPOINT_URL are honoured, so the
// same binaries run against moto_server.
package awsclient

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"
)

// Env is what the clients are built from. FromEnv fills it from the process environment.
type Env struct {
	Region           string
	AccessKeyID      string
	SecretAccessKey  string
	SessionToken     string
	DynamoDBEndpoint string // empty: the AWS endpoint for Region
	SecretsEndpoint  string // empty: the AWS endpoint for Region
	EventsEndpoint   string // EventBridge; empty: the AWS endpoint for Region
	APIOptions       []func(*middleware.Stack) error
	RetryMaxAttempts int // 0: the SDK default
}

// FromEnv reads the Lambda environment.
func FromEnv() Env { return Load(os.Getenv) }

// Load reads the settings through getenv. The region is AWS_REGION, else
// AWS_DEFAULT_REGION, else us-east-1; a service's own endpoint variable wins
// over AWS_ENDPOINT_URL, as in the SDK's shared configuration.
func Load(getenv func(string) string) Env {
	region := firstNonEmpty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1")
	generic := getenv("AWS_ENDPOINT_URL")
	return Env{
		Region:           region,
		AccessKeyID:      getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey:  getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:     getenv("AWS_SESSION_TOKEN"),
		DynamoDBEndpoint: firstNonEmpty(getenv("AWS_ENDPOINT_URL_DYNAMODB"), generic),
		SecretsEndpoint:  firstNonEmpty(getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER"), generic),
		EventsEndpoint:   firstNonEmpty(getenv("AWS_ENDPOINT_URL_EVENTBRIDGE"), generic),
	}
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func (e Env) credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(e.AccessKeyID, e.SecretAccessKey, e.SessionToken)
}

// DynamoDB returns a DynamoDB client for e.
func (e Env) DynamoDB() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:           e.Region,
		Credentials:      e.credentials(),
		BaseEndpoint:     endpoint(e.DynamoDBEndpoint),
		APIOptions:       e.APIOptions,
		RetryMaxAttempts: e.RetryMaxAttempts,
	})
}

// SecretsManager returns a Secrets Manager client for e.
func (e Env) SecretsManager() *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:           e.Region,
		Credentials:      e.credentials(),
		BaseEndpoint:     endpoint(e.SecretsEndpoint),
		APIOptions:       e.APIOptions,
		RetryMaxAttempts: e.RetryMaxAttempts,
	})
}

func endpoint(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
