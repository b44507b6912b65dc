package orders_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"
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

func TestClaim(t *testing.T) {
	type outcome int
	const (
		ok outcome = iota
		conflict
		notFound
		invalid
	)
	fail := orders.Failure{Code: "REJECT_CARD_COMPANY", Message: "declined"}
	cases := []struct {
		name    string
		prepare func(t *testing.T, s orders.Store, o *orders.Order)
		claim   func(o *orders.Order) orders.Claim
		want    outcome
	}{
		{"pending, exact amount", nil,
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(time.Minute)) }, ok},
		{"tampered amount", nil,
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0.Add(time.Minute))
				c.Amount = 100
				return c
			}, conflict},
		{"amount one won over", nil,
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0.Add(time.Minute))
				c.Amount++
				return c
			}, conflict},
		{"at PayableUntil", nil,
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", o.PayableUntil) }, conflict},
		{"after PayableUntil", nil,
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", o.PayableUntil.Add(time.Minute)) }, conflict},
		{"failed, another card",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Fail(ctx, o.ID, "pk_1", fail, t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			},
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_2", t0.Add(time.Minute)) }, ok},
		{"failed, same card again",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Fail(ctx, o.ID, "pk_1", fail, t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			},
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(time.Minute)) }, conflict},
		{"failed, after PayableUntil",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Fail(ctx, o.ID, "pk_1", fail, t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			},
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_2", o.PayableUntil.Add(time.Second)) }, conflict},
		{"live claim, other key",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_2", t0.Add(time.Second)) }, conflict},
		{"live claim, same key",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(time.Second)) }, conflict},
		{"claim at its exact end, same key",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(claimFor)) }, conflict},
		{"lapsed claim, same key (resume)",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(claimFor+time.Millisecond)) }, ok},
		{"lapsed claim, resumed after PayableUntil",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", o.PayableUntil.Add(time.Hour)) }, ok},
		{"lapsed claim, other key",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_2", t0.Add(time.Hour)) }, conflict},
		{"lapsed claim, same key, tampered amount",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0.Add(time.Hour))
				c.Amount = 1
				return c
			}, conflict},
		{"done",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Complete(ctx, o.ID, "pk_1", payment, t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			},
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(time.Hour)) }, conflict},
		{"expired",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				if _, err := s.Expire(ctx, o.ID, o.PayableUntil); err != nil {
					t.Fatal(err)
				}
			},
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(time.Minute)) }, conflict},
		{"past TTL", nil,
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", o.ExpiresAt) }, notFound},
		{"unknown order", nil,
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0)
				c.OrderID = orders.NewID()
				return c
			}, notFound},
		{"malformed order ID", nil,
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0)
				c.OrderID = "../x"
				return c
			}, notFound},
		{"no payment key", nil,
			func(o *orders.Order) orders.Claim { return claimOf(o, "", t0) }, invalid},
		{"claim ends before it starts", nil,
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0)
				c.Until = t0
				return c
			}, invalid},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				o := create(t, f.store, 15000, t0)
				if tc.prepare != nil {
					tc.prepare(t, f.store, o)
				}
				before := mustGet(t, f.store, o.ID, t0)
				c := tc.claim(o)
				got, err := f.store.Claim(ctx, c)
				switch tc.want {
				case ok:
					if err != nil {
						t.Fatalf("claim: %v", err)
					}
					want := *before
					want.Status, want.PaymentKey = orders.StatusConfirming, c.PaymentKey
					want.ClaimExpiresAt, want.ExpiresAt = ms(c.Until), time.Time{}
					want.UpdatedAt, want.Version = ms(c.Now), before.Version+1
					want.RecentAttempts = append([]time.Time{ms(c.Now)}, before.RecentAttempts...)
					if want.ClaimedAt.IsZero() {
						want.ClaimedAt = ms(c.Now) // a fresh claim; a resume keeps its own
					}
					equal(t, "claimed", got, &want)
					equal(t, "get after claim", mustGet(t, f.store, o.ID, c.Now), got)
					return
				case conflict:
					ce := wantConflict(t, err, before.Status)
					equal(t, "conflict's current", ce.Current, before)
					if ce.Current.Amount != 15000 {
						t.Errorf("current amount = %d, want the stored 15000", ce.Current.Amount)
					}
				case notFound:
					wantNotFound(t, err)
				case invalid:
					if !orders.IsValidation(err) {
						t.Fatalf("err = %v, want ValidationError", err)
					}
				}
				if got != nil {
					t.Errorf("refused claim returned %+v", got)
				}
				equal(t, "order after refused claim", mustGet(t, f.store, o.ID, t0), before)
			})
		}
	})
}

func TestCompleteAndFail(t *testing.T) {
	failure := orders.Failure{Code: "REJECT_CARD_COMPANY", Message: "declined", PaymentKey: "pk_1", Amount: 15000, At: t0.Add(5 * time.Second)}
	now := t0.Add(10 * time.Second)
	type op func(s orders.Store, id, key string) (*orders.Order, error)
	complete := func(s orders.Store, id, key string) (*orders.Order, error) {
		return s.Complete(ctx, id, key, payment, now)
	}
	fail := func(s orders.Store, id, key string) (*orders.Order, error) {
		return s.Fail(ctx, id, key, failure, now)
	}
	claim := func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) }
	completed := func(t *testing.T, s orders.Store, o *orders.Order) {
		claim(t, s, o)
		if _, err := complete(s, o.ID, "pk_1"); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T, s orders.Store, o *orders.Order)
		op      op
		key     string
		unknown bool          // act on an ID nobody created
		want    orders.Status // on success; "" expects a refusal
		current orders.Status // the refused order's status; "" expects ErrNotFound
	}{
		{"complete", claim, complete, "pk_1", false, orders.StatusDone, ""},
		{"complete, other key", claim, complete, "pk_2", false, "", orders.StatusConfirming},
		{"complete, pending", nil, complete, "pk_1", false, "", orders.StatusPending},
		{"complete twice", completed, complete, "pk_1", false, "", orders.StatusDone},
		{"complete, unknown order", claim, complete, "pk_1", true, "", ""},
		{"fail", claim, fail, "pk_1", false, orders.StatusFailed, ""},
		{"fail, other key", claim, fail, "pk_2", false, "", orders.StatusConfirming},
		{"fail, pending", nil, fail, "pk_1", false, "", orders.StatusPending},
		{"fail after done", completed, fail, "pk_1", false, "", orders.StatusDone},
		{"fail, unknown order", claim, fail, "pk_1", true, "", ""},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				o := create(t, f.store, 15000, t0)
				if tc.prepare != nil {
					tc.prepare(t, f.store, o)
				}
				before := mustGet(t, f.store, o.ID, t0)
				id := o.ID
				if tc.unknown {
					id = orders.NewID()
				}
				got, err := tc.op(f.store, id, tc.key)
				switch {
				case tc.want != "":
					if err != nil {
						t.Fatal(err)
					}
					want := *before
					want.Status, want.ClaimExpiresAt, want.ClaimedAt = tc.want, time.Time{}, time.Time{}
					want.UpdatedAt, want.Version = ms(now), before.Version+1
					if tc.want == orders.StatusDone {
						p := payment
						p.ApprovedAt = ms(p.ApprovedAt)
						want.Payment = &p
					} else {
						fl := failure
						fl.At = ms(fl.At)
						want.LastFailure, want.ExpiresAt = &fl, o.ExpiresAt
					}
					equal(t, tc.name, got, &want)
					equal(t, "get after "+tc.name, mustGet(t, f.store, o.ID, now), got)
					return
				case tc.current == "":
					wantNotFound(t, err)
				default:
					ce := wantConflict(t, err, tc.current)
					equal(t, "conflict's current", ce.Current, before)
				}
				equal(t, "order after refusal", mustGet(t, f.store, o.ID, t0), before)
			})
		}
	})
}

