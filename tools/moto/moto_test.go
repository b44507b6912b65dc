package moto

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// -moto.raw sends the race test to moto_server itself instead of the proxy,
// to show what the proxy is for: go test ./tools/moto -run Atomic -moto.raw
var raw = flag.Bool("moto.raw", false, "race moto_server itself, without the serializing proxy (expected to fail)")

const (
	racers = 8
	trials = 100
)

func client(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

// TestConditionalWritesAreAtomic races 8 conditional UpdateItems on one item,
// 100 times: each may claim the item only while it is unclaimed, so exactly
// one must win every trial, as in DynamoDB.
func TestConditionalWritesAreAtomic(t *testing.T) {
	ctx := t.Context()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	endpoint := s.URL
	if *raw {
		endpoint = s.RawURL
	}
	db := client(endpoint)
	table := "race"
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatalf("create table: %v", err)
	}

	doubles := 0
	for trial := range trials {
		id := "item-" + strconv.Itoa(trial)
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: id}, "holder": &types.AttributeValueMemberS{Value: "none"},
		}}); err != nil {
			t.Fatalf("put: %v", err)
		}
		winners, err := race(ctx, db, table, id)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if winners != 1 {
			doubles++
			t.Errorf("trial %d: %d of %d conditional claims succeeded, want exactly 1", trial, winners, racers)
		}
	}
	t.Logf("%d trials x %d racers against %s: %d trials with other than one winner", trials, racers, endpoint, doubles)
}

// race starts the claims together and counts those that succeeded.
func race(ctx context.Context, db *dynamodb.Client, table, id string) (int, error) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners int
		errs    []error
	)
	start := make(chan struct{})
	for r := range racers {
		wg.Go(func() {
			<-start
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:           aws.String(table),
				Key:                 map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
				UpdateExpression:    aws.String("SET holder = :me"),
				ConditionExpression: aws.String("holder = :none"),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":me": &types.AttributeValueMemberS{Value: fmt.Sprint("racer-", r)}, ":none": &types.AttributeValueMemberS{Value: "none"},
				},
			})
			var refused *types.ConditionalCheckFailedException
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners++
			case errors.As(err, &refused):
			default:
				errs = append(errs, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return winners, errors.Join(errs...)
}

// TestSecretsManagerPassesThrough: the proxy is transparent to the other
// service moto serves.
func TestSecretsManagerPassesThrough(t *testing.T) {
	ctx := t.Context()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	sm := secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(s.URL),
	})
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("k"), SecretString: aws.String("v")}); err != nil {
		t.Fatalf("create secret: %v", err)
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("k")})
	if err != nil || aws.ToString(out.SecretString) != "v" {
		t.Fatalf("get secret: %v %v", out, err)
	}
}

// TestCloseStopsBoth: after Close neither moto nor the proxy answers, and a
// second Close is harmless.
func TestCloseStopsBoth(t *testing.T) {
	s, err := Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	for _, u := range []string{s.URL, s.RawURL} {
		if _, err := client(u).ListTables(t.Context(), &dynamodb.ListTablesInput{}, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }); err == nil {
			t.Errorf("%s still answers after Close", u)
		}
	}
}
