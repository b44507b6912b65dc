package payments

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/internal/awstest"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// countingMetrics records every outcome the engine counts.
type countingMetrics struct {
	mu sync.Mutex
	n  map[string]int
}

func (m *countingMetrics) ConfirmOutcome(outcome string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == nil {
		m.n = map[string]int{}
	}
	m.n[outcome]++
}

// TossConfigurationError records a concluded configuration outage as the
// outcome "config:" + code.
func (m *countingMetrics) TossConfigurationError(code string) { m.ConfirmOutcome("config:" + code) }

func (m *countingMetrics) count(outcome string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n[outcome]
}

// lockedBuffer is a log sink the engine's goroutines may share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// settleWorld is the engine over the Toss client and the sandbox, on one
// of the two stores, with a fake clock shared by the engine and the
// sandbox, and its metrics and logs kept for the assertions.
type settleWorld struct {
	store   orders.Store
	sandbox *tosstest.Server
	client  *toss.Client
	engine  *Engine
	clock   *clock
	metrics *countingMetrics
	logs    *lockedBuffer
}

var settleStores = []struct {
	name string
	new  func(t *testing.T) orders.Store
}{
	{"memory", func(*testing.T) orders.Store { return orders.Validated(orders.NewMemoryStore()) }},
	{"dynamodb", func(t *testing.T) orders.Store {
		db := awstest.DynamoDB(t)
		table := awstest.UniqueName("orders")
		awstest.CreateTable(t, db, orders.TableDefinition(table))
		return orders.Validated(orders.NewDynamoStore(db, table))
	}},
}

