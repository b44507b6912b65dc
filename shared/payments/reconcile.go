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
	Done         int // of those, recorded as paid; plus overdue FAILED orders Toss had approved
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
		var np *NotPayableError
		if errors.As(err, &np) && np.Order.Status.Paid() {
			// Paid under another attempt than the claim's: settled, which is
			// all a pass is for (settleFromToss logged what an operator needs).
			res, err = &Result{Outcome: OutcomeDone, Order: np.Order}, nil
		}
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
		if o.Status == orders.StatusFailed {
			paid, err := e.paidAtToss(ctx, o)
			switch {
			case err != nil && toss.Classify(err) != toss.ClassDefinitive:
				// Toss could not say (an outage): do not expire what may be
				// paid; the next pass asks again.
				rep.Errors++
				e.log().ErrorContext(ctx, "check overdue order at Toss", "orderId", o.ID, "error", err)
				continue
			case err != nil:
				// Toss refused the lookup for good: asking again would keep
				// this order in every batch, so it expires (an EXPIRED order
				// can still be settled by a request for the approved attempt).
				e.log().ErrorContext(ctx, "check overdue order at Toss; expiring it anyway", "orderId", o.ID, "error", err)
			case paid:
				rep.Done++
				continue
			}
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
			// This engine only confirms the claimed attempt, so an operator
			// hears of it (settleFromToss counts and logs it); but Toss
			// holds the money under this payment, so the order is recorded
			// paid under it, not left CONFIRMING under an attempt that can
			// never be confirmed.
			settled, err := e.settleFromToss(ctx, o, p)
			if err != nil {
				return nil, err
			}
			return resultOf(settled), nil
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

// paidAtToss settles an overdue FAILED order from Toss's record before it
// is expired. A FAILED order had attempts, and one the order lost track of
// (its invocation died after Toss approved it, and another attempt claimed
// and failed after) may hold the buyer's money: then the order is paid, not
// expired. PENDING orders never had a claim, so nothing of theirs was ever
// confirmed, and they cost no lookup. paid reports whether the order is
// now recorded paid; err that Toss's record could not be read or written.
func (e *Engine) paidAtToss(ctx context.Context, o *orders.Order) (paid bool, err error) {
	tctx, cancel := e.tossContext(ctx, e.deadline(ctx, e.now()))
	p, err := e.Toss.PaymentByOrderID(tctx, o.ID)
	cancel()
	switch {
	case toss.CodeOf(err) == toss.CodeNotFoundPayment:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("payments: look up order %s at Toss: %w", o.ID, err)
	case !approvedFor(o, p):
		return false, nil
	}
	settled, err := e.settleFromToss(ctx, o, p)
	var np *NotPayableError
	switch {
	case errors.As(err, &np):
		return true, nil // paid under another attempt meanwhile; logged
	case err != nil:
		return false, err
	}
	return settled.Status.Paid(), nil
}
