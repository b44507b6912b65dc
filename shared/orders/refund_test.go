package orders_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tossintl/backend/shared/internal/awstest"
	"github.com/tossintl/backend/shared/orders"
)

// paidOrder is an order of payment.TotalAmount (15,000) paid under pk_1.
func paidOrder(t *testing.T, s orders.Store) *orders.Order {
	t.Helper()
	o := create(t, s, payment.TotalAmount, t0)
	mustClaim(t, s, o, "pk_1", t0)
	done, err := s.Complete(ctx, o.ID, "pk_1", payment, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return done
}

func reservation(key string, balance, amount int64) orders.RefundReservation {
	return orders.RefundReservation{Key: key, PaymentKey: "pk_1", Balance: balance, Amount: amount, Reason: "buyer asked"}
}

// wantRefundable checks what a new refund may take and the pending sum.
func wantRefundable(t *testing.T, o *orders.Order, refundable, reserved int64) {
	t.Helper()
	if o.Refundable() != refundable || o.Reserved() != reserved {
		t.Fatalf("refundable %d with %d reserved, want %d with %d (refunds %+v)", o.Refundable(), o.Reserved(), refundable, reserved, o.Refunds)
	}
}

func TestReserveRefund(t *testing.T) {
	now := t0.Add(time.Hour)
	forEachStore(t, func(t *testing.T, f fixture) {
		s := f.store
		o := paidOrder(t, s)
		wantRefundable(t, o, 15000, 0)

		got, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k1", 15000, 5000), now)
		if err != nil {
			t.Fatal(err)
		}
		want := *o
		want.Refunds = map[string]orders.Refund{"cancel-k1": {Amount: 5000, Reason: "buyer asked", ReservedAt: ms(now)}}
		want.UpdatedAt, want.Version = ms(now), o.Version+1
		want.RecheckAt = ms(now.Add(orders.RefundRecheckAfter))
		equal(t, "reserved", got, &want)
		equal(t, "get after reserve", mustGet(t, s, o.ID, now), got)
		wantRefundable(t, got, 10000, 5000)

		refusals := []struct {
			name   string
			id     string
			r      orders.RefundReservation
			status orders.Status // "" expects ErrNotFound
		}{
			{"the same key again", o.ID, reservation("cancel-k1", 15000, 5000), orders.StatusDone},
			{"over what is refundable", o.ID, reservation("cancel-k2", 15000, 10001), orders.StatusDone},
			{"a balance that no longer stands", o.ID, reservation("cancel-k2", 14000, 1000), orders.StatusDone},
			{"another payment", o.ID, func() orders.RefundReservation {
				r := reservation("cancel-k2", 15000, 1000)
				r.PaymentKey = "pk_2"
				return r
			}(), orders.StatusDone},
			{"unknown order", orders.NewID(), reservation("cancel-k2", 15000, 1000), ""},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.ReserveRefund(ctx, tc.id, tc.r, now)
				if tc.status == "" {
					wantNotFound(t, err)
					return
				}
				ce := wantConflict(t, err, tc.status)
				equal(t, "conflict's current", ce.Current, got)
			})
		}
		pending := create(t, s, 15000, t0)
		_, err = s.ReserveRefund(ctx, pending.ID, reservation("cancel-k2", 15000, 1000), now)
		wantConflict(t, err, orders.StatusPending)

		// Not every reservation is worth a write.
		for _, tc := range []struct {
			name, field string
			r           orders.RefundReservation
		}{
			{"no key", "key", reservation("", 15000, 1000)},
			{"a key that is a path", "key", reservation("cancel.k2", 15000, 1000)},
			{"zero", "amount", reservation("cancel-k2", 15000, 0)},
			{"over the balance", "amount", reservation("cancel-k2", 15000, 15001)},
			{"no payment key", "paymentKey", func() orders.RefundReservation {
				r := reservation("cancel-k2", 15000, 1000)
				r.PaymentKey = ""
				return r
			}()},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if f.calls != nil {
					f.calls.Reset()
				}
				_, err := s.ReserveRefund(ctx, o.ID, tc.r, now)
				var ve *orders.ValidationError
				if !errors.As(err, &ve) || ve.Field != tc.field {
					t.Fatalf("err = %v, want ValidationError on %s", err, tc.field)
				}
				if f.calls != nil && f.calls.Count() != 0 {
					t.Errorf("calls = %s, want none", f.calls)
				}
			})
		}
		equal(t, "order after refusals", mustGet(t, s, o.ID, now), got)

		// The rest of the balance, then a release gives it back.
		all, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k2", 15000, 10000), now)
		if err != nil {
			t.Fatal(err)
		}
		wantRefundable(t, all, 0, 15000)
		if _, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k3", 15000, 1), now); err == nil {
			t.Fatal("reserved beyond the balance")
		}
		if _, err := s.ReleaseRefund(ctx, o.ID, "cancel-k2", 9999, now); wantErr[*orders.ConflictError](err) != nil {
			t.Fatalf("release of another amount: %v", err)
		}
		released, err := s.ReleaseRefund(ctx, o.ID, "cancel-k2", 10000, now)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "released", released, func() *orders.Order { w := *got; w.Version = all.Version + 1; return &w }())
		if _, err := s.ReleaseRefund(ctx, o.ID, "cancel-k2", 10000, now); wantErr[*orders.ConflictError](err) != nil {
			t.Fatalf("second release: %v", err)
		}
	})
}

