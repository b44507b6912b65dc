package payments

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// fakeToss is an honest in-memory Toss: confirms are idempotent per key,
// executed at most once per order, and faults can be queued.
type fakeToss struct {
	mu        sync.Mutex
	now       func() time.Time
	payments  map[string]*toss.Payment // by paymentKey
	byKey     map[string]fakeAnswer    // idempotency key → first answer
	executed  map[string]int           // orderID → confirms executed
	confirms  int                      // confirm requests received
	lookups   int
	faults    []error // next confirm answers (nil = behave)
	dropAfter int     // next n confirms execute, then answer with a transport error
	declines  map[string]*toss.Error
}

type fakeAnswer struct {
	p   *toss.Payment
	err error
}

func newFakeToss(now func() time.Time) *fakeToss {
	return &fakeToss{now: now, payments: map[string]*toss.Payment{}, byKey: map[string]fakeAnswer{}, executed: map[string]int{}, declines: map[string]*toss.Error{}}
}

func (f *fakeToss) Confirm(_ context.Context, req toss.ConfirmRequest, key string, _ ...toss.CallOption) (*toss.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.confirms++
	if len(f.faults) > 0 {
		err := f.faults[0]
		f.faults = f.faults[1:]
		return nil, err
	}
	if a, ok := f.byKey[key]; ok {
		return copyPayment(a.p), a.err
	}
	var a fakeAnswer
	if d, ok := f.declines[req.PaymentKey]; ok {
		a.err = d
	} else {
		for _, p := range f.payments {
			if p.OrderID == req.OrderID && p.Status == toss.StatusDone {
				a.err = &toss.Error{Status: 400, Code: toss.CodeAlreadyProcessedPayment, Message: "already processed"}
			}
		}
		if a.err == nil {
			f.executed[req.OrderID]++
			at := &toss.Time{Time: f.now()}
			p := &toss.Payment{PaymentKey: req.PaymentKey, OrderID: req.OrderID, TotalAmount: req.Amount, BalanceAmount: req.Amount,
				Status: toss.StatusDone, ApprovedAt: at, RequestedAt: at, Card: &toss.Card{Number: "4330123****1234", IssuerCode: "VISA"},
				Receipt: &toss.URLHolder{URL: "https://receipt.example/" + req.PaymentKey}}
			f.payments[req.PaymentKey] = p
			a.p = p
		}
	}
	f.byKey[key] = a
	if f.dropAfter > 0 {
		f.dropAfter--
		return nil, &toss.Error{Method: "POST", Path: "/v1/payments/confirm", Err: errors.New("connection reset")}
	}
	return copyPayment(a.p), a.err
}

func (f *fakeToss) Payment(_ context.Context, paymentKey string, _ ...toss.CallOption) (*toss.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if p, ok := f.payments[paymentKey]; ok {
		return copyPayment(p), nil
	}
	return nil, &toss.Error{Status: 404, Code: toss.CodeNotFoundPayment}
}

func (f *fakeToss) PaymentByOrderID(_ context.Context, orderID string, _ ...toss.CallOption) (*toss.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	for _, p := range f.payments {
		if p.OrderID == orderID {
			return copyPayment(p), nil
		}
	}
	return nil, &toss.Error{Status: 404, Code: toss.CodeNotFoundPayment}
}

// Cancel refunds like Toss: answers are replayed per Idempotency-Key, the
// amount is checked against the balance, and each executed cancel is a new
// Payment value, so answers stored earlier stay as they were sent.
func (f *fakeToss) Cancel(_ context.Context, paymentKey string, req toss.CancelRequest, key string, _ ...toss.CallOption) (*toss.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.byKey[key]; ok {
		return copyPayment(a.p), a.err
	}
	var a fakeAnswer
	p, ok := f.payments[paymentKey]
	amount := req.CancelAmount
	switch {
	case !ok:
		a.err = &toss.Error{Status: 404, Code: toss.CodeNotFoundPayment, Message: "not found"}
	case p.Status == toss.StatusCanceled:
		a.err = &toss.Error{Status: 400, Code: toss.CodeAlreadyCanceledPayment, Message: "already canceled"}
	case p.Status != toss.StatusDone && p.Status != toss.StatusPartialCanceled:
		a.err = &toss.Error{Status: 403, Code: toss.CodeNotCancelablePayment, Message: "not cancelable"}
	case amount > p.BalanceAmount:
		a.err = &toss.Error{Status: 403, Code: toss.CodeNotCancelableAmount, Message: "not cancelable amount"}
	default:
		if amount == 0 {
			amount = p.BalanceAmount
		}
		n := copyPayment(p)
		n.BalanceAmount -= amount
		n.Status = toss.StatusPartialCanceled
		if n.BalanceAmount == 0 {
			n.Status = toss.StatusCanceled
		}
		n.Cancels = append(append([]toss.Cancel(nil), p.Cancels...), toss.Cancel{
			TransactionKey: fmt.Sprintf("TX%d-%d", len(p.Cancels)+1, len(f.byKey)), CancelReason: req.CancelReason,
			CancelAmount: amount, RefundableAmount: n.BalanceAmount, CanceledAt: &toss.Time{Time: f.now()},
		})
		f.payments[paymentKey] = n
		a.p = n
	}
	f.byKey[key] = a
	return copyPayment(a.p), a.err
}