func TestRecordFailure(t *testing.T) {
	f1 := orders.Failure{Code: "AMOUNT_MISMATCH", Message: "amount differs", PaymentKey: "pk_9", Amount: 1, At: t0}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		got, err := f.store.RecordFailure(ctx, o.ID, f1, t0.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		wantF := f1
		wantF.At = ms(f1.At)
		if got.Status != orders.StatusPending || !reflect.DeepEqual(got.LastFailure, &wantF) || got.Version != 2 {
			t.Errorf("after record failure: %+v", got)
		}
		mustClaim(t, f.store, o, "pk_1", t0.Add(2*time.Second))
		_, err = f.store.RecordFailure(ctx, o.ID, f1, t0.Add(3*time.Second))
		wantConflict(t, err, orders.StatusConfirming)
		_, err = f.store.RecordFailure(ctx, orders.NewID(), f1, t0)
		wantNotFound(t, err)
	})
}

// A recorded failure is never replaced by another: a wrong amount anyone
// can send must not overwrite the decline Toss reported, which the
// declined attempt's own repeat is answered from (the simulator's seed
// 376653 found the race the engine's own check left open).
func TestRecordFailureKeepsTheFailureRecorded(t *testing.T) {
	mismatch := orders.Failure{Code: "AMOUNT_MISMATCH", Message: "amount differs", PaymentKey: "pk_2", Amount: 1, At: t0}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, o, "pk_1", t0.Add(time.Second))
		declined, err := f.store.Fail(ctx, o.ID, "pk_1", orders.Failure{Code: "REJECT_CARD_COMPANY", PaymentKey: "pk_1", Amount: 15000, At: t0}, t0.Add(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.store.RecordFailure(ctx, o.ID, mismatch, t0.Add(3*time.Second))
		ce := wantConflict(t, err, orders.StatusFailed)
		equal(t, "conflict's current", ce.Current, declined)
		equal(t, "order after refusal", mustGet(t, f.store, o.ID, t0.Add(3*time.Second)), declined)

		// A PENDING order's first recorded failure is kept the same way.
		p := create(t, f.store, 15000, t0)
		if _, err := f.store.RecordFailure(ctx, p.ID, mismatch, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		other := mismatch
		other.PaymentKey, other.Amount = "pk_3", 2
		_, err = f.store.RecordFailure(ctx, p.ID, other, t0.Add(2*time.Second))
		wantConflict(t, err, orders.StatusPending)
	})
}

func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	const n = 50
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		var (
			wg        sync.WaitGroup
			start     = make(chan struct{})
			mu        sync.Mutex
			winners   []string
			conflicts int
			others    []error
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				key := fmt.Sprintf("pk_%02d", i)
				_, err := f.store.Claim(ctx, claimOf(o, key, t0.Add(time.Minute)))
				var ce *orders.ConflictError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, key)
				case errors.As(err, &ce):
					conflicts++
				default:
					others = append(others, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 || conflicts != n-1 || len(others) != 0 {
			t.Fatalf("winners %v, conflicts %d, other errors %v; want 1 winner, %d conflicts", winners, conflicts, others, n-1)
		}
		got := mustGet(t, f.store, o.ID, t0.Add(time.Minute))
		if got.Status != orders.StatusConfirming || got.PaymentKey != winners[0] || got.Version != 2 {
			t.Errorf("after the race: %+v, want CONFIRMING for %s at version 2", got, winners[0])
		}
	})
}

func ids(os []*orders.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

func TestLapsedClaimsAndOverdue(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		s := f.store
		now := t0.Add(24 * time.Hour)
		// Past its TTL at now, and the oldest due: DynamoDB still holds it
		// at the head of the index, in front of the live ones.
		create(t, s, 1000, now.Add(-policy.Retention-time.Hour))
		overdueOld := create(t, s, 1000, now.Add(-3*time.Hour))
		failedOverdue := create(t, s, 1000, now.Add(-2*time.Hour))
		mustClaim(t, s, failedOverdue, "pk_f", now.Add(-2*time.Hour))
		if _, err := s.Fail(ctx, failedOverdue.ID, "pk_f", orders.Failure{Code: "X"}, now.Add(-2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		create(t, s, 1000, now.Add(-time.Minute)) // still payable
		lapsed := create(t, s, 1000, now.Add(-time.Hour))
		mustClaim(t, s, lapsed, "pk_l", now.Add(-time.Hour))
		live := create(t, s, 1000, now.Add(-time.Minute))
		mustClaim(t, s, live, "pk_live", now.Add(-time.Second))
		done := create(t, s, 1000, now.Add(-5*time.Hour))
		mustClaim(t, s, done, "pk_d", now.Add(-5*time.Hour))
		if _, err := s.Complete(ctx, done.ID, "pk_d", payment, now.Add(-5*time.Hour)); err != nil {
			t.Fatal(err)
		}
		expired := create(t, s, 1000, now.Add(-6*time.Hour))
		if _, err := s.Expire(ctx, expired.ID, now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if f.calls != nil {
			f.calls.Reset()
		}

		cases := []struct {
			name  string
			list  func(limit int) ([]*orders.Order, error)
			limit int
			want  []string
		}{
			{"lapsed claims", func(l int) ([]*orders.Order, error) { return s.LapsedClaims(ctx, now, l) }, 10, []string{lapsed.ID}},
			{"overdue", func(l int) ([]*orders.Order, error) { return s.Overdue(ctx, now, l) }, 10, []string{overdueOld.ID, failedOverdue.ID}},
			{"overdue, limit 1", func(l int) ([]*orders.Order, error) { return s.Overdue(ctx, now, l) }, 1, []string{overdueOld.ID}},
			{"nothing lapsed yet", func(l int) ([]*orders.Order, error) { return s.LapsedClaims(ctx, now.Add(-time.Hour), l) }, 10, []string{}},
		}
		for _, c := range cases {
			got, err := c.list(c.limit)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !reflect.DeepEqual(ids(got), c.want) {
				t.Errorf("%s = %v, want %v", c.name, ids(got), c.want)
			}
		}
		if f.calls != nil {
			if n := f.calls.Count("Scan"); n != 0 {
				t.Errorf("reconciler queries scanned the table %d times", n)
			}
			// One Query per shard and kind at least, and the orders read
			// by key: the index holds keys only.
			if f.calls.Count("Query") < 2*orders.ShardCount || f.calls.Count() != f.calls.Count("Query")+f.calls.Count("GetItem") {
				t.Errorf("calls = %s, want only Query (every shard) and GetItem", f.calls)
			}
		}
	})
}

func TestExpire(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		_, err := f.store.Expire(ctx, o.ID, o.PayableUntil.Add(-time.Millisecond))
		wantConflict(t, err, orders.StatusPending)

		got, err := f.store.Expire(ctx, o.ID, o.PayableUntil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != orders.StatusExpired || got.Version != 2 || !got.ExpiresAt.Equal(o.ExpiresAt) {
			t.Errorf("expired: %+v, want EXPIRED, version 2, TTL kept", got)
		}
		if due, _ := f.store.Overdue(ctx, o.PayableUntil.Add(time.Hour), 10); len(due) != 0 {
			t.Errorf("expired order still overdue: %v", ids(due))
		}
		_, err = f.store.Expire(ctx, o.ID, o.PayableUntil.Add(time.Hour))
		wantConflict(t, err, orders.StatusExpired)

		claimed := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, claimed, "pk_1", t0)
		_, err = f.store.Expire(ctx, claimed.ID, claimed.PayableUntil.Add(time.Hour))
		wantConflict(t, err, orders.StatusConfirming)

		_, err = f.store.Expire(ctx, orders.NewID(), t0)
		wantNotFound(t, err)
	})
}

func TestDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		got, err := f.store.Delete(ctx, o.ID, o.Version, t0)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "deleted", got, o)
		_, err = f.store.Get(ctx, o.ID, t0)
		wantNotFound(t, err)
		_, err = f.store.Delete(ctx, o.ID, o.Version, t0)
		wantNotFound(t, err)

		expired := create(t, f.store, 15000, t0)
		exp, err := f.store.Expire(ctx, expired.ID, expired.PayableUntil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Delete(ctx, expired.ID, exp.Version, expired.PayableUntil); err != nil {
			t.Errorf("delete expired: %v", err)
		}

		// A delete of the order as read before it changed is refused:
		// what the caller checked about it may no longer hold.
		failed := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, failed, "pk_1", t0)
		fl, err := f.store.Fail(ctx, failed.ID, "pk_1", orders.Failure{Code: "X"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.store.Delete(ctx, failed.ID, failed.Version, t0)
		wantConflict(t, err, orders.StatusFailed)
		if _, err := f.store.Delete(ctx, failed.ID, fl.Version, t0); err != nil {
			t.Errorf("delete failed order at its version: %v", err)
		}

		paid := create(t, f.store, 15000, t0)
		claimed := mustClaim(t, f.store, paid, "pk_1", t0)
		_, err = f.store.Delete(ctx, paid.ID, claimed.Version, t0)
		wantConflict(t, err, orders.StatusConfirming)
		done, err := f.store.Complete(ctx, paid.ID, "pk_1", payment, t0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.store.Delete(ctx, paid.ID, done.Version, t0)
		wantConflict(t, err, orders.StatusDone)
		equal(t, "paid order after refused delete", mustGet(t, f.store, paid.ID, t0), done)
	})
}

func TestList(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		now := t0.Add(8 * 24 * time.Hour)
		// One order, in the middle, is past its TTL at now: a short-lived
		// order made under a policy with no retention.
		short := orders.Policy{MaxAmount: 1000, PayWindow: time.Millisecond}
		var want []string
		for i := range 7 {
			created := now.Add(-time.Duration(10-i) * time.Minute)
			if i == 3 {
				o, err := orders.New(orders.Draft{Name: "Short-lived", Amount: 1000}, created, short)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.store.Create(ctx, o); err != nil {
					t.Fatal(err)
				}
				continue
			}
			o := create(t, f.store, int64(1000+i), created)
			want = append([]string{o.ID}, want...) // newest first
		}
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("list never ended")
			}
			items, next, err := f.store.List(ctx, now, 2, cursor)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) > 2 {
				t.Fatalf("page of %d, limit 2", len(items))
			}
			got = append(got, ids(items)...)
			if next == "" {
				break
			}
			cursor = next
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("listed %v, want %v", got, want)
		}

		b64 := base64.RawURLEncoding.EncodeToString
		bad := []string{
			"!!!",
			b64([]byte(`{"c":1}`)),                        // no ID
			b64([]byte(`{"c":1,"i":"x"}`)),                // not an order ID
			b64([]byte(`{"c":-5,"i":"ord_123456"}`)),      // no such time
			b64([]byte(`{"c":1,"i":"ord_123456","z":1}`)), // not ours
			b64([]byte(`{"c":1,"i":"ord_123456"}{}`)),     // trailing data
			b64([]byte(`{"c":"1","i":"ord_123456"}`)),     // wrong type
			b64([]byte(`[]`)),                             // not an object
			string(make([]byte, 300)),                     // too long
		}
		for _, c := range bad {
			_, _, err := f.store.List(ctx, now, 2, c)
			var ve *orders.ValidationError
			if !errors.As(err, &ve) || ve.Field != "cursor" {
				t.Errorf("cursor %q: err = %v, want ValidationError on cursor", c, err)
			}
		}
	})
}

// canceled is the payment summary Toss reports after cancels of the given
// amounts on payment (15,000 won). Times carry nanoseconds on purpose.
func canceled(amounts ...int64) orders.Payment {
	p := payment
	p.Cancels = nil
	for i, a := range amounts {
		p.BalanceAmount -= a
		p.Cancels = append(p.Cancels, orders.Cancel{
			TransactionKey: fmt.Sprintf("TX%02d", i+1), Reason: "buyer asked", Amount: a,
			CanceledAt: t0.Add(time.Duration(i+1)*time.Minute + 789),
		})
	}
	p.Status = "PARTIAL_CANCELED"
	if p.BalanceAmount == 0 {
		p.Status = "CANCELED"
	}
	return p
}