func newSettleWorld(t *testing.T, store orders.Store) *settleWorld {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	sb := tosstest.NewServer(t, tosstest.WithClock(c.Now))
	client, err := toss.New(toss.Options{BaseURL: sb.URL, SecretKey: toss.StaticKey(sb.SecretKey()),
		Retry: toss.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	w := &settleWorld{store: store, sandbox: sb, client: client, clock: c, metrics: &countingMetrics{}, logs: &lockedBuffer{}}
	w.engine = &Engine{Orders: store, Toss: client, Clock: c.Now, ClaimDuration: 20 * time.Second,
		Metrics: w.metrics, Logger: slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return w
}

// stuck forces the state the engine's one-claim rule never reaches by
// itself: two attempts authenticated for one order, Toss approved one of
// them (its confirm ran, its answer was lost), and the order is CONFIRMING
// under the other, which Toss did not approve (two claims applied at once).
func (w *settleWorld) stuck(t *testing.T) (o *orders.Order, approved, claimed string) {
	t.Helper()
	ctx := context.Background()
	o, err := orders.New(orders.Draft{Name: "Jeju tangerines", Amount: 27000}, w.clock.Now(), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.Create(ctx, o); err != nil {
		t.Fatal(err)
	}
	approved = w.sandbox.Authorize(o.ID, o.Name, o.Amount)
	claimed = w.sandbox.Authorize(o.ID, o.Name, o.Amount)
	req := toss.ConfirmRequest{PaymentKey: approved, OrderID: o.ID, Amount: o.Amount}
	if _, err := w.client.Confirm(ctx, req, IdempotencyKey(o.ID, approved)); err != nil {
		t.Fatalf("approve %s at Toss: %v", approved, err)
	}
	now := w.clock.Now()
	if _, err := w.store.Claim(ctx, orders.Claim{OrderID: o.ID, PaymentKey: claimed, Amount: o.Amount, Now: now, Until: now.Add(20 * time.Second)}); err != nil {
		t.Fatalf("claim for %s: %v", claimed, err)
	}
	return o, approved, claimed
}

// lookups counts the GETs the sandbox answered about one payment.
func (w *settleWorld) lookups(paymentKey string) int {
	n := 0
	for _, r := range w.sandbox.Requests() {
		if r.Method == "GET" && strings.HasSuffix(r.Path, "/"+paymentKey) {
			n++
		}
	}
	return n
}

func (w *settleWorld) get(t *testing.T, id string) *orders.Order {
	t.Helper()
	o, err := w.store.Get(context.Background(), id, w.clock.Now())
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return o
}

// wantPaidElsewhere checks the answer to an attempt the order was not
// paid with: not payable, the order paid (not "processing" forever).
func wantPaidElsewhere(t *testing.T, what string, res *Result, err error, approved string) {
	t.Helper()
	var np *NotPayableError
	if !errors.As(err, &np) || !np.Order.Status.Paid() || np.Order.PaymentKey != approved {
		t.Fatalf("%s: %+v, %v; want NotPayableError with the order paid under the approved attempt", what, res, err)
	}
}

// An order whose claim is held by an attempt Toss did not approve, while
// Toss approved another attempt, ends DONE under the approved attempt at
// the next request for either attempt, refund or reconcile pass; the
// approved paymentKey is then refundable, and nothing runs a second
// confirm at Toss.
func TestClaimHeldByAttemptTossDidNotApproveSettles(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		lapse    bool // let the claim lapse before the settling step
		refunded bool // the settling step refunds the whole payment
		settle   func(t *testing.T, w *settleWorld, o *orders.Order, approved, claimed string)
	}{
		{
			name: "claim live: request for the approved attempt",
			settle: func(t *testing.T, w *settleWorld, o *orders.Order, approved, _ string) {
				res, err := w.engine.Confirm(ctx, approved, o.ID, o.Amount)
				if err != nil || res.Outcome != OutcomeDone || res.Order.PaymentKey != approved {
					t.Fatalf("request for the approved attempt: %+v, %v; want DONE under it", res, err)
				}
			},
		},
		{
			name:     "claim live: refund by the approved key",
			refunded: true,
			settle: func(t *testing.T, w *settleWorld, o *orders.Order, approved, _ string) {
				res, err := w.engine.CancelPayment(ctx, approved, "buyer asked", 0, "")
				if err != nil || res.Order.Status != orders.StatusCanceled || res.Order.PaymentKey != approved {
					t.Fatalf("refund by the approved key: %+v, %v; want CANCELED under it", res, err)
				}
			},
		},
		{
			name:  "claim lapsed: reconcile pass",
			lapse: true,
			settle: func(t *testing.T, w *settleWorld, _ *orders.Order, _, _ string) {
				rep, err := w.engine.Reconcile(ctx)
				if err != nil || rep.LapsedClaims != 1 || rep.Done != 1 || rep.Errors != 0 || rep.Pending != 0 {
					t.Fatalf("reconcile: %+v, %v; want the lapsed claim settled DONE", rep, err)
				}
			},
		},
		{
			name:  "claim lapsed: request for the approved attempt",
			lapse: true,
			settle: func(t *testing.T, w *settleWorld, o *orders.Order, approved, _ string) {
				res, err := w.engine.Confirm(ctx, approved, o.ID, o.Amount)
				if err != nil || res.Outcome != OutcomeDone || res.Order.PaymentKey != approved {
					t.Fatalf("request for the approved attempt: %+v, %v; want DONE under it", res, err)
				}
			},
		},
		{
			// Toss announces the approved attempt: its record, fetched
			// with our key, settles the order.
			name: "claim live: webhook for the approved attempt",
			settle: func(t *testing.T, w *settleWorld, o *orders.Order, approved, _ string) {
				res, err := w.engine.ApplyWebhook(ctx, statusChanged(t, o.ID, approved, "DONE", o.Amount))
				if err != nil || res.Action != WebhookApplied || res.Order == nil || res.Order.PaymentKey != approved {
					t.Fatalf("webhook for the approved attempt: %+v, %v; want applied, DONE under it", res, err)
				}
			},
		},
		{
			// The claim's own attempt resumes its claim and asks Toss,
			// which refuses it as processed: the order settles under the
			// attempt Toss did approve.
			name:  "claim lapsed: refresh of the claimed attempt",
			lapse: true,
			settle: func(t *testing.T, w *settleWorld, o *orders.Order, approved, claimed string) {
				res, err := w.engine.Confirm(ctx, claimed, o.ID, o.Amount)
				wantPaidElsewhere(t, "refresh of the claimed attempt", res, err, approved)
			},
		},
	}
	for _, st := range settleStores {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					w := newSettleWorld(t, st.new(t))
					o, approved, claimed := w.stuck(t)

					// The bug: while the claim is live, the claimed attempt
					// answers processing, and no lookup is needed for it.
					res, err := w.engine.Confirm(ctx, claimed, o.ID, o.Amount)
					if err != nil || res.Outcome != OutcomeProcessing {
						t.Fatalf("refresh under the live claim: %+v, %v; want PROCESSING", res, err)
					}
					if tc.lapse {
						w.clock.Advance(time.Minute)
					}
					tc.settle(t, w, o, approved, claimed)

					got := w.get(t, o.ID)
					wantStatus := orders.StatusDone
					if tc.refunded {
						wantStatus = orders.StatusCanceled
					}
					if got.Status != wantStatus || got.PaymentKey != approved || got.Payment == nil ||
						got.Payment.TotalAmount != o.Amount || !got.ExpiresAt.IsZero() || !got.ClaimExpiresAt.IsZero() {
						t.Fatalf("order after settling: %+v (payment %+v); want %s under the approved attempt, no TTL, no claim", got, got.Payment, wantStatus)
					}
					if n := w.sandbox.ConfirmsExecuted(o.ID); n != 1 {
						t.Fatalf("Toss executed %d confirms for the order, want 1", n)
					}

					// The claimed attempt is answered "paid under another
					// attempt", not "processing", from now on.
					res, err = w.engine.Confirm(ctx, claimed, o.ID, o.Amount)
					wantPaidElsewhere(t, "refresh of the claimed attempt after settling", res, err, approved)
					// The approved attempt's own page shows it paid.
					res, err = w.engine.Confirm(ctx, approved, o.ID, o.Amount)
					if err != nil || res.Outcome != OutcomeDone {
						t.Fatalf("request for the approved attempt after settling: %+v, %v", res, err)
					}
					// Its paymentKey is refundable.
					if !tc.refunded {
						cr, err := w.engine.CancelPayment(ctx, approved, "buyer asked", 0, "")
						if err != nil || cr.Order.Status != orders.StatusCanceled {
							t.Fatalf("refund by the approved key: %+v, %v; want CANCELED", cr, err)
						}
					}
					if p, ok := w.sandbox.Payment(approved); !ok || p.Status != tosstest.StatusCanceled {
						t.Fatalf("approved payment at Toss after the refund: %+v", p)
					}
					if n := w.sandbox.ConfirmsExecuted(o.ID); n != 1 {
						t.Fatalf("Toss executed %d confirms for the order, want 1", n)
					}

					// An operator hears of it, and no log line carries a whole key.
					if n := w.metrics.count("approved_other_attempt"); n != 1 {
						t.Errorf("approved_other_attempt counted %d times, want 1", n)
					}
					logs := w.logs.String()
					if !strings.Contains(logs, `"level":"WARN"`) || !strings.Contains(logs, MaskKey(approved)) {
						t.Errorf("no warning naming the approved attempt (masked) in:\n%s", logs)
					}
					for _, k := range []string{approved, claimed} {
						if strings.Contains(logs, k) {
							t.Errorf("a log line carries the unmasked paymentKey %s:\n%s", k, logs)
						}
					}
				})
			}
		})
	}
}

