package payments

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// Toss's limits and the masking of keys at their exact bounds.
func TestKeyLengthBounds(t *testing.T) {
	key200 := strings.Repeat("k", maxPaymentKeyLen)
	if err := ValidateConfirm(key200, "order-000001", 1000); err != nil {
		t.Errorf("a %d-character paymentKey is refused: %v", maxPaymentKeyLen, err)
	}
	if err := ValidateConfirm(key200+"k", "order-000001", 1000); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("a %d-character paymentKey: %v, want ErrInvalidRequest", maxPaymentKeyLen+1, err)
	}
	for _, c := range []struct{ key, want string }{
		{"abcdefgh", "****"},
		{"abcdefghi", "abcd****fghi"},
	} {
		if got := MaskKey(c.key); got != c.want {
			t.Errorf("MaskKey(%q) = %q, want %q", c.key, got, c.want)
		}
	}
	for _, c := range []struct {
		key    string
		masked bool
	}{
		{"tgen_6", true},
		{"tgen5", false},
	} {
		msg := redactKey(errors.New("toss: GET /v1/payments/"+c.key+": 500"), c.key).Error()
		if strings.Contains(msg, c.key) == c.masked {
			t.Errorf("redactKey with a %d-character key: %q (masked: want %v)", len(c.key), msg, c.masked)
		}
	}
}

// claimedUnder claims o for paymentKey in the store itself, as another
// request holding the claim would.
func (f *fixture) claimedUnder(t *testing.T, o *orders.Order, paymentKey string) {
	t.Helper()
	now := f.clock.Now()
	if _, err := f.store.Claim(context.Background(), orders.Claim{OrderID: o.ID, PaymentKey: paymentKey, Amount: o.Amount, Now: now, Until: now.Add(20 * time.Second)}); err != nil {
		t.Fatalf("claim for %s: %v", paymentKey, err)
	}
}

// An attempt the order will not take (another holds its claim), which Toss
// approved for the order, is recorded, however long its key within Toss's
// limit; and the answer shows the refunds Toss already made of it.
func TestConfirmOfAnAttemptTheOrderWillNotTakeSettlesFromToss(t *testing.T) {
	for _, c := range []struct {
		name   string
		key    string
		status toss.PaymentStatus
		want   orders.Status
	}{
		{"longest key", strings.Repeat("K", maxPaymentKeyLen), toss.StatusDone, orders.StatusDone},
		{"refunded at Toss", "tgen_pk_refunded", toss.StatusCanceled, orders.StatusCanceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.newOrder(t, 12000)
			f.claimedUnder(t, o, "tgen_pk_holder")
			p := toss.Payment{PaymentKey: c.key, OrderID: o.ID, TotalAmount: 12000, BalanceAmount: 12000, Status: c.status,
				ApprovedAt: &toss.Time{Time: f.clock.Now()}}
			if c.status == toss.StatusCanceled {
				p.BalanceAmount = 0
				p.Cancels = []toss.Cancel{{TransactionKey: "TX1", CancelReason: "dashboard", CancelAmount: 12000, CanceledAt: &toss.Time{Time: f.clock.Now()}}}
			}
			f.toss.put(p)
			res, err := f.engine.Confirm(context.Background(), c.key, o.ID, 12000)
			if err != nil || res.Outcome != OutcomeDone || res.Order.Status != c.want || res.Order.PaymentKey != c.key {
				t.Fatalf("confirm: %v %+v, want done, order %s under the approved attempt", err, res, c.want)
			}
			if got := f.get(t, o.ID); got.Status != c.want || got.PaymentKey != c.key {
				t.Fatalf("order %s under %s, want %s under the approved attempt", got.Status, got.PaymentKey, c.want)
			}
		})
	}
}

// lookupsSpentMeanwhile is a store whose order's anonymous budget of Toss
// lookups is spent by concurrent callers between a claim's refusal and
// this caller's lookup.
type lookupsSpentMeanwhile struct{ orders.Store }

