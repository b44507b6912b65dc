package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

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
//
// A pass takes the due orders a batch at a time, every shard of the index
// in each batch, and goes on to the next batch while the last was full
// and the invocation has reconcileReserve left, so that a flash sale's
// backlog (a Toss outage leaves thousands of claims lapsed) is worked off
// in as few passes as the deadline allows, not 50 orders every 5 minutes.
// Orders that stay due after being looked at (Toss still could not say)
// come back at the head of the next batch; they are skipped and the batch
// grows by as many, so they never hide the ones behind them.
func (e *Engine) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	now := e.now()
	err := e.inBatches(ctx, func(limit int) ([]*orders.Order, error) { return e.Orders.LapsedClaims(ctx, now, limit) },
		func(o *orders.Order) {
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
		})
	if err != nil {
		return rep, fmt.Errorf("payments: list lapsed claims: %w", err)
	}
	err = e.inBatches(ctx, func(limit int) ([]*orders.Order, error) { return e.Orders.Overdue(ctx, now, limit) },
		func(o *orders.Order) {
			if o.Status == orders.StatusFailed {
				paid, err := e.paidAtToss(ctx, o)
				switch {
				case err != nil && toss.Classify(err) != toss.ClassDefinitive:
					// Toss could not say (an outage): do not expire what may be
					// paid; the next pass asks again.
					rep.Errors++
					e.log().ErrorContext(ctx, "check overdue order at Toss", "orderId", o.ID, "error", err)
					return
				case err != nil:
					// Toss refused the lookup for good: asking again would keep
					// this order in every batch, so it expires (an EXPIRED order
					// can still be settled by a request for the approved attempt).
					e.log().ErrorContext(ctx, "check overdue order at Toss; expiring it anyway", "orderId", o.ID, "error", err)
				case paid:
					rep.Done++
					return
				}
			}
			if _, err := e.Orders.Expire(ctx, o.ID, now); err != nil {
				var ce *orders.ConflictError
				if errors.As(err, &ce) || errors.Is(err, orders.ErrNotFound) {
					return // paid or claimed meanwhile: nothing to expire
				}
				rep.Errors++
				e.log().ErrorContext(ctx, "expire order", "orderId", o.ID, "error", err)
				return
			}
			rep.Expired++
		})
	if err != nil {
		return rep, fmt.Errorf("payments: list overdue orders: %w", err)
	}
	e.log().InfoContext(ctx, "reconcile pass", "lapsedClaims", rep.LapsedClaims, "done", rep.Done,
		"declined", rep.Declined, "pending", rep.Pending, "expired", rep.Expired, "errors", rep.Errors)
	return rep, nil
}

// reconcileReserve is the part of the invocation a pass does not start new
// orders in: one order's Toss lookup, a re-driven confirm and its write fit
// in it, so the pass ends inside its deadline rather than being cut off.
const reconcileReserve = 5 * time.Second

// inBatches hands each order list returns to do, once, until a batch comes
// back short (nothing more is due), holds nothing new (only orders already
// looked at and still due), or the invocation nears its deadline.
func (e *Engine) inBatches(ctx context.Context, list func(limit int) ([]*orders.Order, error), do func(*orders.Order)) error {
	seen := map[string]bool{}
	limit := defaultReconcileBatch
	for e.timeLeft(ctx) {
		batch, err := list(limit)
		if err != nil {
			return err
		}
		fresh := 0
		for _, o := range batch {
			if seen[o.ID] {
				continue
			}
			if !e.timeLeft(ctx) {
				return nil
			}
			seen[o.ID] = true
			fresh++
			do(o)
		}
		if len(batch) < limit || fresh == 0 {
			return nil
		}
		// Those looked at and still due come first in the next batch: room
		// for them and a batch of new ones, within the store's bound.
		limit = min(orders.MaxLimit, defaultReconcileBatch+len(seen))
	}
	return nil
}

// timeLeft reports whether a pass may start on another order: ctx is live
// and, if it has a deadline (the Lambda's), more than reconcileReserve of
// it is left by the engine's clock, the clock its claims are taken on.
func (e *Engine) timeLeft(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	d, ok := ctx.Deadline()
	return !ok || d.Sub(e.now()) > reconcileReserve
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
