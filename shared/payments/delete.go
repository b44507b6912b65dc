package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// Delete removes an unpaid order for the merchant (DELETE /orders/{orderId}).
// The store refuses a paid or claimed order. An order that had payment
// attempts (FAILED, or EXPIRED after failing) is first looked up at Toss, as
// Reconcile does before expiring one, because Toss may hold an approved
// payment the order does not know of: one confirmed by another server with
// the same secret key while we had the order claimed for another attempt
// (found by the simulator, seed 3865). Then the delete is refused (a
// *orders.ConflictError, the order as stored) and the order is left for
// Reconcile or Toss's webhook to record as paid; if Toss cannot say, the
// delete fails with Toss's error rather than risk deleting a paid order.
// So is a PENDING order Toss calls were made for (TossAttempted: a claim
// given back because Toss never issued its key leaves it PENDING, while
// another attempt may have been approved meanwhile; the simulator's seed
// 17802). An order without attempts costs no lookup: nothing of it was
// confirmed.
// The delete applies only to the order as read (its version), so a claim,
// a decline or a payment between the read and the delete refuses it (seed
// 88758: the order was CONFIRMING when read, FAILED when deleted).
func (e *Engine) Delete(ctx context.Context, id string) (*orders.Order, error) {
	o, err := e.Orders.Get(ctx, id, e.now())
	if err != nil {
		return nil, fmt.Errorf("payments: delete order %s: %w", id, err)
	}
	if last := lastAttempt(o); !last.IsZero() && e.now().Sub(last) < orDefault(e.SessionWindow, defaultSessionWindow)+lateTossMargin {
		// An attempt made moments ago may still be confirmed, by another
		// server holding the secret key, after any lookup this delete
		// makes, and Toss's lookup by orderId lists one attempt only: an
		// order is deleted only once Toss's confirm window of its last
		// attempt has passed (simulator seed 4485).
		e.log().WarnContext(ctx, "delete refused: the order's last payment attempt is inside Toss's confirm window", "orderId", o.ID, "lastAttempt", last)
		return nil, &orders.ConflictError{Op: "delete", Current: o}
	}
	if o.TossAttempted() || o.PaymentKey != "" && (o.Status == orders.StatusFailed || o.Status == orders.StatusExpired) {
		tctx, cancel := e.tossContext(ctx, e.deadline(ctx, e.now()))
		p, err := e.Toss.PaymentByOrderID(tctx, o.ID)
		cancel()
		switch {
		case toss.CodeOf(err) == toss.CodeNotFoundPayment:
		case err != nil:
			return nil, fmt.Errorf("payments: delete order %s: look it up at Toss: %w", id, err)
		case approvedFor(o, p):
			e.log().ErrorContext(ctx, "delete refused: Toss holds an approved payment for the order",
				"orderId", o.ID, "paymentKey", MaskKey(p.PaymentKey), "claimPaymentKey", MaskKey(o.PaymentKey), "status", o.Status)
			return nil, &orders.ConflictError{Op: "delete", Current: o}
		case p.OrderID == o.ID && undecided(p.Status):
			// An attempt Toss has not decided may still be approved (by
			// another server holding the secret key) between this lookup
			// and the delete, and the approval would then have no order
			// (simulator seed 4485). The merchant deletes once it ends.
			e.log().WarnContext(ctx, "delete refused: Toss shows an attempt of the order still in progress",
				"orderId", o.ID, "paymentKey", MaskKey(p.PaymentKey), "tossStatus", p.Status)
			return nil, &orders.ConflictError{Op: "delete", Current: o}
		}
	}
	deleted, err := e.Orders.Delete(ctx, id, o.Version, e.now())
	if err != nil {
		return nil, fmt.Errorf("payments: delete order %s: %w", id, err)
	}
	return deleted, nil
}

// lateTossMargin is how long past its confirm window Toss may still
// process a confirm it received in time.
const lateTossMargin = 5 * time.Minute

// lastAttempt is when o last saw a payment attempt: its newest admitted
// Toss call, or the failure Toss reported; zero if it never had one.
func lastAttempt(o *orders.Order) time.Time {
	var last time.Time
	for _, ts := range [][]time.Time{o.RecentAttempts, o.TokenAttempts} {
		for _, t := range ts {
			if t.After(last) {
				last = t
			}
		}
	}
	if f := o.LastFailure; f != nil && f.At.After(last) {
		last = f.At
	}
	return last
}
