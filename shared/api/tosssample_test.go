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

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// sampleAnswer is what the success page of Toss's sample frontends sees of
// its fetch: response.ok, response.status and await response.json().
type sampleAnswer struct {
	ok     bool
	status int
	json   map[string]any // numbers as float64, as in JavaScript
	resp   apigw.Response
}

// str is json[k] as the page shows it: "" for undefined.
func (a sampleAnswer) str(k string) string {
	s, _ := a.json[k].(string)
	return s
}

// successURL is where Toss's window sends the buyer after authentication.
func successURL(orderID, paymentKey, amount string) string {
	q := url.Values{"paymentType": {"NORMAL"}, "orderId": {orderID}, "paymentKey": {paymentKey}, "amount": {amount}}
	return "https://shop.example/success?" + q.Encode()
}

// samplePage does what the sample success page does with the URL it was
// sent to:
//
//	const urlParams = new URLSearchParams(window.location.search);
//	const requestData = {paymentKey: urlParams.get("paymentKey"),
//	  orderId: urlParams.get("orderId"), amount: urlParams.get("amount")};
//	const response = await fetch("/confirm", {method: "POST",
//	  headers: {"Content-Type": "application/json"}, body: JSON.stringify(requestData)});
//	const json = await response.json();
//	if (!response.ok) { /* fail: json.code, json.message */ }
//	/* success: json.method, json.totalAmount, json.status */
func (h *harness) samplePage(successURL string, headers ...string) sampleAnswer {
	h.t.Helper()
	u, err := url.Parse(successURL)
	if err != nil {
		h.t.Fatal(err)
	}
	q := u.Query()
	body, _ := json.Marshal(map[string]any{"paymentKey": q.Get("paymentKey"), "orderId": q.Get("orderId"), "amount": q.Get("amount")})
	return h.sampleFetch(string(body), append([]string{"content-type", "application/json"}, headers...)...)
}

// sampleRoute is the route of Toss's sample servers that sampleFetch
// posts to: the tests of that confirm run once on each (onEverySampleRoute),
// as each is its own operation of docs/openapi.yaml with its own answers to
// show. The package's tests do not run in parallel.
var sampleRoute = api.RouteTossSampleConfirm

func samplePath() string { return samplePathOf(sampleRoute) }

// onEverySampleRoute runs test once on each route of api.TossSampleRoutes.
func onEverySampleRoute(t *testing.T, test func(t *testing.T)) {
	for _, route := range api.TossSampleRoutes {
		t.Run(samplePathOf(route), func(t *testing.T) {
			sampleRoute = route
			defer func() { sampleRoute = api.RouteTossSampleConfirm }()
			test(t)
		})
	}
}

func samplePathOf(route string) string { return strings.TrimPrefix(route, "POST ") }

// sampleFetch POSTs body to the sample route through ConfirmPaymentFunction's
// handler and reads the answer as the page's response.json() would.
func (h *harness) sampleFetch(body string, headers ...string) sampleAnswer {
	h.t.Helper()
	hd := map[string]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		hd[headers[i]] = headers[i+1]
	}
	resp := h.call(h.svc.ConfirmHandler(), h.request(rq{Method: "POST", Path: samplePath(), Headers: hd, Body: body}))
	a := sampleAnswer{ok: resp.StatusCode >= 200 && resp.StatusCode < 300, status: resp.StatusCode, resp: resp}
	if err := json.Unmarshal([]byte(resp.Body), &a.json); err != nil {
		h.t.Fatalf("response.json() throws (status %d): %v\n%s", resp.StatusCode, err, resp.Body)
	}
	if !strings.HasPrefix(resp.Headers["Content-Type"], "application/json") || resp.Headers["X-Trace-Id"] == "" {
		h.t.Errorf("headers %v", resp.Headers)
	}
	return a
}

// wantSampleError checks a failure as the sample page reads it: not ok,
// top-level code and message, and nothing of this API's own envelope.
func wantSampleError(t *testing.T, a sampleAnswer, status int, code string) {
	t.Helper()
	if a.ok || a.status != status || a.str("code") != code || a.str("message") == "" {
		t.Fatalf("want %d %s with a message, got %d %s", status, code, a.status, a.resp.Body)
	}
	if len(a.json) != 2 {
		t.Errorf("an error carries more than {code, message}: %s", a.resp.Body)
	}
}

