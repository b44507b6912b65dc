package payments

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// byOrderAnswers answers every lookup by orderId with p or err.
type byOrderAnswers struct {
	*fakeToss
	p   *toss.Payment
	err error
}

func (g byOrderAnswers) PaymentByOrderID(context.Context, string, ...toss.CallOption) (*toss.Payment, error) {
	return copyPayment(g.p), g.err
}

var tossInternalError = &toss.Error{Status: 500, Code: toss.CodeFailedInternalSystem, Message: "internal"}

type claimFails struct{ orders.Store }

func (claimFails) Claim(context.Context, orders.Claim) (*orders.Order, error) {
	return nil, errors.New("dynamodb: throttled")
}

type expireFails struct{ orders.Store }

func (expireFails) Expire(context.Context, string, time.Time) (*orders.Order, error) {
	return nil, errors.New("dynamodb: throttled")
}

// Orders a pass could not settle or expire are counted as errors.
func TestReconcileCountsOrdersItCouldNotLookAt(t *testing.T) {
	t.Run("lapsed claim", func(t *testing.T) {
		f := newFixture(t, nil)
		store := orders.Validated(orders.NewMemoryStore())
		f.store, f.engine.Orders = store, claimFails{store}
		o := f.newOrder(t, 5000)
		f.claimedUnder(t, o, "tgen_pk_lapsed")
		f.clock.Advance(25 * time.Second)
		rep, err := f.engine.Reconcile(context.Background())
		if err != nil || rep.LapsedClaims != 1 || rep.Errors != 1 || rep.Pending != 0 {
			t.Fatalf("reconcile: %v %+v, want one lapsed claim, one error", err, rep)
		}
	})
	t.Run("overdue order", func(t *testing.T) {
		f := newFixture(t, nil)
		store := orders.Validated(orders.NewMemoryStore())
		f.store, f.engine.Orders = store, expireFails{store}
		o := f.newOrder(t, 5000)
		f.clock.Advance(25 * time.Hour)
		rep, err := f.engine.Reconcile(context.Background())
		if err != nil || rep.Errors != 1 || rep.Expired != 0 {
			t.Fatalf("reconcile: %v %+v, want one error, nothing expired", err, rep)
		}
		if got := f.get(t, o.ID); got.Status != orders.StatusPending {
			t.Fatalf("order %s, want PENDING", got.Status)
		}
	})
}

// An overdue order no Toss call was ever made for expires without a lookup.
func TestReconcileExpiresUnattemptedOrdersWithoutAskingToss(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 5000)
	f.clock.Advance(25 * time.Hour)
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Expired != 1 {
		t.Fatalf("reconcile: %v %+v, want one expired", err, rep)
	}
	if _, lookups := f.tossCalls(); lookups != 0 {
		t.Fatalf("%d Toss lookups for an order no Toss call was made for", lookups)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusExpired {
		t.Fatalf("order %s, want EXPIRED", got.Status)
	}
}

// A pass starts no order with 5 seconds or less of its invocation left.
func TestReconcileStartsNoOrderInTheLastFiveSeconds(t *testing.T) {
	for _, c := range []struct {
		left time.Duration
		want int
	}{
		{4 * time.Second, 0},
		{5 * time.Second, 0},
		{5*time.Second + time.Millisecond, 1},
	} {
		t.Run(c.left.String(), func(t *testing.T) {
			f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.newOrder(t, 5000)
			unknownConfirm(t, f, o, "tgen_pk_reserve")
			f.clock.Advance(25 * time.Second)
			rep, err := f.engine.Reconcile(deadlineCtx{context.Background(), f.clock.Now().Add(c.left)})
			if err != nil || rep.LapsedClaims != c.want {
				t.Fatalf("with %s left: %v %+v, want %d lapsed claims taken", c.left, err, rep, c.want)
			}
		})
	}
}