// summaryAfter is what the order's summary must read after ApplyCancel(p)
// on a summary recorded as before: Toss's status, balance and cancels, at
// the store's precision; everything Complete recorded stays.
func summaryAfter(before *orders.Payment, p orders.Payment) *orders.Payment {
	s := *before
	s.Status, s.BalanceAmount = p.Status, p.BalanceAmount
	s.Cancels = nil
	for _, c := range p.Cancels {
		c.CanceledAt = ms(c.CanceledAt)
		s.Cancels = append(s.Cancels, c)
	}
	return &s
}

func TestApplyCancel(t *testing.T) {
	now := t0.Add(time.Hour)
	paid := func(t *testing.T, s orders.Store, o *orders.Order) {
		mustClaim(t, s, o, "pk_1", t0)
		if _, err := s.Complete(ctx, o.ID, "pk_1", payment, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// paidThen pays the order and applies cancels one after another.
	paidThen := func(applied ...orders.Payment) func(t *testing.T, s orders.Store, o *orders.Order) {
		return func(t *testing.T, s orders.Store, o *orders.Order) {
			paid(t, s, o)
			for _, p := range applied {
				if _, err := s.ApplyCancel(ctx, o.ID, "pk_1", p, t0.Add(2*time.Second)); err != nil {
					t.Fatalf("prepare: apply cancel: %v", err)
				}
			}
		}
	}
	otherTotal := canceled(5000)
	otherTotal.TotalAmount = 20000
	cases := []struct {
		name    string
		prepare func(t *testing.T, s orders.Store, o *orders.Order)
		key     string
		p       orders.Payment
		unknown bool          // act on an ID nobody created
		want    orders.Status // on success; "" expects a refusal
		current orders.Status // the refused order's status; "" expects ErrNotFound
	}{
		{"partial", paid, "pk_1", canceled(5000), false, orders.StatusPartialCanceled, ""},
		{"full", paid, "pk_1", canceled(15000), false, orders.StatusCanceled, ""},
		{"second partial", paidThen(canceled(5000)), "pk_1", canceled(5000, 4000), false, orders.StatusPartialCanceled, ""},
		{"the rest after a partial", paidThen(canceled(5000)), "pk_1", canceled(5000, 10000), false, orders.StatusCanceled, ""},
		{"skipping an unrecorded cancel", paid, "pk_1", canceled(5000, 4000), false, orders.StatusPartialCanceled, ""},
		{"duplicate partial", paidThen(canceled(5000)), "pk_1", canceled(5000), false, "", orders.StatusPartialCanceled},
		{"duplicate full", paidThen(canceled(15000)), "pk_1", canceled(15000), false, "", orders.StatusCanceled},
		{"older partial after the rest", paidThen(canceled(5000, 10000)), "pk_1", canceled(5000), false, "", orders.StatusCanceled},
		{"older partial after a newer one", paidThen(canceled(5000, 4000)), "pk_1", canceled(5000), false, "", orders.StatusPartialCanceled},
		{"other paymentKey", paid, "pk_2", canceled(5000), false, "", orders.StatusDone},
		{"other total", paid, "pk_1", otherTotal, false, "", orders.StatusDone},
		{"confirming", func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			"pk_1", canceled(5000), false, "", orders.StatusConfirming},
		{"pending", nil, "pk_1", canceled(5000), false, "", orders.StatusPending},
		{"unknown order", paid, "pk_1", canceled(5000), true, "", ""},
		// An approval recorded with its cancel already in the summary (the
		// payment was canceled at Toss before we recorded it) still reads
		// DONE: the same summary moves it on, once.
		{"approval recorded with its cancel",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Complete(ctx, o.ID, "pk_1", canceled(5000), t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			}, "pk_1", canceled(5000), false, orders.StatusPartialCanceled, ""},
		{"approval recorded with its cancel, older cancel",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Complete(ctx, o.ID, "pk_1", canceled(5000, 10000), t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			}, "pk_1", canceled(5000), false, "", orders.StatusDone},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				o := create(t, f.store, 15000, t0)
				if tc.prepare != nil {
					tc.prepare(t, f.store, o)
				}
				before := mustGet(t, f.store, o.ID, now)
				id := o.ID
				if tc.unknown {
					id = orders.NewID()
				}
				if f.calls != nil {
					f.calls.Reset()
				}
				got, err := f.store.ApplyCancel(ctx, id, tc.key, tc.p, now)
				if f.calls != nil && (f.calls.Count() != 1 || f.calls.Count("UpdateItem") != 1) {
					t.Errorf("calls = %s, want one UpdateItem, applied or refused", f.calls)
				}
				switch {
				case tc.want != "":
					if err != nil {
						t.Fatal(err)
					}
					want := *before
					want.Status = tc.want
					want.Payment = summaryAfter(before.Payment, tc.p)
					want.UpdatedAt, want.Version = ms(now), before.Version+1
					equal(t, tc.name, got, &want)
					equal(t, "get after "+tc.name, mustGet(t, f.store, o.ID, now), got)
					return
				case tc.current == "":
					wantNotFound(t, err)
				default:
					ce := wantConflict(t, err, tc.current)
					equal(t, "conflict's current", ce.Current, before)
				}
				if got != nil {
					t.Errorf("refused apply returned %+v", got)
				}
				equal(t, "order after refusal", mustGet(t, f.store, o.ID, now), before)
			})
		}
	})
}

// paymentRefusal is a payment a transition must refuse before any I/O,
// with the field its ValidationError names.
type paymentRefusal struct {
	name  string
	key   string
	p     orders.Payment
	field string
}

// refusedBeforeIO applies each case through write and checks that it is
// refused with a ValidationError on its field, without a store call, and
// that o is left as it was.
func refusedBeforeIO(t *testing.T, f fixture, o *orders.Order, cases []paymentRefusal,
	write func(ctx context.Context, id, paymentKey string, p orders.Payment, now time.Time) (*orders.Order, error)) {
	t.Helper()
	before := mustGet(t, f.store, o.ID, t0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if f.calls != nil {
				f.calls.Reset()
			}
			_, err := write(t.Context(), o.ID, tc.key, tc.p, t0)
			var ve *orders.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("err = %v, want ValidationError on %s", err, tc.field)
			}
			if f.calls != nil && f.calls.Count() != 0 {
				t.Errorf("calls = %s, want none", f.calls)
			}
		})
	}
	equal(t, "order after refusals", mustGet(t, f.store, o.ID, t0), before)
}

