package orders_test

import (
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// Both stores hand out copies: changing an order a store returned, down to
// its payment's cancels, changes nothing stored.
func TestStoresHandOutCopiesOfCancels(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, o, "pk_1", t0)
		p := payment
		p.Cancels = []orders.Cancel{{TransactionKey: "tx_1", Reason: "buyer asked", Amount: 5000, CanceledAt: t0.Add(time.Hour)}}
		done, err := f.store.Complete(ctx, o.ID, "pk_1", p, t0.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		done.Payment.Cancels[0].Reason = "changed by the caller"
		got := mustGet(t, f.store, o.ID, t0.Add(time.Minute))
		got.Payment.Cancels[0].Amount = 1
		again := mustGet(t, f.store, o.ID, t0.Add(time.Minute))
		if c := again.Payment.Cancels[0]; c.Reason != "buyer asked" || c.Amount != 5000 {
			t.Fatalf("stored cancel %+v: a caller's change reached the store", c)
		}
	})
}
