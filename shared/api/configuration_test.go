package api_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/obs"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// answering makes every Toss call of h's engine carry
// TossPayments-Test-Code: code, so the sandbox answers that error, as Toss
// does with a test key. "" goes back to normal.
func (h *harness) answering(code string) {
	h.t.Helper()
	client, err := toss.New(toss.Options{
		BaseURL:   h.sb.URL,
		SecretKey: toss.StaticKey(h.sb.SecretKey()),
		Retry:     toss.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
		TestCode:  code,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.svc.Engine.Toss = client
}

// successWithToken is GET /payments/success as Toss redirects the buyer
// whose window the checkout page opened: the successUrl carries the
// order's checkout token.
func (h *harness) successWithToken(o orderView, paymentKey string) apigw.Response {
	h.t.Helper()
	q := url.Values{"lang": {"en"}, "token": {o.CheckoutToken}, "paymentType": {"NORMAL"}, "orderId": {o.OrderID},
		"paymentKey": {paymentKey}, "amount": {strconv.FormatInt(o.Amount, 10)}}
	return h.page(h.svc.PaymentSuccess, rq{Method: "GET", Path: "/payments/success", Query: q.Encode()})
}

// wantUnblamed checks the order is as it was before the attempt: payable,
// no failure recorded, no paymentKey held, nothing executed at Toss.
func (h *harness) wantUnblamed(o orderView) {
	h.t.Helper()
	got := h.storedOrder(o.OrderID)
	if got.Status != orders.StatusPending || got.LastFailure != nil || got.PaymentKey != "" {
		h.t.Errorf("order after a configuration outage: %s, key %q, failure %+v; want PENDING, unblamed", got.Status, got.PaymentKey, got.LastFailure)
	}
	if n := h.sb.ConfirmsExecuted(o.OrderID); n != 0 {
		h.t.Errorf("%d confirms executed", n)
	}
}

// wantOutage checks the API's answer to a configuration outage: 503
// PAYMENTS_UNAVAILABLE in the API's error format, with Retry-After.
func wantOutage(t *testing.T, resp apigw.Response) {
	t.Helper()
	e := decodeEnvelope(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || e.Error == nil || e.Error.Code != "PAYMENTS_UNAVAILABLE" {
		t.Fatalf("want 503 PAYMENTS_UNAVAILABLE, got %d %s", resp.StatusCode, resp.Body)
	}
	if s, err := strconv.Atoi(resp.Headers["Retry-After"]); err != nil || s < 1 {
		t.Errorf("Retry-After %q", resp.Headers["Retry-After"])
	}
	if !strings.Contains(e.Error.Message, "charged") && !strings.Contains(e.Error.Message, "결제되지") {
		t.Errorf("the message does not say nothing was charged: %q", e.Error.Message)
	}
}

// TestTossConfigurationIsAnOutage: Toss refusing the merchant's keys, MID
// or contract is no decline. The order stays payable and unblamed, the
// caller hears that payments are unavailable and nothing was charged, and
// once the configuration is fixed the buyer pays. (With a new window: Toss
// keeps its answer under the attempt's Idempotency-Key for as long as the
// secret key is the same, as the sandbox does.)
func TestTossConfigurationIsAnOutage(t *testing.T) {
	for _, code := range []string{toss.CodeInvalidAPIKey, "NOT_FOUND_TERMINAL_ID", "NOT_REGISTERED_BUSINESS", "UNAPPROVED_ORDER_ID", toss.CodeIncorrectBasicAuthFormat} {
		t.Run("confirm/"+code, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
			h.answering(code)
			wantOutage(t, h.confirm(key, o.OrderID, o.Amount, "config-key"))
			h.wantUnblamed(o)
			if view := h.getOrder(o.OrderID); view.LastFailure != nil {
				t.Errorf("GET /orders shows a failure: %+v", view.LastFailure)
			}

			h.answering("")
			again := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
			var p paymentView
			wantEntity(t, h.confirm(again, o.OrderID, o.Amount, "config-key-2"), 200, "payment", &p)
			if p.Status != "DONE" || h.sb.ConfirmsExecuted(o.OrderID) != 1 {
				t.Errorf("after the fix: %+v", p)
			}
		})
	}

	t.Run("success page", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		h.answering(toss.CodeInvalidAPIKey)
		resp := h.successWithToken(o, key)
		wantPage(t, resp, http.StatusServiceUnavailable, "payments-unavailable")
		if resp.Headers["Retry-After"] == "" {
			t.Error("no Retry-After")
		}
		if !strings.Contains(resp.Body, "Nothing was charged") {
			t.Errorf("the page does not say nothing was charged:\n%s", resp.Body)
		}
		if href := linkHref(resp.Body, "back"); !strings.HasPrefix(href, o.checkoutPage()+"?token=") {
			t.Errorf("way back %q, want the order's checkout with its token", href)
		}
		h.wantUnblamed(o)
		h.answering("")
		wantPage(t, h.successWithToken(o, h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)), 200, "done")
	})

	t.Run("Toss's sample route", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		h.answering(toss.CodeInvalidAPIKey)
		a := h.samplePage(successURL(o.OrderID, key, "39000"))
		if a.ok || a.status != http.StatusServiceUnavailable || a.str("code") != "PAYMENTS_UNAVAILABLE" || a.resp.Headers["Retry-After"] == "" {
			t.Fatalf("got %d %s %v", a.status, a.resp.Body, a.resp.Headers)
		}
		h.wantUnblamed(o)
	})

	// The secret key re-issued at Toss and not yet in the secret: Toss
	// refuses it (401) and the reloaded secret holds the same key.
	t.Run("UNAUTHORIZED_KEY", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		h.sb.RotateSecretKey("test_sk_reissued000000000000000000")
		addSecret("test_sk_reissued000000000000000000")
		wantOutage(t, h.confirm(key, o.OrderID, o.Amount, ""))
		h.wantUnblamed(o)
	})
}