func (f *fakeToss) stats(orderID string) (confirms, executed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.confirms, f.executed[orderID]
}

func copyPayment(p *toss.Payment) *toss.Payment {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	store  orders.Store
	toss   *fakeToss
	clock  *clock
	engine *Engine
}

func newFixture(t *testing.T, store orders.Store) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	ft := newFakeToss(c.Now)
	return &fixture{store: store, toss: ft, clock: c, engine: &Engine{Orders: store, Toss: ft, Clock: c.Now, ClaimDuration: 20 * time.Second}}
}

var testPolicy = orders.Policy{MaxAmount: 10_000_000, PayWindow: 24 * time.Hour, Retention: 7 * 24 * time.Hour}

func (f *fixture) newOrder(t *testing.T, amount int64) *orders.Order {
	t.Helper()
	o, err := orders.New(orders.Draft{Name: "Hanbok (blue)", Amount: amount}, f.clock.Now(), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

func (f *fixture) get(t *testing.T, id string) *orders.Order {
	t.Helper()
	o, err := f.store.Get(context.Background(), id, f.clock.Now())
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return o
}

func TestConfirmRefusesTamperedAmountBeforeToss(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 15000)
	_, err := f.engine.Confirm(context.Background(), "tgen_pk_tampered01", o.ID, 100)
	var am *AmountMismatchError
	if !errors.As(err, &am) || am.Expected != 15000 || am.Got != 100 {
		t.Fatalf("err = %v, want AmountMismatchError 15000/100", err)
	}
	if confirms, _ := f.toss.stats(o.ID); confirms != 0 {
		t.Fatalf("Toss saw %d confirms for a tampered amount", confirms)
	}
	got := f.get(t, o.ID)
	if got.Status != orders.StatusPending || got.LastFailure == nil || got.LastFailure.Code != CodeAmountMismatch || got.LastFailure.Amount != 100 {
		t.Fatalf("order after tampering = %+v, failure %+v", got.Status, got.LastFailure)
	}
	// The honest amount still goes through afterwards.
	res, err := f.engine.Confirm(context.Background(), "tgen_pk_tampered01", o.ID, 15000)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("honest confirm after tampering: %v %+v", err, res)
	}
}

func TestConfirmHappyPathAndRepeat(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 39000)
	res, err := f.engine.Confirm(context.Background(), "tgen_pk_happy0001", o.ID, 39000)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	got := f.get(t, o.ID)
	if got.Status != orders.StatusDone || got.Payment == nil || got.Payment.CardNumber != "4330123****1234" || !got.ExpiresAt.IsZero() {
		t.Fatalf("order = %+v payment %+v", got, got.Payment)
	}
	for i := 0; i < 3; i++ { // page refreshes
		res, err = f.engine.Confirm(context.Background(), "tgen_pk_happy0001", o.ID, 39000)
		if err != nil || res.Outcome != OutcomeDone {
			t.Fatalf("repeat: %v %+v", err, res)
		}
	}
	if confirms, executed := f.toss.stats(o.ID); confirms != 1 || executed != 1 {
		t.Fatalf("confirms=%d executed=%d, want 1/1", confirms, executed)
	}
	// Another paymentKey for a paid order is refused, not confirmed.
	if _, err := f.engine.Confirm(context.Background(), "tgen_pk_second001", o.ID, 39000); !errors.Is(err, ErrNotPayable) {
		t.Fatalf("second paymentKey on a paid order: %v", err)
	}
	if confirms, _ := f.toss.stats(o.ID); confirms != 1 {
		t.Fatalf("confirms=%d after a second key, want 1", confirms)
	}
}