// A lapsed claim whose attempt Toss shows undecided is re-driven within
// Toss's 10-minute confirm window (inclusive), and left for a later pass
// past it, where a confirm of ours may be executing at Toss.
func TestReconcileLapsedClaimAndTheConfirmWindow(t *testing.T) {
	const key = "tgen_pk_window"
	for _, c := range []struct {
		elapsed time.Duration
		status  orders.Status
	}{
		{25 * time.Second, orders.StatusDone},
		{10 * time.Minute, orders.StatusDone},
		{10*time.Minute + time.Millisecond, orders.StatusConfirming},
	} {
		t.Run(c.elapsed.String(), func(t *testing.T) {
			f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.newOrder(t, 5000)
			requested := f.clock.Now()
			unknownConfirm(t, f, o, key)
			f.toss.put(toss.Payment{PaymentKey: key, OrderID: o.ID, TotalAmount: 5000, Status: toss.StatusInProgress, RequestedAt: &toss.Time{Time: requested}})
			f.clock.Advance(c.elapsed)
			rep, err := f.engine.Reconcile(context.Background())
			if err != nil || rep.LapsedClaims != 1 {
				t.Fatalf("reconcile: %v %+v", err, rep)
			}
			if got := f.get(t, o.ID); got.Status != c.status {
				t.Fatalf("%s after the attempt: order %s, want %s (%+v)", c.elapsed, got.Status, c.status, rep)
			}
		})
	}
}

// A lapsed claim whose attempt Toss shows aborted is failed only once Toss
// shows no other approved attempt of the order; Toss's approval of another
// is recorded; and when Toss cannot say, the claim waits for the next pass.
func TestReconcileAbortedAttemptLooksForAnotherApproval(t *testing.T) {
	const key = "tgen_pk_aborted"
	for _, c := range []struct {
		name   string
		p      func(o *orders.Order) *toss.Payment
		err    error
		status orders.Status
		under  string
	}{
		{"Toss cannot say", nil, tossInternalError, orders.StatusConfirming, key},
		{"nothing else at Toss", nil, &toss.Error{Status: 404, Code: toss.CodeNotFoundPayment}, orders.StatusFailed, key},
		{"another attempt approved", func(o *orders.Order) *toss.Payment {
			return &toss.Payment{PaymentKey: "tgen_pk_other", OrderID: o.ID, TotalAmount: o.Amount, BalanceAmount: o.Amount, Status: toss.StatusDone}
		}, nil, orders.StatusDone, "tgen_pk_other"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.newOrder(t, 5000)
			unknownConfirm(t, f, o, key)
			f.toss.put(toss.Payment{PaymentKey: key, OrderID: o.ID, TotalAmount: 5000, Status: toss.StatusAborted, RequestedAt: &toss.Time{Time: f.clock.Now()}})
			g := byOrderAnswers{fakeToss: f.toss, err: c.err}
			if c.p != nil {
				g.p = c.p(o)
			}
			f.engine.Toss = g
			f.clock.Advance(25 * time.Second)
			rep, err := f.engine.Reconcile(context.Background())
			if err != nil || rep.LapsedClaims != 1 || rep.Errors != 0 {
				t.Fatalf("reconcile: %v %+v", err, rep)
			}
			got := f.get(t, o.ID)
			if got.Status != c.status || got.PaymentKey != c.under {
				t.Fatalf("order %s under %s, want %s under %s", got.Status, got.PaymentKey, c.status, c.under)
			}
			if c.status == orders.StatusFailed && (got.LastFailure == nil || got.LastFailure.Code != "PAYMENT_ABORTED") {
				t.Fatalf("failure %+v, want PAYMENT_ABORTED", got.LastFailure)
			}
		})
	}
}

