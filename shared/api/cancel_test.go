package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/toss"
)

// refund is POST /payments/{paymentKey}/cancel with body, an optional
// Idempotency-Key and the Authorization header auth.
func (h *harness) refund(paymentKey, body, idemKey, auth string) apigw.Response {
	h.t.Helper()
	headers := jsonHeaders()
	if idemKey != "" {
		headers["idempotency-key"] = idemKey
	}
	return h.json(h.svc.CancelPayment, rq{Method: "POST", Path: "/payments/" + paymentKey + "/cancel", Auth: auth, Headers: headers,
		Params: map[string]string{"paymentKey": paymentKey}, Body: body})
}

func refundBody(amount int64) string {
	m := map[string]any{"cancelReason": "customer request"}
	if amount > 0 {
		m["cancelAmount"] = amount
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestCancelPaymentRoute(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	if resp := h.confirm(key, o.OrderID, o.Amount, ""); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d %s", resp.StatusCode, resp.Body)
	}
	other := h.createOrder("Tea", 1000)

	cases := []struct {
		name   string
		pk     string
		body   string
		auth   string
		status int
		code   string
	}{
		{"no merchant key", key, refundBody(1000), "", 401, "UNAUTHORIZED_KEY"},
		{"unknown payment", "tgen_unknown_payment_0001", refundBody(1000), authHeader(), 404, "NOT_FOUND_ORDER"},
		{"over the balance", key, refundBody(40000), authHeader(), 400, "EXCEED_CANCEL_AMOUNT"},
		{"no reason", key, `{"cancelAmount":1000}`, authHeader(), 400, "INVALID_REQUEST"},
		{"amount as a string", key, `{"cancelReason":"x","cancelAmount":"1000"}`, authHeader(), 400, "INVALID_REQUEST"},
		{"negative amount", key, `{"cancelReason":"x","cancelAmount":-1}`, authHeader(), 400, "INVALID_REQUEST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, h.refund(c.pk, c.body, "", c.auth), c.status, c.code)
		})
	}
	if n := len(h.sb.Requests()); n == 0 {
		t.Fatal("no Toss traffic at all?")
	}
	for _, rq := range h.sb.Requests() {
		if rq.Method == "POST" && rq.Path != "/v1/payments/confirm" {
			t.Fatalf("a refused refund reached Toss: %s %s", rq.Method, rq.Path)
		}
	}

	// A partial refund, its retry, the rest, and Toss's refusal of a third.
	r := h.refund(key, refundBody(9000), "r-1", authHeader())
	if r.StatusCode != 200 || !contains(r.Body, `"status":"PARTIAL_CANCELED"`, `"balanceAmount":30000`, `"repeated":false`) {
		t.Fatalf("partial refund: %d %s", r.StatusCode, r.Body)
	}
	if r = h.refund(key, refundBody(9000), "r-1", authHeader()); r.StatusCode != 200 || r.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("retry: %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
	if r = h.refund(key, refundBody(0), "r-2", authHeader()); r.StatusCode != 200 || !contains(r.Body, `"status":"CANCELED"`, `"balanceAmount":0`) {
		t.Fatalf("rest: %d %s", r.StatusCode, r.Body)
	}
	if r = h.refund(key, refundBody(0), "r-3", authHeader()); r.StatusCode != 400 || !contains(r.Body, `"NOT_CANCELABLE_ORDER"`) {
		t.Fatalf("after the full refund: %d %s", r.StatusCode, r.Body)
	}
	if p, _ := h.sb.Payment(key); p.BalanceAmount != 0 || len(p.Cancels) != 2 {
		t.Fatalf("sandbox: balance %d, %d refunds", p.BalanceAmount, len(p.Cancels))
	}
	// An unpaid order has nothing to refund (its paymentKey is unknown to Toss).
	if r = h.refund("tgen_"+other.OrderID, refundBody(0), "", authHeader()); r.StatusCode != 404 {
		t.Fatalf("unpaid order: %d %s", r.StatusCode, r.Body)
	}
}

// lookupsFail is a Toss whose payment lookups fail: a refund whose answer
// was lost then cannot be verified.
type lookupsFail struct{ payments.Gateway }

func (lookupsFail) Payment(context.Context, string, ...toss.CallOption) (*toss.Payment, error) {
	return nil, &toss.Error{Method: "GET", Path: "/v1/payments/x", Err: errors.New("connection reset")}
}

func TestCancelOutcomeUnknown(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	if resp := h.confirm(key, o.OrderID, o.Amount, ""); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	real := h.svc.Engine.Toss
	h.sb.CancelThenDrop(100)
	// The lookup that finds the order works; the one that would verify the refund does not.
	calls := 0
	h.svc.Engine.Toss = firstLookupWorks{Gateway: real, calls: &calls}
	r := h.refund(key, refundBody(5000), "unknown-1", authHeader())
	if r.StatusCode != http.StatusServiceUnavailable || !contains(r.Body, `"CANCEL_OUTCOME_UNKNOWN"`) {
		t.Fatalf("refund with a lost answer: %d %s", r.StatusCode, r.Body)
	}
	// Retrying the same request once Toss answers again refunds nothing more.
	h.sb.CancelThenDrop(0)
	h.svc.Engine.Toss = real
	r = h.refund(key, refundBody(5000), "unknown-1", authHeader())
	if r.StatusCode != 200 || !contains(r.Body, `"balanceAmount":34000`) {
		t.Fatalf("retry: %d %s", r.StatusCode, r.Body)
	}
	if p, _ := h.sb.Payment(key); p.BalanceAmount != 34000 || len(p.Cancels) != 1 {
		t.Fatalf("sandbox: balance %d, %d refunds", p.BalanceAmount, len(p.Cancels))
	}
}

type firstLookupWorks struct {
	payments.Gateway
	calls *int
}

func (g firstLookupWorks) Payment(ctx context.Context, pk string, opts ...toss.CallOption) (*toss.Payment, error) {
	*g.calls++
	if *g.calls == 1 {
		return g.Gateway.Payment(ctx, pk, opts...)
	}
	return lookupsFail{}.Payment(ctx, pk, opts...)
}

// When Toss refuses our own secret key, the merchant is not told their key
// is wrong: it is our outage, and nothing was refunded.
func TestCancelWithOurKeyRefusedIsOurOutage(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	if resp := h.confirm(key, o.OrderID, o.Amount, ""); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	h.sb.RotateSecretKey("test_sk_sandbox_rotated_elsewhere_01")
	r := h.refund(key, refundBody(1000), "", authHeader())
	if r.StatusCode != http.StatusServiceUnavailable || !contains(r.Body, `"SERVICE_UNAVAILABLE"`) {
		t.Fatalf("refund with our key refused: %d %s", r.StatusCode, r.Body)
	}
	if p, _ := h.sb.Payment(key); p.BalanceAmount != 39000 {
		t.Fatalf("balance %d", p.BalanceAmount)
	}
}

// raceRefunds sends n refunds of paymentKey at once; body and key give
// request i's body and Idempotency-Key.
func (h *harness) raceRefunds(n int, paymentKey string, body func(i int) string, key func(i int) string) []apigw.Response {
	h.t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	out := make([]apigw.Response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = h.refund(paymentKey, body(i), key(i), authHeader())
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func (h *harness) paidOrder(name string, amount int64) string {
	h.t.Helper()
	o := h.createOrder(name, amount)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	if resp := h.confirm(key, o.OrderID, o.Amount, ""); resp.StatusCode != 200 {
		h.t.Fatalf("confirm: %d %s", resp.StatusCode, resp.Body)
	}
	return key
}

func cancelRequests(h *harness) int {
	n := 0
	for _, r := range h.sb.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/cancel") {
			n++
		}
	}
	return n
}

// Eight identical refunds without an Idempotency-Key are one refund: one
// answer says repeated:false, so a merchant counting answers books one.
func TestConcurrentIdenticalRefundsAnswerOneNew(t *testing.T) {
	h := newHarness(t)
	key := h.paidOrder("Hanbok", 39000)
	resps := h.raceRefunds(8, key, func(int) string { return refundBody(5000) }, func(int) string { return "" })
	fresh := 0
	for i, r := range resps {
		if r.StatusCode != 200 || !contains(r.Body, `"balanceAmount":34000`) {
			t.Fatalf("request %d: %d %s", i, r.StatusCode, r.Body)
		}
		if contains(r.Body, `"repeated":false`) {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d answers say repeated:false, want 1", fresh)
	}
	if p, _ := h.sb.Payment(key); p.BalanceAmount != 34000 || len(p.Cancels) != 1 {
		t.Fatalf("sandbox: balance %d, %d refunds", p.BalanceAmount, len(p.Cancels))
	}
}

// Ten different refunds of 6,000 on 20,000: three are done, seven are
// refused 400 EXCEED_CANCEL_AMOUNT, and Toss hears of the three only.
func TestConcurrentRefundsOverTheBalanceAreOurs(t *testing.T) {
	h := newHarness(t)
	key := h.paidOrder("Tea set", 20000)
	resps := h.raceRefunds(10, key, func(int) string { return refundBody(6000) }, func(i int) string { return fmt.Sprintf("return-%d", i) })
	done, refused := 0, 0
	for i, r := range resps {
		switch {
		case r.StatusCode == 200 && contains(r.Body, `"repeated":false`):
			done++
		case r.StatusCode == 400 && contains(r.Body, `"EXCEED_CANCEL_AMOUNT"`):
			refused++
		default:
			t.Errorf("request %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
	if done != 3 || refused != 7 {
		t.Fatalf("%d done, %d refused; want 3 and 7", done, refused)
	}
	if n := cancelRequests(h); n != 3 {
		t.Fatalf("the sandbox received %d cancel requests, want 3", n)
	}
	if p, _ := h.sb.Payment(key); p.BalanceAmount != 2000 || len(p.Cancels) != 3 {
		t.Fatalf("sandbox: balance %d, %d refunds", p.BalanceAmount, len(p.Cancels))
	}
}