func TestApplyCancelRefusesImpossiblePayments(t *testing.T) {
	with := func(change func(p *orders.Payment)) orders.Payment {
		p := canceled(5000)
		change(&p)
		return p
	}
	cases := []paymentRefusal{
		{"no payment key", "", canceled(5000), "paymentKey"},
		{"not canceled", "pk_1", payment, "payment.balanceAmount"},
		{"balance above total", "pk_1", with(func(p *orders.Payment) { p.BalanceAmount = 20000 }), "payment.balanceAmount"},
		{"negative balance", "pk_1", with(func(p *orders.Payment) { p.BalanceAmount = -1 }), "payment.balanceAmount"},
		{"no total", "pk_1", with(func(p *orders.Payment) { p.TotalAmount = 0 }), "payment.totalAmount"},
		{"status DONE", "pk_1", with(func(p *orders.Payment) { p.Status = "DONE" }), "payment.status"},
		{"CANCELED with a balance", "pk_1", with(func(p *orders.Payment) { p.Status = "CANCELED" }), "payment.status"},
		{"PARTIAL_CANCELED at 0", "pk_1", with(func(p *orders.Payment) { p.BalanceAmount = 0 }), "payment.status"},
		{"no cancels", "pk_1", with(func(p *orders.Payment) { p.Cancels = nil }), "payment.cancels"},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, o, "pk_1", t0)
		if _, err := f.store.Complete(ctx, o.ID, "pk_1", payment, t0); err != nil {
			t.Fatal(err)
		}
		refusedBeforeIO(t, f, o, cases, f.store.ApplyCancel)
	})
}

// Webhooks and refund answers race each other: whatever order the writes
// land in, the order ends at Toss's latest state and applies each at most once.
func TestConcurrentCancelsEndAtTheLowestBalance(t *testing.T) {
	states := []orders.Payment{canceled(3000), canceled(3000, 2000), canceled(3000, 2000, 10000)}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, o, "pk_1", t0)
		if _, err := f.store.Complete(ctx, o.ID, "pk_1", payment, t0); err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			mu      sync.Mutex
			applied int
			others  []error
		)
		for range 4 { // every state delivered four times
			for _, p := range states {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := f.store.ApplyCancel(ctx, o.ID, "pk_1", p, t0.Add(time.Minute))
					var ce *orders.ConflictError
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						applied++
					case !errors.As(err, &ce):
						others = append(others, err)
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		if len(others) != 0 || applied < 1 || applied > len(states) {
			t.Fatalf("applied %d times, other errors %v; want 1 to %d applications", applied, others, len(states))
		}
		got := mustGet(t, f.store, o.ID, t0.Add(time.Minute))
		if got.Status != orders.StatusCanceled || got.Payment.BalanceAmount != 0 || len(got.Payment.Cancels) != 3 ||
			got.Version != 3+int64(applied) {
			t.Fatalf("after the race: %s balance %d, %d cancels, version %d (%d applied)",
				got.Status, got.Payment.BalanceAmount, len(got.Payment.Cancels), got.Version, applied)
		}
	})
}

// SettleFromToss records Toss's approved payment on any unpaid order,
// whatever attempt holds its claim: the state "claim held by an attempt
// Toss did not approve" must settle, not wait forever. It refuses only
// orders already paid (or whose amount is not the payment's) and orders
// gone.
func TestSettleFromToss(t *testing.T) {
	const approved = "pk_toss"
	failure := orders.Failure{Code: "REJECT_CARD_COMPANY", Message: "declined", PaymentKey: "pk_1", Amount: 15000, At: t0.Add(time.Second)}
	claimed := func(key string) func(t *testing.T, s orders.Store, o *orders.Order) {
		return func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, key, t0) }
	}
	paid := func(key string) func(t *testing.T, s orders.Store, o *orders.Order) {
		return func(t *testing.T, s orders.Store, o *orders.Order) {
			mustClaim(t, s, o, key, t0)
			if _, err := s.Complete(ctx, o.ID, key, payment, t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	other := payment
	other.TotalAmount, other.BalanceAmount = 14000, 14000
	cases := []struct {
		name    string
		prepare func(t *testing.T, s orders.Store, o *orders.Order)
		at      func(o *orders.Order) time.Time // when to settle; t0+10s (claims live) if nil
		p       orders.Payment                  // payment if zero
		unknown bool                            // settle an ID nobody created
		current orders.Status                   // "" expects success; else the refusal's status, or
		gone    bool                            // ErrNotFound
	}{
		{name: "pending", prepare: nil},
		{name: "claim live under another attempt", prepare: claimed("pk_1")},
		{name: "claim lapsed under another attempt", prepare: claimed("pk_1"), at: func(*orders.Order) time.Time { return t0.Add(time.Minute) }},
		{name: "claim held by the approved attempt", prepare: claimed(approved)},
		{name: "failed under another attempt", prepare: func(t *testing.T, s orders.Store, o *orders.Order) {
			mustClaim(t, s, o, "pk_1", t0)
			if _, err := s.Fail(ctx, o.ID, "pk_1", failure, t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "expired, not yet deleted", prepare: func(t *testing.T, s orders.Store, o *orders.Order) {
			if _, err := s.Expire(ctx, o.ID, o.PayableUntil); err != nil {
				t.Fatal(err)
			}
		}, at: func(o *orders.Order) time.Time { return o.PayableUntil.Add(time.Hour) }},
		{name: "refunded at Toss before it was recorded", prepare: claimed("pk_1"), p: canceled(5000)},
		{name: "paid under the approved attempt", prepare: paid(approved), current: orders.StatusDone},
		{name: "paid under another attempt", prepare: paid("pk_1"), current: orders.StatusDone},
		{name: "partially refunded", prepare: func(t *testing.T, s orders.Store, o *orders.Order) {
			paid(approved)(t, s, o)
			if _, err := s.ApplyCancel(ctx, o.ID, approved, canceled(5000), t0.Add(2*time.Second)); err != nil {
				t.Fatal(err)
			}
		}, current: orders.StatusPartialCanceled},
		{name: "amount differs", prepare: claimed("pk_1"), p: other, current: orders.StatusConfirming},
		{name: "unknown order", unknown: true, gone: true},
		{name: "past TTL", at: func(o *orders.Order) time.Time { return o.ExpiresAt }, gone: true},
		{name: "deleted", prepare: func(t *testing.T, s orders.Store, o *orders.Order) {
			if _, err := s.Delete(ctx, o.ID, o.Version, t0); err != nil {
				t.Fatal(err)
			}
		}, gone: true},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				o := create(t, f.store, 15000, t0)
				if tc.prepare != nil {
					tc.prepare(t, f.store, o)
				}
				at := t0.Add(10 * time.Second)
				if tc.at != nil {
					at = tc.at(o)
				}
				p := tc.p
				if p.Status == "" {
					p = payment
				}
				before, _ := f.store.Get(ctx, o.ID, t0) // nil once deleted
				id := o.ID
				if tc.unknown {
					id = orders.NewID()
				}
				got, err := f.store.SettleFromToss(ctx, id, approved, p, at)
				switch {
				case tc.gone:
					wantNotFound(t, err)
					if before != nil {
						equal(t, "order after refusal", mustGet(t, f.store, o.ID, t0), before)
					}
					return
				case tc.current != "":
					ce := wantConflict(t, err, tc.current)
					equal(t, "conflict's current", ce.Current, before)
					equal(t, "order after refusal", mustGet(t, f.store, o.ID, t0), before)
					return
				case err != nil:
					t.Fatal(err)
				}
				want := *before
				want.Status, want.PaymentKey = orders.StatusDone, approved
				want.ClaimExpiresAt, want.ExpiresAt, want.ClaimedAt = time.Time{}, time.Time{}, time.Time{}
				want.UpdatedAt, want.Version = ms(at), before.Version+1
				wp := summaryAfter(&payment, p)
				wp.ApprovedAt = ms(wp.ApprovedAt)
				want.Payment = wp
				equal(t, tc.name, got, &want)
				// Paid for good: it outlives the unpaid TTL and leaves the
				// reconciler's lists.
				later := at.AddDate(1, 0, 0)
				equal(t, "paid order a year on", mustGet(t, f.store, o.ID, later), got)
				for name, list := range map[string]func(time.Time, int) ([]*orders.Order, error){
					"lapsed claims": func(now time.Time, n int) ([]*orders.Order, error) { return f.store.LapsedClaims(ctx, now, n) },
					"overdue":       func(now time.Time, n int) ([]*orders.Order, error) { return f.store.Overdue(ctx, now, n) },
				} {
					due, err := list(later, orders.MaxLimit)
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range due {
						if d.ID == o.ID {
							t.Errorf("settled order still in %s", name)
						}
					}
				}
				if f.raw != nil {
					for _, a := range []string{orders.TTLAttribute, "unpaidTtl", "dueKind", "dueAt", "claimExpiresAt"} {
						if _, ok := f.raw(t, o.ID)[a]; ok {
							t.Errorf("settled item still has %s", a)
						}
					}
				}
				// The approved attempt owns the order now: its refunds apply,
				// and the attempt that held the claim can do nothing more.
				if _, err := f.store.Complete(ctx, o.ID, "pk_1", payment, at); err == nil {
					t.Error("the claim's attempt completed a settled order")
				}
				if _, err := f.store.ApplyCancel(ctx, o.ID, approved, canceled(5000, 10000), at); err != nil {
					t.Errorf("refund under the approved key: %v", err)
				}
			})
		}
	})
}

