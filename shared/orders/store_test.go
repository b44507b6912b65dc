package orders_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tossintl/backend/shared/internal/awstest"
	"github.com/tossintl/backend/shared/orders"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// t0 has nanoseconds on purpose: both stores must cut times to the same
// precision.
var (
	t0     = time.Date(2030, 3, 1, 12, 0, 0, 123_456_789, time.UTC)
	policy = orders.Policy{MaxAmount: 5_000_000, PayWindow: 30 * time.Minute, Retention: 7 * 24 * time.Hour}
	ctx    = context.Background()
)

const claimFor = 20 * time.Second

// fixture is one empty store. calls and raw exist only for DynamoDB, where
// the suite also checks the item itself and the calls made.
type fixture struct {
	store orders.Store
	calls *awstest.Calls
	raw   func(t *testing.T, id string) map[string]types.AttributeValue
}

// stores are the factories the whole suite runs against: the in-memory
// store must behave exactly like the DynamoDB one. Both are behind
// Validated, as every caller's are, so a bad argument is refused by the
// one check both share.
var stores = []struct {
	name string
	new  func(t *testing.T) fixture
}{
	{"memory", func(*testing.T) fixture { return fixture{store: orders.Validated(orders.NewMemoryStore())} }},
	{"dynamodb", newDynamoFixture},
}

func newDynamoFixture(t *testing.T) fixture {
	t.Helper()
	calls := &awstest.Calls{}
	// DynamoDB Local applies each conditional write atomically, as
	// DynamoDB does per item: the concurrency tests race real writes.
	db := awstest.DynamoDB(t, calls.Middleware)
	table := awstest.UniqueName("orders")
	awstest.CreateTable(t, db, orders.TableDefinition(table))
	if _, err := db.UpdateTimeToLive(ctx, orders.TimeToLiveDefinition(table)); err != nil {
		t.Fatalf("enable TTL: %v", err)
	}
	raw := func(t *testing.T, id string) map[string]types.AttributeValue {
		t.Helper()
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(table),
			Key:            map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			t.Fatalf("raw get %s: %v", id, err)
		}
		return out.Item
	}
	calls.Reset()
	return fixture{store: orders.Validated(orders.NewDynamoStore(db, table)), calls: calls, raw: raw}
}

func forEachStore(t *testing.T, test func(t *testing.T, f fixture)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			test(t, s.new(t))
		})
	}
}

// ms is t at the stores' precision.
func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

func create(t *testing.T, s orders.Store, amount int64, now time.Time) *orders.Order {
	t.Helper()
	o, err := orders.New(orders.Draft{Name: "Green tea set", Amount: amount, CustomerEmail: "buyer@example.com"}, now, policy)
	if err != nil {
		t.Fatalf("new order: %v", err)
	}
	if err := s.Create(ctx, o); err != nil {
		t.Fatalf("create: %v", err)
	}
	return o
}

func claimOf(o *orders.Order, key string, now time.Time) orders.Claim {
	return orders.Claim{OrderID: o.ID, PaymentKey: key, Amount: o.Amount, Now: now, Until: now.Add(claimFor)}
}

func mustClaim(t *testing.T, s orders.Store, o *orders.Order, key string, now time.Time) *orders.Order {
	t.Helper()
	got, err := s.Claim(ctx, claimOf(o, key, now))
	if err != nil {
		t.Fatalf("claim %s with %s: %v", o.ID, key, err)
	}
	return got
}

func mustGet(t *testing.T, s orders.Store, id string, now time.Time) *orders.Order {
	t.Helper()
	o, err := s.Get(ctx, id, now)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return o
}

func equal(t *testing.T, what string, got, want *orders.Order) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func wantConflict(t *testing.T, err error, status orders.Status) *orders.ConflictError {
	t.Helper()
	var ce *orders.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *ConflictError", err)
	}
	if ce.Current == nil || ce.Current.Status != status {
		t.Fatalf("conflict current = %+v, want status %s", ce.Current, status)
	}
	return ce
}