func TestSettleRefund(t *testing.T) {
	now := t0.Add(time.Hour)
	forEachStore(t, func(t *testing.T, f fixture) {
		s := f.store
		o := paidOrder(t, s)
		if _, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k1", 15000, 5000), now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SettleRefund(ctx, o.ID, "pk_1", "cancel-k1", 4000, canceled(5000), now); wantErr[*orders.ConflictError](err) != nil {
			t.Fatalf("settle of another amount: %v", err)
		}
		if _, err := s.SettleRefund(ctx, o.ID, "pk_1", "cancel-kx", 5000, canceled(5000), now); wantErr[*orders.ConflictError](err) != nil {
			t.Fatalf("settle of no reservation: %v", err)
		}
		settled, err := s.SettleRefund(ctx, o.ID, "pk_1", "cancel-k1", 5000, canceled(5000), now)
		if err != nil {
			t.Fatal(err)
		}
		if settled.Status != orders.StatusPartialCanceled || settled.Payment.BalanceAmount != 10000 || len(settled.Payment.Cancels) != 1 ||
			settled.Refunds["cancel-k1"].Pending() || !settled.Refunds["cancel-k1"].SettledAt.Equal(ms(now)) {
			t.Fatalf("settled: %+v %+v", settled, settled.Refunds)
		}
		wantRefundable(t, settled, 10000, 0)
		equal(t, "get after settle", mustGet(t, s, o.ID, now), settled)
		// Settled once: neither a second settlement nor a new reservation
		// under the same key.
		_, err = s.SettleRefund(ctx, o.ID, "pk_1", "cancel-k1", 5000, canceled(5000), now)
		equal(t, "second settle's current", wantConflict(t, err, orders.StatusPartialCanceled).Current, settled)
		_, err = s.ReserveRefund(ctx, o.ID, reservation("cancel-k1", 10000, 5000), now)
		equal(t, "reserve of a settled key", wantConflict(t, err, orders.StatusPartialCanceled).Current, settled)

		// A webhook recorded the refund before its request settled it: the
		// amount counts twice until then, and the settlement moves nothing.
		if _, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k2", 10000, 3000), now); err != nil {
			t.Fatal(err)
		}
		hooked, err := s.ApplyCancel(ctx, o.ID, "pk_1", canceled(5000, 3000), now)
		if err != nil {
			t.Fatal(err)
		}
		wantRefundable(t, hooked, 4000, 3000)
		settled, err = s.SettleRefund(ctx, o.ID, "pk_1", "cancel-k2", 3000, canceled(5000, 3000), now)
		if err != nil {
			t.Fatalf("settle after the webhook: %v", err)
		}
		wantRefundable(t, settled, 7000, 0)

		// A later state recorded first: the answer is refused, the order's
		// own summary settles.
		if _, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k3", 7000, 2000), now); err != nil {
			t.Fatal(err)
		}
		later := canceled(5000, 3000, 2000, 1000)
		if _, err := s.ApplyCancel(ctx, o.ID, "pk_1", later, now); err != nil {
			t.Fatal(err)
		}
		_, err = s.SettleRefund(ctx, o.ID, "pk_1", "cancel-k3", 2000, canceled(5000, 3000, 2000), now)
		ce := wantConflict(t, err, orders.StatusPartialCanceled)
		settled, err = s.SettleRefund(ctx, o.ID, "pk_1", "cancel-k3", 2000, *ce.Current.Payment, now)
		if err != nil {
			t.Fatalf("settle against the order's summary: %v", err)
		}
		if settled.Payment.BalanceAmount != 4000 || len(settled.Payment.Cancels) != 4 {
			t.Fatalf("settling moved the order back: %+v", settled.Payment)
		}
		wantRefundable(t, settled, 4000, 0)

		// The last of the balance, settled on a CANCELED order a webhook
		// closed first.
		if _, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k4", 4000, 4000), now); err != nil {
			t.Fatal(err)
		}
		full := canceled(5000, 3000, 2000, 1000, 4000)
		if _, err := s.ApplyCancel(ctx, o.ID, "pk_1", full, now); err != nil {
			t.Fatal(err)
		}
		settled, err = s.SettleRefund(ctx, o.ID, "pk_1", "cancel-k4", 4000, full, now)
		if err != nil || settled.Status != orders.StatusCanceled {
			t.Fatalf("settle on a canceled order: %v %+v", err, settled)
		}
		wantRefundable(t, settled, 0, 0)
	})
}