func TestTossSampleConfirm(t *testing.T) { onEverySampleRoute(t, testTossSampleConfirm) }

func testTossSampleConfirm(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok rental, 1 day", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount, tosstest.WithCardBrand(tosstest.Visa))
	page := successURL(o.OrderID, key, "39000")

	first := h.samplePage(page)
	if !first.ok || first.status != http.StatusOK {
		t.Fatalf("status %d: %s", first.status, first.resp.Body)
	}
	// What the sample success page shows.
	if first.str("method") == "" || first.json["totalAmount"] != float64(39000) || first.str("status") != "DONE" {
		t.Errorf("method %v, totalAmount %v, status %v", first.json["method"], first.json["totalAmount"], first.json["status"])
	}
	if first.str("orderId") != o.OrderID || first.str("paymentKey") != key || first.str("orderName") != o.OrderName {
		t.Errorf("payment %s", first.resp.Body)
	}
	if card, _ := first.json["card"].(map[string]any); card == nil || card["number"] == "" {
		t.Errorf("no card in %s", first.resp.Body)
	}
	for _, k := range []string{"entityType", "entityBody", "traceId", "code", "error"} {
		if _, ok := first.json[k]; ok {
			t.Errorf("the Payment object carries %q: %s", k, first.resp.Body)
		}
	}
	if got := h.getOrder(o.OrderID); got.Status != "DONE" || got.PaymentKey != key {
		t.Errorf("order %+v", got)
	}

	// A refresh of the page confirms nothing again and sees the same object.
	before := h.tossRequests()
	for range 3 {
		again := h.samplePage(page)
		if again.status != http.StatusOK || again.resp.Body != first.resp.Body {
			t.Fatalf("repeat: %d %s\nfirst: %s", again.status, again.resp.Body, first.resp.Body)
		}
	}
	if n := h.tossRequests() - before; n != 0 {
		t.Errorf("repeats reached Toss %d times", n)
	}
	if n := h.sb.ConfirmsExecuted(o.OrderID); n != 1 {
		t.Errorf("%d confirms executed", n)
	}
	// The merchant's route sees the same payment.
	var p paymentView
	wantEntity(t, h.confirm(key, o.OrderID, o.Amount, ""), 200, "payment", &p)
	if p.Status != "DONE" || p.PaymentKey != key {
		t.Errorf("POST /payments/confirm after /confirm: %+v", p)
	}
}

// The object is Toss's answer to the confirm: what the sandbox reports of
// the payment, in Toss's field names and formats.
func TestTossSampleConfirmAnswersTossPayment(t *testing.T) {
	onEverySampleRoute(t, testTossSampleConfirmAnswersTossPayment)
}

func testTossSampleConfirmAnswersTossPayment(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Tea", 15000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount, tosstest.WithCardBrand(tosstest.Master))
	a := h.samplePage(successURL(o.OrderID, key, "15000"))
	info, ok := h.sb.Payment(key)
	if !ok || a.status != 200 {
		t.Fatalf("%d %s", a.status, a.resp.Body)
	}
	card, _ := a.json["card"].(map[string]any)
	receipt, _ := a.json["receipt"].(map[string]any)
	approvedAt, err := time.Parse(time.RFC3339, a.str("approvedAt"))
	switch {
	case a.str("status") != info.Status || info.Status != "DONE", a.json["balanceAmount"] != float64(15000), a.str("currency") != "KRW":
		t.Errorf("payment %s, sandbox %+v", a.resp.Body, info)
	case card == nil || card["number"] == "" || card["issuerCode"] == "" || card["amount"] != float64(15000):
		t.Errorf("card %v, sandbox %+v", card, info)
	case receipt == nil || !strings.HasPrefix(fmt.Sprint(receipt["url"]), "http"):
		t.Errorf("receipt %v", receipt)
	case err != nil || !strings.HasSuffix(a.str("approvedAt"), "+09:00") || !approvedAt.Equal(info.ApprovedAt.Truncate(time.Second)):
		t.Errorf("approvedAt %q: %v", a.str("approvedAt"), err)
	}
}