// TestKeysOfTwoMIDs: the checkout page opened the window with a client key
// of one MID, and the secret key is another MID's. Toss answers the confirm
// NOT_FOUND_PAYMENT_SESSION and knows no such payment under our key. For
// the buyer who came through the checkout page (the token), that is our
// configuration; for anyone else it stays an attempt Toss never issued (a
// made-up paymentKey is answered the same way, and nobody without the
// token may trip the alarm at will). The sandbox answers a paymentKey it
// never issued exactly so.
func TestKeysOfTwoMIDs(t *testing.T) {
	const otherMID = "tgen_20261129120000otherMIDpk01"
	t.Run("the checkout page's buyer: an outage, counted", func(t *testing.T) {
		h := newHarness(t)
		var emf bytes.Buffer
		h.svc.Engine.Metrics = obs.NewMetrics(&emf, "PaymentSuccessFunction")
		o := h.createOrder("Hanbok", 39000)
		resp := h.successWithToken(o, otherMID)
		wantPage(t, resp, http.StatusServiceUnavailable, "payments-unavailable")
		h.wantUnblamed(o)
		if !strings.Contains(emf.String(), `"TossConfigurationErrors":1`) || !strings.Contains(emf.String(), `"Code":"NOT_FOUND_PAYMENT_SESSION"`) {
			t.Errorf("no TossConfigurationErrors line:\n%s", emf.String())
		}
		wantOutage(t, h.confirmWithToken(otherMID, o.OrderID, o.Amount, o.CheckoutToken))
	})
	t.Run("anyone else: never issued, as before", func(t *testing.T) {
		h := newHarness(t)
		var emf bytes.Buffer
		h.svc.Engine.Metrics = obs.NewMetrics(&emf, "ConfirmPaymentFunction")
		o := h.createOrder("Hanbok", 39000)
		wantError(t, h.confirm(otherMID, o.OrderID, o.Amount, ""), http.StatusNotFound, toss.CodeNotFoundPaymentSession)
		wantPage(t, h.success(o.OrderID, otherMID, o.Amount), 200, "declined")
		h.wantUnblamed(o)
		if strings.Contains(emf.String(), "TossConfigurationErrors") {
			t.Errorf("an anonymous caller counted a configuration error:\n%s", emf.String())
		}
		for _, r := range h.sb.Requests() {
			if r.Method == http.MethodGet {
				t.Errorf("an anonymous caller's refused attempt cost a lookup: %s", r.Path)
			}
		}
	})
	t.Run("the checkout page's buyer, session expired: declined, as before", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		h.sb.Advance(11 * time.Minute)
		wantPage(t, h.successWithToken(o, key), 200, "declined")
		h.wantUnblamed(o)
	})
	t.Run("the checkout page's buyer, another order's attempt: declined and recorded, as before", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		other := h.createOrder("Other", 39000)
		stray := h.sb.Authorize(other.OrderID, other.OrderName, other.Amount, tosstest.WithCardBrand(tosstest.Visa))
		wantError(t, h.confirmWithToken(stray, o.OrderID, o.Amount, o.CheckoutToken), http.StatusForbidden, toss.CodeForbiddenRequest)
		if got := h.storedOrder(o.OrderID); got.Status != orders.StatusFailed || got.LastFailure == nil || got.LastFailure.Code != toss.CodeForbiddenRequest {
			t.Errorf("order %s %+v", got.Status, got.LastFailure)
		}
	})
}
