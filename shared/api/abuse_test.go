package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/ratelimit"
)

// What an attacker who knows nothing but an orderId can do through the
// anonymous routes, and what it can no longer do (README, "Abuse limits").

// anonymousRoute is one route an attacker reaches without a checkout
// token: send makes one request with a made-up paymentKey i on the order.
type anonymousRoute struct {
	name string
	send func(h *harness, o orderView, i int) apigw.Response
}

func webhookHook(h *harness, body string) apigw.Response {
	return h.json(h.svc.TossWebhook, rq{Method: "POST", Path: "/webhooks/toss", Headers: jsonHeaders(), Body: body})
}

var anonymousRoutes = []anonymousRoute{
	{"GET /payments/success", func(h *harness, o orderView, i int) apigw.Response {
		return h.success(o.OrderID, fmt.Sprintf("tgen_20261122120000forged%04d", i), o.Amount)
	}},
	{"POST /payments/confirm", func(h *harness, o orderView, i int) apigw.Response {
		return h.confirm(fmt.Sprintf("tgen_20261122120000forged%04d", i), o.OrderID, o.Amount, "")
	}},
	{"POST /confirm", func(h *harness, o orderView, i int) apigw.Response {
		return h.sampleFetch(confirmBody(fmt.Sprintf("tgen_20261122120000forged%04d", i), o.OrderID, o.Amount), "content-type", "application/json").resp
	}},
	{"POST /webhooks/toss (an unpaid order)", func(h *harness, o orderView, i int) apigw.Response {
		return webhookHook(h, webhookFor(o.OrderID, fmt.Sprintf("tgen_20261122120000forged%04d", i)))
	}},
	{"POST /webhooks/toss (a paid order's own paymentKey)", func(h *harness, o orderView, i int) apigw.Response {
		// The paymentKey every buyer has in its success URL, claiming a
		// refund the order has not recorded (news, were it true).
		if o.PaymentKey == "" {
			h.t.Fatal("the order is not paid")
		}
		return webhookHook(h, `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:18:14.123456","data":{"paymentKey":"`+
			o.PaymentKey+`","orderId":"`+o.OrderID+`","status":"CANCELED","balanceAmount":0}}`)
	}},
}

// paidByItsBuyer is an order paid by its buyer (through the checkout token),
// a minute ago, so the calls of its own payment are out of the window.
func (h *harness) paidByItsBuyer(name string, amount int64) orderView {
	h.t.Helper()
	o := h.createOrder(name, amount)
	pk := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	if r := h.confirmWithToken(pk, o.OrderID, o.Amount, o.CheckoutToken); r.StatusCode != 200 {
		h.t.Fatalf("confirm: %d %s", r.StatusCode, r.Body)
	}
	h.clock.Advance(orders.AttemptWindow)
	return h.getOrder(o.OrderID)
}

// confirmWithToken is POST /payments/confirm from a single-page frontend
// the merchant gave the order's checkout token.
func (h *harness) confirmWithToken(paymentKey, orderID string, amount int64, token string) apigw.Response {
	h.t.Helper()
	b, _ := json.Marshal(map[string]any{"paymentKey": paymentKey, "orderId": orderID, "amount": amount, "checkoutToken": token})
	return h.json(h.svc.ConfirmPayment, rq{Method: "POST", Path: "/payments/confirm", Headers: jsonHeaders(), Body: string(b)})
}

// TestTossCallsPerOrderPerAnonymousRoute: on every route an anonymous
// caller reaches, 60 made-up requests on one order within a minute reach
// Toss at most orders.AttemptLimit times; every other answer is 429 with
// Retry-After in seconds (a page for the success route), never a 5xx.
// Forged webhooks naming a paid order's own paymentKey were not bounded at
// all before (each made a lookup).
func TestTossCallsPerOrderPerAnonymousRoute(t *testing.T) {
	for _, route := range anonymousRoutes {
		t.Run(route.name, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			if strings.Contains(route.name, "paid") {
				o = h.paidByItsBuyer("Hanbok", 39000)
			}
			before := h.tossRequests()
			limited := 0
			for i := range 60 {
				r := route.send(h, o, i)
				switch r.StatusCode {
				case http.StatusTooManyRequests:
					limited++
					if s, err := strconv.Atoi(r.Headers["Retry-After"]); err != nil || s < 1 || s > 60 {
						t.Fatalf("429 with Retry-After %q", r.Headers["Retry-After"])
					}
				default:
					if r.StatusCode >= 500 {
						t.Fatalf("request %d: %d %s", i, r.StatusCode, r.Body)
					}
				}
				h.clock.Advance(time.Second / 2)
			}
			if n := h.tossRequests() - before; n > orders.AttemptLimit || limited < 60-orders.AttemptLimit {
				t.Fatalf("%d Toss calls and %d answers 429 in 30 s, want at most %d calls", n, limited, orders.AttemptLimit)
			}
		})
	}
}