func TestTossSampleConfirmAmountMismatch(t *testing.T) {
	onEverySampleRoute(t, testTossSampleConfirmAmountMismatch)
}

func testTossSampleConfirmAmountMismatch(t *testing.T) {
	for _, lang := range []struct {
		header string
		want   string
	}{{"", api.Message(api.CodeAmountMismatch, api.Korean)}, {"en-US", api.Message(api.CodeAmountMismatch, api.English)}} {
		t.Run("lang "+lang.header, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			// The buyer's browser edited the amount in the window's request.
			key := h.sb.Authorize(o.OrderID, o.OrderName, 100)
			var headers []string
			if lang.header != "" {
				headers = []string{"accept-language", lang.header}
			}
			a := h.samplePage(successURL(o.OrderID, key, "100"), headers...)
			wantSampleError(t, a, http.StatusBadRequest, "INVALID_REQUEST")
			if a.str("message") != lang.want {
				t.Errorf("message %q, want %q", a.str("message"), lang.want)
			}
			if n := h.tossRequests(); n != 0 {
				t.Errorf("a tampered amount reached Toss %d times", n)
			}
			if got := h.getOrder(o.OrderID); got.Status != "PENDING" {
				t.Errorf("order %s", got.Status)
			}
		})
	}
}

func TestTossSampleConfirmTossDeclines(t *testing.T) {
	onEverySampleRoute(t, testTossSampleConfirmTossDeclines)
}

func testTossSampleConfirmTossDeclines(t *testing.T) {
	t.Run("paymentKey of another order", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		other := h.createOrder("Other", 39000)
		stray := h.sb.Authorize(other.OrderID, other.OrderName, other.Amount)
		a := h.samplePage(successURL(o.OrderID, stray, "39000"))
		wantSampleError(t, a, http.StatusForbidden, "FORBIDDEN_REQUEST")
		if a.str("message") == api.Message(api.CodeInternal, api.Korean) {
			t.Errorf("Toss's message was replaced")
		}
		// The buyer pays with another card on the same order.
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		if b := h.samplePage(successURL(o.OrderID, key, "39000")); b.status != 200 || b.str("status") != "DONE" {
			t.Fatalf("second card: %d %s", b.status, b.resp.Body)
		}
	})
	t.Run("confirm window closed", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		h.sb.Advance(11 * time.Minute)
		a := h.samplePage(successURL(o.OrderID, key, "39000"))
		wantSampleError(t, a, http.StatusNotFound, "NOT_FOUND_PAYMENT_SESSION")
		// Toss has no such session any more: nothing of the attempt is
		// recorded on the order (no failure, no event), which stays payable
		// with another card. A refresh asks Toss again, within the order's
		// budget, and gets the same refusal.
		if got := h.storedOrder(o.OrderID); got.Status != orders.StatusPending || got.LastFailure != nil {
			t.Errorf("the order after a session Toss no longer has: %s %+v", got.Status, got.LastFailure)
		}
		wantSampleError(t, h.samplePage(successURL(o.OrderID, key, "39000")), http.StatusNotFound, "NOT_FOUND_PAYMENT_SESSION")
		if n := h.confirmRequests(o.OrderID); n != 2 {
			t.Errorf("%d confirms reached Toss, want one per request", n)
		}
	})
}

// Whatever a page or a caller sends, a bad request is a 400 with top-level
// code and message, never a 5xx, and nothing reaches Toss.
func TestTossSampleConfirmMalformed(t *testing.T) {
	onEverySampleRoute(t, testTossSampleConfirmMalformed)
}