func (s lookupsSpentMeanwhile) AdmitLookup(ctx context.Context, id, own string, now time.Time) (*orders.Order, error) {
	for range 1000 {
		if _, err := s.Store.AdmitLookup(ctx, id, own, now); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("the budget never filled")
}

func TestApprovedAttemptRefusedWhenTheBudgetFillsMeanwhile(t *testing.T) {
	store := orders.Validated(orders.NewMemoryStore())
	f := newFixture(t, lookupsSpentMeanwhile{store})
	o := f.newOrder(t, 12000)
	f.claimedUnder(t, o, "tgen_pk_holder")
	_, err := f.engine.Confirm(context.Background(), "tgen_pk_other", o.ID, 12000)
	var rl *RateLimitedError
	if !errors.As(err, &rl) || rl.OrderID != o.ID || rl.RetryAfter <= 0 {
		t.Fatalf("confirm: %v, want *RateLimitedError", err)
	}
	if _, lookups := f.tossCalls(); lookups != 0 {
		t.Fatalf("%d Toss lookups over a spent budget", lookups)
	}
}

// countingCeiling admits every call and counts them.
type countingCeiling struct {
	mu sync.Mutex
	n  int
}

func (c *countingCeiling) Admit(context.Context, time.Time) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return 0, nil
}

// The lookup of an attempt the order will not take counts against the
// ceiling across orders for a caller without the checkout token only.
func TestApprovedAttemptLookupCountsOnTheCeilingWithoutToken(t *testing.T) {
	for _, withToken := range []bool{false, true} {
		f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
		ceiling := &countingCeiling{}
		f.engine.Ceiling = ceiling
		o := f.newOrder(t, 12000)
		f.claimedUnder(t, o, "tgen_pk_holder")
		token, want := "", 1
		if withToken {
			token, want = o.CheckoutToken, 0
		}
		res, err := f.engine.ConfirmWithToken(context.Background(), token, "tgen_pk_other", o.ID, 12000)
		if err != nil || res.Outcome != OutcomeProcessing {
			t.Fatalf("token %v: %v %+v, want processing", withToken, err, res)
		}
		if _, lookups := f.tossCalls(); lookups != 1 {
			t.Fatalf("token %v: %d lookups, want 1", withToken, lookups)
		}
		if ceiling.n != want {
			t.Errorf("token %v: the ceiling counted %d calls, want %d", withToken, ceiling.n, want)
		}
	}
}

// releaseConflicts refuses Release with current as the order stood.
type releaseConflicts struct {
	orders.Store
	current func(o *orders.Order) *orders.Order
}

func (s releaseConflicts) Release(ctx context.Context, id, paymentKey string, now time.Time) (*orders.Order, error) {
	o, err := s.Store.Get(ctx, id, now)
	if err != nil {
		return nil, err
	}
	return nil, &orders.ConflictError{Op: "release", Current: s.current(o)}
}

func paidUnder(key string) func(o *orders.Order) *orders.Order {
	return func(o *orders.Order) *orders.Order {
		c := *o
		c.Status, c.PaymentKey = orders.StatusDone, key
		return &c
	}
}

func asIs(o *orders.Order) *orders.Order { return o }

func noCurrent(*orders.Order) *orders.Order { return nil }

func confirmingUnder(key string) func(o *orders.Order) *orders.Order {
	return func(o *orders.Order) *orders.Order {
		c := *o
		c.Status, c.PaymentKey = orders.StatusConfirming, key
		return &c
	}
}