// The recheck of an expired order is looked at again later while Toss
// shows an attempt of it undecided or cannot say; otherwise it is done.
func TestReconcileRecheckOfAnExpiredOrder(t *testing.T) {
	const key = "tgen_pk_declined"
	attempt := func(s toss.PaymentStatus, sameOrder bool) func(o *orders.Order) *toss.Payment {
		return func(o *orders.Order) *toss.Payment {
			id := o.ID
			if !sameOrder {
				id = "another-order-01"
			}
			return &toss.Payment{PaymentKey: key, OrderID: id, TotalAmount: o.Amount, Status: s}
		}
	}
	for _, c := range []struct {
		name   string
		p      func(o *orders.Order) *toss.Payment
		err    error
		errors int
		again  bool
	}{
		{"Toss cannot say", nil, tossInternalError, 1, true},
		{"nothing at Toss", nil, &toss.Error{Status: 404, Code: toss.CodeNotFoundPayment}, 0, false},
		{"ready", attempt(toss.StatusReady, true), nil, 0, true},
		{"in progress", attempt(toss.StatusInProgress, true), nil, 0, true},
		{"waiting for deposit", attempt(toss.StatusWaitingForDeposit, true), nil, 0, true},
		{"aborted", attempt(toss.StatusAborted, true), nil, 0, false},
		{"expired", attempt(toss.StatusExpired, true), nil, 0, false},
		{"in progress for another order", attempt(toss.StatusInProgress, false), nil, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.newOrder(t, 3000)
			f.toss.declines[key] = &toss.Error{Status: 403, Code: toss.CodeRejectCardCompany, Message: "declined"}
			if _, err := f.engine.Confirm(context.Background(), key, o.ID, 3000); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(25 * time.Hour)
			if rep, err := f.engine.Reconcile(context.Background()); err != nil || rep.Expired != 1 {
				t.Fatalf("reconcile: %v %+v", err, rep)
			}
			f.clock.Advance(orders.ExpiredRecheckAfter)
			due := f.get(t, o.ID).RecheckAt
			g := byOrderAnswers{fakeToss: f.toss, err: c.err}
			if c.p != nil {
				g.p = c.p(o)
			}
			f.engine.Toss = g
			rep, err := f.engine.Reconcile(context.Background())
			if err != nil || rep.Rechecked != 1 || rep.Errors != c.errors {
				t.Fatalf("recheck: %v %+v, want one recheck, %d errors", err, rep, c.errors)
			}
			got := f.get(t, o.ID)
			switch {
			case c.errors > 0 && !got.RecheckAt.Equal(due):
				t.Fatalf("recheck at %v after an error, want still %v", got.RecheckAt, due)
			case c.errors == 0 && c.again && !got.RecheckAt.Equal(f.clock.Now().Add(orders.ExpiredRecheckAfter)):
				t.Fatalf("recheck at %v, want %v", got.RecheckAt, f.clock.Now().Add(orders.ExpiredRecheckAfter))
			case !c.again && !got.RecheckAt.IsZero():
				t.Fatalf("recheck at %v, want none left", got.RecheckAt)
			}
		})
	}
}

// paidFixture is a fixture with an order paid 30000 under tgen_pk_paid.
func paidFixture(t *testing.T, store orders.Store) (*fixture, *orders.Order) {
	t.Helper()
	f := newFixture(t, store)
	o := f.newOrder(t, 30000)
	if res, err := f.engine.Confirm(context.Background(), "tgen_pk_paid", o.ID, 30000); err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	return f, o
}

// lostRefund reserves a refund whose answer is lost: executed at Toss or not.
func (f *fixture) lostRefund(t *testing.T, o *orders.Order, reason string, amount int64, executed bool) {
	t.Helper()
	f.engine.Toss = lostRefunds{fakeToss: f.toss, execute: executed}
	defer func() { f.engine.Toss = f.toss }()
	if _, err := f.engine.Cancel(context.Background(), o.ID, reason, amount, ""); !errors.Is(err, ErrCancelUnknown) {
		t.Fatalf("refund: %v, want ErrCancelUnknown", err)
	}
}

