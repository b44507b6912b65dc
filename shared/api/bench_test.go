package api_test

// Warm CPU per request, I/O excluded: each buyer and merchant handler runs
// through its Lambda wrapper (logging and metrics formatted, then
// discarded) over in-memory stores, a Toss gateway that answers at once and
// static keys. The requests are the sample events in events/, with a fresh
// order (and Idempotency-Key) per iteration where the event would otherwise
// only repeat itself. `make bench` runs these and reports them beside
// the targets (100 µs per confirm, 300 µs per page).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	sampleevents "github.com/tossintl/backend/events"
	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/config"
	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/obs"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/secrets"
	"github.com/tossintl/backend/shared/toss"
)

// instantGateway is a Toss that approves every confirm at once.
type instantGateway struct{}

var errNotBenchmarked = errors.New("not part of the benchmarked paths")

func (instantGateway) Confirm(_ context.Context, req toss.ConfirmRequest, _ string, _ ...toss.CallOption) (*toss.Payment, error) {
	now := time.Now()
	return &toss.Payment{
		Version: "2022-11-16", PaymentKey: req.PaymentKey, Type: "NORMAL", OrderID: req.OrderID, OrderName: "Hanbok rental, 1 day",
		MID: "tosspayments", Currency: "KRW", Method: "카드", TotalAmount: req.Amount, BalanceAmount: req.Amount,
		Status: toss.StatusDone, RequestedAt: &toss.Time{Time: now.Add(-time.Minute)}, ApprovedAt: &toss.Time{Time: now},
		Card: &toss.Card{Amount: req.Amount, IssuerCode: "4V", AcquirerCode: "4V", Number: "40000000****123*", ApproveNo: "00000000",
			CardType: "신용", OwnerType: "개인", AcquireStatus: "READY"},
		Receipt: &toss.URLHolder{URL: "https://dashboard.tosspayments.com/receipt/redirection?transactionId=" + req.PaymentKey},
		Country: "KR",
	}, nil
}

func (instantGateway) Payment(context.Context, string, ...toss.CallOption) (*toss.Payment, error) {
	return nil, errNotBenchmarked
}

func (instantGateway) PaymentByOrderID(context.Context, string, ...toss.CallOption) (*toss.Payment, error) {
	return nil, errNotBenchmarked
}

func (instantGateway) Cancel(context.Context, string, toss.CancelRequest, string, ...toss.CallOption) (*toss.Payment, error) {
	return nil, errNotBenchmarked
}

var _ payments.Gateway = instantGateway{}

// staticKeys is a KeySource that never reloads.
type staticKeys secrets.Keys

func (k staticKeys) Keys(context.Context) (secrets.Keys, error) { return secrets.Keys(k), nil }

// benchEnv is one warm execution environment over in-memory fakes.
type benchEnv struct {
	svc    *api.Service
	store  orders.Store
	policy orders.Policy
}

func newBenchEnv(b *testing.B, function string) *benchEnv {
	b.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		b.Fatalf("default config: %v", err)
	}
	store := orders.Validated(orders.NewMemoryStore())
	log := obs.NewLogger(io.Discard, function)
	metrics := obs.NewMetrics(io.Discard, function)
	keys := staticKeys{TossSecretKey: "test_sk_benchmarkbenchmarkbench", TossClientKey: "test_ck_benchmarkbenchmarkbench",
		MerchantAPIKey: eventMerchantKey(b)}
	svc := &api.Service{
		Orders:  store,
		Engine:  &payments.Engine{Orders: store, Toss: instantGateway{}, Logger: log, Metrics: metrics},
		Keys:    keys,
		Guard:   idempotency.New(idempotency.NewMemoryStore(), idempotency.Options{}),
		Config:  cfg,
		Log:     log,
		Metrics: metrics,
	}
	return &benchEnv{svc: svc, store: store,
		policy: orders.Policy{MaxAmount: cfg.MaxOrderAmount, PayWindow: cfg.UnpaidWindow, Retention: cfg.ExpiredRetention}}
}

// newOrder stores a fresh PENDING order like the events' (39000 KRW).
func (e *benchEnv) newOrder(b *testing.B) *orders.Order {
	b.Helper()
	o, err := orders.New(orders.Draft{Name: "Hanbok rental, 1 day", Amount: 39000}, time.Now(), e.policy)
	if err != nil {
		b.Fatal(err)
	}
	if err := e.store.Create(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	return o
}

// readEvent reads events/<name> as the text it is, for per-iteration edits.
func readEvent(b testing.TB, name string) string {
	b.Helper()
	raw, err := sampleevents.Read(name)
	if err != nil {
		b.Fatal(err)
	}
	return string(raw)
}

func decodeEvent(b testing.TB, text string) apigw.Request {
	b.Helper()
	var r apigw.Request
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		b.Fatalf("event: %v", err)
	}
	return r
}

// eventMerchantKey is the merchant key the sample events authenticate with.
func eventMerchantKey(b testing.TB) string {
	r := decodeEvent(b, readEvent(b, "create-order.json"))
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Headers["authorization"], "Basic "))
	if err != nil {
		b.Fatalf("create-order.json authorization: %v", err)
	}
	return strings.TrimSuffix(string(raw), ":")
}