// A configuration refusal whose claim cannot be given back answers from
// the order as it stands: paid meanwhile (a webhook) is paid; otherwise
// payments are unavailable, and the operator hears why the claim stays.
func TestConfigurationRefusalWhenTheReleaseConflicts(t *testing.T) {
	const key = "tgen_config_0001"
	for _, c := range []struct {
		name    string
		current func(o *orders.Order) *orders.Order
		outcome Outcome
		notPay  bool
		config  bool
		log     string
	}{
		{"paid meanwhile under it", paidUnder(key), OutcomeDone, false, false, ""},
		{"paid meanwhile under another", paidUnder("tgen_pk_other"), "", true, false, ""},
		{"claim from before releases", asIs, "", false, true, "a claim from before releases were possible stays until it lapses"},
		{"claimed by another attempt", confirmingUnder("tgen_pk_other"), "", false, true, "release a claim Toss refused for our configuration"},
		{"condition failed, order unknown", noCurrent, "", false, true, "release a claim Toss refused for our configuration"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			store := orders.Validated(orders.NewMemoryStore())
			f.store = store
			f.engine.Orders = releaseConflicts{Store: store, current: c.current}
			logs := &lockedBuffer{}
			f.engine.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			o := f.newOrder(t, 39000)
			f.toss.declines[key] = &toss.Error{Status: 401, Code: toss.CodeUnauthorizedKey, Message: "m"}
			res, err := f.engine.Confirm(context.Background(), key, o.ID, o.Amount)
			var ce *ConfigurationError
			var np *NotPayableError
			switch {
			case c.config && (res != nil || !errors.As(err, &ce)):
				t.Fatalf("got %+v, %v; want *ConfigurationError", res, err)
			case c.notPay && !errors.As(err, &np):
				t.Fatalf("got %+v, %v; want *NotPayableError", res, err)
			case c.outcome != "" && (err != nil || res.Outcome != c.outcome):
				t.Fatalf("got %+v, %v; want %s", res, err, c.outcome)
			}
			if c.log != "" && !strings.Contains(logs.String(), c.log) {
				t.Errorf("logs %s; want %q", logs, c.log)
			}
		})
	}
}

// An attempt Toss never issued whose claim cannot be given back: a claim
// from before the store could release one is failed as before; an order
// settled meanwhile answers as it stands; an unknown one stays processing.
func TestNeverIssuedWhenTheReleaseConflicts(t *testing.T) {
	const key = "tgen_made_up_01"
	for _, c := range []struct {
		name    string
		current func(o *orders.Order) *orders.Order
		outcome Outcome
		notPay  bool
		status  orders.Status
	}{
		{"claim from before releases", asIs, OutcomeDeclined, false, orders.StatusFailed},
		{"paid meanwhile under another", paidUnder("tgen_pk_other"), "", true, orders.StatusConfirming},
		{"paid meanwhile under it", paidUnder(key), OutcomeDone, false, orders.StatusConfirming},
		{"condition failed, order unknown", noCurrent, OutcomeProcessing, false, orders.StatusConfirming},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			store := orders.Validated(orders.NewMemoryStore())
			f.store = store
			f.engine.Orders = releaseConflicts{Store: store, current: c.current}
			o := f.newOrder(t, 39000)
			f.toss.declines[key] = &toss.Error{Status: 404, Code: toss.CodeNotFoundPaymentSession, Message: "m"}
			res, err := f.engine.Confirm(context.Background(), key, o.ID, o.Amount)
			var np *NotPayableError
			switch {
			case c.notPay && !errors.As(err, &np):
				t.Fatalf("got %+v, %v; want *NotPayableError", res, err)
			case !c.notPay && (err != nil || res.Outcome != c.outcome):
				t.Fatalf("got %+v, %v; want %s", res, err, c.outcome)
			}
			got := f.get(t, o.ID)
			if got.Status != c.status {
				t.Errorf("order %s, want %s", got.Status, c.status)
			}
			if c.status == orders.StatusFailed && (got.LastFailure == nil || got.LastFailure.Code != toss.CodeNotFoundPaymentSession) {
				t.Errorf("failure %+v, want %s", got.LastFailure, toss.CodeNotFoundPaymentSession)
			}
		})
	}
}

// failConflicts refuses Fail with current as the order stood.
type failConflicts struct {
	orders.Store
	current func(o *orders.Order) *orders.Order
}

func (s failConflicts) Fail(ctx context.Context, id, paymentKey string, _ orders.Failure, now time.Time) (*orders.Order, error) {
	o, err := s.Store.Get(ctx, id, now)
	if err != nil {
		return nil, err
	}
	return nil, &orders.ConflictError{Op: "fail", Current: s.current(o)}
}