func testTossSampleConfirmMalformed(t *testing.T) {
	const key, id = "tgen_20261122120000sample0001", "ord_0000000000000000000000"
	body := func(amount string) string {
		return `{"paymentKey":"` + key + `","orderId":"` + id + `","amount":` + amount + `}`
	}
	cases := []struct {
		name, body, ctype string
		base64            bool
	}{
		{name: "not JSON", body: `{"paymentKey":`},
		{name: "empty body", body: ``},
		{name: "null", body: `null`},
		{name: "an array", body: `[{"paymentKey":"x"}]`},
		{name: "a string", body: `"confirm"`},
		{name: "trailing data", body: body("39000") + `{}`},
		{name: "invalid UTF-8", body: "{\"paymentKey\":\"\xff\",\"orderId\":\"" + id + "\",\"amount\":\"39000\"}"},
		{name: "not base64", body: "!!!", base64: true},
		{name: "too large", body: `{"paymentKey":"` + strings.Repeat("k", 1<<20) + `"}`},
		{name: "form encoded", body: "paymentKey=x&orderId=y&amount=1", ctype: "application/x-www-form-urlencoded"},
		{name: "text/plain", body: body(`"39000"`), ctype: "text/plain"},
		{name: "no content type", body: body(`"39000"`), ctype: "-"},
		{name: "amount missing", body: `{"paymentKey":"` + key + `","orderId":"` + id + `"}`},
		{name: "amount null (no amount in the URL)", body: body(`null`)},
		{name: "amount empty", body: body(`""`)},
		{name: "amount zero", body: body(`"0"`)},
		{name: "amount negative", body: body(`"-39000"`)},
		{name: "amount signed", body: body(`"+39000"`)},
		{name: "amount with a comma", body: body(`"39,000"`)},
		{name: "amount with a space", body: body(`" 39000"`)},
		{name: "amount fractional string", body: body(`"39000.0"`)},
		{name: "amount exponent string", body: body(`"39e3"`)},
		{name: "amount not a number", body: body(`"abc"`)},
		{name: "amount overflows", body: body(`"99999999999999999999"`)},
		{name: "amount fractional", body: body(`39000.5`)},
		{name: "amount boolean", body: body(`true`)},
		{name: "amount object", body: body(`{"value":39000}`)},
		{name: "paymentKey a number", body: `{"paymentKey":1,"orderId":"` + id + `","amount":"39000"}`},
		{name: "paymentKey empty", body: `{"paymentKey":"","orderId":"` + id + `","amount":"39000"}`},
		{name: "paymentKey too long", body: `{"paymentKey":"` + strings.Repeat("k", 201) + `","orderId":"` + id + `","amount":"39000"}`},
		{name: "orderId path traversal", body: `{"paymentKey":"` + key + `","orderId":"../../etc","amount":"39000"}`},
		{name: "orderId null (missing in the URL)", body: `{"paymentKey":"` + key + `","orderId":null,"amount":"39000"}`},
	}
	h := newHarness(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hd := map[string]string{"content-type": "application/json"}
			switch tc.ctype {
			case "":
			case "-":
				delete(hd, "content-type")
			default:
				hd["content-type"] = tc.ctype
			}
			req := h.request(rq{Method: "POST", Path: samplePath(), Headers: hd, Body: tc.body})
			req.IsBase64Encoded = tc.base64
			resp := h.call(h.svc.ConfirmHandler(), req)
			var e map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &e); err != nil {
				t.Fatalf("%d, not JSON: %s", resp.StatusCode, resp.Body)
			}
			a := sampleAnswer{status: resp.StatusCode, json: e, resp: resp}
			wantSampleError(t, a, http.StatusBadRequest, "INVALID_REQUEST")
		})
	}
	if n := h.tossRequests(); n != 0 {
		t.Errorf("malformed confirms reached Toss %d times", n)
	}
}

// Fields besides the three are ignored, as the sample servers ignore them.
func TestTossSampleConfirmIgnoresExtraFields(t *testing.T) {
	onEverySampleRoute(t, testTossSampleConfirmIgnoresExtraFields)
}

func testTossSampleConfirmIgnoresExtraFields(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	body, _ := json.Marshal(map[string]any{"paymentKey": key, "orderId": o.OrderID, "amount": "39000", "method": "CARD", "paymentType": "NORMAL"})
	if a := h.sampleFetch(string(body), "content-type", "application/json"); a.status != 200 || a.str("status") != "DONE" {
		t.Fatalf("%d %s", a.status, a.resp.Body)
	}
	// A number works as well as a string.
	o2 := h.createOrder("Tea", 15000)
	key2 := h.sb.Authorize(o2.OrderID, o2.OrderName, o2.Amount)
	if a := h.sampleFetch(confirmBody(key2, o2.OrderID, o2.Amount), "content-type", "application/json; charset=UTF-8"); a.status != 200 || a.json["totalAmount"] != float64(15000) {
		t.Fatalf("%d %s", a.status, a.resp.Body)
	}
}

