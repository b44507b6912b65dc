package orders_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tossintl/backend/shared/internal/awstest"
	"github.com/tossintl/backend/shared/orders"
)

// Each Store method is one DynamoDB call, refused or not: the engine's
// latency and cost budget depends on it.
func TestDynamoCallCounts(t *testing.T) {
	f := newDynamoFixture(t)
	s := f.store
	claimed := func(t *testing.T) *orders.Order {
		o := create(t, s, 15000, t0)
		mustClaim(t, s, o, "pk_1", t0)
		return o
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T) *orders.Order
		run     func(o *orders.Order) error
		op      string
	}{
		{"create", nil, func(*orders.Order) error {
			o, err := orders.New(orders.Draft{Name: "Tea", Amount: 1000}, t0, policy)
			if err != nil {
				return err
			}
			return s.Create(ctx, o)
		}, "PutItem"},
		{"get", func(t *testing.T) *orders.Order { return create(t, s, 15000, t0) }, func(o *orders.Order) error {
			_, err := s.Get(ctx, o.ID, t0)
			return err
		}, "GetItem"},
		{"claim", func(t *testing.T) *orders.Order { return create(t, s, 15000, t0) }, func(o *orders.Order) error {
			_, err := s.Claim(ctx, claimOf(o, "pk_1", t0))
			return err
		}, "UpdateItem"},
		{"claim, tampered amount", func(t *testing.T) *orders.Order { return create(t, s, 15000, t0) }, func(o *orders.Order) error {
			c := claimOf(o, "pk_1", t0)
			c.Amount = 1
			_, err := s.Claim(ctx, c)
			return wantErr[*orders.ConflictError](err)
		}, "UpdateItem"},
		{"claim, held by another key", claimed, func(o *orders.Order) error {
			_, err := s.Claim(ctx, claimOf(o, "pk_2", t0))
			return wantErr[*orders.ConflictError](err)
		}, "UpdateItem"},
		{"claim, unknown order", nil, func(*orders.Order) error {
			_, err := s.Claim(ctx, orders.Claim{OrderID: orders.NewID(), PaymentKey: "pk", Amount: 1, Now: t0, Until: t0.Add(time.Second)})
			return wantIs(err, orders.ErrNotFound)
		}, "UpdateItem"},
		{"claim, past TTL", func(t *testing.T) *orders.Order { return create(t, s, 15000, t0) }, func(o *orders.Order) error {
			_, err := s.Claim(ctx, claimOf(o, "pk_1", o.ExpiresAt.Add(time.Hour)))
			return wantIs(err, orders.ErrNotFound)
		}, "UpdateItem"},
		{"complete", claimed, func(o *orders.Order) error {
			_, err := s.Complete(ctx, o.ID, "pk_1", payment, t0)
			return err
		}, "UpdateItem"},
		{"complete, other key", claimed, func(o *orders.Order) error {
			_, err := s.Complete(ctx, o.ID, "pk_2", payment, t0)
			return wantErr[*orders.ConflictError](err)
		}, "UpdateItem"},
		{"settle from toss, claim held by another key", claimed, func(o *orders.Order) error {
			_, err := s.SettleFromToss(ctx, o.ID, "pk_2", payment, t0)
			return err
		}, "UpdateItem"},
		{"settle from toss, paid", func(t *testing.T) *orders.Order {
			o := claimed(t)
			if _, err := s.Complete(ctx, o.ID, "pk_1", payment, t0); err != nil {
				t.Fatal(err)
			}
			return o
		}, func(o *orders.Order) error {
			_, err := s.SettleFromToss(ctx, o.ID, "pk_2", payment, t0)
			return wantErr[*orders.ConflictError](err)
		}, "UpdateItem"},
		{"fail", claimed, func(o *orders.Order) error {
			_, err := s.Fail(ctx, o.ID, "pk_1", orders.Failure{Code: "X"}, t0)
			return err
		}, "UpdateItem"},
		{"delete", func(t *testing.T) *orders.Order { return create(t, s, 15000, t0) }, func(o *orders.Order) error {
			_, err := s.Delete(ctx, o.ID, o.Version, t0)
			return err
		}, "DeleteItem"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o *orders.Order
			if c.prepare != nil {
				o = c.prepare(t)
			}
			f.calls.Reset()
			if err := c.run(o); err != nil {
				t.Fatal(err)
			}
			if f.calls.Count() != 1 || f.calls.Count(c.op) != 1 {
				t.Errorf("calls = %s, want one %s", f.calls, c.op)
			}
		})
	}
}

func wantErr[E error](err error) error {
	var e E
	if !errors.As(err, &e) {
		return fmt.Errorf("err = %v, want %T", err, e)
	}
	return nil
}

