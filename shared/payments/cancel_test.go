package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// lossyToss puts a lossy network in front of the honest fake: refunds that
// execute and lose their answer, refunds that never arrive, lookups that
// fail. It counts the cancel requests that left.
type lossyToss struct {
	*fakeToss
	mu          sync.Mutex
	cancelCalls int
	dropCancels int     // next n cancels execute at Toss, then the answer is lost
	failCancels []error // next cancel answers, nothing executed
	failLookups int     // next n lookups get no answer
}

var errLost = &toss.Error{Method: "POST", Path: "/v1/payments/x/cancel", Err: errors.New("connection reset by peer")}

func (l *lossyToss) Cancel(ctx context.Context, paymentKey string, req toss.CancelRequest, key string, opts ...toss.CallOption) (*toss.Payment, error) {
	l.mu.Lock()
	l.cancelCalls++
	if len(l.failCancels) > 0 {
		err := l.failCancels[0]
		l.failCancels = l.failCancels[1:]
		l.mu.Unlock()
		return nil, err
	}
	drop := l.dropCancels > 0
	if drop {
		l.dropCancels--
	}
	l.mu.Unlock()
	p, err := l.fakeToss.Cancel(ctx, paymentKey, req, key, opts...)
	if drop {
		return nil, errLost
	}
	return p, err
}

func (l *lossyToss) Payment(ctx context.Context, paymentKey string, opts ...toss.CallOption) (*toss.Payment, error) {
	l.mu.Lock()
	fail := l.failLookups > 0
	if fail {
		l.failLookups--
	}
	l.mu.Unlock()
	if fail {
		return nil, &toss.Error{Method: "GET", Path: "/v1/payments/x", Err: errors.New("i/o timeout")}
	}
	return l.fakeToss.Payment(ctx, paymentKey, opts...)
}

func (l *lossyToss) calls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cancelCalls
}

// refunds is Toss's record of the refunds of paymentKey.
func (f *fakeToss) refunds(paymentKey string) (balance int64, cancels int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.payments[paymentKey]
	return p.BalanceAmount, len(p.Cancels)
}

// outOfBand refunds at Toss without this engine, as an operator in Toss's
// dashboard does.
func (f *fakeToss) outOfBand(t *testing.T, paymentKey string, amount int64) {
	t.Helper()
	if _, err := f.Cancel(context.Background(), paymentKey, toss.CancelRequest{CancelReason: "dashboard", CancelAmount: amount}, fmt.Sprintf("dashboard-%d", time.Now().UnixNano())); err != nil {
		t.Fatalf("out-of-band cancel: %v", err)
	}
}

type refundFixture struct {
	*fixture
	lossy *lossyToss
}

func newRefundFixture(t *testing.T, store orders.Store) *refundFixture {
	t.Helper()
	f := newFixture(t, store)
	l := &lossyToss{fakeToss: f.toss}
	f.engine.Toss = l
	return &refundFixture{fixture: f, lossy: l}
}

// paid is an order of amount confirmed under paymentKey.
func (f *refundFixture) paid(t *testing.T, amount int64, paymentKey string) *orders.Order {
	t.Helper()
	o := f.newOrder(t, amount)
	res, err := f.engine.Confirm(context.Background(), paymentKey, o.ID, amount)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	return res.Order
}

// agrees checks the order against Toss's record of its payment.
func (f *refundFixture) agrees(t *testing.T, o *orders.Order, status orders.Status, balance int64, cancels int) {
	t.Helper()
	got := f.get(t, o.ID)
	tb, tc := f.toss.refunds(o.PaymentKey)
	if got.Status != status || got.Payment.BalanceAmount != balance || len(got.Payment.Cancels) != cancels || tb != balance || tc != cancels {
		t.Fatalf("order %s balance %d with %d cancels; Toss balance %d with %d cancels; want %s %d with %d",
			got.Status, got.Payment.BalanceAmount, len(got.Payment.Cancels), tb, tc, status, balance, cancels)
	}
}