// TestTossCallCeilingAcrossOrders: an attacker who knows many orderIds
// spreads over them, every route at once: the ceiling across orders caps
// the Toss calls of the minute whatever the number of orders, and the
// answers beyond it are 429 with Retry-After up to the minute's end. The
// buyer with the checkout token is neither counted nor refused.
func TestTossCallCeilingAcrossOrders(t *testing.T) {
	h := newHarness(t)
	const ceiling = 12
	// Shards picked in turn, so the ceiling fills exactly (random picks
	// may leave a call of it unused: a bound, never a promise).
	turn := 0
	h.svc.Engine.Ceiling = &ratelimit.Ceiling{Name: "test", PerMinute: ceiling, Counter: &ratelimit.MemoryCounter{},
		Pick: func(n int) int { turn++; return turn % n }}
	var targets []orderView
	for i := range 8 {
		targets = append(targets, h.createOrder(fmt.Sprintf("Target %d", i), 39000))
	}
	paid := h.paidByItsBuyer("Paid", 39000)
	// Start the minute afresh (paidByItsBuyer moved the clock) and stay inside it.
	now := h.clock.Now()
	h.clock.Advance(now.Truncate(time.Minute).Add(time.Minute + time.Second).Sub(now))
	before := h.tossRequests()
	limited := 0
	n := 0
	for i, o := range targets {
		for _, route := range anonymousRoutes {
			target := o
			if strings.Contains(route.name, "paid") {
				target = paid
			}
			for j := range 3 {
				n++
				r := route.send(h, target, 100*i+10*j+len(route.name))
				if r.StatusCode == http.StatusTooManyRequests {
					limited++
				} else if r.StatusCode >= 500 {
					t.Fatalf("%s: %d %s", route.name, r.StatusCode, r.Body)
				}
			}
		}
	}
	if got := h.tossRequests() - before; got != ceiling {
		t.Fatalf("%d anonymous requests over %d orders made %d Toss calls in the minute, want the ceiling, %d", n, len(targets)+1, got, ceiling)
	}
	// The buyer of an attacked order, through the checkout token: paid.
	o := targets[0]
	pk := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	if r := h.confirmWithToken(pk, o.OrderID, o.Amount, o.CheckoutToken); r.StatusCode != 200 {
		t.Fatalf("the token holder over the ceiling: %d %s", r.StatusCode, r.Body)
	}
}

// TestTokenHolderPaysWhileTheAnonymousBudgetIsSpent: whoever knows the
// orderId has spent the order's anonymous budget. The buyer who came
// through the checkout URL pays at once, on the success redirect (the
// successUrl the checkout page handed Toss carries the token) and on the
// single-page confirm (the checkoutToken field); without the token, the
// same buyer would have waited (429).
func TestTokenHolderPaysWhileTheAnonymousBudgetIsSpent(t *testing.T) {
	for _, entry := range []string{"success redirect", "single-page confirm"} {
		t.Run(entry, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			for i := range orders.AttemptLimit + 3 {
				h.confirm(fmt.Sprintf("tgen_20261122120000forged%04d", i), o.OrderID, o.Amount, "")
			}
			pk := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
			wantError(t, h.confirm(pk, o.OrderID, o.Amount, ""), http.StatusTooManyRequests, "TOO_MANY_REQUESTS")
			switch entry {
			case "success redirect":
				q := url.Values{"lang": {"en"}, "token": {o.CheckoutToken}, "paymentType": {"NORMAL"}, "orderId": {o.OrderID}, "paymentKey": {pk}, "amount": {"39000"}}
				wantPage(t, h.page(h.svc.PaymentSuccess, rq{Method: "GET", Path: "/payments/success", Query: q.Encode()}), 200, "done")
			default:
				var p paymentView
				wantEntity(t, h.confirmWithToken(pk, o.OrderID, o.Amount, o.CheckoutToken), 200, "payment", &p)
			}
			if h.sb.ConfirmsExecuted(o.OrderID) != 1 {
				t.Fatalf("executed %d confirms", h.sb.ConfirmsExecuted(o.OrderID))
			}
		})
	}
}