// Only reservations RefundRecheckAfter old are released; a younger one
// stays pending, rechecked when it is that old.
func TestReconcileReleasesOnlyStaleRefundReservations(t *testing.T) {
	f, o := paidFixture(t, orders.Validated(orders.NewMemoryStore()))
	f.lostRefund(t, o, "size", 5000, false)
	f.clock.Advance(4 * time.Minute)
	young := f.clock.Now()
	f.lostRefund(t, o, "colour", 3000, false)
	f.clock.Advance(time.Minute)
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Rechecked != 1 || rep.Released != 1 || rep.Errors != 0 {
		t.Fatalf("reconcile: %v %+v, want one released, no errors", err, rep)
	}
	got := f.get(t, o.ID)
	if got.Reserved() != 3000 || !got.RecheckAt.Equal(young.Add(orders.RefundRecheckAfter)) {
		t.Fatalf("reserved %d, recheck at %v; want the young 3000 pending, rechecked at %v", got.Reserved(), got.RecheckAt, young.Add(orders.RefundRecheckAfter))
	}
}

// A full refund Toss executed, whose answer was lost, is settled from
// Toss's record: the order ends CANCELED, not with its balance back.
func TestReconcileSettlesAStaleFullRefundTossExecuted(t *testing.T) {
	f, o := paidFixture(t, orders.Validated(orders.NewMemoryStore()))
	f.lostRefund(t, o, "all", 0, true)
	f.clock.Advance(orders.RefundRecheckAfter)
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Rechecked != 1 || rep.Released != 0 || rep.Errors != 0 {
		t.Fatalf("reconcile: %v %+v, want the refund settled", err, rep)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusCanceled || got.Payment.BalanceAmount != 0 || got.Reserved() != 0 {
		t.Fatalf("order %s balance %d reserved %d, want CANCELED, 0, 0", got.Status, got.Payment.BalanceAmount, got.Reserved())
	}
}

// releasedMeanwhile releases the reservation as its own request would,
// just before the recheck's release, which then finds it gone.
type releasedMeanwhile struct{ orders.Store }

func (s releasedMeanwhile) ReleaseRefund(ctx context.Context, id, key string, amount int64, now time.Time) (*orders.Order, error) {
	if _, err := s.Store.ReleaseRefund(ctx, id, key, amount, now); err != nil {
		return nil, err
	}
	return s.Store.ReleaseRefund(ctx, id, key, amount, now)
}

func TestReconcileStaleRefundReleasedMeanwhile(t *testing.T) {
	store := orders.Validated(orders.NewMemoryStore())
	f, o := paidFixture(t, store)
	f.lostRefund(t, o, "size", 5000, false)
	f.engine.Orders = releasedMeanwhile{store}
	f.clock.Advance(orders.RefundRecheckAfter)
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Rechecked != 1 || rep.Released != 0 || rep.Errors != 0 {
		t.Fatalf("reconcile: %v %+v, want the release left to its request, no error", err, rep)
	}
	if got := f.get(t, o.ID); got.Reserved() != 0 || !got.RecheckAt.IsZero() {
		t.Fatalf("reserved %d recheck at %v, want nothing pending or due", got.Reserved(), got.RecheckAt)
	}
}

// A recheck due after its refund settled has nothing to ask Toss.
func TestReconcileRecheckWithNothingPendingAsksNothing(t *testing.T) {
	f, o := paidFixture(t, orders.Validated(orders.NewMemoryStore()))
	if _, err := f.engine.Cancel(context.Background(), o.ID, "size", 5000, ""); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(orders.RefundRecheckAfter)
	f.engine.Toss = lostRefunds{fakeToss: f.toss} // lookups fail
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Rechecked != 1 || rep.Errors != 0 {
		t.Fatalf("reconcile: %v %+v, want one recheck without a Toss lookup", err, rep)
	}
	if got := f.get(t, o.ID); !got.RecheckAt.IsZero() {
		t.Fatalf("recheck at %v, want none left", got.RecheckAt)
	}
}