func TestCancelFullAndPartial(t *testing.T) {
	type step struct {
		amount  int64
		key     string
		status  orders.Status
		balance int64
		cancels int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"full", []step{{0, "", orders.StatusCanceled, 0, 1}}},
		{"full, with a key", []step{{0, "refund-1", orders.StatusCanceled, 0, 1}}},
		{"the whole balance as an amount", []step{{20000, "", orders.StatusCanceled, 0, 1}}},
		{"partial then the rest", []step{
			{3000, "", orders.StatusPartialCanceled, 17000, 1},
			{0, "", orders.StatusCanceled, 0, 2},
		}},
		{"partials of other amounts, no keys", []step{
			{3000, "", orders.StatusPartialCanceled, 17000, 1},
			{4000, "", orders.StatusPartialCanceled, 13000, 2},
			{13000, "", orders.StatusCanceled, 0, 3},
		}},
		{"partials down to zero", []step{
			{5000, "a", orders.StatusPartialCanceled, 15000, 1},
			{5000, "b", orders.StatusPartialCanceled, 10000, 2},
			{10000, "c", orders.StatusCanceled, 0, 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.paid(t, 20000, "tgen_pk_refund01")
			for i, st := range tt.steps {
				f.clock.Advance(time.Minute)
				res, err := f.engine.Cancel(context.Background(), o.ID, "size did not fit", st.amount, st.key)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				got := res.Order
				if res.Repeated {
					t.Fatalf("step %d: a first refund reads as repeated", i)
				}
				// Two writes per refund: its reservation and its settlement.
				if got.Status != st.status || got.Payment.BalanceAmount != st.balance || got.Version != o.Version+2*int64(i+1) {
					t.Fatalf("step %d: returned %s balance %d version %d", i, got.Status, got.Payment.BalanceAmount, got.Version)
				}
				last := got.Payment.Cancels[len(got.Payment.Cancels)-1]
				if last.Reason != "size did not fit" || last.TransactionKey == "" || !last.CanceledAt.Equal(f.clock.Now()) {
					t.Fatalf("step %d: last cancel %+v", i, last)
				}
				f.agrees(t, o, st.status, st.balance, st.cancels)
			}
			if got := f.get(t, o.ID); got.Payment.CardNumber == "" || got.Payment.ApprovedAt.IsZero() || got.Payment.TotalAmount != 20000 {
				t.Fatalf("the approval's summary was lost: %+v", got.Payment)
			}
			if n := f.lossy.calls(); n != len(tt.steps) {
				t.Fatalf("%d cancel requests, want %d", n, len(tt.steps))
			}
		})
	}
}