// Ten refunds of 6,000 race on a balance of 20,000: exactly three fit,
// and what is reserved never exceeds the balance. On DynamoDB this is the
// conditions' doing (DynamoDB Local, like DynamoDB, applies each
// conditional write to an item atomically).
func TestConcurrentReservationsNeverExceedTheBalance(t *testing.T) {
	const n = 10
	forEachStore(t, func(t *testing.T, f fixture) {
		s := f.store
		o := create(t, s, 20000, t0)
		mustClaim(t, s, o, "pk_1", t0)
		p := payment
		p.TotalAmount, p.BalanceAmount = 20000, 20000
		if _, err := s.Complete(ctx, o.ID, "pk_1", p, t0); err != nil {
			t.Fatal(err)
		}
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			mu     sync.Mutex
			won    int
			others []error
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := s.ReserveRefund(ctx, o.ID, reservation(fmt.Sprintf("cancel-%02d", i), 20000, 6000), t0.Add(time.Minute))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case wantErr[*orders.ConflictError](err) != nil:
					others = append(others, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		got := mustGet(t, s, o.ID, t0.Add(time.Minute))
		if won != 3 || len(others) != 0 || len(got.Refunds) != 3 {
			t.Fatalf("%d reservations won, %d recorded, other errors %v; want 3", won, len(got.Refunds), others)
		}
		wantRefundable(t, got, 2000, 18000)
	})
}

// The refund writes, sent twice as the SDK does when an answer is lost,
// answer as the first attempt would: a reservation is not refused as
// "already reserved", a settlement or release as "not pending".
func TestDynamoRefundWritesSurviveReplays(t *testing.T) {
	replays := &awstest.Replays{Ops: []string{"UpdateItem"}}
	db := awstest.DynamoDB(t, replays.Middleware)
	table := awstest.UniqueName("orders")
	awstest.CreateTable(t, db, orders.TableDefinition(table))
	s := orders.Validated(orders.NewDynamoStore(db, table))
	o := paidOrder(t, s)
	before := replays.Count()
	now := t0.Add(time.Hour)

	r, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k1", 15000, 5000), now)
	if err != nil || r.Version != o.Version+1 {
		t.Fatalf("reserve: %v %+v", err, r)
	}
	wantRefundable(t, r, 10000, 5000)
	r, err = s.SettleRefund(ctx, o.ID, "pk_1", "cancel-k1", 5000, canceled(5000), now)
	if err != nil || r.Version != o.Version+2 {
		t.Fatalf("settle: %v %+v", err, r)
	}
	wantRefundable(t, r, 10000, 0)
	if _, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k2", 10000, 4000), now); err != nil {
		t.Fatalf("reserve: %v", err)
	}
	r, err = s.ReleaseRefund(ctx, o.ID, "cancel-k2", 4000, now)
	if err != nil || r.Version != o.Version+4 {
		t.Fatalf("release: %v %+v", err, r)
	}
	wantRefundable(t, r, 10000, 0)
	if n := replays.Count() - before; n != 4 {
		t.Fatalf("%d writes were sent twice, want 4: the test did not test replays", n)
	}
	// A real refusal stays one after a replay.
	if _, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k1", 10000, 5000), now); wantErr[*orders.ConflictError](err) != nil {
		t.Fatal(err)
	}
}

// An order paid before refunds were reserved has no refunds map (and no
// refundReserved): its first reservation creates them, and what follows
// works as on any order.
func TestDynamoReserveOnAnOrderPaidBeforeReservations(t *testing.T) {
	calls := &awstest.Calls{}
	db := awstest.DynamoDB(t, calls.Middleware)
	table := awstest.UniqueName("orders")
	awstest.CreateTable(t, db, orders.TableDefinition(table))
	s := orders.Validated(orders.NewDynamoStore(db, table))
	o := paidOrder(t, s)
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(table),
		Key:              map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: o.ID}},
		UpdateExpression: aws.String("REMOVE refunds"),
	}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Hour)
	calls.Reset()
	r, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k1", 15000, 5000), now)
	if err != nil {
		t.Fatalf("reserve on a legacy order: %v", err)
	}
	if calls.Count() != 2 || calls.Count("UpdateItem") != 2 {
		t.Errorf("calls = %s, want two UpdateItems (refused, then creating the map)", calls)
	}
	wantRefundable(t, r, 10000, 5000)
	calls.Reset()
	r, err = s.ReserveRefund(ctx, o.ID, reservation("cancel-k2", 15000, 10000), now)
	if err != nil || calls.Count() != 1 {
		t.Fatalf("second reserve: %v, calls %s", err, calls)
	}
	wantRefundable(t, r, 0, 15000)
	if _, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k3", 15000, 1), now); wantErr[*orders.ConflictError](err) != nil {
		t.Fatal(err)
	}
	// A new order's first reservation is one write: Complete made the map.
	fresh := paidOrder(t, s)
	calls.Reset()
	if _, err := s.ReserveRefund(ctx, fresh.ID, reservation("cancel-k1", 15000, 5000), now); err != nil || calls.Count() != 1 {
		t.Fatalf("reserve on a new order: %v, calls %s", err, calls)
	}
}
