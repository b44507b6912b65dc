package app

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"

	"github.com/tossintl/backend/shared/awsclient"
)

// TestWrappersForward: each wrapper method runs its own operation on the
// client it wraps, with the caller's per-call options.
func TestWrappersForward(t *testing.T) {
	fake := &fakeAWS{secret: "{}"}
	env := awsclient.Env{Region: "us-east-1", APIOptions: []func(*middleware.Stack) error{fake.middleware}}
	db, sm := newDynamoDB(env.DynamoDB()), newSecretsManager(env.SecretsManager())
	ctx := context.Background()
	table := aws.String("t")
	key := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "a"}}
	var optsApplied int
	dynamoOpt := func(o *dynamodb.Options) { optsApplied++ }
	tests := []struct {
		want string
		call func() error
	}{
		{"GetItem t", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key}, dynamoOpt)
			return err
		}},
		{"PutItem t", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: key}, dynamoOpt)
			return err
		}},
		{"UpdateItem t", func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key}, dynamoOpt)
			return err
		}},
		{"DeleteItem t", func() error {
			_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: key}, dynamoOpt)
			return err
		}},
		{"Query t", func() error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: table}, dynamoOpt)
			return err
		}},
		{"GetSecretValue s", func() error {
			_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")},
				func(o *secretsmanager.Options) { optsApplied++ })
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			optsApplied = 0
			_ = tt.call() // the fake refuses some operations; what matters is what reached it
			if got := fake.take(); strings.Join(got, ";") != tt.want {
				t.Errorf("reached %q, want %q", got, tt.want)
			}
			if optsApplied != 1 {
				t.Errorf("per-call option applied %d times, want 1", optsApplied)
			}
		})
	}
}