func TestConfirmInputAndOrderErrors(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 1000)
	cases := []struct {
		name         string
		pk, id       string
		amount       int64
		want         error
		advanceFirst time.Duration
	}{
		{"empty paymentKey", "", o.ID, 1000, ErrInvalidRequest, 0},
		{"long paymentKey", string(make([]byte, 201)), o.ID, 1000, ErrInvalidRequest, 0},
		{"bad orderId", "tgen_pk", "../etc", 1000, ErrInvalidRequest, 0},
		{"zero amount", "tgen_pk", o.ID, 0, ErrInvalidRequest, 0},
		{"unknown order", "tgen_pk", "ord_doesnotexist", 1000, ErrOrderNotFound, 0},
		{"past payable window", "tgen_pk_late0001", o.ID, 1000, ErrNotPayable, 25 * time.Hour},
		{"past TTL", "tgen_pk_late0001", o.ID, 1000, ErrOrderNotFound, 8 * 24 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Advance(tc.advanceFirst)
			_, err := f.engine.Confirm(context.Background(), tc.pk, tc.id, tc.amount)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if confirms, _ := f.toss.stats(o.ID); confirms != 0 {
		t.Fatalf("Toss saw %d confirms", confirms)
	}
}

func TestConfirmDeclinedThenRetryWithAnotherCard(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 5000)
	f.toss.declines["tgen_pk_declined1"] = &toss.Error{Status: 403, Code: toss.CodeRejectCardCompany, Message: "카드사에서 거절했습니다"}
	res, err := f.engine.Confirm(context.Background(), "tgen_pk_declined1", o.ID, 5000)
	if err != nil || res.Outcome != OutcomeDeclined || res.Failure.Code != toss.CodeRejectCardCompany {
		t.Fatalf("declined confirm: %v %+v", err, res)
	}
	got := f.get(t, o.ID)
	if got.Status != orders.StatusFailed || got.ExpiresAt.IsZero() {
		t.Fatalf("declined order: status %s ttl %v", got.Status, got.ExpiresAt)
	}
	// Refreshing the declined page does not ask Toss again.
	res, err = f.engine.Confirm(context.Background(), "tgen_pk_declined1", o.ID, 5000)
	if err != nil || res.Outcome != OutcomeDeclined {
		t.Fatalf("refresh of declined: %v %+v", err, res)
	}
	confirmsBefore, _ := f.toss.stats(o.ID)
	if confirmsBefore > 2 {
		t.Fatalf("refresh of a declined attempt sent %d confirms", confirmsBefore)
	}
	// Another card on the same order.
	res, err = f.engine.Confirm(context.Background(), "tgen_pk_secondcard", o.ID, 5000)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("second card: %v %+v", err, res)
	}
	if _, executed := f.toss.stats(o.ID); executed != 1 {
		t.Fatalf("executed = %d, want 1", executed)
	}
}

func TestConfirmConcurrentDuplicatesConfirmOnce(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 12000)
	const n = 50
	var wg sync.WaitGroup
	outcomes := make(chan Outcome, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.engine.Confirm(context.Background(), "tgen_pk_storm0001", o.ID, 12000)
			if err != nil {
				errs <- err
				return
			}
			outcomes <- res.Outcome
		}()
	}
	wg.Wait()
	close(outcomes)
	close(errs)
	for err := range errs {
		t.Errorf("concurrent confirm error: %v", err)
	}
	for oc := range outcomes {
		if oc != OutcomeDone && oc != OutcomeProcessing {
			t.Errorf("outcome %s, want DONE or PROCESSING", oc)
		}
	}
	if _, executed := f.toss.stats(o.ID); executed != 1 {
		t.Fatalf("executed = %d, want exactly 1", executed)
	}
	res, err := f.engine.Confirm(context.Background(), "tgen_pk_storm0001", o.ID, 12000)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("after the storm: %v %+v", err, res)
	}
}

func TestConfirmUnknownOutcomeSettlesByLookup(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 7000)
	f.toss.dropAfter = 1 // approved at Toss, response lost
	res, err := f.engine.Confirm(context.Background(), "tgen_pk_dropped01", o.ID, 7000)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("approve-then-drop: %v %+v", err, res)
	}
	if _, executed := f.toss.stats(o.ID); executed != 1 {
		t.Fatalf("executed = %d", executed)
	}
}

func TestConfirmAlreadyProcessedIsAcceptedAfterLookup(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 8000)
	// Toss approved earlier under another idempotency key (e.g. a crashed
	// earlier deployment), then answers ALREADY_PROCESSED_PAYMENT.
	if _, err := f.toss.Confirm(context.Background(), toss.ConfirmRequest{PaymentKey: "tgen_pk_already01", OrderID: o.ID, Amount: 8000}, "other-key"); err != nil {
		t.Fatal(err)
	}
	res, err := f.engine.Confirm(context.Background(), "tgen_pk_already01", o.ID, 8000)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("already processed: %v %+v", err, res)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusDone {
		t.Fatalf("status %s", got.Status)
	}
}

func TestConfirmTransientFailureStaysProcessingThenReconciles(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 9900)
	f.toss.faults = []error{&toss.Error{Status: 500, Code: toss.CodeFailedInternalSystem}}
	res, err := f.engine.Confirm(context.Background(), "tgen_pk_transient", o.ID, 9900)
	if err != nil || res.Outcome != OutcomeProcessing {
		t.Fatalf("transient: %v %+v", err, res)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusConfirming || !got.ExpiresAt.IsZero() {
		t.Fatalf("after transient: %s ttl %v", got.Status, got.ExpiresAt)
	}
	// While the claim is live, repeats answer processing without calling Toss.
	before, _ := f.toss.stats(o.ID)
	res, _ = f.engine.Confirm(context.Background(), "tgen_pk_transient", o.ID, 9900)
	if after, _ := f.toss.stats(o.ID); res.Outcome != OutcomeProcessing || after != before {
		t.Fatalf("repeat under live claim: %+v, confirms %d→%d", res, before, after)
	}
	f.clock.Advance(time.Minute)
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.LapsedClaims != 1 || rep.Done != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusDone {
		t.Fatalf("after reconcile: %s", got.Status)
	}
	if _, executed := f.toss.stats(o.ID); executed != 1 {
		t.Fatalf("executed = %d", executed)
	}
}

// failingComplete simulates a crash between Toss's answer and the final write.
type failingComplete struct {
	orders.Store
	mu    sync.Mutex
	fails int
}

func (s *failingComplete) Complete(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	s.mu.Lock()
	if s.fails > 0 {
		s.fails--
		s.mu.Unlock()
		return nil, fmt.Errorf("dynamodb: connection refused")
	}
	s.mu.Unlock()
	return s.Store.Complete(ctx, id, pk, p, now)
}

func TestCrashBeforeFinalWriteIsRecoveredOnce(t *testing.T) {
	for _, via := range []string{"redrive", "reconcile"} {
		t.Run(via, func(t *testing.T) {
			store := &failingComplete{Store: orders.Validated(orders.NewMemoryStore()), fails: 1}
			f := newFixture(t, store)
			o := f.newOrder(t, 21000)
			res, err := f.engine.Confirm(context.Background(), "tgen_pk_crash0001", o.ID, 21000)
			if err != nil || res.Outcome != OutcomeProcessing {
				t.Fatalf("confirm with lost final write: %v %+v", err, res)
			}
			if got := f.get(t, o.ID); got.Status != orders.StatusConfirming || got.PaymentKey != "tgen_pk_crash0001" {
				t.Fatalf("paid order not held CONFIRMING: %s", got.Status)
			}
			f.clock.Advance(time.Minute) // the claim lapses
			switch via {
			case "redrive":
				res, err = f.engine.Confirm(context.Background(), "tgen_pk_crash0001", o.ID, 21000)
				if err != nil || res.Outcome != OutcomeDone {
					t.Fatalf("re-drive: %v %+v", err, res)
				}
			case "reconcile":
				rep, err := f.engine.Reconcile(context.Background())
				if err != nil || rep.Done != 1 {
					t.Fatalf("reconcile: %v %+v", err, rep)
				}
			}
			if got := f.get(t, o.ID); got.Status != orders.StatusDone {
				t.Fatalf("final status %s", got.Status)
			}
			if _, executed := f.toss.stats(o.ID); executed != 1 {
				t.Fatalf("executed = %d, want 1", executed)
			}
		})
	}
}