// A decline that could not be recorded because the order moved meanwhile
// answers from the order as it stands.
func TestDeclineWhenTheOrderMovedMeanwhile(t *testing.T) {
	const key = "tgen_declined_1"
	earlier := &orders.Failure{Code: "PAYMENT_EXPIRED", Message: "payment EXPIRED", PaymentKey: key, Amount: 39000}
	for _, c := range []struct {
		name    string
		current func(o *orders.Order) *orders.Order
		outcome Outcome
		failure string
	}{
		{"paid under it", paidUnder(key), OutcomeDone, ""},
		{"failed by the reconciler", func(o *orders.Order) *orders.Order {
			c := *o
			c.Status, c.LastFailure = orders.StatusFailed, earlier
			return &c
		}, OutcomeDeclined, "PAYMENT_EXPIRED"},
		{"released", func(o *orders.Order) *orders.Order {
			c := *o
			c.Status, c.PaymentKey = orders.StatusPending, ""
			return &c
		}, OutcomeProcessing, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			store := orders.Validated(orders.NewMemoryStore())
			f.store = store
			f.engine.Orders = failConflicts{Store: store, current: c.current}
			o := f.newOrder(t, 39000)
			f.toss.declines[key] = &toss.Error{Status: 403, Code: toss.CodeRejectCardCompany, Message: "declined"}
			res, err := f.engine.Confirm(context.Background(), key, o.ID, o.Amount)
			if err != nil || res.Outcome != c.outcome || res.Order.Status != c.current(o).Status {
				t.Fatalf("got %+v, %v; want %s with the order as it stands", res, err, c.outcome)
			}
			if c.failure != "" && (res.Failure == nil || res.Failure.Code != c.failure) {
				t.Errorf("failure %+v, want %s", res.Failure, c.failure)
			}
		})
	}
}

// completeAfter runs before on the order, then lets Complete find it so.
type completeAfter struct {
	orders.Store
	before func(ctx context.Context, id, paymentKey string, now time.Time) error
}

func (s completeAfter) Complete(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	if err := s.before(ctx, id, pk, now); err != nil {
		return nil, err
	}
	return s.Store.Complete(ctx, id, pk, p, now)
}

