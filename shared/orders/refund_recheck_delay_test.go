package orders_test

import (
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// A refund reservation is not due for a recheck while the request that
// made it could still be recording Toss's answer (an invocation lasts
// seconds; API Gateway gives up after 30), but it is once
// RefundRecheckAfter has passed.
func TestRefundReservationRecheckWaitsOutItsRequest(t *testing.T) {
	now := t0.Add(time.Hour)
	forEachStore(t, func(t *testing.T, f fixture) {
		o := paidOrder(t, f.store)
		if _, err := f.store.ReserveRefund(ctx, o.ID, reservation("cancel-k1", 15000, 5000), now); err != nil {
			t.Fatal(err)
		}
		due := func(at time.Time) bool {
			t.Helper()
			got, err := f.store.Rechecks(ctx, at, 10)
			if err != nil {
				t.Fatal(err)
			}
			return len(got) == 1 && got[0].ID == o.ID
		}
		if due(now.Add(time.Minute)) {
			t.Error("the reservation is due for a recheck a minute after it was made")
		}
		if !due(now.Add(orders.RefundRecheckAfter)) {
			t.Error("the reservation is not due RefundRecheckAfter after it was made")
		}
	})
}