func TestCancelRefusedBeforeToss(t *testing.T) {
	f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
	paid := f.paid(t, 10000, "tgen_pk_refused1")
	full := f.paid(t, 10000, "tgen_pk_refused2")
	if _, err := f.engine.Cancel(context.Background(), full.ID, "returned", 0, "first"); err != nil {
		t.Fatal(err)
	}
	// The same full refund again is a repeat, answered without Toss; any
	// other refund of the order finds nothing left.
	if res, err := f.engine.Cancel(context.Background(), full.ID, "returned", 0, "first"); err != nil || !res.Repeated || res.Order.Status != orders.StatusCanceled {
		t.Fatalf("repeat of the full refund: %v %+v", err, res)
	}
	pending := f.newOrder(t, 10000)
	confirming := f.newOrder(t, 10000)
	if _, err := f.store.Claim(context.Background(), orders.Claim{OrderID: confirming.ID, PaymentKey: "tgen_pk_held", Amount: 10000,
		Now: f.clock.Now(), Until: f.clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	calls := f.lossy.calls()
	tests := []struct {
		name    string
		id      string
		reason  string
		amount  int64
		key     string
		want    error // errors.Is target; nil with wantAmount
		balance int64 // of a *CancelAmountError
	}{
		{"unknown order", "ord_doesnotexist", "r", 0, "", ErrOrderNotFound, 0},
		{"pending", pending.ID, "r", 0, "", ErrNotCancelable, 0},
		{"being confirmed", confirming.ID, "r", 0, "", ErrNotCancelable, 0},
		{"fully refunded", full.ID, "r", 0, "", ErrNotCancelable, 0},
		{"fully refunded, with an amount", full.ID, "r", 1, "", ErrNotCancelable, 0},
		{"over the balance", paid.ID, "r", 10001, "", nil, 10000},
		{"over the balance, with a key", paid.ID, "r", 50000, "k", nil, 10000},
		{"no reason", paid.ID, "", 0, "", ErrInvalidRequest, 0},
		{"blank reason", paid.ID, " \t", 0, "", ErrInvalidRequest, 0},
		{"reason too long", paid.ID, strings.Repeat("환", 201), 0, "", ErrInvalidRequest, 0},
		{"reason with a newline", paid.ID, "a\nb", 0, "", ErrInvalidRequest, 0},
		{"reason not UTF-8", paid.ID, "\xff", 0, "", ErrInvalidRequest, 0},
		{"negative amount", paid.ID, "r", -1, "", ErrInvalidRequest, 0},
		{"malformed order ID", "../x", "r", 0, "", ErrInvalidRequest, 0},
		{"caller key too long", paid.ID, "r", 0, strings.Repeat("k", 301), ErrInvalidRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.engine.Cancel(context.Background(), tt.id, tt.reason, tt.amount, tt.key)
			if got != nil {
				t.Fatalf("refused cancel returned %+v", got)
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			var ae *CancelAmountError
			if !errors.As(err, &ae) || ae.Balance != tt.balance || ae.Amount != tt.amount || ae.OrderID != tt.id {
				t.Fatalf("err = %v, want CancelAmountError with balance %d", err, tt.balance)
			}
		})
	}
	var nc *NotCancelableError
	if _, err := f.engine.Cancel(context.Background(), pending.ID, "r", 0, ""); !errors.As(err, &nc) || nc.Order.Status != orders.StatusPending {
		t.Fatalf("err = %v, want NotCancelableError with the order", err)
	}
	if n := f.lossy.calls() - calls; n != 0 {
		t.Fatalf("Toss saw %d cancel requests for refused refunds", n)
	}
	f.agrees(t, paid, orders.StatusDone, 10000, 0)
}

func TestCancelPassesTossErrorsThrough(t *testing.T) {
	tests := []struct {
		name       string
		outOfBand  int64 // refunded in Toss's dashboard first, -1 for none
		fault      error // Toss's answer instead
		amount     int64
		code       string
		status     int
		syncedTo   orders.Status // the order after the refusal
		syncedBal  int64
		lookupsAdd int
	}{
		{"already canceled in the dashboard", 0, nil, 4000, toss.CodeAlreadyCanceledPayment, 400, orders.StatusCanceled, 0, 1},
		{"balance lowered in the dashboard", 8000, nil, 4000, toss.CodeNotCancelableAmount, 403, orders.StatusPartialCanceled, 2000, 1},
		{"not cancelable", -1, &toss.Error{Status: 403, Code: toss.CodeNotCancelablePayment, Message: "no"}, 4000, toss.CodeNotCancelablePayment, 403, orders.StatusDone, 10000, 0},
		{"invalid request", -1, &toss.Error{Status: 400, Code: toss.CodeInvalidRequest, Message: "bad"}, 0, toss.CodeInvalidRequest, 400, orders.StatusDone, 10000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.paid(t, 10000, "tgen_pk_tosserr1")
			if tt.outOfBand >= 0 {
				f.toss.outOfBand(t, o.PaymentKey, tt.outOfBand)
			}
			if tt.fault != nil {
				f.lossy.failCancels = []error{tt.fault}
			}
			lookups := f.toss.lookups
			_, err := f.engine.Cancel(context.Background(), o.ID, "returned", tt.amount, "")
			var te *toss.Error
			if !errors.As(err, &te) || te.Code != tt.code || te.Status != tt.status {
				t.Fatalf("err = %v, want the *toss.Error %d %s", err, tt.status, tt.code)
			}
			if errors.Is(err, ErrCancelUnknown) {
				t.Fatal("a refusal reads as an unknown outcome")
			}
			got := f.get(t, o.ID)
			if got.Status != tt.syncedTo || got.Payment.BalanceAmount != tt.syncedBal {
				t.Fatalf("order after the refusal: %s balance %d, want %s %d", got.Status, got.Payment.BalanceAmount, tt.syncedTo, tt.syncedBal)
			}
			if n := f.toss.lookups - lookups; n != tt.lookupsAdd {
				t.Fatalf("%d lookups, want %d", n, tt.lookupsAdd)
			}
		})
	}
}

// A refund whose answer is lost is settled from Toss's record, or left for
// a retry of the same request, which refunds once, with or without the
// caller's key.
func TestCancelRetriedRefundRefundsOnce(t *testing.T) {
	tests := []struct {
		name        string
		key         string
		amount      int64
		drop        int // answers lost, executed
		notSent     int // requests lost before Toss
		failLookups int
		breakWrite  bool // the order write after Toss's answer fails once
		firstErr    bool // the first call ends with ErrCancelUnknown
		executed    bool // ... having executed the refund (CancelUnknownError.Executed)
	}{
		{"answer lost, lookup settles", "", 3000, 1, 0, 0, false, false, false},
		{"answer lost, lookup settles a full refund", "", 0, 1, 0, 0, false, false, false},
		{"answer and lookup lost", "", 3000, 1, 0, 1, false, true, false},
		{"answer and lookup lost, with a key", "refund-7", 3000, 1, 0, 1, false, true, false},
		{"request lost, lookup shows nothing", "", 3000, 0, 1, 0, false, true, false},
		{"request lost, with a key", "refund-7", 3000, 0, 1, 0, false, true, false},
		{"order write lost", "", 3000, 0, 0, 0, true, true, true},
		{"order write lost, with a key", "refund-7", 0, 0, 0, 0, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &failingSettle{Store: orders.Validated(orders.NewMemoryStore())}
			f := newRefundFixture(t, store)
			o := f.paid(t, 10000, "tgen_pk_retry001")
			f.lossy.dropCancels, f.lossy.failLookups = tt.drop, tt.failLookups
			for range tt.notSent {
				f.lossy.failCancels = append(f.lossy.failCancels, errLost)
			}
			if tt.breakWrite {
				store.fails = 1
			}
			wantBalance := 10000 - tt.amount
			if tt.amount == 0 {
				wantBalance = 0
			}
			wantStatus := orders.StatusPartialCanceled
			if wantBalance == 0 {
				wantStatus = orders.StatusCanceled
			}
			got, err := f.engine.Cancel(context.Background(), o.ID, "wrong colour", tt.amount, tt.key)
			if tt.firstErr {
				var ue *CancelUnknownError
				if !errors.Is(err, ErrCancelUnknown) || !errors.As(err, &ue) || ue.Executed != tt.executed || got != nil {
					t.Fatalf("first call: %v %+v, want ErrCancelUnknown (executed %v)", err, got, tt.executed)
				}
				if !strings.Contains(err.Error(), "retry with the same request") {
					t.Fatalf("the error does not say what to do: %v", err)
				}
				// The amount stays reserved: it may have left at Toss.
				reserved := tt.amount
				if reserved == 0 {
					reserved = 10000
				}
				if cur := f.get(t, o.ID); cur.Status != orders.StatusDone || cur.Payment.BalanceAmount != 10000 || cur.Reserved() != reserved {
					t.Fatalf("after an unknown outcome: %s balance %d reserved %d, want DONE 10000 with %d reserved",
						cur.Status, cur.Payment.BalanceAmount, cur.Reserved(), reserved)
				}
				got, err = f.engine.Cancel(context.Background(), o.ID, "wrong colour", tt.amount, tt.key) // the retry
			}
			if err != nil || got.Order.Status != wantStatus || got.Order.Payment.BalanceAmount != wantBalance || got.Repeated {
				t.Fatalf("cancel: %v %+v", err, got)
			}
			f.agrees(t, o, wantStatus, wantBalance, 1)
		})
	}
}

