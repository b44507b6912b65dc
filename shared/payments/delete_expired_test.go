package payments

import (
	"context"
	"errors"
	"testing"

	"github.com/tossintl/backend/shared/orders"
)

// TestDeleteExpiredOrderWithoutAttempts: an order that expired without a
// payment attempt is deleted without asking Toss, so Toss being
// unreachable does not keep it.
func TestDeleteExpiredOrderWithoutAttempts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 1000)
	f.clock.Advance(testPolicy.PayWindow + 1)
	if rep, err := f.engine.Reconcile(ctx); err != nil || rep.Expired != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusExpired || got.PaymentKey != "" || got.TossAttempted() {
		t.Fatalf("order %s under %q, attempted %v; want EXPIRED without attempts", got.Status, got.PaymentKey, got.TossAttempted())
	}
	f.engine.Toss = lookupDown{f.toss}
	lookups := f.toss.lookups
	if _, err := f.engine.Delete(ctx, o.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if f.toss.lookups != lookups {
		t.Fatalf("deleting an order without attempts asked Toss")
	}
	if _, err := f.store.Get(ctx, o.ID, f.clock.Now()); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("the order is still there: %v", err)
	}
}