var payment = orders.Payment{
	Status: "DONE", Method: "CARD", ApprovedAt: t0.Add(time.Second),
	CardNumber: "43301234****123*", CardIssuerCode: "4V", CardType: "CREDIT",
	ReceiptURL: "https://dashboard.tosspayments.com/receipt/x", TotalAmount: 15000, BalanceAmount: 15000,
}

func TestCreateAndGet(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		if o.Version != 1 {
			t.Errorf("created version = %d, want 1", o.Version)
		}
		equal(t, "get after create", mustGet(t, f.store, o.ID, t0), o)

		dup := *o
		if err := f.store.Create(ctx, &dup); !errors.Is(err, orders.ErrExists) {
			t.Errorf("second create: err = %v, want ErrExists", err)
		}
		for _, id := range []string{orders.NewID(), "bad id!", ""} {
			_, err := f.store.Get(ctx, id, t0)
			wantNotFound(t, err)
		}

		// What Get returns is a copy: changing it changes nothing stored.
		got := mustGet(t, f.store, o.ID, t0)
		got.Amount = 1
		equal(t, "get after caller's change", mustGet(t, f.store, o.ID, t0), o)
	})
}

// An order created with empty (not nil) attempt and refund lists comes
// back with none at all from both stores, as DynamoDB keeps no empty list:
// the stores' answers stay identical.
func TestCreateGivesBackNoEmptyLists(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o, err := orders.New(orders.Draft{Name: "Green tea set", Amount: 15000}, t0, policy)
		if err != nil {
			t.Fatal(err)
		}
		o.RecentAttempts, o.TokenAttempts, o.Refunds = []time.Time{}, []time.Time{}, map[string]orders.Refund{}
		if err := f.store.Create(ctx, o); err != nil {
			t.Fatalf("create: %v", err)
		}
		got := mustGet(t, f.store, o.ID, t0)
		if got.RecentAttempts != nil || got.TokenAttempts != nil || got.Refunds != nil {
			t.Errorf("empty lists came back: recent %#v, token %#v, refunds %#v", got.RecentAttempts, got.TokenAttempts, got.Refunds)
		}
	})
}

func TestCreateRefusesIncompleteOrders(t *testing.T) {
	base, err := orders.New(orders.Draft{Name: "Tea", Amount: 1000}, t0, policy)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		field  string
		change func(o *orders.Order)
	}{
		{"id", func(o *orders.Order) { o.ID = "x" }},
		{"status", func(o *orders.Order) { o.Status = orders.StatusDone }},
		{"amount", func(o *orders.Order) { o.Amount = 0 }},
		{"currency", func(o *orders.Order) { o.Currency = "" }},
		{"createdAt", func(o *orders.Order) { o.CreatedAt = time.Time{} }},
		{"payableUntil", func(o *orders.Order) { o.PayableUntil = time.Time{} }},
		{"expiresAt", func(o *orders.Order) { o.ExpiresAt = time.Time{} }},
		{"expiresAt", func(o *orders.Order) { o.ExpiresAt = o.PayableUntil.Add(-time.Minute) }},
		{"payment", func(o *orders.Order) { o.Payment = &orders.Payment{} }},
		{"claimExpiresAt", func(o *orders.Order) { o.ClaimExpiresAt = t0 }},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		for _, c := range cases {
			o := *base
			o.ID = orders.NewID()
			c.change(&o)
			err := f.store.Create(ctx, &o)
			var ve *orders.ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field {
				t.Errorf("create with bad %s: err = %v, want ValidationError on %s", c.field, err, c.field)
			}
		}
		if f.calls != nil && f.calls.Count() != 0 {
			t.Errorf("refused creates reached DynamoDB: %s", f.calls)
		}
	})
}