// failingSettle loses the next fails SettleRefund writes.
type failingSettle struct {
	orders.Store
	mu    sync.Mutex
	fails int
}

func (s *failingSettle) SettleRefund(ctx context.Context, id, pk, key string, amount int64, p orders.Payment, now time.Time) (*orders.Order, error) {
	s.mu.Lock()
	if s.fails > 0 {
		s.fails--
		s.mu.Unlock()
		return nil, errors.New("dynamodb: throttled")
	}
	s.mu.Unlock()
	return s.Store.SettleRefund(ctx, id, pk, key, amount, p, now)
}

func TestCancelRepeatsAndDistinctRefunds(t *testing.T) {
	type call struct {
		amount   int64
		key      string
		repeated bool
	}
	tests := []struct {
		name    string
		calls   []call
		between func(t *testing.T, f *refundFixture, o *orders.Order) // after the first call
		cancels int
		balance int64 // at Toss and on the order
	}{
		// A repeat is the same refund, whatever was recorded in between.
		{"repeat with the same key", []call{{2000, "k1", false}, {2000, "k1", true}, {2000, "k1", true}}, nil, 1, 8000},
		{"repeat without a key", []call{{2000, "", false}, {2000, "", true}}, nil, 1, 8000},
		{"repeat with the same key after another refund", []call{{2000, "k1", false}, {1000, "k2", false}, {2000, "k1", true}}, nil, 2, 7000},
		{"repeat without a key after another refund", []call{{2000, "", false}, {1000, "", false}, {2000, "", true}}, nil, 2, 7000},
		// Refunds meant as two are two: they take two keys.
		{"same amount, two keys", []call{{2000, "k1", false}, {2000, "k2", false}}, nil, 2, 6000},
		{"same amount, a key and none", []call{{2000, "", false}, {2000, "k2", false}}, nil, 2, 6000},
		{"same key, another amount", []call{{2000, "k1", false}, {3000, "k1", false}}, nil, 2, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.paid(t, 10000, "tgen_pk_repeat01")
			for i, c := range tt.calls {
				res, err := f.engine.Cancel(context.Background(), o.ID, "refund", c.amount, c.key)
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if res.Repeated != c.repeated {
					t.Fatalf("call %d: repeated = %v, want %v", i, res.Repeated, c.repeated)
				}
				if i == 0 && tt.between != nil {
					tt.between(t, f, o)
				}
			}
			status := orders.StatusPartialCanceled
			f.agrees(t, o, status, tt.balance, tt.cancels)
		})
	}
}