// Only Toss's own answer settles an order: a request for an attempt Toss
// did not approve changes nothing, and a paymentKey that cannot be Toss's,
// or an order already paid, costs no Toss call at all.
func TestSettleNeedsTossApproval(t *testing.T) {
	ctx := context.Background()
	w := newSettleWorld(t, orders.Validated(orders.NewMemoryStore()))
	o, _, claimed := w.stuck(t)
	before := w.get(t, o.ID)

	cases := []struct {
		name        string
		paymentKey  string
		wantLookups int
	}{
		{"an attempt Toss does not know", "tgen_20261122120000unknown01", 1},
		{"an attempt authenticated, not approved", w.sandbox.Authorize(o.ID, o.Name, o.Amount), 1},
		{"not a Toss paymentKey", "tgen../../v1/payments/orders", 0},
		{"not a Toss paymentKey either", "pk with spaces", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := w.engine.Confirm(ctx, tc.paymentKey, o.ID, o.Amount)
			if err != nil || res.Outcome != OutcomeProcessing {
				t.Fatalf("confirm: %+v, %v; want PROCESSING (the claim is someone else's)", res, err)
			}
			if n := w.lookups(tc.paymentKey); n != tc.wantLookups {
				t.Fatalf("Toss was asked %d times about %q, want %d", n, tc.paymentKey, tc.wantLookups)
			}
		})
	}
	if got := w.get(t, o.ID); got.Status != orders.StatusConfirming || got.PaymentKey != claimed || got.Version != before.Version {
		t.Fatalf("order changed without Toss's approval: %+v", got)
	}

	// Once paid, a request for any other attempt is refused without a lookup.
	rep, err := w.engine.Reconcile(ctx)
	if err != nil || rep.LapsedClaims != 0 {
		t.Fatalf("reconcile under a live claim: %+v, %v", rep, err)
	}
	w.clock.Advance(time.Minute)
	if rep, err := w.engine.Reconcile(ctx); err != nil || rep.Done != 1 {
		t.Fatalf("reconcile: %+v, %v", rep, err)
	}
	other := w.sandbox.Authorize(o.ID, o.Name, o.Amount)
	if _, err := w.engine.Confirm(ctx, other, o.ID, o.Amount); !errors.Is(err, ErrNotPayable) {
		t.Fatalf("another attempt on the paid order: %v, want ErrNotPayable", err)
	}
	if n := w.lookups(other); n != 0 {
		t.Fatalf("a paid order cost %d lookups", n)
	}
}

