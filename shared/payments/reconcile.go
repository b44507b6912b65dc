package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// ReconcileReport counts what one Reconcile pass did.
type ReconcileReport struct {
	LapsedClaims int // CONFIRMING orders whose claim had lapsed
	Done         int // of those, recorded as paid
	Declined     int // of those, recorded as failed
	Pending      int // of those, still unknown (left for the next pass)
	Expired      int // unpaid orders marked EXPIRED
	Errors       int // orders that could not be looked at this time
}

// Reconcile settles every CONFIRMING order whose claim lapsed (the Lambda
// that held it crashed or timed out, or Toss's answer was unknown) from
// Toss's record of the order, and expires unpaid orders past their payable
// window. It finds both through the orders' sparse index, never a scan.
// Errors on single orders are logged and counted, not returned: one bad
// order must not stop the others from settling.
func (e *Engine) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	now := e.now()
	lapsed, err := e.Orders.LapsedClaims(ctx, now, defaultReconcileBatch)
	if err != nil {
		return rep, fmt.Errorf("payments: list lapsed claims: %w", err)
	}
	for _, o := range lapsed {
		if ctx.Err() != nil {
			break
		}
		rep.LapsedClaims++
		res, err := e.settleLapsed(ctx, o)
		switch {
		case err != nil:
			rep.Errors++
			e.log().ErrorContext(ctx, "reconcile order", "orderId", o.ID, "error", err)
		case res.Outcome == OutcomeDone:
			rep.Done++
		case res.Outcome == OutcomeDeclined:
			rep.Declined++
		default:
			rep.Pending++
		}
	}
	overdue, err := e.Orders.Overdue(ctx, now, defaultReconcileBatch)
	if err != nil {
		return rep, fmt.Errorf("payments: list overdue orders: %w", err)
	}
	for _, o := range overdue {
		if ctx.Err() != nil {
			break
		}
		if _, err := e.Orders.Expire(ctx, o.ID, now); err != nil {
			var ce *orders.ConflictError
			if errors.As(err, &ce) || errors.Is(err, orders.ErrNotFound) {
				continue // paid or claimed meanwhile: nothing to expire
			}
			rep.Errors++
			e.log().ErrorContext(ctx, "expire order", "orderId", o.ID, "error", err)
			continue
		}
		rep.Expired++
	}
	e.log().InfoContext(ctx, "reconcile pass", "lapsedClaims", rep.LapsedClaims, "done", rep.Done,
		"declined", rep.Declined, "pending", rep.Pending, "expired", rep.Expired, "errors", rep.Errors)
	return rep, nil
}

// settleLapsed decides one lapsed CONFIRMING order from Toss's side.
func (e *Engine) settleLapsed(ctx context.Context, o *orders.Order) (*Result, error) {
	until := e.deadline(ctx, e.now())
	tctx, cancel := e.tossContext(ctx, until)
	p, err := e.Toss.PaymentByOrderID(tctx, o.ID)
	cancel()
	switch {
	case err == nil && isApproved(p.Status):
		if p.PaymentKey != o.PaymentKey {
			// Only the claimed paymentKey is ever confirmed by this engine, so
			// this is an anomaly for an operator, not something to overwrite.
			e.count("reconcile_anomaly")
			return nil, fmt.Errorf("payments: order %s approved at Toss under another paymentKey %s", o.ID, MaskKey(p.PaymentKey))
		}
		return e.settleApproved(ctx, o, p)
	case err == nil && (p.Status == toss.StatusAborted || p.Status == toss.StatusExpired) && p.PaymentKey == o.PaymentKey:
		return e.fail(ctx, o, failureOf(p, o, e.now()))
	case err != nil && toss.CodeOf(err) != toss.CodeNotFoundPayment:
		return &Result{Outcome: OutcomeProcessing, Order: o}, nil
	}
	// Toss has no approved payment for the order. If the buyer's
	// authentication may still be inside Toss's confirm window, re-drive the
	// confirm under the same Idempotency-Key: if the first confirm did run,
	// Toss replays its answer; if not, it runs now, once.
	if err == nil && p.RequestedAt != nil && e.now().Sub(p.RequestedAt.Time) > orDefault(e.SessionWindow, defaultSessionWindow) {
		f := orders.Failure{Code: CodeConfirmWindowShut, Message: "the confirm window closed before the payment was confirmed", PaymentKey: o.PaymentKey, Amount: o.Amount, At: e.now()}
		return e.fail(ctx, o, f)
	}
	// Confirm resumes the lapsed claim (same paymentKey only) and repeats the
	// confirm under the same key.
	return e.Confirm(ctx, o.PaymentKey, o.ID, o.Amount)
}