// The retry the balance must not be part of the key for: the first
// attempt's outcome is unknown, a webhook records the refund, then the
// caller retries as told. The retry is the first answer to report the
// refund (the first was an error), so it is the one that says it is new:
// a caller counting refunds counts it once.
func TestCancelRetryAfterWebhookRecordedTheRefund(t *testing.T) {
	for _, key := range []string{"", "refund-9"} {
		t.Run("key="+key, func(t *testing.T) {
			f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.paid(t, 10000, "tgen_pk_webhook1")
			f.lossy.dropCancels, f.lossy.failLookups = 1, 1
			if _, err := f.engine.Cancel(context.Background(), o.ID, "refund", 2000, key); !errors.Is(err, ErrCancelUnknown) {
				t.Fatalf("first call: %v, want ErrCancelUnknown", err)
			}
			p, err := f.toss.Payment(context.Background(), o.PaymentKey)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.ApplyCancel(context.Background(), o.ID, o.PaymentKey, Summary(p), f.clock.Now()); err != nil {
				t.Fatalf("the webhook's write: %v", err)
			}
			res, err := f.engine.Cancel(context.Background(), o.ID, "refund", 2000, key)
			if err != nil || res.Repeated || res.Order.Payment.BalanceAmount != 8000 || res.Order.Refundable() != 8000 {
				t.Fatalf("retry: %v %+v", err, res)
			}
			res, err = f.engine.Cancel(context.Background(), o.ID, "refund", 2000, key)
			if err != nil || !res.Repeated {
				t.Fatalf("repeat: %v %+v", err, res)
			}
			f.agrees(t, o, orders.StatusPartialCanceled, 8000, 1)
		})
	}
}