// TestAnonymousIdempotencyKeysCannotDeny: the poisoning a black-box run
// found. An attacker guesses the Idempotency-Key a frontend will send (the
// orderId) and stores an answer under it first: a refused amount with a
// made-up paymentKey. The buyer's real confirm under that key was 422
// IDEMPOTENCY_KEY_REUSED for 15 days; keys of anonymous confirms are now
// scoped by the payment they confirm (orderId, paymentKey, amount), so the
// buyer's confirm never meets the attacker's record, on either confirm
// route. The same payment under the same key is still replayed, whatever
// the JSON's form; the merchant's routes keep caller-wide keys (422).
func TestAnonymousIdempotencyKeysCannotDeny(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	guess := o.OrderID
	wantError(t, h.confirm("tgen_20261122120000forged0001", o.OrderID, 100, guess), http.StatusBadRequest, "AMOUNT_MISMATCH")
	if a := h.sampleFetch(confirmBody("tgen_20261122120000forged0002", o.OrderID, 100), "content-type", "application/json", "idempotency-key", guess); a.status != 400 {
		t.Fatalf("attacker on POST /confirm: %d %s", a.status, a.resp.Body)
	}
	pk := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	var p paymentView
	wantEntity(t, h.confirm(pk, o.OrderID, o.Amount, guess), 200, "payment", &p)
	if p.Status != "DONE" {
		t.Fatalf("the buyer's confirm under the poisoned key: %+v", p)
	}
	// The same payment, the amount as the success URL's string: a replay.
	body := `{"paymentKey":"` + pk + `","orderId":"` + o.OrderID + `","amount":"39000"}`
	r := h.json(h.svc.ConfirmPayment, rq{Method: "POST", Path: "/payments/confirm", Headers: jsonHeaders("idempotency-key", guess), Body: body})
	if r.StatusCode != 200 || r.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("the same payment again: %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
	// On POST /confirm, whose frontends send no key of their own as often.
	o2 := h.createOrder("Hanbok", 39000)
	if a := h.sampleFetch(confirmBody("tgen_20261122120000forged0003", o2.OrderID, 100), "content-type", "application/json", "idempotency-key", o2.OrderID); a.status != 400 {
		t.Fatalf("attacker on POST /confirm: %d", a.status)
	}
	pk2 := h.sb.Authorize(o2.OrderID, o2.OrderName, o2.Amount)
	if a := h.samplePage(successURL(o2.OrderID, pk2, "39000"), "idempotency-key", o2.OrderID); a.status != 200 || a.str("status") != "DONE" {
		t.Fatalf("the buyer's confirm under the poisoned key on POST /confirm: %d %s", a.status, a.resp.Body)
	}
	// The merchant's own routes keep their rule: another body, 422.
	hd := jsonHeaders("idempotency-key", "merchant-key-1")
	h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: hd, Body: createBody("Tea", 1000)})
	wantError(t, h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: hd, Body: createBody("Tea", 2000)}),
		http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED")
}

// The checkout token is a secret: it is in no log line, whatever route
// carried it (only the pages and answers that belong to its holder show it).
func TestCheckoutTokenIsNeverLogged(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	cu, _ := url.Parse(o.CheckoutURL)
	h.page(h.svc.Checkout, rq{Method: "GET", Path: cu.Path, Query: cu.RawQuery, Params: map[string]string{"orderId": o.OrderID}})
	h.confirmWithToken("tgen_20261122120000forged0001", o.OrderID, o.Amount, o.CheckoutToken)
	pk := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	for _, tok := range []string{o.CheckoutToken + "x", o.CheckoutToken} {
		q := url.Values{"token": {tok}, "orderId": {o.OrderID}, "paymentKey": {pk}, "amount": {"39000"}}
		h.page(h.svc.PaymentSuccess, rq{Method: "GET", Path: "/payments/success", Query: q.Encode()})
	}
	h.confirmWithToken(pk, o.OrderID, o.Amount, o.CheckoutToken)
	h.page(h.svc.PaymentFail, rq{Method: "GET", Path: "/payments/fail", Query: "code=X&orderId=" + o.OrderID + "&token=" + o.CheckoutToken})
	if logs := h.log.String(); strings.Contains(logs, o.CheckoutToken) || strings.Contains(logs, o.CheckoutToken[:12]) {
		t.Fatalf("a log line carries the checkout token:\n%s", logs)
	}
}

// Order events leave the checkout token out: no checkoutToken, and a
// checkoutUrl without it (the link still works, on the anonymous budget).
// GET /orders shows both.
func TestOrderViewOfEventsLeavesTheTokenOut(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	if !strings.Contains(o.CheckoutURL, o.CheckoutToken) || o.CheckoutToken == "" {
		t.Fatalf("GET /orders: %+v", o)
	}
	h.svc.Config.PublicBaseURL = "https://pay.example.com"
	b, err := json.Marshal(h.svc.OrderView(h.storedOrder(o.OrderID)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), o.CheckoutToken) || strings.Contains(string(b), "checkoutToken") ||
		!strings.Contains(string(b), `"checkoutUrl":"https://pay.example.com/checkout/`+o.OrderID+`"`) {
		t.Fatalf("the events' view of the order: %s", b)
	}
}