func wantIs(err, target error) error {
	if !errors.Is(err, target) {
		return fmt.Errorf("err = %v, want %v", err, target)
	}
	return nil
}

// The item layout is a contract with the template (TTL attribute, index
// keys) and with anyone reading the table by hand.
func TestDynamoItemLayout(t *testing.T) {
	f := newDynamoFixture(t)
	o := create(t, f.store, 15000, t0)
	n := func(v int64) string { return fmt.Sprint(v) }
	check := func(stage string, want map[string]string, absent ...string) {
		t.Helper()
		it := f.raw(t, o.ID)
		for k, w := range want {
			var got string
			switch v := it[k].(type) {
			case *types.AttributeValueMemberS:
				got = "S:" + v.Value
			case *types.AttributeValueMemberN:
				got = "N:" + v.Value
			default:
				got = fmt.Sprintf("%T", v)
			}
			if got != w {
				t.Errorf("%s: %s = %s, want %s", stage, k, got, w)
			}
		}
		for _, k := range absent {
			if _, ok := it[k]; ok {
				t.Errorf("%s: %s present, want absent", stage, k)
			}
		}
	}
	check("created", map[string]string{
		"id":            "S:" + o.ID,
		"amount":        "N:15000",
		"currency":      "S:KRW",
		"status":        "S:PENDING",
		"customerEmail": "S:buyer@example.com",
		"createdAt":     "N:" + n(t0.UnixMilli()),
		"payableUntil":  "N:" + n(o.PayableUntil.UnixMilli()),
		"ttl":           "N:" + n(o.ExpiresAt.Unix()),
		"unpaidTtl":     "N:" + n(o.ExpiresAt.Unix()),
		"version":       "N:1",
		"listShard":     fmt.Sprintf("S:ORDER#%02d", orders.ShardOf(o.ID)),
		"dueShard":      fmt.Sprintf("S:UNPAID#%02d", orders.ShardOf(o.ID)),
		"dueAt":         "N:" + n(o.PayableUntil.UnixMilli()),
	}, "paymentKey", "payment", "lastFailure", "claimExpiresAt", "refOrderId", "customerName")

	until := t0.Add(claimFor)
	mustClaim(t, f.store, o, "pk_1", t0)
	check("claimed", map[string]string{
		"status":         "S:CONFIRMING",
		"paymentKey":     "S:pk_1",
		"claimExpiresAt": "N:" + n(until.UnixMilli()),
		"dueShard":       fmt.Sprintf("S:CLAIM#%02d", orders.ShardOf(o.ID)),
		"dueAt":          "N:" + n(until.UnixMilli()),
		"unpaidTtl":      "N:" + n(o.ExpiresAt.Unix()),
		"version":        "N:2",
	}, "ttl")

	p := payment
	p.Cancels = []orders.Cancel{{TransactionKey: "tx_1", Reason: "buyer asked", Amount: 5000, CanceledAt: t0.Add(time.Hour)}}
	done, err := f.store.Complete(ctx, o.ID, "pk_1", p, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	check("done", map[string]string{"status": "S:DONE", "version": "N:3", "listShard": fmt.Sprintf("S:ORDER#%02d", orders.ShardOf(o.ID))},
		"ttl", "unpaidTtl", "claimExpiresAt", "dueShard", "dueAt")
	pm, ok := f.raw(t, o.ID)["payment"].(*types.AttributeValueMemberM)
	if !ok || pm.Value["totalAmount"].(*types.AttributeValueMemberN).Value != "15000" {
		t.Fatalf("payment attribute = %#v, want a map with totalAmount", pm)
	}
	if len(done.Payment.Cancels) != 1 || done.Payment.Cancels[0].Amount != 5000 || !done.Payment.Cancels[0].CanceledAt.Equal(ms(t0.Add(time.Hour))) {
		t.Errorf("cancels did not round-trip: %+v", done.Payment.Cancels)
	}
}

// fakeDB answers GetItem with item and refuses every UpdateItem with item as
// ALL_OLD. Other calls hit the nil embedded interface and panic: the test
// would show it.
type fakeDB struct {
	orders.DynamoAPI
	item map[string]types.AttributeValue
}

func (f fakeDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: f.item}, nil
}

func (f fakeDB) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, &types.ConditionalCheckFailedException{Message: aws.String("refused"), Item: f.item}
}