// A FAILED order whose declined claim hid an attempt Toss approved is
// settled, not expired, when its pay window closes.
func TestReconcileSettlesOverdueFailedOrderApprovedAtToss(t *testing.T) {
	ctx := context.Background()
	w := newSettleWorld(t, orders.Validated(orders.NewMemoryStore()))
	o, approved, claimed := w.stuck(t)
	f := orders.Failure{Code: toss.CodeRejectCardCompany, Message: "declined", PaymentKey: claimed, Amount: o.Amount, At: w.clock.Now()}
	if _, err := w.store.Fail(ctx, o.ID, claimed, f, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(testPolicy.PayWindow + time.Minute)
	rep, err := w.engine.Reconcile(ctx)
	if err != nil || rep.Done != 1 || rep.Expired != 0 || rep.Errors != 0 {
		t.Fatalf("reconcile: %+v, %v; want the overdue order settled, not expired", rep, err)
	}
	if got := w.get(t, o.ID); got.Status != orders.StatusDone || got.PaymentKey != approved {
		t.Fatalf("order: %+v; want DONE under the approved attempt", got)
	}
	if n := w.sandbox.ConfirmsExecuted(o.ID); n != 1 {
		t.Fatalf("Toss executed %d confirms, want 1", n)
	}
}

// raceComplete is a store whose next Complete first lets another writer
// record the approval (from an older record of Toss's), as a confirm or an
// earlier delivery does between a webhook's read and its write.
type raceComplete struct {
	orders.Store
	before func()
}

func (r *raceComplete) Complete(ctx context.Context, id, paymentKey string, p orders.Payment, now time.Time) (*orders.Order, error) {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	return r.Store.Complete(ctx, id, paymentKey, p, now)
}

// A webhook whose Complete is refused because the approval was recorded
// meanwhile from an older record of Toss's still brings the order up to
// the refunds Toss's newer record carries (found by the simulator, seed
// 131886: the order stayed DONE while Toss showed it refunded).
func TestWebhookAfterAnOlderRecordAppliesItsRefunds(t *testing.T) {
	ctx := context.Background()
	for _, st := range settleStores {
		t.Run(st.name, func(t *testing.T) {
			store := st.new(t)
			w := newSettleWorld(t, store)
			o, err := orders.New(orders.Draft{Name: "Jeju tangerines", Amount: 27000}, w.clock.Now(), testPolicy)
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			key := w.sandbox.Authorize(o.ID, o.Name, o.Amount)
			now := w.clock.Now()
			if _, err := store.Claim(ctx, orders.Claim{OrderID: o.ID, PaymentKey: key, Amount: o.Amount, Now: now, Until: now.Add(20 * time.Second)}); err != nil {
				t.Fatal(err)
			}
			approved, err := w.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: key, OrderID: o.ID, Amount: o.Amount}, IdempotencyKey(o.ID, key))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.sandbox.DashboardCancel(key, "out of stock", 0); err != nil {
				t.Fatal(err)
			}
			// The webhook reads the order CONFIRMING and Toss's refunded
			// record; before its Complete lands, the approval is recorded
			// from the record read before the refund.
			race := &raceComplete{Store: store, before: func() {
				if _, err := store.Complete(ctx, o.ID, key, Summary(approved), w.clock.Now()); err != nil {
					t.Errorf("the other writer's Complete: %v", err)
				}
			}}
			w.engine.Orders = race
			res, err := w.engine.ApplyWebhook(ctx, statusChanged(t, o.ID, key, "CANCELED", 0))
			if err != nil {
				t.Fatal(err)
			}
			got := w.get(t, o.ID)
			if got.Status != orders.StatusCanceled || got.Payment.BalanceAmount != 0 || res.Action != WebhookApplied {
				t.Fatalf("after the webhook: %s, balance %d (%s %s); want CANCELED at 0, applied", got.Status, got.Payment.BalanceAmount, res.Action, res.Reason)
			}
			// A second delivery changes nothing.
			if res, err := w.engine.ApplyWebhook(ctx, statusChanged(t, o.ID, key, "CANCELED", 0)); err != nil || res.Action != WebhookIgnored {
				t.Fatalf("a second delivery: %+v, %v", res, err)
			}
		})
	}
}