func TestTossSampleConfirmOthers(t *testing.T) { onEverySampleRoute(t, testTossSampleConfirmOthers) }

func testTossSampleConfirmOthers(t *testing.T) {
	t.Run("unknown order", func(t *testing.T) {
		h := newHarness(t)
		key := h.sb.Authorize("ord_0000000000000000000000", "x", 1000)
		wantSampleError(t, h.samplePage(successURL("ord_0000000000000000000000", key, "1000")), http.StatusNotFound, api.CodeNotFoundOrder)
	})
	t.Run("paid under another paymentKey", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		first := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		if a := h.samplePage(successURL(o.OrderID, first, "39000")); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.resp.Body)
		}
		second := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		wantSampleError(t, h.samplePage(successURL(o.OrderID, second, "39000")), http.StatusBadRequest, "ALREADY_PROCESSED_PAYMENT")
	})
	t.Run("expired order", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		h.clock.Advance(24*time.Hour + time.Second)
		wantSampleError(t, h.samplePage(successURL(o.OrderID, key, "39000")), http.StatusBadRequest, api.CodeOrderExpired)
	})
}

// An outcome not known yet is a 409 the page shows as "not ok" (never a
// 2xx it would read as a paid Payment), with Retry-After; asking again
// once Toss answers gets the Payment, confirmed once.
func TestTossSampleConfirmProcessing(t *testing.T) {
	onEverySampleRoute(t, testTossSampleConfirmProcessing)
}

func testTossSampleConfirmProcessing(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	page := successURL(o.OrderID, key, "39000")
	h.sb.FailNext(1000, tosstest.Fault5xx)

	a := h.samplePage(page, "idempotency-key", "sample-confirm-1")
	wantSampleError(t, a, http.StatusConflict, "IDEMPOTENT_REQUEST_PROCESSING")
	if a.resp.Headers["Retry-After"] == "" {
		t.Errorf("no Retry-After: %v", a.resp.Headers)
	}
	before := h.tossRequests()
	wantSampleError(t, h.samplePage(page, "idempotency-key", "sample-confirm-1"), http.StatusConflict, "IDEMPOTENT_REQUEST_PROCESSING")
	if n := h.tossRequests() - before; n != 0 {
		t.Errorf("%d calls to Toss while the claim holds", n)
	}

	h.sb.Reset()
	h.sb.Authorize(o.OrderID, o.OrderName, o.Amount, tosstest.WithPaymentKey(key))
	h.clock.Advance(claimDuration + time.Second)
	done := h.samplePage(page, "idempotency-key", "sample-confirm-1")
	if done.status != 200 || done.str("status") != "DONE" || done.resp.Headers["Idempotent-Replayed"] != "" {
		t.Fatalf("after recovery: %d %v %s", done.status, done.resp.Headers, done.resp.Body)
	}
	replay := h.samplePage(page, "idempotency-key", "sample-confirm-1")
	if replay.resp.Headers["Idempotent-Replayed"] != "true" || replay.resp.Body != done.resp.Body {
		t.Errorf("replay: %v %s", replay.resp.Headers, replay.resp.Body)
	}
	if n := h.sb.ConfirmsExecuted(o.OrderID); n != 1 {
		t.Errorf("%d confirms executed", n)
	}
}

// The order's budget of Toss calls holds on this route too: 429 with
// Retry-After, and the real buyer is admitted once it has passed.
func TestTossSampleConfirmAttemptBudget(t *testing.T) {
	onEverySampleRoute(t, testTossSampleConfirmAttemptBudget)
}

