package orders_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tossintl/backend/shared/internal/awstest"
	"github.com/tossintl/backend/shared/orders"
)

// interfering is the table as a backfill pass sees it while the API keeps
// writing: before the pass's write to order id, another writer changes it.
type interfering struct {
	orders.BackfillAPI
	id     string
	before func()
}

func (d interfering) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if v, ok := in.Key["id"].(*types.AttributeValueMemberS); ok && v.Value == d.id && d.before != nil {
		d.before()
	}
	return d.BackfillAPI.UpdateItem(ctx, in, opts...)
}

// Orders written before the sharding (the old constant keys, no shard
// attributes) and one a release before it moved on after a first pass (a
// stale dueShard) are invisible to the sharded indexes, or wrong in them,
// until Backfill runs; then listing and the reconciler's queries find each
// one as it stands, and a second pass writes nothing.
func TestBackfillMovesOrdersToTheShardedIndexes(t *testing.T) {
	db := awstest.DynamoDB(t)
	table := awstest.UniqueName("orders")
	awstest.CreateTable(t, db, orders.TableDefinition(table))
	s := orders.Validated(orders.NewDynamoStore(db, table))
	now := t0.Add(2 * time.Hour)

	pending := create(t, s, 1000, t0)                  // overdue at now (30-minute window)
	fresh := create(t, s, 1000, now.Add(-time.Minute)) // still payable
	claimed := create(t, s, 1000, t0)
	mustClaim(t, s, claimed, "pk_c", t0.Add(time.Minute)) // lapsed at now
	done := create(t, s, 1000, t0.Add(time.Second))
	mustClaim(t, s, done, "pk_d", t0.Add(time.Second))
	if _, err := s.Complete(ctx, done.ID, "pk_d", payment, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	failed := create(t, s, 1000, t0.Add(3*time.Second))
	mustClaim(t, s, failed, "pk_f", t0.Add(3*time.Second))
	if _, err := s.Fail(ctx, failed.ID, "pk_f", orders.Failure{Code: "REJECT_CARD_COMPANY"}, t0.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	expired := create(t, s, 1000, t0.Add(5*time.Second))
	if _, err := s.Expire(ctx, expired.ID, now); err != nil {
		t.Fatal(err)
	}
	stale := create(t, s, 1000, t0.Add(6*time.Second))
	mustClaim(t, s, stale, "pk_s", t0.Add(6*time.Second)) // lapsed at now

	raw := func(id, update string, values map[string]types.AttributeValue) {
		t.Helper()
		if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
			UpdateExpression: aws.String(update), ExpressionAttributeValues: values,
		}); err != nil {
			t.Fatal(err)
		}
	}
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	// The layout of the release before the sharding.
	legacy := map[string]string{pending.ID: "UNPAID", fresh.ID: "UNPAID", claimed.ID: "CLAIM", done.ID: "", failed.ID: "UNPAID", expired.ID: ""}
	for id, kind := range legacy {
		if kind == "" {
			raw(id, "REMOVE listShard, dueShard SET listKey = :l", map[string]types.AttributeValue{":l": str("ORDER")})
		} else {
			raw(id, "REMOVE listShard, dueShard SET listKey = :l, dueKind = :k", map[string]types.AttributeValue{":l": str("ORDER"), ":k": str(kind)})
		}
	}
	// Claimed by the release before the sharding after a first pass gave
	// it UNPAID's shard.
	raw(stale.ID, "SET dueShard = :d", map[string]types.AttributeValue{":d": str(fmt.Sprintf("UNPAID#%02d", orders.ShardOf(stale.ID)))})

	found := func() (listed, lapsed, overdue []string) {
		t.Helper()
		l, _ := listAll(t, s, now, 100)
		lc, err := s.LapsedClaims(ctx, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		od, err := s.Overdue(ctx, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		return l, ids(lc), ids(od)
	}
	if listed, lapsed, overdue := found(); !slices.Equal(listed, []string{stale.ID}) || len(lapsed) != 0 || len(overdue) != 0 {
		t.Fatalf("before the backfill: listed %v, lapsed %v, overdue %v; want only the stale order listed", listed, lapsed, overdue)
	}

	// The API keeps writing during the pass: the pending order is written
	// (a refused amount recorded) just before the pass's own write to it,
	// which is then refused.
	api := interfering{BackfillAPI: db, id: pending.ID, before: func() {
		if _, err := s.RecordFailure(ctx, pending.ID, orders.Failure{Code: "AMOUNT_MISMATCH"}, now); err != nil {
			t.Error(err)
		}
	}}
	rep, err := orders.Backfill(ctx, api, table, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := (orders.BackfillReport{Scanned: 7, Updated: 6, Moved: 1}); rep != want {
		t.Errorf("first pass %+v, want %+v", rep, want)
	}
	rep, err = orders.Backfill(ctx, db, table, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := (orders.BackfillReport{Scanned: 7, Updated: 1, Current: 6}); rep != want {
		t.Errorf("second pass %+v, want %+v (the order that moved)", rep, want)
	}
	listed, lapsed, overdue := found()
	if want := newestFirst([]*orders.Order{pending, fresh, claimed, done, failed, expired, stale}); !slices.Equal(listed, want) {
		t.Errorf("listed %v, want %v", listed, want)
	}
	if want := []string{stale.ID, claimed.ID}; !slices.Equal(lapsed, want) { // by when their claims lapsed
		t.Errorf("lapsed claims %v, want %v", lapsed, want)
	}
	if want := []string{pending.ID, failed.ID}; !slices.Equal(overdue, want) {
		t.Errorf("overdue %v, want %v", overdue, want)
	}
	for _, id := range []string{done.ID, expired.ID} {
		if _, ok := mustRaw(t, db, table, id)["dueShard"]; ok {
			t.Errorf("order %s is not due but has a dueShard", id)
		}
	}
	rep, err = orders.Backfill(ctx, db, table, 1)
	if err != nil || rep != (orders.BackfillReport{Scanned: 7, Current: 7}) {
		t.Errorf("third pass %+v, %v; want nothing written", rep, err)
	}
}

func mustRaw(t *testing.T, db *dynamodb.Client, table, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}
