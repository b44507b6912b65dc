package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tossintl/backend/shared/awsclient"
	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/tools/dynamodblocal"
)

// Dynamo runs schedules over the product's DynamoDB stores
// (orders.DynamoStore, idempotency.DynamoStore) on DynamoDB Local, the
// database the tests use, instead of the in-memory stores: every
// condition expression, index query and item mapping is then the one
// production runs. Its schedules are the in-memory ones, seed for seed.
//
// Each schedule has a pair of tables to itself, as the reconciler lists
// every due order of its table: a pair per worker, emptied between
// schedules, so that a schedule never meets another's orders.
type Dynamo struct {
	db    *dynamodb.Client
	pairs chan tablePair // idle pairs
	all   []tablePair
	stop  func()
}

type tablePair struct{ orders, idem string }

// StartDynamo starts DynamoDB Local (or uses DYNAMODB_ENDPOINT's) and
// creates workers pairs of tables in it.
func StartDynamo(ctx context.Context, workers int) (*Dynamo, error) {
	d := &Dynamo{stop: func() {}, pairs: make(chan tablePair, max(workers, 1))}
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		// Throughput: the optimising compiler costs seconds at start
		// and pays for itself within a few hundred schedules.
		srv, err := dynamodblocal.Start(ctx, dynamodblocal.Options{Throughput: true})
		if err != nil {
			return nil, fmt.Errorf("sim: start DynamoDB Local: %w", err)
		}
		endpoint, d.stop = srv.URL, srv.Close
	}
	d.db = awsclient.Env{Region: "us-east-1", AccessKeyID: "sim", SecretAccessKey: "sim", DynamoDBEndpoint: endpoint}.DynamoDB()
	for range max(workers, 1) {
		suffix := make([]byte, 6)
		_, _ = rand.Read(suffix) // crypto/rand.Read never fails
		p := tablePair{orders: "sim-orders-" + hex.EncodeToString(suffix), idem: "sim-idempotency-" + hex.EncodeToString(suffix)}
		d.all = append(d.all, p)
		for _, in := range []*dynamodb.CreateTableInput{orders.TableDefinition(p.orders), idempotency.TableDefinition(p.idem)} {
			var inUse *types.ResourceInUseException
			if _, err := d.db.CreateTable(ctx, in); err != nil && !errors.As(err, &inUse) {
				d.Close()
				return nil, fmt.Errorf("sim: create table %s: %w", *in.TableName, err)
			}
		}
		d.pairs <- p
	}
	return d, nil
}

// Close deletes the tables and stops what StartDynamo started.
func (d *Dynamo) Close() {
	for _, p := range d.all {
		for _, t := range []string{p.orders, p.idem} {
			_, _ = d.db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(t)})
		}
	}
	d.stop()
}

// Run plays the schedule of seed over the DynamoDB stores. A failure of
// DynamoDB Local itself (not a simulated fault) is reported as the
// schedule's violation, since its outcome then says nothing.
func (d *Dynamo) Run(seed uint64, withTrace bool) Result {
	p := <-d.pairs
	defer func() { d.pairs <- p }()
	if err := d.empty(p); err != nil {
		return Result{Seed: seed, Violation: err.Error()}
	}
	return runOn(seed, withTrace, backend{orders: orders.Validated(orders.NewDynamoStore(d.db, p.orders)), idem: idempotency.NewDynamoStore(d.db, p.idem)})
}

// empty deletes every item of a pair of tables: a schedule writes a few.
func (d *Dynamo) empty(p tablePair) error {
	ctx := context.Background()
	for _, def := range []*dynamodb.CreateTableInput{orders.TableDefinition(p.orders), idempotency.TableDefinition(p.idem)} {
		t := struct{ table, key string }{*def.TableName, *def.KeySchema[0].AttributeName} // a hash key only
		out, err := d.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(t.table), ProjectionExpression: aws.String("#k"),
			ExpressionAttributeNames: map[string]string{"#k": t.key}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("sim: empty %s: %w", t.table, err)
		}
		for _, it := range out.Items {
			if _, err := d.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(t.table), Key: it}); err != nil {
				return fmt.Errorf("sim: empty %s: %w", t.table, err)
			}
		}
	}
	return nil
}

// RunMany plays seeds first … first+n-1 over the DynamoDB stores, as
// RunMany does over the in-memory ones.
func (d *Dynamo) RunMany(first uint64, n, workers, stopAfter int) Summary {
	end := first + uint64(n)
	return run(first, workers, stopAfter, func(seed uint64) bool { return seed < end }, d.Run)
}