func testTossSampleConfirmAttemptBudget(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	for i := range orders.AttemptLimit {
		a := h.samplePage(successURL(o.OrderID, fmt.Sprintf("tgen_20261122120000forged%04d", i), "39000"))
		if a.ok || a.status >= 500 || a.str("code") == "" {
			t.Fatalf("forged confirm %d: %d %s", i, a.status, a.resp.Body)
		}
	}
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	page := successURL(o.OrderID, key, "39000")
	a := h.samplePage(page)
	wantSampleError(t, a, http.StatusTooManyRequests, api.CodeTooManyRequests)
	wait, err := strconv.Atoi(a.resp.Headers["Retry-After"])
	if err != nil || wait < 1 || wait > int(orders.AttemptWindow/time.Second) {
		t.Fatalf("Retry-After %q", a.resp.Headers["Retry-After"])
	}
	h.clock.Advance(time.Duration(wait) * time.Second)
	if b := h.samplePage(page); b.status != 200 || b.str("status") != "DONE" {
		t.Fatalf("after Retry-After: %d %s", b.status, b.resp.Body)
	}
}

// Idempotency-Key is judged and answered as on POST /payments/confirm, in
// Toss's shape.
func TestTossSampleConfirmIdempotencyKey(t *testing.T) {
	onEverySampleRoute(t, testTossSampleConfirmIdempotencyKey)
}

func testTossSampleConfirmIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	page := successURL(o.OrderID, key, "39000")

	wantSampleError(t, h.samplePage(page, "idempotency-key", strings.Repeat("k", 301)), http.StatusBadRequest, api.CodeInvalidIdempotencyKey)
	wantSampleError(t, h.samplePage(page, "idempotency-key", ""), http.StatusBadRequest, api.CodeInvalidIdempotencyKey)

	first := h.samplePage(page, "idempotency-key", "page-1")
	if first.status != 200 {
		t.Fatalf("%d %s", first.status, first.resp.Body)
	}
	// The same key about another payment is another request (keys of
	// anonymous confirms are scoped by the payment they confirm).
	other := h.createOrder("Other", 39000)
	otherKey := h.sb.Authorize(other.OrderID, other.OrderName, other.Amount)
	if b := h.samplePage(successURL(other.OrderID, otherKey, "39000"), "idempotency-key", "page-1"); b.status != 200 || b.str("status") != "DONE" || b.resp.Headers["Idempotent-Replayed"] != "" {
		t.Fatalf("the same key about another payment: %d %s", b.status, b.resp.Body)
	}
	// Keys are per route: the same key on POST /payments/confirm is another request.
	var p paymentView
	wantEntity(t, h.confirm(key, o.OrderID, o.Amount, "page-1"), 200, "payment", &p)
}

// ConfirmPaymentFunction's handler answers each route in its own shape,
// a panic included.
func TestConfirmHandlerRoutes(t *testing.T) {
	h := newHarness(t)
	body := confirmBody("tgen_20261122120000sample0001", "ord_0000000000000000000000", 1000)
	ours := h.call(h.svc.ConfirmHandler(), h.request(rq{Method: "POST", Path: "/payments/confirm", Headers: jsonHeaders(), Body: body}))
	wantError(t, ours, http.StatusNotFound, api.CodeNotFoundOrder)

	broken := *h.svc
	broken.Engine = nil // a wiring bug: the route panics
	for _, r := range []struct {
		path string
		toss bool
	}{{"/confirm", true}, {"/confirm/payment", true}, {"/confirm/widget", true}, {"/payments/confirm", false}} {
		resp := h.call(broken.ConfirmHandler(), h.request(rq{Method: "POST", Path: r.path, Headers: jsonHeaders(), Body: body}))
		if !r.toss {
			wantError(t, resp, http.StatusInternalServerError, api.CodeInternal)
			continue
		}
		var e map[string]any
		if json.Unmarshal([]byte(resp.Body), &e) != nil {
			t.Fatalf("%s", resp.Body)
		}
		wantSampleError(t, sampleAnswer{status: resp.StatusCode, json: e, resp: resp}, http.StatusInternalServerError, api.CodeInternal)
		if strings.Contains(resp.Body, "goroutine") || strings.Contains(resp.Body, "nil pointer") {
			t.Errorf("a panic's details reached the caller: %s", resp.Body)
		}
	}
}