func TestTTLFollowsPayment(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		wantTTL := o.PayableUntil.Add(policy.Retention)
		if d := o.ExpiresAt.Sub(wantTTL); d < 0 || d >= time.Second || o.ExpiresAt.Nanosecond() != 0 {
			t.Fatalf("ExpiresAt = %v, want %v rounded up to a second", o.ExpiresAt, wantTTL)
		}
		rawTTL := func(want bool) {
			t.Helper()
			if f.raw == nil {
				return
			}
			it := f.raw(t, o.ID)
			v, ok := it[orders.TTLAttribute]
			if ok != want {
				t.Fatalf("raw item has ttl = %v (%v), want present = %v", ok, v, want)
			}
			if want && v.(*types.AttributeValueMemberN).Value != fmt.Sprint(o.ExpiresAt.Unix()) {
				t.Fatalf("raw ttl = %v, want epoch seconds %d", v, o.ExpiresAt.Unix())
			}
		}
		rawTTL(true)

		claimed := mustClaim(t, f.store, o, "pk_1", t0.Add(time.Minute))
		if !claimed.ExpiresAt.IsZero() {
			t.Errorf("claimed ExpiresAt = %v, want none", claimed.ExpiresAt)
		}
		rawTTL(false)

		failed, err := f.store.Fail(ctx, o.ID, "pk_1", orders.Failure{Code: "REJECT_CARD_COMPANY", PaymentKey: "pk_1", Amount: 15000, At: t0}, t0.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !failed.ExpiresAt.Equal(o.ExpiresAt) {
			t.Errorf("failed ExpiresAt = %v, want restored %v", failed.ExpiresAt, o.ExpiresAt)
		}
		rawTTL(true)

		mustClaim(t, f.store, o, "pk_2", t0.Add(3*time.Minute))
		done, err := f.store.Complete(ctx, o.ID, "pk_2", payment, t0.Add(4*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !done.ExpiresAt.IsZero() {
			t.Errorf("done ExpiresAt = %v, want none", done.ExpiresAt)
		}
		rawTTL(false)
		if f.raw != nil {
			for _, a := range []string{"unpaidTtl", "dueKind", "dueAt", "claimExpiresAt"} {
				if _, ok := f.raw(t, o.ID)[a]; ok {
					t.Errorf("paid item still has %s", a)
				}
			}
		}
		// A paid order outlives the unpaid order's TTL.
		equal(t, "paid order a year on", mustGet(t, f.store, o.ID, t0.AddDate(1, 0, 0)), done)
	})
}

func TestPastTTLIsGone(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		justBefore := o.ExpiresAt.Add(-time.Millisecond)
		mustGet(t, f.store, o.ID, justBefore)

		now := o.ExpiresAt
		_, err := f.store.Get(ctx, o.ID, now)
		wantNotFound(t, err)
		_, err = f.store.Claim(ctx, claimOf(o, "pk_1", now))
		wantNotFound(t, err)
		_, err = f.store.RecordFailure(ctx, o.ID, orders.Failure{Code: "X"}, now)
		wantNotFound(t, err)
		_, err = f.store.Expire(ctx, o.ID, now)
		wantNotFound(t, err)
		_, err = f.store.Delete(ctx, o.ID, o.Version, now)
		wantNotFound(t, err)
		for name, list := range map[string]func() ([]*orders.Order, error){
			"overdue": func() ([]*orders.Order, error) { return f.store.Overdue(ctx, now, 10) },
			"list": func() ([]*orders.Order, error) {
				items, _, err := f.store.List(ctx, now, 10, "")
				return items, err
			},
		} {
			got, err := list()
			if err != nil || len(got) != 0 {
				t.Errorf("%s past TTL = %v, %v; want nothing", name, got, err)
			}
		}
		// The item is still there (DynamoDB Local never expires items, DynamoDB does
		// so late): only the reads treat it as gone.
		if f.raw != nil && f.raw(t, o.ID) == nil {
			t.Error("raw item vanished; the test no longer shows reads ignoring it")
		}
		// And nothing above changed it.
		equal(t, "untouched", mustGet(t, f.store, o.ID, justBefore), o)
	})
}
