package orders_test

import (
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// Overdue returns at most limit orders, oldest first, even when the due
// entries it reads include orders past their TTL (DynamoDB deletes them
// late, moto never): those are skipped, and what it reads next is only
// what the page still lacks.
func TestOverdueSkipsGoneOrdersAndKeepsTheLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		keep := orders.Policy{MaxAmount: policy.MaxAmount, PayWindow: 30 * time.Minute, Retention: 30 * 24 * time.Hour}
		brief := orders.Policy{MaxAmount: policy.MaxAmount, PayWindow: 30 * time.Minute, Retention: time.Hour}
		mk := func(created time.Time, p orders.Policy) *orders.Order {
			t.Helper()
			o, err := orders.New(orders.Draft{Name: "Tea", Amount: 1000}, created, p)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.store.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			return o
		}
		// Due order, by PayableUntil: live, gone, live, live, live.
		live1 := mk(t0, keep)
		mk(t0.Add(time.Minute), brief)
		live2 := mk(t0.Add(2*time.Minute), keep)
		mk(t0.Add(3*time.Minute), keep)
		mk(t0.Add(4*time.Minute), keep)

		now := t0.Add(48 * time.Hour) // every window closed; the brief order is past its TTL
		got, err := f.store.Overdue(ctx, now, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != live1.ID || got[1].ID != live2.ID {
			ids := make([]string, len(got))
			for i, o := range got {
				ids[i] = o.ID
			}
			t.Fatalf("Overdue(limit 2) = %v, want [%s %s]", ids, live1.ID, live2.ID)
		}
	})
}