// An approval whose claim the reconciler failed meanwhile is recorded
// from Toss's answer: the buyer was charged.
func TestApprovalRecordedAfterTheClaimWasFailedMeanwhile(t *testing.T) {
	f := newFixture(t, nil)
	store := orders.Validated(orders.NewMemoryStore())
	f.store = store
	f.engine.Orders = completeAfter{Store: store, before: func(ctx context.Context, id, pk string, now time.Time) error {
		_, err := store.Fail(ctx, id, pk, orders.Failure{Code: "PAYMENT_EXPIRED", Message: "m", PaymentKey: pk, Amount: 39000, At: now}, now)
		return err
	}}
	o := f.newOrder(t, 39000)
	res, err := f.engine.Confirm(context.Background(), "tgen_pk_overran", o.ID, 39000)
	if err != nil || res == nil || res.Outcome != OutcomeDone {
		t.Fatalf("confirm: %+v, %v; want done", res, err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusDone || got.PaymentKey != "tgen_pk_overran" {
		t.Fatalf("order %s under %s, want DONE", got.Status, got.PaymentKey)
	}
}

// applyCancelConflicts applies the cancel, then reports the condition
// failed with the order as it then stood (a webhook applied it first).
type applyCancelConflicts struct{ orders.Store }

func (s applyCancelConflicts) ApplyCancel(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	o, err := s.Store.ApplyCancel(ctx, id, pk, p, now)
	if err != nil {
		return nil, err
	}
	return nil, &orders.ConflictError{Op: "apply cancel", Current: o}
}

// A confirm whose answer was lost, of an attempt Toss approved and then
// refunded in full (a dashboard refund), answers with the order refunded,
// whether it records DONE itself, finds it recorded DONE meanwhile from an
// older record, or finds the refund applied meanwhile.
func TestLookupOfARefundedApprovalAnswersRefunded(t *testing.T) {
	const key = "tgen_pk_refund1"
	for _, c := range []struct {
		name string
		wrap func(store orders.Store) orders.Store
	}{
		{"recorded here", func(s orders.Store) orders.Store { return s }},
		{"recorded DONE meanwhile", func(s orders.Store) orders.Store {
			return completeAfter{Store: s, before: func(ctx context.Context, id, pk string, now time.Time) error {
				_, err := s.Complete(ctx, id, pk, orders.Payment{Status: "DONE", TotalAmount: 8000, BalanceAmount: 8000, ApprovedAt: now}, now)
				return err
			}}
		}},
		{"refund applied meanwhile", func(s orders.Store) orders.Store { return applyCancelConflicts{s} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			store := orders.Validated(orders.NewMemoryStore())
			f.store = store
			f.engine.Orders = c.wrap(store)
			o := f.newOrder(t, 8000)
			f.toss.faults = []error{&toss.Error{Method: "POST", Err: errors.New("connection reset")}}
			at := &toss.Time{Time: f.clock.Now()}
			f.toss.put(toss.Payment{PaymentKey: key, OrderID: o.ID, TotalAmount: 8000, BalanceAmount: 0, Status: toss.StatusCanceled,
				ApprovedAt: at, RequestedAt: at, Cancels: []toss.Cancel{{TransactionKey: "TX1", CancelReason: "dashboard", CancelAmount: 8000, CanceledAt: at}}})
			res, err := f.engine.Confirm(context.Background(), key, o.ID, 8000)
			if err != nil || res.Outcome != OutcomeDone || res.Order.Status != orders.StatusCanceled || res.Order.Payment.BalanceAmount != 0 {
				t.Fatalf("confirm: %v %+v; want done with the order CANCELED", err, res)
			}
			if got := f.get(t, o.ID); got.Status != orders.StatusCanceled || got.Payment.BalanceAmount != 0 {
				t.Fatalf("order %s balance %d, want CANCELED with nothing left", got.Status, got.Payment.BalanceAmount)
			}
		})
	}
}

// A confirm refused as ALREADY_PROCESSED_PAYMENT whose attempt Toss shows
// aborted (and no other attempt approved) is declined with Toss's failure;
// one Toss shows still in progress stays processing.
func TestAlreadyProcessedDecidedByTheAttemptsStatus(t *testing.T) {
	const key = "tgen_pk_aborted"
	for _, c := range []struct {
		name    string
		status  toss.PaymentStatus
		failure *toss.Failure
		outcome Outcome
		code    string
	}{
		{"aborted with Toss's failure", toss.StatusAborted, &toss.Failure{Code: toss.CodeRejectCardCompany, Message: "declined"}, OutcomeDeclined, toss.CodeRejectCardCompany},
		{"aborted without a failure", toss.StatusAborted, nil, OutcomeDeclined, "PAYMENT_ABORTED"},
		{"aborted with an empty failure", toss.StatusAborted, &toss.Failure{}, OutcomeDeclined, "PAYMENT_ABORTED"},
		{"in progress", toss.StatusInProgress, nil, OutcomeProcessing, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.newOrder(t, 5000)
			f.toss.faults = []error{&toss.Error{Status: 400, Code: toss.CodeAlreadyProcessedPayment, Message: "already processed"}}
			f.toss.put(toss.Payment{PaymentKey: key, OrderID: o.ID, TotalAmount: 5000, Status: c.status, Failure: c.failure,
				RequestedAt: &toss.Time{Time: f.clock.Now()}})
			res, err := f.engine.Confirm(context.Background(), key, o.ID, 5000)
			if err != nil || res.Outcome != c.outcome {
				t.Fatalf("confirm: %v %+v, want %s", err, res, c.outcome)
			}
			got := f.get(t, o.ID)
			if c.code == "" {
				if got.Status != orders.StatusConfirming {
					t.Fatalf("order %s, want CONFIRMING", got.Status)
				}
				return
			}
			if got.Status != orders.StatusFailed || got.LastFailure == nil || got.LastFailure.Code != c.code {
				t.Fatalf("order %s failure %+v, want FAILED %s", got.Status, got.LastFailure, c.code)
			}
		})
	}
}

// The order keeps Toss's own answer as it came, or the payment encoded
// when there is none.
func TestSummaryKeepsTossAnswer(t *testing.T) {
	raw := []byte(`{"paymentKey":"tgen_pk_raw","orderId":"order-000001","status":"DONE","unmodelled":{"x":1}}`)
	p := &toss.Payment{PaymentKey: "tgen_pk_raw", OrderID: "order-000001", Status: toss.StatusDone, TotalAmount: 1000, Raw: raw}
	if got := Summary(p).Raw; string(got) != string(raw) {
		t.Errorf("raw %s, want Toss's answer %s", got, raw)
	}
	p.Raw = nil
	got := Summary(p).Raw
	var back toss.Payment
	if err := json.Unmarshal(got, &back); err != nil || back.PaymentKey != "tgen_pk_raw" || back.TotalAmount != 1000 {
		t.Errorf("raw %s (%v), want the payment encoded", got, err)
	}
}

// deadlineRecorder records the deadline of each confirm's context.
type deadlineRecorder struct {
	*fakeToss
	mu        sync.Mutex
	deadlines []time.Time
}

func (d *deadlineRecorder) Confirm(ctx context.Context, req toss.ConfirmRequest, key string, opts ...toss.CallOption) (*toss.Payment, error) {
	dl, _ := ctx.Deadline()
	d.mu.Lock()
	d.deadlines = append(d.deadlines, dl)
	d.mu.Unlock()
	return d.fakeToss.Confirm(ctx, req, key, opts...)
}

// The confirm sent to Toss ends FinalWriteReserve (2 seconds by default)
// before the caller's deadline, leaving time to record Toss's answer.
func TestTossCallLeavesTheFinalWriteReserve(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	rec := &deadlineRecorder{fakeToss: f.toss}
	f.engine.Toss = rec
	o := f.newOrder(t, 5000)
	deadline := time.Now().Add(20 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if res, err := f.engine.Confirm(ctx, "tgen_pk_reserve", o.ID, 5000); err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	if len(rec.deadlines) != 1 || !rec.deadlines[0].Equal(deadline.Add(-2*time.Second)) {
		t.Fatalf("Toss call deadlines %v, want %v", rec.deadlines, deadline.Add(-2*time.Second))
	}
}

// Without a deadline or ClaimDuration, a claim lasts 30 seconds: the
// reconciler leaves it to its request until then.
func TestDefaultClaimLastsThirtySeconds(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	f.engine.ClaimDuration = 0
	o := f.newOrder(t, 5000)
	unknownConfirm(t, f, o, "tgen_pk_default")
	f.clock.Advance(29 * time.Second)
	if rep, err := f.engine.Reconcile(context.Background()); err != nil || rep.LapsedClaims != 0 {
		t.Fatalf("reconcile 29s after the claim: %v %+v, want no lapsed claim", err, rep)
	}
	f.clock.Advance(2 * time.Second)
	if rep, err := f.engine.Reconcile(context.Background()); err != nil || rep.LapsedClaims != 1 {
		t.Fatalf("reconcile 31s after the claim: %v %+v, want the claim lapsed", err, rep)
	}
}

// settleConflicts refuses SettleFromToss with current as the order stood.
type settleConflicts struct {
	orders.Store
	current func(o *orders.Order) *orders.Order
}

func (s settleConflicts) SettleFromToss(ctx context.Context, id, _ string, _ orders.Payment, now time.Time) (*orders.Order, error) {
	o, err := s.Store.Get(ctx, id, now)
	if err != nil {
		return nil, err
	}
	return nil, &orders.ConflictError{Op: "settle from toss", Current: s.current(o)}
}

// Toss's approval of an attempt the order will not take, recorded paid
// meanwhile by someone else: under the same attempt it is the caller's
// payment; under another, the caller's attempt is not payable.
func TestSettleFromTossConflicts(t *testing.T) {
	const key = "tgen_pk_approved"
	for _, under := range []string{key, "tgen_pk_third"} {
		f := newFixture(t, nil)
		store := orders.Validated(orders.NewMemoryStore())
		f.store, f.engine.Orders = store, settleConflicts{Store: store, current: paidUnder(under)}
		o := f.newOrder(t, 12000)
		f.claimedUnder(t, o, "tgen_pk_holder")
		f.toss.put(toss.Payment{PaymentKey: key, OrderID: o.ID, TotalAmount: 12000, BalanceAmount: 12000, Status: toss.StatusDone})
		res, err := f.engine.Confirm(context.Background(), key, o.ID, 12000)
		var np *NotPayableError
		switch {
		case under == key && (err != nil || res.Outcome != OutcomeDone || res.Order.PaymentKey != key):
			t.Fatalf("recorded under the caller's attempt: %v %+v, want done", err, res)
		case under != key && (!errors.As(err, &np) || np.Order.PaymentKey != under):
			t.Fatalf("recorded under another attempt: %v %+v, want *NotPayableError", err, res)
		}
	}
}
