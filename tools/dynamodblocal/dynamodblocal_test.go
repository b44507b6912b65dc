package dynamodblocal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/smithy-go"

	"github.com/tossintl/backend/internal/testenv"
)

// One server for the package's tests: each test makes tables of its own.
// Under -short none starts, and the tests on it skip.
var server *Server

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if testenv.Short() {
			return m.Run()
		}
		s, err := Start(context.Background(), Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "dynamodblocal:", err)
			return 1
		}
		defer s.Close()
		server = s
		return m.Run()
	}())
}

func client() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(server.URL),
	})
}

func createTable(t *testing.T, db *dynamodb.Client, in *dynamodb.CreateTableInput) {
	t.Helper()
	if in.BillingMode == "" {
		in.BillingMode = types.BillingModePayPerRequest
	}
	if _, err := db.CreateTable(t.Context(), in); err != nil {
		t.Fatalf("create table %s: %v", aws.ToString(in.TableName), err)
	}
}

func idTable(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

const (
	racers = 8
	trials = 100
)

// TestConditionalWritesAreAtomic races 8 conditional UpdateItems on one
// item, 100 times, straight at DynamoDB Local: each may claim the item only
// while it is unclaimed, so exactly one must win every trial, as in
// DynamoDB. The payment engine's exactly-once claim rests on this; moto,
// the emulator before, let two claims win and needed a proxy that applied
// its requests one at a time.
func TestConditionalWritesAreAtomic(t *testing.T) {
	testenv.Skip(t, "DynamoDB Local")
	ctx := t.Context()
	db := client()
	createTable(t, db, idTable("race"))
	for trial := range trials {
		id := "item-" + strconv.Itoa(trial)
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("race"),
			Item: map[string]types.AttributeValue{"id": s(id), "holder": s("none")}}); err != nil {
			t.Fatalf("put: %v", err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		var firstErr error
		start := make(chan struct{})
		for r := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
					TableName:                 aws.String("race"),
					Key:                       map[string]types.AttributeValue{"id": s(id)},
					UpdateExpression:          aws.String("SET holder = :me"),
					ConditionExpression:       aws.String("holder = :none"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":me": s("racer-" + strconv.Itoa(r)), ":none": s("none")},
				})
				var refused *types.ConditionalCheckFailedException
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners++
				case errors.As(err, &refused):
				case firstErr == nil:
					firstErr = err
				}
			}()
		}
		close(start)
		wg.Wait()
		if firstErr != nil {
			t.Fatalf("trial %d: %v", trial, firstErr)
		}
		if winners != 1 {
			t.Errorf("trial %d: %d of %d conditional claims succeeded, want exactly 1", trial, winners, racers)
		}
	}
}

// TestWhatTheProjectUses holds DynamoDB Local to what the stores, the
// local stack and the capacity model rely on, and to the differences
// README lists: a new DynamoDB Local that changes one fails here first.
func TestWhatTheProjectUses(t *testing.T) {
	testenv.Skip(t, "DynamoDB Local")
	ctx := t.Context()
	db := client()
	in := idTable("uses")
	in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String("due"), AttributeType: types.ScalarAttributeTypeS})
	in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{{IndexName: aws.String("byDue"),
		KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("due"), KeyType: types.KeyTypeHash}},
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}}}
	in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages}
	createTable(t, db, in)

	t.Run("a refused write returns the item it was checked against", func(t *testing.T) {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("uses"), Item: map[string]types.AttributeValue{"id": s("a"), "due": s("UNPAID")}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("uses"), Item: map[string]types.AttributeValue{"id": s("a")},
			ConditionExpression: aws.String("attribute_not_exists(id)"), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
		var refused *types.ConditionalCheckFailedException
		if !errors.As(err, &refused) || refused.Item["due"] == nil {
			t.Fatalf("want ConditionalCheckFailed with the old item, got %v", err)
		}
	})

	t.Run("consumed capacity per table and index", func(t *testing.T) {
		// Moving the index key costs the index a delete and a put.
		out, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("uses"), Key: map[string]types.AttributeValue{"id": s("a")},
			UpdateExpression: aws.String("SET due = :d"), ExpressionAttributeValues: map[string]types.AttributeValue{":d": s("CLAIM")},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes})
		if err != nil {
			t.Fatal(err)
		}
		c := out.ConsumedCapacity
		if c == nil || c.Table == nil || aws.ToFloat64(c.Table.CapacityUnits) != 1 || c.GlobalSecondaryIndexes["byDue"].CapacityUnits == nil ||
			aws.ToFloat64(c.GlobalSecondaryIndexes["byDue"].CapacityUnits) != 2 {
			t.Fatalf("consumed capacity %+v, want table 1 and byDue 2", c)
		}
	})

	t.Run("streams carry both images", func(t *testing.T) {
		d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("uses")})
		if err != nil {
			t.Fatal(err)
		}
		st := dynamodbstreams.New(dynamodbstreams.Options{Region: "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""), BaseEndpoint: aws.String(server.URL)})
		sd, err := st.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: d.Table.LatestStreamArn})
		if err != nil || len(sd.StreamDescription.Shards) == 0 {
			t.Fatalf("describe stream: %v %+v", err, sd)
		}
		it, err := st.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: d.Table.LatestStreamArn,
			ShardId: sd.StreamDescription.Shards[0].ShardId, ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := st.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		var modify *stypes.Record
		for i, r := range recs.Records {
			if r.EventName == stypes.OperationTypeModify {
				modify = &recs.Records[i]
			}
		}
		if modify == nil || modify.Dynamodb.OldImage["due"] == nil || modify.Dynamodb.NewImage["due"] == nil {
			t.Fatalf("no MODIFY record with both images among %d records", len(recs.Records))
		}
	})

	t.Run("TTL is stored, never applied", func(t *testing.T) {
		if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("uses"),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)}}); err != nil {
			t.Fatal(err)
		}
		past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("uses"),
			Item: map[string]types.AttributeValue{"id": s("expired"), "ttl": &types.AttributeValueMemberN{Value: past}}}); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("uses"), Key: map[string]types.AttributeValue{"id": s("expired")}})
		if err != nil || got.Item == nil {
			t.Fatalf("an expired item is still served by DynamoDB Local (and by DynamoDB, for up to days): %v %v", err, got)
		}
	})

	t.Run("point-in-time recovery is not served", func(t *testing.T) {
		_, err := db.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("uses")})
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "UnknownOperationException" {
			t.Fatalf("DescribeContinuousBackups: %v; if DynamoDB Local serves it now, make the doctor's local check real and update README's differences", err)
		}
	})
}

// TestStartFindsAnotherPort starts a second server while the first runs:
// each is on a port of its own, and Close waits for the JVM to be gone.
func TestStartFindsAnotherPort(t *testing.T) {
	testenv.Skip(t, "DynamoDB Local")
	second, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if second.URL == server.URL {
		t.Fatalf("both servers at %s", server.URL)
	}
	second.Close()
	select {
	case <-second.Exited():
	default:
		t.Fatal("Close returned before the JVM was gone")
	}
}

func TestMissingJarSaysHowToInstall(t *testing.T) {
	t.Setenv("DYNAMODB_LOCAL_DIR", "")
	t.Chdir(t.TempDir())
	_, err := Start(t.Context(), Options{})
	if !errors.Is(err, ErrNoJar) {
		t.Fatalf("err = %v, want ErrNoJar", err)
	}
}