func TestSettleFromTossRefusesNonApprovals(t *testing.T) {
	with := func(change func(p *orders.Payment)) orders.Payment {
		p := payment
		change(&p)
		return p
	}
	cases := []paymentRefusal{
		{"no payment key", "", payment, "paymentKey"},
		{"payment key too long", string(make([]byte, orders.MaxPaymentKeyLen+1)), payment, "paymentKey"},
		{"no total", "pk_1", with(func(p *orders.Payment) { p.TotalAmount = 0 }), "payment.totalAmount"},
		{"balance above total", "pk_1", with(func(p *orders.Payment) { p.BalanceAmount = 20000 }), "payment.balanceAmount"},
		{"negative balance", "pk_1", with(func(p *orders.Payment) { p.BalanceAmount = -1 }), "payment.balanceAmount"},
		{"aborted", "pk_1", with(func(p *orders.Payment) { p.Status = "ABORTED" }), "payment.status"},
		{"in progress", "pk_1", with(func(p *orders.Payment) { p.Status = "IN_PROGRESS" }), "payment.status"},
		{"no status", "pk_1", with(func(p *orders.Payment) { p.Status = "" }), "payment.status"},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		refusedBeforeIO(t, f, o, cases, f.store.SettleFromToss)
	})
}

// TestAttemptBudget: both stores admit at most AttemptLimit Toss-reaching
// attempts (claims of a new paymentKey, and AdmitLookup) in any
// AttemptWindow, refuse the next with the order as it stood (whose
// AttemptsFullUntil says when to come back), admit again once the window
// rolls, never refuse a resume of the attempt holding a lapsed claim, and
// admit a lookup of a paid order's own payment on the order's own budget
// (TestTokenBudget bounds those). AdmitLookup leaves Version and UpdatedAt
// alone.
func TestAttemptBudget(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		now := t0
		fail := func(key string) {
			t.Helper()
			if _, err := f.store.Fail(ctx, o.ID, key, orders.Failure{Code: "NOT_FOUND_PAYMENT_SESSION", PaymentKey: key, At: now}, now); err != nil {
				t.Fatalf("fail %s: %v", key, err)
			}
		}
		for i := range orders.AttemptLimit - 1 {
			key := fmt.Sprintf("pk_forged_%d", i)
			mustClaim(t, f.store, o, key, now)
			fail(key)
			now = now.Add(time.Second)
		}
		// The last attempt of the window is a lookup.
		got, err := f.store.AdmitLookup(ctx, o.ID, "", now)
		if err != nil {
			t.Fatalf("lookup within the budget: %v", err)
		}
		if len(got.RecentAttempts) != orders.AttemptLimit || !got.RecentAttempts[0].Equal(ms(now)) || !got.RecentAttempts[orders.AttemptLimit-1].Equal(ms(t0)) {
			t.Fatalf("attempts %v", got.RecentAttempts)
		}
		before := mustGet(t, f.store, o.ID, now)
		if before.Version != got.Version || !before.UpdatedAt.Equal(got.UpdatedAt) || before.Version != 1+2*(orders.AttemptLimit-1) {
			t.Fatalf("AdmitLookup changed version or updatedAt: %d %v", got.Version, got.UpdatedAt)
		}
		equal(t, "get after lookup", before, got)

		// Full: a new key and a lookup are refused, saying until when.
		_, err = f.store.Claim(ctx, claimOf(o, "pk_real", now))
		ce := wantConflict(t, err, orders.StatusFailed)
		until, full := ce.Current.AttemptsFullUntil(now)
		if !full || !until.Equal(ms(t0).Add(orders.AttemptWindow)) {
			t.Fatalf("AttemptsFullUntil = %v %v, want %v", until, full, ms(t0).Add(orders.AttemptWindow))
		}
		_, err = f.store.AdmitLookup(ctx, o.ID, "", now)
		wantConflict(t, err, orders.StatusFailed)
		equal(t, "after refusals", mustGet(t, f.store, o.ID, now), before)

		// One millisecond short of the window: still full. At its end: admitted.
		if _, err := f.store.Claim(ctx, claimOf(o, "pk_real", until.Add(-time.Millisecond))); err == nil {
			t.Fatal("claim admitted before the window rolled")
		}
		now = until
		claimed := mustClaim(t, f.store, o, "pk_real", now)
		if len(claimed.RecentAttempts) != orders.AttemptLimit || !claimed.RecentAttempts[0].Equal(ms(now)) {
			t.Fatalf("attempts after the roll %v", claimed.RecentAttempts)
		}
		// Full again, yet the claim's own resume (lapsed) is never refused.
		now = now.Add(claimFor + time.Second)
		for range orders.AttemptLimit {
			if _, err := f.store.AdmitLookup(ctx, o.ID, "", now); err != nil {
				break
			}
		}
		if _, full := mustGet(t, f.store, o.ID, now).AttemptsFullUntil(now); !full {
			t.Fatal("want the budget spent before the resume")
		}
		resumed := mustClaim(t, f.store, o, "pk_real", now)
		if resumed.Status != orders.StatusConfirming || resumed.PaymentKey != "pk_real" {
			t.Fatalf("resume: %+v", resumed)
		}
		// Paid: a lookup of its own payment is admitted whatever the
		// budget; of another key, refused.
		if _, err := f.store.Complete(ctx, o.ID, "pk_real", orders.Payment{Status: "DONE", TotalAmount: 15000, BalanceAmount: 15000}, now); err != nil {
			t.Fatal(err)
		}
		if _, full := mustGet(t, f.store, o.ID, now).AttemptsFullUntil(now); !full {
			t.Fatal("want the budget spent")
		}
		if _, err := f.store.AdmitLookup(ctx, o.ID, "pk_real", now); err != nil {
			t.Fatalf("lookup of the paid order's own payment: %v", err)
		}
		_, err = f.store.AdmitLookup(ctx, o.ID, "pk_forged_0", now)
		wantConflict(t, err, orders.StatusDone)
		if _, err := f.store.AdmitLookup(ctx, orders.NewID(), "", now); !errors.Is(err, orders.ErrNotFound) {
			t.Fatalf("lookup on no order: %v", err)
		}
		if f.raw != nil {
			it := f.raw(t, o.ID)
			for i := range orders.AttemptLimit {
				if _, ok := it[fmt.Sprintf("attempt%d", i)]; !ok {
					t.Errorf("item lacks attempt%d", i)
				}
			}
		}
	})
}

