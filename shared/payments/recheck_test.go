package payments

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// The money bugs the simulator's audit found, each at its mechanism.

// byOrderListsOlderAttempt answers a lookup by orderId with an older
// attempt of the order, as Toss may when an order has several.
type byOrderListsOlderAttempt struct {
	*fakeToss
	older string
}

func (g byOrderListsOlderAttempt) PaymentByOrderID(ctx context.Context, orderID string, opts ...toss.CallOption) (*toss.Payment, error) {
	return g.Payment(ctx, g.older, opts...)
}

func (f *fakeToss) put(p toss.Payment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.payments[p.PaymentKey] = &p
}

func (f *fakeToss) approve(paymentKey string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.payments[paymentKey]
	p.Status, p.BalanceAmount, p.ApprovedAt = toss.StatusDone, p.TotalAmount, &toss.Time{Time: f.now()}
	p.Card = &toss.Card{Number: "4330123****1234", IssuerCode: "VISA"}
}

// unknownConfirm claims o for paymentKey with a confirm whose answer is
// lost and which Toss shows nothing of yet: the order stays CONFIRMING.
func unknownConfirm(t *testing.T, f *fixture, o *orders.Order, paymentKey string) {
	t.Helper()
	f.toss.faults = []error{&toss.Error{Method: "POST", Err: errors.New("connection reset")}}
	res, err := f.engine.Confirm(context.Background(), paymentKey, o.ID, o.Amount)
	if err != nil || res.Outcome != OutcomeProcessing {
		t.Fatalf("confirm: %v %+v", err, res)
	}
}

// Toss's confirm window is judged on the claimed attempt's own record: an
// attempt Toss shows in progress is never failed, however old another
// attempt of the order is. (Judged on the older attempt Toss listed for
// the orderId, the claim was failed while Toss was still processing its
// confirm; the approval then landed on an order on its way to EXPIRED.)
func TestReconcileNeverFailsAnAttemptTossShowsInProgress(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	f.engine.Toss = byOrderListsOlderAttempt{fakeToss: f.toss, older: "tgen_pk_older"}
	o := f.newOrder(t, 3000)
	started := f.clock.Now()
	f.toss.put(toss.Payment{PaymentKey: "tgen_pk_older", OrderID: o.ID, TotalAmount: 3000, Status: toss.StatusAborted,
		RequestedAt: &toss.Time{Time: started.Add(-30 * time.Minute)}})
	unknownConfirm(t, f, o, "tgen_pk_mine")
	f.toss.put(toss.Payment{PaymentKey: "tgen_pk_mine", OrderID: o.ID, TotalAmount: 3000, Status: toss.StatusInProgress,
		RequestedAt: &toss.Time{Time: started.Add(-time.Minute)}})
	f.clock.Advance(11 * time.Minute) // the claim lapsed; the attempt's window shut, its confirm still at Toss

	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Pending != 1 || rep.Declined != 0 {
		t.Fatalf("reconcile: %v %+v, want the claim left pending", err, rep)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusConfirming {
		t.Fatalf("order %s while Toss shows its attempt in progress, want CONFIRMING", got.Status)
	}
	f.toss.approve("tgen_pk_mine")
	if _, err := f.engine.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusDone || got.PaymentKey != "tgen_pk_mine" {
		t.Fatalf("order %s under %s after Toss approved its attempt, want DONE", got.Status, got.PaymentKey)
	}
}

// An attempt Toss shows expired ends the claim FAILED, as before.
func TestReconcileFailsAnAttemptTossShowsExpired(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 3000)
	unknownConfirm(t, f, o, "tgen_pk_mine")
	f.toss.put(toss.Payment{PaymentKey: "tgen_pk_mine", OrderID: o.ID, TotalAmount: 3000, Status: toss.StatusExpired,
		RequestedAt: &toss.Time{Time: f.clock.Now()}})
	f.clock.Advance(11 * time.Minute)
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Declined != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusFailed || got.LastFailure.Code != "PAYMENT_EXPIRED" {
		t.Fatalf("order %s %+v, want FAILED with PAYMENT_EXPIRED", got.Status, got.LastFailure)
	}
}