// A refund made in Toss's dashboard between a refund and its repeat: the
// repeat is replayed, not executed, and the dashboard's refund waits for
// its webhook.
func TestCancelRepeatAfterDashboardRefund(t *testing.T) {
	f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.paid(t, 10000, "tgen_pk_repeat02")
	if _, err := f.engine.Cancel(context.Background(), o.ID, "refund", 2000, ""); err != nil {
		t.Fatal(err)
	}
	f.toss.outOfBand(t, o.PaymentKey, 500)
	res, err := f.engine.Cancel(context.Background(), o.ID, "refund", 2000, "")
	if err != nil || !res.Repeated || res.Order.Payment.BalanceAmount != 8000 {
		t.Fatalf("repeat: %v %+v", err, res)
	}
	if bal, n := f.toss.refunds(o.PaymentKey); bal != 7500 || n != 2 {
		t.Fatalf("Toss: balance %d after %d refunds, want 7500 after 2", bal, n)
	}
}

// Identical requests without a key racing each other share one key: at
// most one refund.
func TestConcurrentIdenticalCancelsRefundOnce(t *testing.T) {
	f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.paid(t, 10000, "tgen_pk_race0001")
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var mu sync.Mutex
	fresh := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.engine.Cancel(context.Background(), o.ID, "duplicate click", 4000, "")
			if err == nil && res.Order.Payment.BalanceAmount != 6000 {
				err = fmt.Errorf("returned balance %d", res.Order.Payment.BalanceAmount)
			}
			if err == nil && !res.Repeated {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d answers say the refund is new, want 1", fresh)
	}
	f.agrees(t, o, orders.StatusPartialCanceled, 6000, 1)
}

func TestCancelIdempotencyKey(t *testing.T) {
	base := CancelIdempotencyKey("ord_1234567", "pk_1", 2000, "")
	if base != CancelIdempotencyKey("ord_1234567", "pk_1", 2000, "") {
		t.Fatal("not deterministic")
	}
	if len(base) > toss.MaxIdempotencyKeyLen || !strings.HasPrefix(base, "cancel-") || strings.ContainsFunc(base, func(r rune) bool { return r <= ' ' || r > '~' }) {
		t.Fatalf("key %q is not a valid Idempotency-Key", base)
	}
	keys := map[string]string{
		"base":          base,
		"other order":   CancelIdempotencyKey("ord_1234568", "pk_1", 2000, ""),
		"other payment": CancelIdempotencyKey("ord_1234567", "pk_2", 2000, ""),
		"other amount":  CancelIdempotencyKey("ord_1234567", "pk_1", 2001, ""),
		"full":          CancelIdempotencyKey("ord_1234567", "pk_1", 0, ""),
		"caller key":    CancelIdempotencyKey("ord_1234567", "pk_1", 2000, "k"),
		"other key":     CancelIdempotencyKey("ord_1234567", "pk_1", 2000, "k2"),
		"shifted":       CancelIdempotencyKey("ord_1234567", "pk_1", 200, "0"),
		"confirm":       IdempotencyKey("ord_1234567", "pk_1"),
	}
	seen := map[string]string{}
	for name, k := range keys {
		if other, ok := seen[k]; ok {
			t.Errorf("%s and %s share a key", name, other)
		}
		seen[k] = name
	}
}

// Integration: DynamoDB Local, the real client, the sandbox over HTTP.

// refundStack is the integration stack with a client that opens a
// connection per request (so a dropped answer reaches it, rather than
// net/http resending it) and Toss wrapped by wrap, if given.
func refundStack(t *testing.T, wrapStore func(orders.Store) orders.Store, wrap func(Gateway) Gateway) *stack {
	t.Helper()
	s := newStack(t, wrapStore)
	client, err := toss.New(toss.Options{BaseURL: s.sandbox.URL, SecretKey: toss.StaticKey(s.sandbox.SecretKey()),
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second},
		Retry:      toss.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	s.engine.Toss = client
	if wrap != nil {
		s.engine.Toss = wrap(client)
	}
	return s
}

func (s *stack) paid(t *testing.T, amount int64) *orders.Order {
	t.Helper()
	o, pk := s.order(t, amount)
	res, err := s.engine.Confirm(context.Background(), pk, o.ID, amount)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	s.calls.Reset()
	return res.Order
}

func (s *stack) cancelRequests() int {
	n := 0
	for _, r := range s.sandbox.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/cancel") {
			n++
		}
	}
	return n
}