// tokenClaim is claimOf by a caller presenting token.
func tokenClaim(o *orders.Order, key, token string, now time.Time) orders.Claim {
	c := claimOf(o, key, now)
	c.Token = token
	return c
}

// TestTokenBudget: the order's own budget (TokenHolder) is spent only by
// callers presenting its checkout token and by lookups of a paid order's
// own payment. A caller who took every slot of the anonymous budget leaves
// it whole; a wrong token claims and looks up nothing; the own budget is
// bounded as the anonymous one is, own-payment lookups included (they were
// admitted without bound before). Both stores agree, and the DynamoDB item
// keeps the two budgets in slots of their own.
func TestTokenBudget(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		if !orders.ValidToken(o.CheckoutToken) {
			t.Fatalf("order created without a checkout token: %q", o.CheckoutToken)
		}
		now := t0
		// An attacker spends the anonymous budget with made-up keys.
		for i := range orders.AttemptLimit {
			if _, err := f.store.AdmitLookup(ctx, o.ID, "", now); err != nil {
				t.Fatalf("anonymous lookup %d: %v", i, err)
			}
		}
		_, err := f.store.Claim(ctx, claimOf(o, "pk_anon", now))
		if ce := wantConflict(t, err, orders.StatusPending); func() bool { _, full := ce.Current.AttemptsFullUntil(now); return !full }() {
			t.Fatal("want the anonymous budget spent")
		}
		// A wrong token claims nothing, and says the order as it stands.
		for _, wrong := range []string{orders.NewToken(), o.CheckoutToken[:len(o.CheckoutToken)-1] + "x"} {
			_, err = f.store.Claim(ctx, tokenClaim(o, "pk_real", wrong, now))
			if ce := wantConflict(t, err, orders.StatusPending); ce.Current.TokenMatches(wrong) {
				t.Fatal("TokenMatches a wrong token")
			}
			_, err = f.store.AdmitTokenLookup(ctx, o.ID, wrong, now)
			wantConflict(t, err, orders.StatusPending)
		}
		// The token's holder is admitted on the order's own budget.
		got := mustClaimWith(t, f.store, tokenClaim(o, "pk_real", o.CheckoutToken, now))
		if got.Status != orders.StatusConfirming || len(got.TokenAttempts) != 1 || !got.TokenAttempts[0].Equal(ms(now)) ||
			len(got.RecentAttempts) != orders.AttemptLimit || !got.ClaimedAt.Equal(ms(now)) {
			t.Fatalf("token claim: %+v", got)
		}
		if _, err := f.store.Release(ctx, o.ID, "pk_real", now); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < orders.AttemptLimit; i++ {
			if _, err := f.store.AdmitTokenLookup(ctx, o.ID, o.CheckoutToken, now); err != nil {
				t.Fatalf("token lookup %d: %v", i, err)
			}
		}
		// Its own budget is bounded too, and says until when.
		_, err = f.store.Claim(ctx, tokenClaim(o, "pk_real", o.CheckoutToken, now))
		ce := wantConflict(t, err, orders.StatusPending)
		if until, full := ce.Current.FullUntil(orders.TokenHolder, now); !full || !until.Equal(ms(now).Add(orders.AttemptWindow)) {
			t.Fatalf("FullUntil(TokenHolder) = %v %v", until, full)
		}
		_, err = f.store.AdmitTokenLookup(ctx, o.ID, o.CheckoutToken, now)
		wantConflict(t, err, orders.StatusPending)
		if _, err := f.store.AdmitTokenLookup(ctx, o.ID, "", now); err == nil || !orders.IsValidation(err) {
			t.Fatalf("token lookup without a token: %v", err)
		}
		if _, err := f.store.AdmitTokenLookup(ctx, orders.NewID(), o.CheckoutToken, now); !errors.Is(err, orders.ErrNotFound) {
			t.Fatalf("token lookup on no order: %v", err)
		}

		// A minute on: paid by the token's holder. Lookups of its own
		// payment draw on its own budget, AttemptLimit a minute, whatever
		// the anonymous budget holds; of another key, never.
		now = now.Add(orders.AttemptWindow)
		mustClaimWith(t, f.store, tokenClaim(o, "pk_real", o.CheckoutToken, now))
		if _, err := f.store.Complete(ctx, o.ID, "pk_real", orders.Payment{Status: "DONE", TotalAmount: 15000, BalanceAmount: 15000}, now); err != nil {
			t.Fatal(err)
		}
		for range orders.AttemptLimit {
			if _, err := f.store.AdmitLookup(ctx, o.ID, "", now); err != nil {
				break
			}
		}
		for i := 1; i < orders.AttemptLimit; i++ {
			if _, err := f.store.AdmitLookup(ctx, o.ID, "pk_real", now); err != nil {
				t.Fatalf("own-payment lookup %d: %v", i, err)
			}
		}
		_, err = f.store.AdmitLookup(ctx, o.ID, "pk_real", now)
		ce = wantConflict(t, err, orders.StatusDone)
		if _, full := ce.Current.FullUntil(orders.TokenHolder, now); !full {
			t.Fatal("own-payment lookups beyond the order's own budget were admitted")
		}
		_, err = f.store.AdmitLookup(ctx, o.ID, "pk_forged", now.Add(orders.AttemptWindow))
		wantConflict(t, err, orders.StatusDone)
		if _, err := f.store.AdmitLookup(ctx, o.ID, "pk_real", now.Add(orders.AttemptWindow)); err != nil {
			t.Fatalf("own-payment lookup once the window rolled: %v", err)
		}
		if f.raw != nil {
			it := f.raw(t, o.ID)
			for i := range orders.AttemptLimit {
				for _, slot := range []string{fmt.Sprintf("attempt%d", i), fmt.Sprintf("tokenAttempt%d", i)} {
					if _, ok := it[slot]; !ok {
						t.Errorf("item lacks %s", slot)
					}
				}
			}
			if tok, ok := it["checkoutToken"].(*types.AttributeValueMemberS); !ok || tok.Value != o.CheckoutToken {
				t.Errorf("item's checkoutToken %v", it["checkoutToken"])
			}
		}
	})
}