func TestReconcileExpiresOverdueOrders(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	stale := f.newOrder(t, 1000)
	f.clock.Advance(23 * time.Hour)
	fresh := f.newOrder(t, 1000)
	f.clock.Advance(2 * time.Hour)
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Expired != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	if got := f.get(t, stale.ID); got.Status != orders.StatusExpired {
		t.Fatalf("stale order %s", got.Status)
	}
	if got := f.get(t, fresh.ID); got.Status != orders.StatusPending {
		t.Fatalf("fresh order %s", got.Status)
	}
}

// A claim whose session Toss no longer has ends with the order as it was
// before the claim: payable, with no failure recorded (Toss executed
// nothing, and the order event of a failure would tell the merchant of an
// attempt Toss says never was).
func TestReconcileReleasesClaimWhoseSessionNeverConfirmed(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 3000)
	// Every confirm attempt dies in transit and Toss never executes it; the
	// confirm window then closes at Toss.
	f.toss.faults = []error{&toss.Error{Method: "POST", Err: errors.New("timeout")}}
	res, err := f.engine.Confirm(context.Background(), "tgen_pk_neverseen", o.ID, 3000)
	if err != nil || res.Outcome != OutcomeProcessing {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	f.toss.declines["tgen_pk_neverseen"] = &toss.Error{Status: 404, Code: toss.CodeNotFoundPaymentSession, Message: "session expired"}
	f.clock.Advance(11 * time.Minute)
	rep, err := f.engine.Reconcile(context.Background())
	if err != nil || rep.Declined != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	got := f.get(t, o.ID)
	if got.Status != orders.StatusPending || got.LastFailure != nil || got.PaymentKey != "" {
		t.Fatalf("order %s %q %+v", got.Status, got.PaymentKey, got.LastFailure)
	}
}

func TestIdempotencyKeyIsDeterministicAndScoped(t *testing.T) {
	a := IdempotencyKey("ord_1234567", "pk_1")
	if a != IdempotencyKey("ord_1234567", "pk_1") {
		t.Fatal("not deterministic")
	}
	if a == IdempotencyKey("ord_1234567", "pk_2") || a == IdempotencyKey("ord_1234568", "pk_1") {
		t.Fatal("keys collide across orders or payments")
	}
	if IdempotencyKey("ab", "c") == IdempotencyKey("a", "bc") {
		t.Fatal("ambiguous concatenation")
	}
	if len(a) > toss.MaxIdempotencyKeyLen {
		t.Fatalf("key too long: %d", len(a))
	}
}

func TestReconcileRecordsApprovedThenRefundedPayment(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 30000)
	f.toss.faults = []error{&toss.Error{Status: 500, Code: toss.CodeFailedInternalSystem}}
	if res, err := f.engine.Confirm(context.Background(), "tgen_pk_refunded1", o.ID, 30000); err != nil || res.Outcome != OutcomeProcessing {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	// Meanwhile Toss approved it (the confirm ran after all) and an operator
	// refunded part of it in the dashboard.
	if _, err := f.toss.Confirm(context.Background(), toss.ConfirmRequest{PaymentKey: "tgen_pk_refunded1", OrderID: o.ID, Amount: 30000}, "k"); err != nil {
		t.Fatal(err)
	}
	f.toss.mu.Lock()
	p := f.toss.payments["tgen_pk_refunded1"]
	p.Status, p.BalanceAmount = toss.StatusPartialCanceled, 20000
	p.Cancels = []toss.Cancel{{TransactionKey: "tx1", CancelReason: "operator", CancelAmount: 10000, RefundableAmount: 20000}}
	f.toss.mu.Unlock()
	f.clock.Advance(time.Minute)
	if rep, err := f.engine.Reconcile(context.Background()); err != nil || rep.Done != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	got := f.get(t, o.ID)
	if got.Status != orders.StatusPartialCanceled || got.Payment.BalanceAmount != 20000 || len(got.Payment.Cancels) != 1 {
		t.Fatalf("order %s balance %d cancels %d", got.Status, got.Payment.BalanceAmount, len(got.Payment.Cancels))
	}
}
