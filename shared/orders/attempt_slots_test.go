package orders_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// The item keeps the newest AttemptLimit attempts in as many slots
// (attempt0 … attempt<AttemptLimit-1>), however many were admitted: older
// ones are shifted out, never kept in further attributes, so the item does
// not grow with the calls anyone makes about the order.
func TestDynamoAttemptSlotsAreBounded(t *testing.T) {
	f := newDynamoFixture(t)
	o := create(t, f.store, 15000, t0)
	calls := orders.AttemptLimit + 2
	for i := range calls {
		// One window apart: each is admitted.
		now := t0.Add(orders.AttemptWindow * time.Duration(i))
		if _, err := f.store.AdmitLookup(ctx, o.ID, "", now); err != nil {
			t.Fatalf("lookup %d: %v", i, err)
		}
	}
	it := f.raw(t, o.ID)
	for i := range orders.AttemptLimit {
		if _, ok := it[fmt.Sprintf("attempt%d", i)]; !ok {
			t.Errorf("slot attempt%d missing", i)
		}
	}
	for i := orders.AttemptLimit; i < calls+1; i++ {
		if v, ok := it[fmt.Sprintf("attempt%d", i)]; ok {
			t.Errorf("slot attempt%d = %#v: the item keeps more than AttemptLimit attempts", i, v)
		}
	}
	got := mustGet(t, f.store, o.ID, t0)
	if len(got.RecentAttempts) != orders.AttemptLimit {
		t.Fatalf("RecentAttempts %v, want the newest %d", got.RecentAttempts, orders.AttemptLimit)
	}
	newest := ms(t0.Add(orders.AttemptWindow * time.Duration(calls-1)))
	if !got.RecentAttempts[0].Equal(newest) {
		t.Fatalf("newest attempt %v, want %v", got.RecentAttempts[0], newest)
	}
}