func mustClaimWith(t *testing.T, s orders.Store, c orders.Claim) *orders.Order {
	t.Helper()
	got, err := s.Claim(ctx, c)
	if err != nil {
		t.Fatalf("claim %s with %s: %v", c.OrderID, c.PaymentKey, err)
	}
	return got
}

// TestRelease: a claim whose attempt Toss never issued goes back to what
// the order was before it, in both stores: from PENDING, PENDING without a
// paymentKey; from FAILED, FAILED under the attempt that failed, its
// failure as it was (so no new failure to tell the merchant of); with the
// TTL, pay window and due index of an unpaid order, and payable again by
// the same new key. A resume keeps where the claim was taken from. Only the
// claim's own paymentKey releases it.
func TestRelease(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		t.Run("from PENDING", func(t *testing.T) {
			o := create(t, f.store, 15000, t0)
			before := mustGet(t, f.store, o.ID, t0)
			claimed := mustClaim(t, f.store, o, "pk_forged", t0)
			if !claimed.ClaimedAt.Equal(ms(t0)) {
				t.Fatalf("ClaimedAt %v, want %v", claimed.ClaimedAt, ms(t0))
			}
			_, err := f.store.Release(ctx, o.ID, "pk_other", t0)
			wantConflict(t, err, orders.StatusConfirming)
			now := t0.Add(time.Second)
			got, err := f.store.Release(ctx, o.ID, "pk_forged", now)
			if err != nil {
				t.Fatal(err)
			}
			want := *before
			want.RecentAttempts = claimed.RecentAttempts
			want.UpdatedAt, want.Version = ms(now), claimed.Version+1
			equal(t, "released", got, &want)
			equal(t, "get after release", mustGet(t, f.store, o.ID, now), got)
			if over, _ := f.store.Overdue(ctx, o.PayableUntil, 100); !containsID(over, o.ID) {
				t.Error("a released order is not due at its pay window's end")
			}
			_, err = f.store.Release(ctx, o.ID, "pk_forged", now)
			wantConflict(t, err, orders.StatusPending)
			// It had a Toss call, so it expires as a FAILED order does:
			// with a recheck (Toss may approve one of its attempts late),
			// where an order nobody ever tried expires with none.
			if !got.TossAttempted() {
				t.Fatal("a released order does not say Toss calls were made for it")
			}
			untried := create(t, f.store, 15000, t0)
			for _, tc := range []struct {
				o       *orders.Order
				recheck bool
			}{{o, true}, {untried, false}} {
				expired, err := f.store.Expire(ctx, tc.o.ID, o.PayableUntil)
				if err != nil {
					t.Fatal(err)
				}
				if expired.Status != orders.StatusExpired || expired.RecheckAt.IsZero() == tc.recheck {
					t.Fatalf("expired %s with RecheckAt %v, want a recheck %v", expired.Status, expired.RecheckAt, tc.recheck)
				}
			}
		})
		t.Run("payable again after release", func(t *testing.T) {
			o := create(t, f.store, 15000, t0)
			mustClaim(t, f.store, o, "pk_forged", t0)
			if _, err := f.store.Release(ctx, o.ID, "pk_forged", t0); err != nil {
				t.Fatal(err)
			}
			mustClaim(t, f.store, o, "pk_forged", t0.Add(time.Second)) // by any key, the same included
		})
		t.Run("from FAILED, across a resume", func(t *testing.T) {
			o := create(t, f.store, 15000, t0)
			mustClaim(t, f.store, o, "pk_declined", t0)
			fl := orders.Failure{Code: "REJECT_CARD_COMPANY", Message: "declined", PaymentKey: "pk_declined", Amount: 15000, At: t0}
			failed, err := f.store.Fail(ctx, o.ID, "pk_declined", fl, t0)
			if err != nil {
				t.Fatal(err)
			}
			claimed := mustClaim(t, f.store, o, "pk_forged", t0)
			later := t0.Add(claimFor + time.Second)
			resumed := mustClaim(t, f.store, o, "pk_forged", later) // the claim lapsed; its attempt resumes it
			if !resumed.ClaimedAt.Equal(claimed.ClaimedAt) {
				t.Fatalf("a resume moved ClaimedAt: %v, want %v", resumed.ClaimedAt, claimed.ClaimedAt)
			}
			got, err := f.store.Release(ctx, o.ID, "pk_forged", later)
			if err != nil {
				t.Fatal(err)
			}
			want := *failed
			want.RecentAttempts = resumed.RecentAttempts
			want.UpdatedAt, want.Version = ms(later), resumed.Version+1
			equal(t, "released", got, &want)
			// The declined attempt is refused again, as before the claim.
			_, err = f.store.Claim(ctx, claimOf(o, "pk_declined", later))
			wantConflict(t, err, orders.StatusFailed)
		})
		t.Run("unknown or unclaimed", func(t *testing.T) {
			o := create(t, f.store, 15000, t0)
			_, err := f.store.Release(ctx, o.ID, "pk_forged", t0)
			wantConflict(t, err, orders.StatusPending)
			_, err = f.store.Release(ctx, orders.NewID(), "pk_forged", t0)
			wantNotFound(t, err)
			if _, err := f.store.Release(ctx, o.ID, "", t0); !orders.IsValidation(err) {
				t.Fatalf("release without a key: %v", err)
			}
		})
	})
}

func containsID(os []*orders.Order, id string) bool {
	for _, o := range os {
		if o.ID == id {
			return true
		}
	}
	return false
}