// benchRequests runs handler over b.N requests that prepare builds, in
// batches prepared with the timer stopped, and checks every status.
func benchRequests(b *testing.B, handler api.LambdaHandler, want int, prepare func(i int) apigw.Request) {
	b.Helper()
	const batch = 256
	ctx := context.Background()
	reqs := make([]apigw.Request, 0, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		b.StopTimer()
		reqs = reqs[:0]
		for j := 0; j < batch && i+j < b.N; j++ {
			reqs = append(reqs, prepare(i+j))
		}
		b.StartTimer()
		for _, r := range reqs {
			resp, err := handler(ctx, r)
			if err != nil || resp.StatusCode != want {
				b.Fatalf("%s: status %d (want %d), error %v: %.300s", r.RouteKey, resp.StatusCode, want, err, resp.Body)
			}
		}
		i += len(reqs)
	}
}

// same answers every iteration with one request.
func same(r apigw.Request) func(int) apigw.Request {
	return func(int) apigw.Request { return r }
}

func withHeader(r apigw.Request, k, v string) apigw.Request {
	r.Headers = maps.Clone(r.Headers)
	if v == "" {
		delete(r.Headers, k)
	} else {
		r.Headers[k] = v
	}
	return r
}

func BenchmarkConfirm(b *testing.B) {
	text := readEvent(b, "confirm-payment.json")
	// fresh: a first confirm of a new order per iteration.
	fresh := func(e *benchEnv, key func(i int) string) func(int) apigw.Request {
		return func(i int) apigw.Request {
			o := e.newOrder(b)
			t := strings.ReplaceAll(text, sampleevents.ConfirmOrderID, o.ID)
			t = strings.ReplaceAll(t, sampleevents.ConfirmKey, fmt.Sprintf("tgen_bench%020d", i))
			t = strings.ReplaceAll(t, "52000", "39000")
			return withHeader(decodeEvent(b, t), "idempotency-key", key(i))
		}
	}
	b.Run("first", func(b *testing.B) {
		e := newBenchEnv(b, "ConfirmPaymentFunction")
		benchRequests(b, e.svc.JSON(e.svc.ConfirmPayment), 200, fresh(e, func(int) string { return "" }))
	})
	b.Run("first-idempotency-key", func(b *testing.B) {
		e := newBenchEnv(b, "ConfirmPaymentFunction")
		benchRequests(b, e.svc.JSON(e.svc.ConfirmPayment), 200, fresh(e, func(i int) string { return fmt.Sprintf("confirm-bench-%d", i) }))
	})
	b.Run("repeat-done", func(b *testing.B) {
		e := newBenchEnv(b, "ConfirmPaymentFunction")
		r := fresh(e, func(int) string { return "" })(0)
		h := e.svc.JSON(e.svc.ConfirmPayment)
		if resp, _ := h(context.Background(), r); resp.StatusCode != 200 {
			b.Fatalf("first confirm: %d %s", resp.StatusCode, resp.Body)
		}
		benchRequests(b, h, 200, same(r))
	})
}

func BenchmarkSuccess(b *testing.B) {
	text := readEvent(b, "payment-success.json")
	e := newBenchEnv(b, "PaymentSuccessFunction")
	benchRequests(b, e.svc.Page(e.svc.PaymentSuccess), 200, func(i int) apigw.Request {
		o := e.newOrder(b)
		t := strings.ReplaceAll(text, sampleevents.PaidOrderID, o.ID)
		return decodeEvent(b, strings.ReplaceAll(t, sampleevents.PaymentKey, fmt.Sprintf("tgen_bench%020d", i)))
	})
}

func BenchmarkFail(b *testing.B) {
	e := newBenchEnv(b, "PaymentFailFunction")
	o := e.newOrder(b)
	r := decodeEvent(b, strings.ReplaceAll(readEvent(b, "payment-fail.json"), sampleevents.OrderID, o.ID))
	benchRequests(b, e.svc.Page(e.svc.PaymentFail), 200, same(r))
}

func BenchmarkCheckout(b *testing.B) {
	e := newBenchEnv(b, "CheckoutFunction")
	o := e.newOrder(b)
	r := decodeEvent(b, strings.ReplaceAll(readEvent(b, "checkout.json"), sampleevents.OrderID, o.ID))
	benchRequests(b, e.svc.Page(e.svc.Checkout), 200, same(r))
}

func BenchmarkCreateOrder(b *testing.B) {
	r := decodeEvent(b, readEvent(b, "create-order.json"))
	b.Run("plain", func(b *testing.B) {
		e := newBenchEnv(b, "CreateOrderFunction")
		benchRequests(b, e.svc.JSON(e.svc.CreateOrder), 200, same(withHeader(r, "idempotency-key", "")))
	})
	b.Run("idempotency-key", func(b *testing.B) {
		e := newBenchEnv(b, "CreateOrderFunction")
		benchRequests(b, e.svc.JSON(e.svc.CreateOrder), 200, func(i int) apigw.Request {
			return withHeader(r, "idempotency-key", fmt.Sprintf("create-bench-%d", i))
		})
	})
}