// agrees checks the order on DynamoDB against the sandbox's payment.
func (s *stack) agrees(t *testing.T, o *orders.Order, status orders.Status, balance int64, cancels int) *orders.Order {
	t.Helper()
	got, err := s.store.Get(context.Background(), o.ID, s.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	info, _ := s.sandbox.Payment(o.PaymentKey)
	if got.Status != status || got.Payment.BalanceAmount != balance || len(got.Payment.Cancels) != cancels ||
		info.BalanceAmount != balance || len(info.Cancels) != cancels {
		t.Fatalf("order %s balance %d with %d cancels; sandbox %s balance %d with %d cancels; want %s %d with %d",
			got.Status, got.Payment.BalanceAmount, len(got.Payment.Cancels), info.Status, info.BalanceAmount, len(info.Cancels), status, balance, cancels)
	}
	for i, c := range got.Payment.Cancels {
		if c.TransactionKey != info.Cancels[i].TransactionKey || c.Amount != info.Cancels[i].Amount {
			t.Fatalf("cancel %d: order %+v, sandbox %+v", i, c, info.Cancels[i])
		}
	}
	return got
}

// flakyLookups loses the next fails payment lookups.
type flakyLookups struct {
	Gateway
	mu    sync.Mutex
	fails int
}

func (g *flakyLookups) Payment(ctx context.Context, paymentKey string, opts ...toss.CallOption) (*toss.Payment, error) {
	g.mu.Lock()
	fail := g.fails > 0
	if fail {
		g.fails--
	}
	g.mu.Unlock()
	if fail {
		return nil, &toss.Error{Method: "GET", Path: "/v1/payments/" + paymentKey, Err: errors.New("i/o timeout")}
	}
	return g.Gateway.Payment(ctx, paymentKey, opts...)
}

func TestIntegrationRefunds(t *testing.T) {
	type step struct {
		amount  int64
		key     string
		status  orders.Status
		balance int64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"full", []step{{0, "", orders.StatusCanceled, 0}}},
		{"partial then the rest", []step{{12000, "", orders.StatusPartialCanceled, 38000}, {0, "", orders.StatusCanceled, 0}}},
		{"same amount twice, two keys", []step{{5000, "a", orders.StatusPartialCanceled, 45000}, {5000, "b", orders.StatusPartialCanceled, 40000}}},
		{"other amounts, no keys", []step{{5000, "", orders.StatusPartialCanceled, 45000}, {6000, "", orders.StatusPartialCanceled, 39000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := refundStack(t, nil, nil)
			o := s.paid(t, 50000)
			for i, st := range tt.steps {
				s.calls.Reset()
				res, err := s.engine.Cancel(context.Background(), o.ID, "customer request", st.amount, st.key)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				got := res.Order
				if got.Status != st.status || got.Payment.BalanceAmount != st.balance {
					t.Fatalf("step %d: %s %d", i, got.Status, got.Payment.BalanceAmount)
				}
				if n := s.calls.Count(); n != 3 || s.calls.Count("GetItem") != 1 || s.calls.Count("UpdateItem") != 2 {
					t.Fatalf("step %d: DynamoDB calls %s, want one read and two writes (reserve, settle)", i, s.calls)
				}
				s.agrees(t, o, st.status, st.balance, i+1)
			}
			if n := s.cancelRequests(); n != len(tt.steps) {
				t.Fatalf("%d cancel requests at the sandbox, want %d", n, len(tt.steps))
			}
		})
	}
}

func TestIntegrationRetriedRefundRefundsOnce(t *testing.T) {
	for _, key := range []string{"", "refund-42"} {
		t.Run("key="+key, func(t *testing.T) {
			lookups := &flakyLookups{}
			s := refundStack(t, nil, func(g Gateway) Gateway { lookups.Gateway = g; return lookups })
			o := s.paid(t, 30000)
			// The refund executes; its answer and every retry's replay are
			// lost, and so is the lookup.
			s.sandbox.CancelThenDrop(3)
			lookups.fails = 1
			_, err := s.engine.Cancel(context.Background(), o.ID, "late delivery", 7000, key)
			if !errors.Is(err, ErrCancelUnknown) {
				t.Fatalf("first call: %v, want ErrCancelUnknown", err)
			}
			if info, _ := s.sandbox.Payment(o.PaymentKey); len(info.Cancels) != 1 {
				t.Fatalf("sandbox refunded %d times", len(info.Cancels))
			}
			res, err := s.engine.Cancel(context.Background(), o.ID, "late delivery", 7000, key) // the same request again
			if err != nil || res.Repeated || res.Order.Status != orders.StatusPartialCanceled || res.Order.Payment.BalanceAmount != 23000 {
				t.Fatalf("retry: %v %+v", err, res)
			}
			// Once more, after it was recorded: answered from the order's
			// settled refund, without asking Toss.
			res, err = s.engine.Cancel(context.Background(), o.ID, "late delivery", 7000, key)
			if err != nil || !res.Repeated || res.Order.Payment.BalanceAmount != 23000 {
				t.Fatalf("repeat after recording: %v %+v", err, res)
			}
			s.agrees(t, o, orders.StatusPartialCanceled, 23000, 1)
			if n := s.cancelRequests(); n != 4 {
				t.Fatalf("%d cancel requests, want 3 lost and 1 replayed", n)
			}
			for _, r := range s.sandbox.Requests()[len(s.sandbox.Requests())-3:] {
				if !r.Replayed {
					t.Fatalf("a repeat was executed, not replayed: %+v", r)
				}
			}
		})
	}
	t.Run("settled from the lookup", func(t *testing.T) {
		s := refundStack(t, nil, nil)
		o := s.paid(t, 30000)
		s.sandbox.CancelThenDrop(3)
		res, err := s.engine.Cancel(context.Background(), o.ID, "late delivery", 7000, "")
		if err != nil || res.Order.Payment.BalanceAmount != 23000 {
			t.Fatalf("cancel: %v %+v", err, res)
		}
		s.agrees(t, o, orders.StatusPartialCanceled, 23000, 1)
	})
}

func TestIntegrationRefundRefusals(t *testing.T) {
	t.Run("over the balance never reaches Toss", func(t *testing.T) {
		s := refundStack(t, nil, nil)
		o := s.paid(t, 20000)
		_, err := s.engine.Cancel(context.Background(), o.ID, "too much", 20001, "")
		var ae *CancelAmountError
		if !errors.As(err, &ae) || ae.Balance != 20000 {
			t.Fatalf("err = %v, want CancelAmountError with balance 20000", err)
		}
		if n := s.cancelRequests(); n != 0 {
			t.Fatalf("the sandbox received %d cancel requests", n)
		}
		s.agrees(t, o, orders.StatusDone, 20000, 0)
	})
	t.Run("Toss's code passes through", func(t *testing.T) {
		s := refundStack(t, nil, nil)
		o := s.paid(t, 20000)
		if _, err := s.sandbox.DashboardCancel(o.PaymentKey, "refunded by phone", 0); err != nil {
			t.Fatal(err)
		}
		_, err := s.engine.Cancel(context.Background(), o.ID, "returned", 5000, "")
		var te *toss.Error
		if !errors.As(err, &te) || te.Code != toss.CodeAlreadyCanceledPayment || te.Status != 400 {
			t.Fatalf("err = %v, want ALREADY_CANCELED_PAYMENT", err)
		}
		// The refusal brought the order up to date with the dashboard's refund.
		s.agrees(t, o, orders.StatusCanceled, 0, 1)
		_, err = s.engine.Cancel(context.Background(), o.ID, "returned", 5000, "")
		if !errors.Is(err, ErrNotCancelable) {
			t.Fatalf("after the catch-up: %v, want ErrNotCancelable", err)
		}
		if n := s.cancelRequests(); n != 1 {
			t.Fatalf("%d cancel requests", n)
		}
	})
}