// settleThrottled refuses SettleFromToss as DynamoDB does under throttling
// while failures lasts.
type settleThrottled struct {
	orders.Store
	failures int
}

func (s *settleThrottled) SettleFromToss(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	if s.failures > 0 {
		s.failures--
		return nil, errors.New("operation error DynamoDB: UpdateItem: ProvisionedThroughputExceededException")
	}
	return s.Store.SettleFromToss(ctx, id, pk, p, now)
}

// A storage error after Toss said "approved" means "cannot say", never
// "definitive": the overdue FAILED order is not expired, and the next
// pass records it paid.
func TestReconcileNeverExpiresAnApprovalItCouldNotRecord(t *testing.T) {
	store := &settleThrottled{Store: orders.Validated(orders.NewMemoryStore()), failures: 1}
	f := newFixture(t, store)
	o := f.newOrder(t, 3000)
	f.toss.declines["tgen_pk_declined"] = &toss.Error{Status: 403, Code: toss.CodeRejectCardCompany, Message: "declined"}
	if res, err := f.engine.Confirm(context.Background(), "tgen_pk_declined", o.ID, 3000); err != nil || res.Outcome != OutcomeDeclined {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	// Another server holding the secret key confirmed another attempt.
	f.toss.put(toss.Payment{PaymentKey: "tgen_pk_other", OrderID: o.ID, TotalAmount: 3000, Status: toss.StatusInProgress,
		RequestedAt: &toss.Time{Time: f.clock.Now()}})
	f.toss.approve("tgen_pk_other")
	f.clock.Advance(25 * time.Hour)

	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Expired != 0 || rep.Errors != 1 {
		t.Fatalf("reconcile: %v %+v, want nothing expired and one error", err, rep)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusFailed {
		t.Fatalf("order %s after a throttled write of Toss's approval, want FAILED still", got.Status)
	}
	if _, err := f.engine.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusDone || got.PaymentKey != "tgen_pk_other" {
		t.Fatalf("order %s under %s, want DONE under Toss's approval", got.Status, got.PaymentKey)
	}
}

// expiredAfterLateApproval is an order whose attempt tgen_pk_late Toss
// showed expired (the claim failed), which then expired, and which Toss
// approved after all: an approval the order missed.
func expiredAfterLateApproval(t *testing.T, f *fixture) *orders.Order {
	t.Helper()
	o := f.newOrder(t, 3000)
	unknownConfirm(t, f, o, "tgen_pk_late")
	f.toss.put(toss.Payment{PaymentKey: "tgen_pk_late", OrderID: o.ID, TotalAmount: 3000, Status: toss.StatusExpired,
		RequestedAt: &toss.Time{Time: f.clock.Now()}})
	f.clock.Advance(11 * time.Minute)
	if rep, err := f.engine.Reconcile(context.Background()); err != nil || rep.Declined != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	f.clock.Advance(24 * time.Hour)
	f.toss.put(toss.Payment{PaymentKey: "tgen_pk_late", OrderID: o.ID, TotalAmount: 3000, Status: toss.StatusExpired,
		RequestedAt: &toss.Time{Time: f.clock.Now()}})
	if rep, err := f.engine.Reconcile(context.Background()); err != nil || rep.Expired != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	f.toss.approve("tgen_pk_late")
	return o
}

// Toss's approval of the order's own attempt is recorded on an EXPIRED
// order from its webhook, not ignored.
func TestWebhookSettlesAnExpiredOrdersOwnApproval(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := expiredAfterLateApproval(t, f)
	res, err := f.engine.ApplyWebhook(context.Background(), statusChanged(t, o.ID, "tgen_pk_late", "DONE", 3000))
	if err != nil || res.Action != WebhookApplied {
		t.Fatalf("webhook: %v %+v, want APPLIED", err, res)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusDone || got.PaymentKey != "tgen_pk_late" || !got.ExpiresAt.IsZero() {
		t.Fatalf("order %s under %s (TTL %v), want DONE with no TTL", got.Status, got.PaymentKey, got.ExpiresAt)
	}
}

// Without a webhook, the recheck of the expired order records it.
func TestReconcileRechecksAnExpiredOrderBeforeItsTTL(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := expiredAfterLateApproval(t, f)
	if rep, err := f.engine.Reconcile(context.Background()); err != nil || rep.Rechecked != 0 {
		t.Fatalf("reconcile before the recheck is due: %v %+v", err, rep)
	}
	f.clock.Advance(orders.ExpiredRecheckAfter)
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Rechecked != 1 || rep.Done != 1 {
		t.Fatalf("reconcile: %v %+v, want one recheck, done", err, rep)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusDone || !got.ExpiresAt.IsZero() {
		t.Fatalf("order %s (TTL %v), want DONE with no TTL", got.Status, got.ExpiresAt)
	}
}

// An expired order Toss shows nothing approved for is rechecked once.
func TestReconcileRechecksAnExpiredOrderOnce(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 3000)
	f.toss.declines["tgen_pk_declined"] = &toss.Error{Status: 403, Code: toss.CodeRejectCardCompany, Message: "declined"}
	if _, err := f.engine.Confirm(context.Background(), "tgen_pk_declined", o.ID, 3000); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(25 * time.Hour)
	if rep, err := f.engine.Reconcile(context.Background()); err != nil || rep.Expired != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	f.clock.Advance(orders.ExpiredRecheckAfter)
	for pass, want := range []int{1, 0} {
		rep, err := f.engine.Reconcile(context.Background())
		if err != nil || rep.Rechecked != want || rep.Errors != 0 {
			t.Fatalf("pass %d: %v %+v, want %d rechecked", pass, err, rep, want)
		}
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusExpired || !got.RecheckAt.IsZero() {
		t.Fatalf("order %s recheck at %v, want EXPIRED with no recheck left", got.Status, got.RecheckAt)
	}
}

// lostRefunds is a Toss whose refund answers are lost (executed or not)
// and whose lookups fail: a refund request can then record nothing.
type lostRefunds struct {
	*fakeToss
	execute bool
}

func (g lostRefunds) Cancel(ctx context.Context, paymentKey string, req toss.CancelRequest, key string, opts ...toss.CallOption) (*toss.Payment, error) {
	if g.execute {
		if _, err := g.fakeToss.Cancel(ctx, paymentKey, req, key, opts...); err != nil {
			return nil, err
		}
	}
	return nil, &toss.Error{Method: "POST", Path: "/v1/payments/x/cancel", Err: errors.New("connection reset")}
}

func (lostRefunds) Payment(context.Context, string, ...toss.CallOption) (*toss.Payment, error) {
	return nil, &toss.Error{Method: "GET", Path: "/v1/payments/x", Err: errors.New("connection reset")}
}

// A reservation whose request never recorded Toss's outcome is settled
// (Toss executed it) or released (Toss never did) from Toss's record by
// the reconciler once it is RefundRecheckAfter old, so the balance is
// never held back for good: a full refund afterwards takes what Toss holds.
func TestReconcileSettlesOrReleasesStaleRefundReservations(t *testing.T) {
	for _, c := range []struct {
		name     string
		executed bool
		balance  int64
	}{
		{"executed at Toss", true, 25000},
		{"never executed", false, 30000},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.newOrder(t, 30000)
			if res, err := f.engine.Confirm(context.Background(), "tgen_pk_paid", o.ID, 30000); err != nil || res.Outcome != OutcomeDone {
				t.Fatalf("confirm: %v %+v", err, res)
			}
			f.engine.Toss = lostRefunds{fakeToss: f.toss, execute: c.executed}
			if _, err := f.engine.Cancel(context.Background(), o.ID, "size", 5000, ""); !errors.Is(err, ErrCancelUnknown) {
				t.Fatalf("refund: %v, want ErrCancelUnknown", err)
			}
			f.engine.Toss = f.toss
			if got := f.get(t, o.ID); got.Reserved() != 5000 {
				t.Fatalf("reserved %d, want 5000 pending", got.Reserved())
			}
			f.clock.Advance(orders.RefundRecheckAfter - time.Second)
			if rep, err := f.engine.Reconcile(context.Background()); err != nil || rep.Rechecked != 0 {
				t.Fatalf("reconcile before the reservation is stale: %v %+v", err, rep)
			}
			f.clock.Advance(time.Second)
			rep, err := f.engine.Reconcile(context.Background())
			if err != nil || rep.Rechecked != 1 || rep.Errors != 0 {
				t.Fatalf("reconcile: %v %+v", err, rep)
			}
			got := f.get(t, o.ID)
			if got.Reserved() != 0 || got.Payment.BalanceAmount != c.balance || !got.RecheckAt.IsZero() {
				t.Fatalf("after the recheck: reserved %d, balance %d, recheck at %v; want 0, %d, none",
					got.Reserved(), got.Payment.BalanceAmount, got.RecheckAt, c.balance)
			}
			res, err := f.engine.Cancel(context.Background(), o.ID, "rest", 0, "")
			if err != nil || res.Order.Status != orders.StatusCanceled || res.Order.Payment.BalanceAmount != 0 {
				t.Fatalf("full refund: %v %+v", err, res)
			}
			if balance, _ := f.toss.refunds("tgen_pk_paid"); balance != 0 {
				t.Fatalf("Toss holds %d after the full refund", balance)
			}
		})
	}
}

// recheckDuringCancel runs a reconcile pass while a refund request is on
// its way to Toss, as the scheduled pass may: the pass finds the request's
// reservation stale and releases it before Toss executes the request.
type recheckDuringCancel struct {
	*fakeToss
	engine *Engine
}

func (g recheckDuringCancel) Cancel(ctx context.Context, paymentKey string, req toss.CancelRequest, key string, opts ...toss.CallOption) (*toss.Payment, error) {
	if _, err := g.engine.Reconcile(ctx); err != nil {
		return nil, err
	}
	return g.fakeToss.Cancel(ctx, paymentKey, req, key, opts...)
}

// A retried refund whose stale reservation the reconciler released while
// the retry was on its way to Toss still records what Toss executed, and
// says it refunded something new: its answer is not "repeated", and the
// order's balance is Toss's.
func TestRefundRetryRacingTheRecheckRecordsTheRefund(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 30000)
	if res, err := f.engine.Confirm(context.Background(), "tgen_pk_paid", o.ID, 30000); err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	f.engine.Toss = lostRefunds{fakeToss: f.toss}
	if _, err := f.engine.Cancel(context.Background(), o.ID, "size", 5000, "k-1"); !errors.Is(err, ErrCancelUnknown) {
		t.Fatalf("refund: %v, want ErrCancelUnknown", err)
	}
	f.clock.Advance(orders.RefundRecheckAfter)
	f.engine.Toss = recheckDuringCancel{fakeToss: f.toss, engine: f.engine}
	res, err := f.engine.Cancel(context.Background(), o.ID, "size", 5000, "k-1")
	if err != nil || res.Repeated || res.Order.Payment.BalanceAmount != 25000 || res.Order.Reserved() != 0 {
		t.Fatalf("retry: %v %+v, want a fresh refund recorded at balance 25000 with nothing reserved", err, res)
	}
	if balance, cancels := f.toss.refunds("tgen_pk_paid"); balance != 25000 || cancels != 1 {
		t.Fatalf("Toss: balance %d after %d refunds, want 25000 after 1", balance, cancels)
	}
}

// A claimed attempt Toss approved for another amount (the buyer
// authenticated a tampered amount and another server holding the secret
// key confirmed it) is never recorded as the order's payment, and the
// claim ends FAILED rather than being asked about at every pass for good.
func TestReconcileFailsAClaimTossApprovedForAnotherAmount(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 38000)
	unknownConfirm(t, f, o, "tgen_pk_tampered")
	f.toss.put(toss.Payment{PaymentKey: "tgen_pk_tampered", OrderID: o.ID, TotalAmount: 39000, Status: toss.StatusInProgress,
		RequestedAt: &toss.Time{Time: f.clock.Now()}})
	f.toss.approve("tgen_pk_tampered")
	f.clock.Advance(time.Minute)
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Declined != 1 {
		t.Fatalf("reconcile: %v %+v, want the claim failed", err, rep)
	}
	got := f.get(t, o.ID)
	if got.Status != orders.StatusFailed || got.LastFailure.Code != CodePaymentMismatch || got.Payment != nil {
		t.Fatalf("order %s %+v payment %+v, want FAILED with %s and no payment", got.Status, got.LastFailure, got.Payment, CodePaymentMismatch)
	}
}
