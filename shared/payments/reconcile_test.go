package payments

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// approvedButLapsed makes n orders in each shard of the orders' indexes
// whose confirm Toss executed but whose answer never reached the store:
// CONFIRMING under the approved paymentKey, the claim lapsed by the time
// the test reconciles (the clock is advanced past it).
func approvedButLapsed(t *testing.T, w *settleWorld, n int) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for shard := range orders.ShardCount {
		for range n {
			o, err := orders.New(orders.Draft{Name: "K-pop lightstick", Amount: 39000}, w.clock.Now(), testPolicy)
			if err != nil {
				t.Fatal(err)
			}
			for orders.ShardOf(o.ID) != shard {
				o.ID = orders.NewID()
			}
			if err := w.store.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			pk := w.sandbox.Authorize(o.ID, o.Name, o.Amount)
			if _, err := w.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: pk, OrderID: o.ID, Amount: o.Amount}, IdempotencyKey(o.ID, pk)); err != nil {
				t.Fatalf("approve %s at Toss: %v", o.ID, err)
			}
			now := w.clock.Now()
			if _, err := w.store.Claim(ctx, orders.Claim{OrderID: o.ID, PaymentKey: pk, Amount: o.Amount, Now: now, Until: now.Add(20 * time.Second)}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, o.ID)
		}
	}
	w.clock.Advance(time.Minute)
	return ids
}

// One pass walks every shard and works past its first batch: 64 lapsed
// claims, two in each of the 32 shards, more than one batch of 50, all
// end DONE with Toss's one executed confirm each.
func TestReconcileSettlesOrdersDueInEveryShard(t *testing.T) {
	for _, st := range settleStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			w := newSettleWorld(t, st.new(t))
			ids := approvedButLapsed(t, w, 2)
			rep, err := w.engine.Reconcile(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.LapsedClaims != len(ids) || rep.Done != len(ids) || rep.Errors != 0 {
				t.Errorf("report %+v, want %d lapsed claims, all done", rep, len(ids))
			}
			for _, id := range ids {
				if o := w.get(t, id); o.Status != orders.StatusDone {
					t.Errorf("order %s (shard %d) is %s after the pass", id, orders.ShardOf(id), o.Status)
				}
				if n := w.sandbox.ConfirmsExecuted(id); n != 1 {
					t.Errorf("order %s: Toss executed %d confirms", id, n)
				}
			}
		})
	}
}

// Orders Toss cannot settle yet stay due and head every batch; the pass
// neither loops on them nor stops before the ones behind them.
func TestReconcileStillDueOrdersDoNotHideOthers(t *testing.T) {
	w := newSettleWorld(t, orders.Validated(orders.NewMemoryStore()))
	ids := approvedButLapsed(t, w, 2) // 64
	// Toss fails the first 60 lookups: those orders stay CONFIRMING.
	w.sandbox.FailNext(60*2, tosstest.Fault5xx) // the client tries each call twice
	rep, err := w.engine.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.LapsedClaims != len(ids) || rep.Pending+rep.Errors != 60 || rep.Done != 4 {
		t.Errorf("first pass %+v, want all %d looked at once, 60 left for later, 4 done", rep, len(ids))
	}
	rep, err = w.engine.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Done != 60 {
		t.Errorf("second pass %+v, want the other 60 done", rep)
	}
}

// A pass starts no order in the last reconcileReserve of its invocation,
// so that it ends inside the Lambda's deadline instead of being cut off
// halfway through an order.
func TestReconcileStopsBeforeTheDeadline(t *testing.T) {
	for _, c := range []struct {
		left time.Duration
		want int
	}{
		{reconcileReserve - time.Second, 0},
		{reconcileReserve + 30*time.Second, 32},
	} {
		t.Run(fmt.Sprint(c.left), func(t *testing.T) {
			w := newSettleWorld(t, orders.Validated(orders.NewMemoryStore()))
			approvedButLapsed(t, w, 1)
			rep, err := w.engine.Reconcile(deadlineCtx{context.Background(), w.clock.Now().Add(c.left)})
			if err != nil {
				t.Fatal(err)
			}
			if rep.LapsedClaims != c.want {
				t.Errorf("with %s left the pass took %d orders, want %d", c.left, rep.LapsedClaims, c.want)
			}
		})
	}
}

// deadlineCtx has a deadline on the test's clock, the engine's, and is
// never canceled, as the simulation's invocations.
type deadlineCtx struct {
	context.Context
	deadline time.Time
}

func (c deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }
