package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// hostile sends what an attacker (or a broken client) would, through the
// API and the real bootstraps. Every answer must be a clear 4xx or a
// friendly page, never a 5xx; nothing sent may come back as markup or as a
// header; ids must be unguessable, merchant endpoints closed without the
// key, and a buyer page for an order that does not exist must look exactly
// like the page for one that was deleted.
func (c *campaign) hostile(t *testing.T) {
	const markupName = `<script>alert(1)</script><img src=x onerror=alert(2)> "Tea" & 'cake'`
	live := c.hostileOrder(t, markupName, `"><svg onload=alert(3)>`, 45000)
	gone := c.newPaid(t, "Deleted before anyone paid", 21000)
	if r := c.call(t, "DELETE", "/orders/"+gone.id, c.merchant(), nil); r.status != 200 {
		t.Fatalf("delete: %s", r)
	}
	markup := []string{"<script>alert", "<img", "<svg", "javascript:alert", "onerror=alert(1)>"}
	pad := strings.Repeat("A", 5000)
	esc := url.QueryEscape
	h := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	auth := c.merchant()
	ctJSON := "application/json"
	forged := paid{id: live.id, amount: live.amount, key: `"><script>alert(1)</script>`}

	type hostileCase struct {
		group, name  string
		method, path string
		header       map[string]string
		body         []byte
		status       int    // wanted
		want         string // page data-state or JSON code; "" for API Gateway's own answer
	}
	cases := []hostileCase{
		// Markup and script in every reflected value.
		{"markup", "orderName and customerName on the checkout page", "GET", "/checkout/" + live.id + "?lang=en", nil, nil, 200, "checkout"},
		{"markup", "fail code and message", "GET", "/payments/fail?lang=en&code=" + esc(`<script>alert(1)</script>`) + "&message=" + esc(`<img src=x onerror=alert(1)></title><script>alert(2)</script>`) + "&orderId=" + live.id, nil, nil, 200, "fail"},
		{"markup", "fail code with a quote", "GET", "/payments/fail?code=" + esc(`REJECT"><svg onload=alert(1)>`) + "&message=x&orderId=" + live.id, nil, nil, 200, "fail"},
		{"markup", "success query values", "GET", "/payments/success?orderId=" + esc(`<script>alert(1)</script>`) + "&paymentKey=" + esc(`<img src=x>`) + "&amount=45000", nil, nil, 400, "bad-request"},
		{"markup", "forged paymentKey with markup for a live order", "GET", forged.successPath("en"), nil, nil, 200, "declined"},
		{"markup", "lang parameter", "GET", "/checkout/" + live.id + "?lang=" + esc(`<script>alert(1)</script>`), nil, nil, 200, "checkout"},
		{"markup", "Accept-Language header", "GET", "/checkout/" + live.id, h("Accept-Language", `<script>alert(1)</script>;q=1`), nil, 200, "checkout"},
		{"markup", "JSON confirm with markup values", "POST", "/payments/confirm", h("Content-Type", ctJSON), []byte(`{"paymentKey":"<script>alert(1)</script>","orderId":"<img src=x>","amount":1}`), 400, "INVALID_REQUEST"},
		// Header injection: CR/LF in values that could end up in headers.
		{"header injection", "lang with CR/LF", "GET", "/checkout/" + live.id + "?lang=en%0d%0aX-Injected:%201", nil, nil, 200, "checkout"},
		{"header injection", "fail message and orderId with CR/LF", "GET", "/payments/fail?code=X&message=a%0d%0aSet-Cookie:%20injected=1&orderId=" + live.id + "%0d%0aX-Injected:%201", nil, nil, 200, "fail"},
		{"header injection", "orderId path with CR/LF", "GET", "/checkout/ord_x%0d%0aX-Injected:%201", nil, nil, 404, "not-found"},
		{"header injection", "success orderId with CR/LF", "GET", "/payments/success?orderId=ord_x%0d%0aX-Injected:1&paymentKey=k&amount=1", nil, nil, 400, "bad-request"},
		{"header injection", "Idempotency-Key with markup", "POST", "/payments/confirm", h("Content-Type", ctJSON, "Idempotency-Key", "<script>%0d%0aX-Injected: 1"), live.confirmBodyAmount(1), 400, "AMOUNT_MISMATCH"},
		// Oversized bodies and query strings.
		{"oversized", "create body of 20 KiB", "POST", "/orders", auth, fmt.Appendf(nil, `{"orderName":"%s","amount":1000}`, strings.Repeat("x", 20<<10)), 400, "REQUEST_TOO_LARGE"},
		{"oversized", "confirm body of 1 MiB", "POST", "/payments/confirm", h("Content-Type", ctJSON), fmt.Appendf(nil, `{"paymentKey":"%s","orderId":"%s","amount":1}`, strings.Repeat("k", 1<<20), live.id), 400, "REQUEST_TOO_LARGE"},
		{"oversized", "confirm body of 11 MiB", "POST", "/payments/confirm", h("Content-Type", ctJSON), []byte(strings.Repeat(" ", 11<<20)), 413, ""},
		{"oversized", "success query of 5 KB", "GET", live.successPath("en") + "&pad=" + pad, nil, nil, 400, "bad-request"},
		{"oversized", "checkout query of 5 KB", "GET", "/checkout/" + live.id + "?pad=" + pad, nil, nil, 400, "bad-request"},
		{"oversized", "fail message of 5 KB", "GET", "/payments/fail?code=X&message=" + pad, nil, nil, 400, "bad-request"},
		{"oversized", "orderId path of 3 KB", "GET", "/checkout/" + strings.Repeat("o", 3000), nil, nil, 404, "not-found"},
		{"oversized", "orderName of 101 characters", "POST", "/orders", auth, fmt.Appendf(nil, `{"orderName":"%s","amount":1000}`, strings.Repeat("n", 101)), 400, "INVALID_REQUEST"},
		{"oversized", "Idempotency-Key of 301 characters", "POST", "/orders", h("Authorization", auth["Authorization"], "Content-Type", ctJSON, "Idempotency-Key", strings.Repeat("k", 301)), []byte(`{"orderName":"Tea","amount":1000}`), 400, "INVALID_IDEMPOTENCY_KEY"},
		// Invalid UTF-8.
		{"invalid UTF-8", "create body", "POST", "/orders", auth, []byte("{\"orderName\":\"\xff\xfe\",\"amount\":1000}"), 400, "INVALID_JSON"},
		{"invalid UTF-8", "confirm body", "POST", "/payments/confirm", h("Content-Type", ctJSON), []byte("{\"paymentKey\":\"\xff\",\"orderId\":\"" + live.id + "\",\"amount\":45000}"), 400, "INVALID_JSON"},
		{"invalid UTF-8", "fail message", "GET", "/payments/fail?code=X&message=%ff%fe&orderId=" + live.id, nil, nil, 400, "bad-request"},
		{"invalid UTF-8", "checkout orderId", "GET", "/checkout/%ff%fe", nil, nil, 404, "not-found"},
		{"invalid UTF-8", "success query", "GET", "/payments/success?orderId=%ff&paymentKey=%fe&amount=1", nil, nil, 400, "bad-request"},
		// Wrong Content-Type and malformed JSON.
		{"content type", "confirm as text/plain", "POST", "/payments/confirm", h("Content-Type", "text/plain"), live.confirmBody(), 400, "UNSUPPORTED_CONTENT_TYPE"},
		{"content type", "confirm without Content-Type", "POST", "/payments/confirm", nil, live.confirmBody(), 400, "UNSUPPORTED_CONTENT_TYPE"},
		{"content type", "create as a form", "POST", "/orders", h("Authorization", auth["Authorization"], "Content-Type", "application/x-www-form-urlencoded"), []byte("orderName=Tea&amount=1000"), 400, "UNSUPPORTED_CONTENT_TYPE"},
		{"content type", "confirm body is an array", "POST", "/payments/confirm", h("Content-Type", ctJSON), []byte(`[1,2]`), 400, "INVALID_JSON"},
		{"content type", "confirm amount as a formatted string", "POST", "/payments/confirm", h("Content-Type", ctJSON), fmt.Appendf(nil, `{"paymentKey":%q,"orderId":%q,"amount":"45,000"}`, live.key, live.id), 400, "INVALID_REQUEST"},
		{"content type", "webhook that is not JSON", "POST", "/webhooks/toss", h("Content-Type", ctJSON), []byte(`<xml/>`), 400, "INVALID_WEBHOOK"},
		// Path traversal in orderId (and paymentKey).
		{"path traversal", "checkout ..%2F", "GET", "/checkout/..%2F..%2Fetc%2Fpasswd", nil, nil, 404, "not-found"},
		{"path traversal", "checkout ../", "GET", "/checkout/../../etc/passwd", nil, nil, 404, ""},
		{"path traversal", "merchant get ..%2F", "GET", "/orders/..%2F..%2Fetc%2Fpasswd", auth, nil, 404, "NOT_FOUND_ORDER"},
		{"path traversal", "merchant delete ..%2F", "DELETE", "/orders/..%2F" + live.id, auth, nil, 404, "NOT_FOUND_ORDER"},
		{"path traversal", "success orderId ../", "GET", "/payments/success?orderId=../../etc/passwd&paymentKey=k&amount=1", nil, nil, 400, "bad-request"},
		{"path traversal", "refund paymentKey ..%2F", "POST", "/payments/..%2F..%2Fv1%2Fpayments%2Fx/cancel", auth, []byte(`{"cancelReason":"x"}`), 404, "NOT_FOUND_ORDER"},
		// Merchant endpoints refuse without the key.
		{"no merchant key", "list", "GET", "/orders", nil, nil, 401, "UNAUTHORIZED_KEY"},
		{"no merchant key", "get", "GET", "/orders/" + live.id, nil, nil, 401, "UNAUTHORIZED_KEY"},
		{"no merchant key", "delete", "DELETE", "/orders/" + live.id, nil, nil, 401, "UNAUTHORIZED_KEY"},
		{"no merchant key", "create", "POST", "/orders", h("Content-Type", ctJSON), []byte(`{"orderName":"Tea","amount":1000}`), 401, "UNAUTHORIZED_KEY"},
		{"no merchant key", "refund", "POST", "/payments/" + url.PathEscape(live.key) + "/cancel", h("Content-Type", ctJSON), []byte(`{"cancelReason":"x"}`), 401, "UNAUTHORIZED_KEY"},
		{"no merchant key", "wrong key", "GET", "/orders/" + live.id, h("Authorization", basic("local_merchant_key_guess_000000000")), nil, 401, "UNAUTHORIZED_KEY"},
		{"no merchant key", "the Toss client key", "GET", "/orders", h("Authorization", basic(c.s.Keys.TossClientKey)), nil, 401, "UNAUTHORIZED_KEY"},
		{"no merchant key", "key without the colon", "GET", "/orders", h("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.s.Keys.MerchantAPIKey))), nil, 403, "INCORRECT_BASIC_AUTH_FORMAT"},
		{"no merchant key", "Bearer scheme", "GET", "/orders", h("Authorization", "Bearer "+c.s.Keys.MerchantAPIKey), nil, 401, "UNAUTHORIZED_KEY"},
	}
	groups := map[string]int{}
	for _, tc := range cases {
		t.Run(tc.group+"/"+tc.name, func(t *testing.T) {
			r := c.call(t, tc.method, tc.path, tc.header, tc.body)
			groups[tc.group]++
			c.check(t, r.status < 500, "a 5xx: %s", r)
			c.check(t, r.status == tc.status, "status %d, want %d: %s", r.status, tc.status, r)
			got := r.code()
			if r.html() {
				got = r.state()
			}
			if tc.want == "" {
				c.check(t, r.gateway(), "want API Gateway's own answer: %s", r)
			} else {
				c.check(t, got == tc.want, "answered %q, want %q: %s", got, tc.want, r)
			}
			for _, m := range markup {
				c.check(t, !strings.Contains(string(r.body), m), "the answer reflects %q as markup", m)
			}
		})
	}

	t.Run("markup/receipt after the forged paymentKey", func(t *testing.T) {
		groups["markup"]++
		// The forged success redirect declined nothing that matters: the
		// buyer's real payment still goes through, once, and the receipt
		// shows the order's name as text.
		r := c.call(t, "GET", live.successPath("en"), nil, nil)
		c.check(t, r.status == 200 && r.state() == "done", "the real payment after a forged redirect: %s", r)
		c.check(t, strings.Contains(string(r.body), "&lt;script&gt;alert(1)&lt;/script&gt;"), "the receipt does not show the order name as text")
		for _, m := range markup {
			c.check(t, !strings.Contains(string(r.body), m), "the receipt reflects %q as markup", m)
		}
		_, executed := c.tossConfirms(live.id)
		c.check(t, executed == 1, "Toss executed %d confirms", executed)
		r = c.call(t, "GET", "/orders/"+live.id, auth, nil)
		c.check(t, r.status == 200 && !strings.Contains(string(r.body), "<script>"), "the merchant API's JSON carries raw markup: %s", r)
	})

	t.Run("forged webhook", func(t *testing.T) {
		groups["forged webhook"]++
		victim := c.newPaid(t, "Unpaid order a forged webhook claims is paid", 33000)
		body := fmt.Appendf(nil, `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:00:00.000000","data":{"paymentKey":"tgen_forged_0001","orderId":%q,"status":"DONE","totalAmount":33000,"balanceAmount":33000}}`, victim.id)
		r := c.call(t, "POST", "/webhooks/toss", h("Content-Type", ctJSON), body)
		c.check(t, r.status < 500, "forged webhook: %s", r)
		o := c.order(t, victim.id)
		c.check(t, o.Status == orders.StatusPending, "a forged webhook moved the order to %s", o.Status)
	})

	t.Run("enumeration/ids", func(t *testing.T) {
		groups["enumeration"]++
		seen := map[string]bool{}
		idRE := regexp.MustCompile(`^ord_[0-9A-Za-z]{22}$`)
		for range 1000 {
			id := orders.NewID()
			c.check(t, idRE.MatchString(id) && orders.ValidID(id), "NewID %q", id)
			c.check(t, !seen[id], "NewID repeated %q", id)
			seen[id] = true
		}
		c.check(t, idBits >= 128, "order ids carry %.1f bits", idBits)
		t.Logf("1000 ids distinct, %.1f random bits each", idBits)
	})

	t.Run("enumeration/not-found pages reveal nothing", func(t *testing.T) {
		groups["enumeration"]++
		nonce := regexp.MustCompile(`nonce-[A-Za-z0-9+/=_-]+|nonce="[^"]*"`)
		norm := func(r reply) string { return nonce.ReplaceAllString(string(r.body), "nonce") }
		var checkout, success []string
		for _, id := range []string{orders.NewID(), orders.NewID(), orders.NewID(), gone.id, "ord_short", "x"} {
			r := c.call(t, "GET", "/checkout/"+id, nil, nil)
			c.check(t, r.status == 404 && r.state() == "not-found", "checkout of %s: %s", id, r)
			checkout = append(checkout, norm(r))
		}
		for _, id := range []string{orders.NewID(), orders.NewID(), gone.id} {
			p := paid{id: id, key: "tgen_20261122120000guess00001", amount: 21000}
			r := c.call(t, "GET", p.successPath("ko"), nil, nil)
			c.check(t, r.status == 404 && r.state() == "not-found", "success page of %s: %s", id, r)
			success = append(success, norm(r))
		}
		for i := range checkout {
			c.check(t, checkout[i] == checkout[0], "checkout not-found pages differ (%d)", i)
		}
		for i := range success {
			c.check(t, success[i] == success[0], "success not-found pages differ (%d)", i)
		}
		o, err := c.store.Get(t.Context(), live.id, time.Now())
		c.check(t, err == nil && o.Status == orders.StatusDone, "the order the unauthenticated calls aimed at: %v %v", o, err)
	})

	n := 0
	var parts []string
	for _, g := range []string{"markup", "header injection", "oversized", "invalid UTF-8", "content type", "path traversal", "no merchant key", "enumeration", "forged webhook"} {
		n += groups[g]
		parts = append(parts, fmt.Sprintf("%s %d", g, groups[g]))
	}
	c.scenario("hostile inputs", n)
	c.mu.Lock()
	c.hostileNote = fmt.Sprintf("%d hostile requests and checks (%s): every answer a 4xx or a friendly page, no markup reflected, no injected header, "+
		"1000 order ids distinct with %.1f random bits each, identical not-found pages for unknown and deleted orders, "+
		"a forged webhook and a forged success redirect changed nothing.", n, strings.Join(parts, ", "), idBits)
	c.mu.Unlock()
}

// idBits is the randomness of an order id: 22 base62 characters after "ord_".
var idBits = 22 * math.Log2(62)

// hostileOrder creates an order whose texts are markup.
func (c *campaign) hostileOrder(t *testing.T, name, customer string, amount int64) paid {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"orderName": name, "amount": amount, "customerName": customer})
	r := c.call(t, "POST", "/orders", c.merchant(), body)
	var v struct {
		EntityBody struct {
			OrderID string `json:"orderId"`
		} `json:"entityBody"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &v) != nil {
		t.Fatalf("create the markup order: %s", r)
	}
	id := v.EntityBody.OrderID
	return paid{id: id, name: name, amount: amount, key: c.s.Sandbox.Authorize(id, name, amount)}
}

func (p paid) confirmBodyAmount(amount int64) []byte {
	return fmt.Appendf(nil, `{"paymentKey":%q,"orderId":%q,"amount":%d}`, p.key, p.id, amount)
}