func TestDecodeToleratesMissingButRefusesMalformed(t *testing.T) {
	id := orders.NewID()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	m := func(kv map[string]types.AttributeValue) types.AttributeValue {
		return &types.AttributeValueMemberM{Value: kv}
	}
	base := func(extra map[string]types.AttributeValue) map[string]types.AttributeValue {
		it := map[string]types.AttributeValue{"id": s(id), "status": s("PENDING"), "amount": n("1000")}
		for k, v := range extra {
			if v == nil {
				delete(it, k)
			} else {
				it[k] = v
			}
		}
		return it
	}
	malformed := []struct {
		name string
		item map[string]types.AttributeValue
	}{
		{"no id", base(map[string]types.AttributeValue{"id": nil})},
		{"no status", base(map[string]types.AttributeValue{"status": nil})},
		{"no amount", base(map[string]types.AttributeValue{"amount": nil})},
		{"amount as string", base(map[string]types.AttributeValue{"amount": s("1000")})},
		{"fractional amount", base(map[string]types.AttributeValue{"amount": n("10.5")})},
		{"unknown status", base(map[string]types.AttributeValue{"status": s("PAID")})},
		{"time as string", base(map[string]types.AttributeValue{"createdAt": s("yesterday")})},
		{"ttl out of range", base(map[string]types.AttributeValue{"ttl": n("1e40")})},
		{"payment not a map", base(map[string]types.AttributeValue{"payment": s("{}")})},
		{"payment map nil", base(map[string]types.AttributeValue{"payment": &types.AttributeValueMemberM{}})},
		{"payment amount wrong", base(map[string]types.AttributeValue{"payment": m(map[string]types.AttributeValue{"totalAmount": s("x")})})},
		{"cancels not a list", base(map[string]types.AttributeValue{"payment": m(map[string]types.AttributeValue{"cancels": s("x")})})},
		{"cancel not a map", base(map[string]types.AttributeValue{"payment": m(map[string]types.AttributeValue{
			"cancels": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x")}}})})},
		{"cancel amount wrong", base(map[string]types.AttributeValue{"payment": m(map[string]types.AttributeValue{
			"cancels": &types.AttributeValueMemberL{Value: []types.AttributeValue{m(map[string]types.AttributeValue{"amount": &types.AttributeValueMemberBOOL{}})}}})})},
		{"failure time wrong", base(map[string]types.AttributeValue{"lastFailure": m(map[string]types.AttributeValue{"at": s("now")})})},
	}
	for _, c := range malformed {
		t.Run(c.name, func(t *testing.T) {
			st := orders.Validated(orders.NewDynamoStore(fakeDB{item: c.item}, "orders"))
			o, err := st.Get(ctx, id, t0)
			if err == nil || errors.Is(err, orders.ErrNotFound) {
				t.Errorf("get = %+v, %v; want a decode error", o, err)
			}
			// A refused write whose old item is unreadable must not look
			// like a conflict the engine could act on.
			_, err = st.Claim(ctx, orders.Claim{OrderID: id, PaymentKey: "pk", Amount: 1000, Now: t0, Until: t0.Add(time.Second)})
			var ce *orders.ConflictError
			if err == nil || errors.As(err, &ce) || errors.Is(err, orders.ErrNotFound) {
				t.Errorf("claim refused with malformed old item: err = %v, want a decode error", err)
			}
		})
	}

	// The bare minimum decodes: optional attributes may be missing.
	st := orders.Validated(orders.NewDynamoStore(fakeDB{item: base(nil)}, "orders"))
	o, err := st.Get(ctx, id, t0)
	if err != nil {
		t.Fatalf("minimal item: %v", err)
	}
	want := &orders.Order{ID: id, Status: orders.StatusPending, Amount: 1000}
	equal(t, "minimal item", o, want)
	_, err = st.Claim(ctx, orders.Claim{OrderID: id, PaymentKey: "pk", Amount: 1000, Now: t0, Until: t0.Add(time.Second)})
	wantConflict(t, err, orders.StatusPending)
}

func TestTableDefinitionIsConsistent(t *testing.T) {
	def := orders.TableDefinition("orders")
	if def.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %s", def.BillingMode)
	}
	defined := map[string]bool{}
	for _, a := range def.AttributeDefinitions {
		defined[*a.AttributeName] = false
	}
	keys := def.KeySchema
	indexes := map[string]bool{}
	for _, g := range def.GlobalSecondaryIndexes {
		indexes[*g.IndexName] = true
		// Keys only: every index write is then 1 WCU and only key changes
		// write an index at all (see orders.ShardCount); readers read the
		// orders from the table.
		if g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeKeysOnly {
			t.Errorf("index %s projection = %+v, want KEYS_ONLY", *g.IndexName, g.Projection)
		}
		keys = append(keys, g.KeySchema...)
	}
	for _, k := range keys {
		if _, ok := defined[*k.AttributeName]; !ok {
			t.Errorf("key %s has no attribute definition", *k.AttributeName)
		}
		defined[*k.AttributeName] = true
	}
	for a, used := range defined {
		if !used {
			t.Errorf("attribute %s defined but no key uses it (DynamoDB refuses that)", a)
		}
	}
	if !indexes[orders.DueIndex] || !indexes[orders.CreatedIndex] || len(indexes) != 2 {
		t.Errorf("indexes = %v, want %s and %s", indexes, orders.DueIndex, orders.CreatedIndex)
	}
	ttl := orders.TimeToLiveDefinition("orders")
	if *ttl.TimeToLiveSpecification.AttributeName != orders.TTLAttribute || !*ttl.TimeToLiveSpecification.Enabled {
		t.Errorf("TTL spec = %+v", ttl.TimeToLiveSpecification)
	}
}

// A write that reaches DynamoDB twice (the SDK retrying one whose answer
// was lost) answers the caller as the first attempt would have: the order
// exists once and moves once, and nobody is told "already exists" or
// "held by another request" about their own write.
func TestDynamoWritesSurviveReplays(t *testing.T) {
	replays := &awstest.Replays{Ops: []string{"PutItem", "UpdateItem"}}
	db := awstest.DynamoDB(t, replays.Middleware)
	table := awstest.UniqueName("orders")
	awstest.CreateTable(t, db, orders.TableDefinition(table))
	s := orders.Validated(orders.NewDynamoStore(db, table))

	o := create(t, s, 15000, t0)
	claimed := mustClaim(t, s, o, "pk_1", t0)
	if claimed.Status != orders.StatusConfirming || claimed.PaymentKey != "pk_1" || claimed.Version != 2 {
		t.Fatalf("claim answered %+v, want CONFIRMING by pk_1 at version 2", claimed)
	}
	done, err := s.Complete(ctx, o.ID, "pk_1", payment, t0.Add(time.Second))
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	if done.Status != orders.StatusDone || done.Version != 3 {
		t.Fatalf("complete answered %+v, want DONE at version 3", done)
	}
	partial, err := s.ApplyCancel(ctx, o.ID, "pk_1", canceled(5000), t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("apply cancel: %v", err)
	}
	if partial.Status != orders.StatusPartialCanceled || partial.Payment.BalanceAmount != 10000 {
		t.Fatalf("apply cancel answered %+v, want PARTIAL_CANCELED with 10000 left", partial)
	}

	other := create(t, s, 2000, t0)
	if _, err := s.RecordFailure(ctx, other.ID, orders.Failure{Code: "AMOUNT_MISMATCH"}, t0); err != nil {
		t.Fatalf("record failure: %v", err)
	}
	mustClaim(t, s, other, "pk_2", t0)
	if _, err := s.Fail(ctx, other.ID, "pk_2", orders.Failure{Code: "REJECT_CARD_COMPANY"}, t0); err != nil {
		t.Fatalf("fail: %v", err)
	}
	expired, err := s.Expire(ctx, other.ID, other.PayableUntil)
	if err != nil {
		t.Fatalf("expire: %v", err)
	}
	if expired.Status != orders.StatusExpired || expired.Version != 5 {
		t.Fatalf("expire answered %+v, want EXPIRED at version 5", expired)
	}
	stuck := create(t, s, 3000, t0)
	mustClaim(t, s, stuck, "pk_3", t0)
	p := payment
	p.TotalAmount, p.BalanceAmount = 3000, 3000
	settled, err := s.SettleFromToss(ctx, stuck.ID, "pk_4", p, t0.Add(time.Second))
	if err != nil {
		t.Fatalf("settle from toss: %v", err)
	}
	if settled.Status != orders.StatusDone || settled.PaymentKey != "pk_4" || settled.Version != 3 {
		t.Fatalf("settle from toss answered %+v, want DONE under pk_4 at version 3", settled)
	}
	if replays.Count() != 12 {
		t.Fatalf("%d writes were sent twice, want 12: the test did not test replays", replays.Count())
	}

	// A write refused for a real reason is still refused after a replay:
	// the token only matches the writer's own attempt.
	if _, err := s.Claim(ctx, claimOf(o, "pk_other", t0)); wantErr[*orders.ConflictError](err) != nil {
		t.Fatal(wantErr[*orders.ConflictError](err))
	}
	if _, err := s.SettleFromToss(ctx, o.ID, "pk_other", payment, t0); wantErr[*orders.ConflictError](err) != nil {
		t.Fatal(wantErr[*orders.ConflictError](err))
	}
	dup := *o
	if err := s.Create(ctx, &dup); !errors.Is(err, orders.ErrExists) {
		t.Fatalf("create of an existing id: err = %v, want ErrExists", err)
	}
}
