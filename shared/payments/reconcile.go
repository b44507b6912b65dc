package payments

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	Rechecked    int // expired orders and refund reservations looked at again (Order.RecheckAt)
	Released     int // of those, refund reservations Toss never executed, released
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
			if o.Status == orders.StatusFailed || o.TossAttempted() {
				paid, err := e.paidAtToss(ctx, o)
				switch {
				case err != nil && !tossRefusedLookup(err):
					// Nobody could say: Toss was not reached or not sure, our
					// key was refused, or Toss said approved and the store
					// failed to record it. Do not expire what may be paid;
					// the next pass asks again.
					rep.Errors++
					e.log().ErrorContext(ctx, "check overdue order at Toss", "orderId", o.ID, "error", err)
					return
				case err != nil:
					// Toss refused the lookup itself for good: asking again
					// would keep this order in every batch, so it expires, and
					// the recheck before its TTL asks Toss once more.
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
	err = e.inBatches(ctx, func(limit int) ([]*orders.Order, error) { return e.Orders.Rechecks(ctx, now, limit) },
		func(o *orders.Order) {
			rep.Rechecked++
			var err error
			if o.Status.Paid() {
				err = e.recheckRefunds(ctx, o, now, &rep)
			} else {
				err = e.recheckExpired(ctx, o, now, &rep)
			}
			if err != nil {
				rep.Errors++
				e.log().ErrorContext(ctx, "recheck order", "orderId", o.ID, "status", o.Status, "error", err)
			}
		})
	if err != nil {
		return rep, fmt.Errorf("payments: list orders to recheck: %w", err)
	}
	e.log().InfoContext(ctx, "reconcile pass", "lapsedClaims", rep.LapsedClaims, "done", rep.Done,
		"declined", rep.Declined, "pending", rep.Pending, "expired", rep.Expired, "rechecked", rep.Rechecked,
		"released", rep.Released, "errors", rep.Errors)
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

// settleLapsed decides one lapsed CONFIRMING order from Toss's record of
// the attempt its claim holds: that attempt's own record, never another
// attempt's. (Judging the confirm window by whichever attempt Toss lists
// for the orderId once failed a claim whose own confirm Toss was still
// processing; the approval landed on an order already on its way to
// EXPIRED and its TTL.) An attempt Toss shows approved is recorded; one
// Toss shows in progress is never failed; only one Toss shows refused or
// expired, or a key Toss never issued, ends the claim FAILED, and then
// only once no other attempt of the order is approved at Toss.
func (e *Engine) settleLapsed(ctx context.Context, o *orders.Order) (*Result, error) {
	until := e.deadline(ctx, e.now())
	tctx, cancel := e.tossContext(ctx, until)
	own, err := e.Toss.Payment(tctx, o.PaymentKey)
	cancel()
	switch {
	case err != nil && toss.CodeOf(err) != toss.CodeNotFoundPayment:
		// Toss could not say: the next pass asks again.
		e.count("unknown")
		return &Result{Outcome: OutcomeProcessing, Order: o}, nil
	case err == nil && own.OrderID == o.ID && isApproved(own.Status):
		return e.settleApproved(ctx, o, own)
	case err == nil && own.OrderID == o.ID && (own.Status == toss.StatusAborted || own.Status == toss.StatusExpired):
		// Toss will never approve this attempt; another may hold the money.
		return e.failUnlessOtherApproved(ctx, o, until, failureOf(own, o, e.now()))
	case err == nil && own.OrderID == o.ID && own.RequestedAt != nil &&
		e.now().Sub(own.RequestedAt.Time) > orDefault(e.SessionWindow, defaultSessionWindow):
		// Past the confirm window and still undecided at Toss: a confirm
		// of ours may be executing there. Toss ends it approved or
		// aborted, and a later pass records which.
		e.count("unknown")
		e.log().WarnContext(ctx, "lapsed claim: Toss shows the attempt undecided past its confirm window", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "tossStatus", own.Status)
		return &Result{Outcome: OutcomeProcessing, Order: o}, nil
	}
	// Undecided at Toss inside its confirm window, or not an attempt of
	// this order at Toss (a key it never issued, or another order's): the
	// confirm is re-driven under the same Idempotency-Key, which Toss
	// replays if the first one ran and runs once if not; a key that is not
	// this order's is refused for good (NOT_FOUND_PAYMENT_SESSION,
	// FORBIDDEN_REQUEST) and the claim fails. Confirm resumes the lapsed
	// claim (same paymentKey only).
	return e.Confirm(ctx, o.PaymentKey, o.ID, o.Amount)
}

// failUnlessOtherApproved records the claim's attempt failed with f, unless
// Toss holds an approval of the order under another attempt: then the
// order is recorded paid under that one. When Toss cannot be asked, the
// claim is left for the next pass rather than reopened blind.
func (e *Engine) failUnlessOtherApproved(ctx context.Context, o *orders.Order, until time.Time, f orders.Failure) (*Result, error) {
	tctx, cancel := e.tossContext(ctx, until)
	p, err := e.Toss.PaymentByOrderID(tctx, o.ID)
	cancel()
	switch {
	case err != nil && toss.CodeOf(err) != toss.CodeNotFoundPayment:
		e.count("unknown")
		return &Result{Outcome: OutcomeProcessing, Order: o}, nil
	case err == nil && p.PaymentKey != o.PaymentKey && approvedFor(o, p):
		settled, err := e.settleFromToss(ctx, o, p)
		if err != nil {
			return nil, err
		}
		return resultOf(settled), nil
	}
	return e.fail(ctx, o, f)
}

// paidAtToss settles an overdue FAILED order from Toss's record before it
// is expired. A FAILED order had attempts, and one the order lost track of
// (its invocation died after Toss approved it, and another attempt claimed
// and failed after) may hold the buyer's money: then the order is paid, not
// expired. So may a PENDING order Toss calls were made for (a claim given
// back because Toss never issued its key, while another attempt was
// approved by another server holding the secret key). PENDING orders no
// Toss call was ever made for cost no lookup. paid reports whether the order is
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

// recheckExpired asks Toss once more about an order that expired FAILED,
// before its TTL can remove it: an approval Toss made after the order
// stopped waiting (a confirm it processed late, another server holding
// the secret key) is recorded, and the money is never left on an order
// about to vanish. An attempt Toss still shows undecided is looked at
// again later; otherwise the recheck is done for good.
func (e *Engine) recheckExpired(ctx context.Context, o *orders.Order, now time.Time, rep *ReconcileReport) error {
	tctx, cancel := e.tossContext(ctx, e.deadline(ctx, now))
	p, err := e.Toss.PaymentByOrderID(tctx, o.ID)
	cancel()
	next := time.Time{}
	switch {
	case err != nil && toss.CodeOf(err) != toss.CodeNotFoundPayment && !tossRefusedLookup(err):
		return fmt.Errorf("payments: recheck: look up order %s at Toss: %w", o.ID, err)
	case err == nil && approvedFor(o, p):
		if _, err := e.settleFromToss(ctx, o, p); err != nil && !errors.As(err, new(*NotPayableError)) {
			return err
		}
		rep.Done++
		return nil
	case err == nil && p.OrderID == o.ID && undecided(p.Status):
		next = now.Add(orders.ExpiredRecheckAfter)
	}
	if _, err := e.Orders.Rechecked(ctx, o.ID, o.Version, next, now); err != nil && !errors.As(err, new(*orders.ConflictError)) {
		return fmt.Errorf("payments: recheck order %s: %w", o.ID, err)
	}
	return nil
}

// undecided reports whether Toss may still approve a payment in status s.
func undecided(s toss.PaymentStatus) bool {
	return s == toss.StatusReady || s == toss.StatusInProgress || s == toss.StatusWaitingForDeposit
}

// recheckRefunds settles or releases, from Toss's record of the payment,
// every refund reservation of o older than orders.RefundRecheckAfter: one
// whose request never recorded Toss's outcome (its invocation died, Toss's
// answer was lost and never asked for again, its answer was a transient
// error). A reservation Toss shows executed (a cancel of its amount and
// reason, or for a full refund a zero balance) is settled with Toss's
// record; any other is released, since Toss never executed it: a request
// Toss received processes within seconds, not minutes. A later identical
// request carries the same Idempotency-Key to Toss, so releasing one can
// never refund twice.
func (e *Engine) recheckRefunds(ctx context.Context, o *orders.Order, now time.Time, rep *ReconcileReport) error {
	stale := make([]string, 0, len(o.Refunds))
	for key, r := range o.Refunds {
		if r.Pending() && !r.ReservedAt.After(now.Add(-orders.RefundRecheckAfter)) {
			stale = append(stale, key)
		}
	}
	slices.Sort(stale)
	cur := o
	if len(stale) > 0 {
		tctx, cancel := e.tossContext(ctx, e.deadline(ctx, now))
		p, err := e.Toss.Payment(tctx, o.PaymentKey)
		cancel()
		if err != nil {
			return fmt.Errorf("payments: recheck refunds: look up payment %s: %w", MaskKey(o.PaymentKey), redactKey(err, o.PaymentKey))
		}
		if err := e.samePayment(ctx, o, p); err != nil {
			return err
		}
		for _, key := range stale {
			r := o.Refunds[key]
			var updated *orders.Order
			if executed(p, r) {
				updated, err = e.Orders.SettleRefund(ctx, o.ID, o.PaymentKey, key, r.Amount, Summary(p), now)
				e.log().InfoContext(ctx, "stale refund reservation settled from Toss's record", "orderId", o.ID, "amount", r.Amount, "tossBalance", p.BalanceAmount)
			} else {
				updated, err = e.Orders.ReleaseRefund(ctx, o.ID, key, r.Amount, now)
				if err == nil {
					rep.Released++
				}
				e.log().WarnContext(ctx, "stale refund reservation released: Toss never executed it", "orderId", o.ID, "amount", r.Amount)
			}
			var ce *orders.ConflictError
			switch {
			case errors.As(err, &ce) && ce.Current != nil:
				updated = ce.Current // settled or released meanwhile by its own request
			case err != nil:
				return fmt.Errorf("payments: recheck refunds of order %s: %w", o.ID, err)
			}
			cur = updated
		}
	}
	next := time.Time{}
	for _, r := range cur.Refunds {
		if r.Pending() && (next.IsZero() || r.ReservedAt.Add(orders.RefundRecheckAfter).Before(next)) {
			next = r.ReservedAt.Add(orders.RefundRecheckAfter)
		}
	}
	if _, err := e.Orders.Rechecked(ctx, o.ID, cur.Version, next, now); err != nil && !errors.As(err, new(*orders.ConflictError)) {
		return fmt.Errorf("payments: recheck order %s: %w", o.ID, err)
	}
	return nil
}

// executed reports whether Toss's payment p shows the refund r executed:
// a cancel of its amount and reason (a full refund reserves the balance it
// was asked on, so its cancel is of that amount too), or, when it left
// nothing of the payment, a zero balance.
func executed(p *toss.Payment, r orders.Refund) bool {
	if p.Status != toss.StatusCanceled && p.Status != toss.StatusPartialCanceled {
		return false
	}
	for _, c := range p.Cancels {
		if c.CancelAmount == r.Amount && c.CancelReason == r.Reason {
			return true
		}
	}
	return false
}
