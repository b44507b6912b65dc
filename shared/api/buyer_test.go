package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

func TestPaymentSuccessReceipt(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)

	// The first visit confirms; refreshes show the same receipt.
	for visit := range 3 {
		resp := h.success(o.OrderID, key, o.Amount)
		wantPage(t, resp, 200, "done")
		card := regexp.MustCompile(`id="card-number"[^>]*>([^<]*)<`).FindStringSubmatch(resp.Body)
		if card == nil || !strings.Contains(card[1], "****") {
			t.Errorf("visit %d: no masked card number", visit)
		}
		if href := linkHref(resp.Body, "receipt"); !strings.HasPrefix(href, "http") {
			t.Errorf("visit %d: receipt link %q", visit, href)
		}
		if !strings.Contains(resp.Body, o.OrderID) {
			t.Errorf("visit %d: the receipt does not show the order id", visit)
		}
		if got := htmlLangRe.FindStringSubmatch(resp.Body); got == nil || got[1] != "en" {
			t.Errorf("visit %d: lang %v, want en", visit, got)
		}
	}
	if n := h.sb.ConfirmsExecuted(o.OrderID); n != 1 {
		t.Errorf("%d confirms executed, want 1", n)
	}
	if n := h.confirmRequests(o.OrderID); n != 1 {
		t.Errorf("%d confirm requests, want 1", n)
	}
	if got := h.getOrder(o.OrderID); got.Status != "DONE" {
		t.Errorf("order status %s", got.Status)
	}
}

func TestPaymentSuccessOutcomes(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(h *harness, o orderView) (orderID, paymentKey string, amount int64)
		status int
		state  string
		check  func(t *testing.T, h *harness, o orderView, body string)
	}{
		{
			name: "tampered amount",
			setup: func(h *harness, o orderView) (string, string, int64) {
				return o.OrderID, h.sb.Authorize(o.OrderID, o.OrderName, 100), 100
			},
			status: 400, state: "amount-refused",
			check: func(t *testing.T, h *harness, o orderView, body string) {
				if n := h.confirmRequests(o.OrderID); n != 0 {
					t.Errorf("%d confirm requests reached Toss", n)
				}
				if href := linkHref(body, "back"); !strings.HasPrefix(href, o.checkoutPage()+"?") {
					t.Errorf("back link %q, want the checkout", href)
				}
				if got := h.getOrder(o.OrderID); got.Status != "PENDING" {
					t.Errorf("order status %s", got.Status)
				}
			},
		},
		{
			name: "unknown order",
			setup: func(h *harness, o orderView) (string, string, int64) {
				return "ord_0000000000000000000000", h.sb.Authorize("ord_0000000000000000000000", "x", 1000), 1000
			},
			status: 404, state: "not-found",
			check: func(t *testing.T, h *harness, o orderView, body string) {
				if hasID(body, "retry") || hasID(body, "back") {
					t.Errorf("a link is offered for an unknown order")
				}
			},
		},
		{
			name: "processing",
			setup: func(h *harness, o orderView) (string, string, int64) {
				key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
				h.sb.FailNext(1000, tosstest.Fault5xx)
				return o.OrderID, key, o.Amount
			},
			status: 200, state: "processing",
			check: func(t *testing.T, h *harness, o orderView, body string) {
				m := regexp.MustCompile(`<meta http-equiv="refresh" content="(\d+);url=([^"]*)"`).FindStringSubmatch(body)
				if m == nil {
					t.Fatalf("no meta refresh:\n%s", body)
				}
				if target := htmlUnescape(m[2]); !strings.HasPrefix(target, baseURL+"/payments/success?") || !strings.Contains(target, o.OrderID) {
					t.Errorf("refresh target %q", target)
				}
				if got := h.getOrder(o.OrderID); got.Status != "CONFIRMING" {
					t.Errorf("order status %s", got.Status)
				}
			},
		},
		{
			name: "declined",
			setup: func(h *harness, o orderView) (string, string, int64) {
				other := h.createOrder("Other", o.Amount)
				return o.OrderID, h.sb.Authorize(other.OrderID, other.OrderName, other.Amount), o.Amount
			},
			status: 200, state: "declined",
			check: func(t *testing.T, h *harness, o orderView, body string) {
				if href := linkHref(body, "retry"); !strings.HasPrefix(href, o.checkoutPage()+"?") {
					t.Errorf("retry link %q, want the checkout %s", href, o.checkoutPage())
				}
				if !strings.Contains(body, `data-code="FORBIDDEN_REQUEST"`) {
					t.Errorf("the page does not carry Toss's code")
				}
				if got := h.getOrder(o.OrderID); got.Status != "FAILED" {
					t.Errorf("order status %s", got.Status)
				}
			},
		},
		{
			name: "expired order",
			setup: func(h *harness, o orderView) (string, string, int64) {
				key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
				h.clock.Advance(25 * time.Hour)
				return o.OrderID, key, o.Amount
			},
			status: 200, state: "expired",
			check: func(t *testing.T, h *harness, o orderView, body string) {
				if n := h.confirmRequests(o.OrderID); n != 0 {
					t.Errorf("%d confirm requests", n)
				}
			},
		},
		{
			name: "paid under another paymentKey",
			setup: func(h *harness, o orderView) (string, string, int64) {
				first := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
				wantPage(h.t, h.success(o.OrderID, first, o.Amount), 200, "done")
				return o.OrderID, h.sb.Authorize(o.OrderID, o.OrderName, o.Amount), o.Amount
			},
			status: 200, state: "paid",
			check: func(t *testing.T, h *harness, o orderView, body string) {
				if href := linkHref(body, "receipt"); !strings.HasPrefix(href, "http") {
					t.Errorf("receipt link %q", href)
				}
				if n := h.sb.ConfirmsExecuted(o.OrderID); n != 1 {
					t.Errorf("%d confirms executed", n)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			orderID, key, amount := tc.setup(h, o)
			resp := h.success(orderID, key, amount)
			wantPage(t, resp, tc.status, tc.state)
			tc.check(t, h, o, resp.Body)
		})
	}
}

func TestPaymentSuccessBadParameters(t *testing.T) {
	const id = "ord_0000000000000000000000"
	cases := []struct{ name, query string }{
		{"no parameters", ""},
		{"missing orderId", "paymentKey=tgen_x_0001&amount=1000"},
		{"missing paymentKey", "orderId=" + id + "&amount=1000"},
		{"missing amount", "orderId=" + id + "&paymentKey=tgen_x_0001"},
		{"amount not a number", "orderId=" + id + "&paymentKey=tgen_x_0001&amount=abc"},
		{"amount zero", "orderId=" + id + "&paymentKey=tgen_x_0001&amount=0"},
		{"amount negative", "orderId=" + id + "&paymentKey=tgen_x_0001&amount=-5"},
		{"amount fractional", "orderId=" + id + "&paymentKey=tgen_x_0001&amount=1000.5"},
		{"malformed orderId", "orderId=..%2Fx&paymentKey=tgen_x_0001&amount=1000"},
		{"paymentKey too long", "orderId=" + id + "&paymentKey=" + strings.Repeat("k", 201) + "&amount=1000"},
		{"invalid UTF-8", "orderId=" + id + "&paymentKey=%ff%fe&amount=1000"},
		{"bad escape", "orderId=%zz&paymentKey=tgen_x_0001&amount=1000"},
		{"huge query", "orderId=" + id + "&paymentKey=tgen_x_0001&amount=1000&pad=" + strings.Repeat("a", 5000)},
	}
	h := newHarness(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.page(h.svc.PaymentSuccess, rq{Method: "GET", Path: "/payments/success", Query: tc.query})
			wantPage(t, resp, 400, "bad-request")
		})
	}
	if n := len(h.sb.Requests()); n != 0 {
		t.Errorf("%d calls reached Toss", n)
	}
}

func TestPaymentFail(t *testing.T) {
	t.Run("shows guidance and records nothing", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		before := h.storedOrder(o.OrderID)
		long := strings.Repeat("카", 300) // 2,700 bytes escaped: under the 4 KiB query limit
		q := url.Values{"code": {"REJECT_CARD_COMPANY"}, "message": {long}, "orderId": {o.OrderID}, "lang": {"en"}}
		resp := h.page(h.svc.PaymentFail, rq{Method: "GET", Path: "/payments/fail", Query: q.Encode()})
		wantPage(t, resp, 200, "fail")
		if href := linkHref(resp.Body, "retry"); !strings.HasPrefix(href, o.checkoutPage()+"?") {
			t.Errorf("retry link %q, want the checkout", href)
		}
		if got := h.storedOrder(o.OrderID); got.Version != before.Version || got.LastFailure != nil || got.Status != orders.StatusPending {
			t.Fatalf("the fail redirect wrote the order: %+v", got)
		}
	})

	// The black-box finding: the unsigned fail redirect, sent 21 times with
	// made-up codes, replaced the failure Toss had reported each time. Now
	// what Toss reported stands, and a paid order is never touched.
	t.Run("never overwrites what Toss reported", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		other := h.createOrder("Other", 39000)
		stray := h.sb.Authorize(other.OrderID, other.OrderName, other.Amount)
		wantError(t, h.confirm(stray, o.OrderID, o.Amount, ""), http.StatusForbidden, "FORBIDDEN_REQUEST")
		before := h.storedOrder(o.OrderID)
		if before.LastFailure == nil || before.LastFailure.Code != "FORBIDDEN_REQUEST" {
			t.Fatalf("Toss's decline not recorded: %+v", before.LastFailure)
		}
		for i := range 21 {
			q := url.Values{"code": {fmt.Sprintf("FORGED_%d", i)}, "message": {"forged"}, "orderId": {o.OrderID}}
			wantPage(t, h.page(h.svc.PaymentFail, rq{Method: "GET", Path: "/payments/fail", Query: q.Encode()}), 200, "fail")
		}
		if got := h.storedOrder(o.OrderID); got.Version != before.Version || !reflect.DeepEqual(got.LastFailure, before.LastFailure) {
			t.Fatalf("failure after 21 forged fail redirects: %+v, want Toss's %+v", got.LastFailure, before.LastFailure)
		}
		if view := h.getOrder(o.OrderID); view.LastFailure == nil || view.LastFailure.Code != "FORBIDDEN_REQUEST" {
			t.Fatalf("GET /orders shows %+v", view.LastFailure)
		}
	})

	payloads := []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`}
	for _, p := range payloads {
		t.Run("markup is escaped "+p, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			for _, q := range []url.Values{
				{"code": {p}, "message": {p}, "orderId": {o.OrderID}},
				{"code": {"PAY_PROCESS_ABORTED"}, "message": {p}},
				{"code": {p}, "message": {"x"}, "orderId": {p}},
			} {
				resp := h.page(h.svc.PaymentFail, rq{Method: "GET", Path: "/payments/fail", Query: q.Encode()})
				wantPage(t, resp, 200, "fail")
				for _, raw := range []string{p, "<script>alert", "<img src=x", "onerror=alert(1)>"} {
					if strings.Contains(resp.Body, raw) {
						t.Errorf("query %v: body carries %q raw", q, raw)
					}
				}
			}
			if got := h.getOrder(o.OrderID); got.LastFailure != nil {
				t.Errorf("the fail redirect stored %+v", got.LastFailure)
			}
		})
	}

	cases := []struct {
		name     string
		query    func(o orderView) url.Values
		wantLink bool
	}{
		{"canceled without orderId", func(orderView) url.Values {
			return url.Values{"code": {"PAY_PROCESS_CANCELED"}, "message": {"사용자에 의해 결제가 취소되었습니다."}}
		}, false},
		{"canceled with our orderId", func(o orderView) url.Values {
			return url.Values{"code": {"PAY_PROCESS_CANCELED"}, "message": {"canceled"}, "orderId": {o.OrderID}}
		}, true},
		{"orderId twice, the first malformed", func(o orderView) url.Values {
			return url.Values{"code": {"PAY_PROCESS_ABORTED"}, "orderId": {"../x", o.OrderID}}
		}, true},
		{"unknown order", func(orderView) url.Values {
			return url.Values{"code": {"REJECT_CARD_COMPANY"}, "message": {"x"}, "orderId": {"ord_0000000000000000000000"}}
		}, false},
		{"malformed orderId", func(orderView) url.Values {
			return url.Values{"code": {"REJECT_CARD_COMPANY"}, "orderId": {"../../etc/passwd"}}
		}, false},
		{"no parameters", func(orderView) url.Values { return url.Values{} }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			resp := h.page(h.svc.PaymentFail, rq{Method: "GET", Path: "/payments/fail", Query: tc.query(o).Encode()})
			wantPage(t, resp, 200, "fail")
			href := linkHref(resp.Body, "retry")
			if tc.wantLink && !strings.HasPrefix(href, o.checkoutPage()+"?") {
				t.Errorf("retry link %q, want the checkout %s", href, o.checkoutPage())
			}
			if !tc.wantLink && hasID(resp.Body, "retry") {
				t.Errorf("retry link offered: %q", href)
			}
		})
	}

	t.Run("paid order keeps its state", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		wantPage(t, h.success(o.OrderID, key, o.Amount), 200, "done")
		before := h.storedOrder(o.OrderID)
		resp := h.page(h.svc.PaymentFail, rq{Method: "GET", Path: "/payments/fail", Query: "code=PAY_PROCESS_CANCELED&orderId=" + o.OrderID})
		wantPage(t, resp, 200, "fail")
		if got := h.storedOrder(o.OrderID); got.Status != orders.StatusDone || got.LastFailure != nil || got.Version != before.Version {
			t.Errorf("order %+v", got)
		}
	})

	for _, tc := range []struct{ name, query string }{
		{"invalid UTF-8", "code=REJECT_CARD_COMPANY&message=%ff%fe"},
		{"bad escape", "code=REJECT_CARD_COMPANY&message=%zz"},
		{"huge query", "code=REJECT_CARD_COMPANY&message=" + strings.Repeat("a", 5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			resp := h.page(h.svc.PaymentFail, rq{Method: "GET", Path: "/payments/fail", Query: tc.query})
			wantPage(t, resp, 400, "bad-request")
		})
	}
}

var checkoutDataRe = regexp.MustCompile(`(?s)<script type="application/json" id="checkout-data">(.*?)</script>`)

type checkoutData struct {
	ClientKey  string `json:"clientKey"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	OrderID    string `json:"orderId"`
	SuccessURL string `json:"successUrl"`
	FailURL    string `json:"failUrl"`
	Language   string `json:"language"`
}

func TestCheckout(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	get := func(id, query, acceptLanguage string) (resp struct {
		status  int
		headers map[string]string
		body    string
	}) {
		hd := map[string]string{}
		if acceptLanguage != "" {
			hd["accept-language"] = acceptLanguage
		}
		r := h.page(h.svc.Checkout, rq{Method: "GET", Path: "/checkout/" + id, Query: query, Headers: hd, Params: map[string]string{"orderId": id}})
		checkPageHeaders(t, r)
		resp.status, resp.headers, resp.body = r.StatusCode, r.Headers, r.Body
		return resp
	}

	t.Run("page", func(t *testing.T) {
		r := h.page(h.svc.Checkout, rq{Method: "GET", Path: "/checkout/" + o.OrderID, Params: map[string]string{"orderId": o.OrderID}})
		wantPage(t, r, 200, "checkout")
		if coop := r.Headers["Cross-Origin-Opener-Policy"]; coop != "same-origin-allow-popups" {
			t.Errorf("COOP %q", coop)
		}
		csp := r.Headers["Content-Security-Policy"]
		if !regexp.MustCompile(`script-src 'nonce-[^']+' https://js\.tosspayments\.com(;|$)`).MatchString(csp) {
			t.Errorf("CSP does not allow the SDK's origin: %q", csp)
		}
		if !strings.Contains(r.Body, h.sb.ClientKey()) {
			t.Errorf("client key missing")
		}
		if strings.Contains(r.Body, h.sb.SecretKey()) || strings.Contains(r.Body, "test_sk_") {
			t.Errorf("the page carries a secret key")
		}
		if !strings.Contains(r.Body, `<script src="https://js.tosspayments.com/v2/standard"></script>`) {
			t.Errorf("the SDK script is not loaded")
		}
		m := checkoutDataRe.FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatal("no checkout data")
		}
		var d checkoutData
		if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
			t.Fatalf("checkout data: %v\n%s", err, m[1])
		}
		if d.OrderID != o.OrderID || d.Amount != 39000 || d.Currency != "KRW" || d.ClientKey != h.sb.ClientKey() || d.Language != "KO" {
			t.Errorf("checkout data %+v", d)
		}
		su, err := url.Parse(d.SuccessURL)
		if err != nil || su.Scheme+"://"+su.Host != baseURL || su.Path != "/payments/success" {
			t.Errorf("successUrl %q", d.SuccessURL)
		}
		fu, err := url.Parse(d.FailURL)
		if err != nil || fu.Scheme+"://"+fu.Host != baseURL || fu.Path != "/payments/fail" || fu.Query().Get("orderId") != o.OrderID {
			t.Errorf("failUrl %q", d.FailURL)
		}
	})

	for _, tc := range []struct {
		name, query, acceptLanguage, want string
	}{
		{"default", "", "", "ko"},
		{"lang=en", "lang=en", "", "en"},
		{"lang=ja", "lang=ja", "", "ja"},
		{"lang=zh", "lang=zh", "", "zh-Hans"},
		{"lang=ko over Accept-Language", "lang=ko", "en-US", "ko"},
		{"Accept-Language ja", "", "ja-JP,ja;q=0.9", "ja"},
		{"Accept-Language zh", "", "zh-CN", "zh-Hans"},
		{"Accept-Language en", "", "en-GB,en;q=0.8", "en"},
		{"unknown lang falls back to Accept-Language", "lang=xx", "en", "en"},
		{"unsupported language", "", "fr-FR", "ko"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(o.OrderID, tc.query, tc.acceptLanguage)
			m := htmlLangRe.FindStringSubmatch(r.body)
			if r.status != 200 || m == nil || m[1] != tc.want {
				t.Errorf("status %d lang %v, want %s", r.status, m, tc.want)
			}
		})
	}

	t.Run("merchant text is escaped", func(t *testing.T) {
		const evil = `</script><script>alert(1)</script><img src=x onerror=alert(1)>`
		resp := h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: jsonHeaders(),
			Body: `{"orderName":` + strconv.Quote(evil) + `,"amount":1000,"customerName":` + strconv.Quote(evil) + `}`})
		var eo orderView
		wantEntity(t, resp, 200, "order", &eo)
		r := h.page(h.svc.Checkout, rq{Method: "GET", Path: "/checkout/" + eo.OrderID, Params: map[string]string{"orderId": eo.OrderID}})
		wantPage(t, r, 200, "checkout")
		for _, raw := range []string{"<script>alert", "<img src=x", "</script><script>"} {
			if strings.Contains(r.Body, raw) {
				t.Errorf("page carries %q raw", raw)
			}
		}
		var d struct {
			OrderName string `json:"orderName"`
		}
		if m := checkoutDataRe.FindStringSubmatch(r.Body); m == nil || json.Unmarshal([]byte(m[1]), &d) != nil || d.OrderName != evil {
			t.Errorf("the window would not get the order name as given: %+v", d)
		}
	})

	for _, tc := range []struct{ name, id string }{
		{"unknown", "ord_0000000000000000000000"},
		{"malformed", "../x"},
		{"too short", "ord_1"},
		{"markup", `<script>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.page(h.svc.Checkout, rq{Method: "GET", Path: "/checkout/x", Params: map[string]string{"orderId": tc.id}})
			wantPage(t, r, 404, "not-found")
			if strings.Contains(r.Body, h.sb.ClientKey()) {
				t.Errorf("a not-found page carries the client key")
			}
		})
	}
}

func TestCheckoutStates(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(h *harness, o orderView)
		status int
		state  string
		check  func(t *testing.T, o orderView, body string)
	}{
		{
			name: "paid",
			setup: func(h *harness, o orderView) {
				key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
				wantEntity(h.t, h.confirm(key, o.OrderID, o.Amount, ""), 200, "payment", nil)
			},
			status: 200, state: "paid",
			check: func(t *testing.T, o orderView, body string) {
				if !strings.HasPrefix(linkHref(body, "receipt"), "http") {
					t.Errorf("no receipt link")
				}
			},
		},
		{
			name:   "expired",
			setup:  func(h *harness, o orderView) { h.clock.Advance(24*time.Hour + time.Millisecond) },
			status: 200, state: "expired",
		},
		{
			name: "confirming",
			setup: func(h *harness, o orderView) {
				now := h.clock.Now()
				if _, err := h.store.Claim(context.Background(), orders.Claim{OrderID: o.OrderID, PaymentKey: "tgen_claimed_0001", Amount: o.Amount, Now: now, Until: now.Add(time.Minute)}); err != nil {
					h.t.Fatal(err)
				}
			},
			status: 200, state: "processing",
			check: func(t *testing.T, o orderView, body string) {
				if !strings.Contains(body, `http-equiv="refresh"`) {
					t.Errorf("no meta refresh")
				}
			},
		},
		{
			name: "declined is payable again",
			setup: func(h *harness, o orderView) {
				other := h.createOrder("Other", o.Amount)
				h.confirm(h.sb.Authorize(other.OrderID, other.OrderName, other.Amount), o.OrderID, o.Amount, "")
			},
			status: 200, state: "checkout",
		},
		{
			name:   "keys unavailable",
			setup:  func(h *harness, o orderView) { h.keys.fail(errors.New("secrets manager unreachable")) },
			status: http.StatusServiceUnavailable, state: "unavailable",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			tc.setup(h, o)
			r := h.page(h.svc.Checkout, rq{Method: "GET", Path: "/checkout/" + o.OrderID, Params: map[string]string{"orderId": o.OrderID}})
			wantPage(t, r, tc.status, tc.state)
			if tc.state != "checkout" {
				if strings.Contains(r.Body, h.sb.ClientKey()) || hasID(r.Body, "pay") {
					t.Errorf("a %s page offers to pay", tc.state)
				}
				if coop := r.Headers["Cross-Origin-Opener-Policy"]; coop != "same-origin" {
					t.Errorf("COOP %q", coop)
				}
			}
			if tc.check != nil {
				tc.check(t, o, r.Body)
			}
		})
	}
}

// A buyer who fails once, then pays: the whole round trip through the
// pages, from the checkout URL the merchant was given. Its checkout token
// travels on: into the successUrl and failUrl handed to Toss, back into
// the retry link, and into the confirm, which draws on the order's own
// budget and leaves the anonymous one untouched.
func TestBuyerJourney(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	cu, _ := url.Parse(o.CheckoutURL)
	if cu.Query().Get("token") != o.CheckoutToken {
		t.Fatalf("checkoutUrl %q does not carry the checkout token", o.CheckoutURL)
	}

	r := h.page(h.svc.Checkout, rq{Method: "GET", Path: cu.Path, Query: cu.RawQuery + "&lang=ja", Params: map[string]string{"orderId": o.OrderID}})
	wantPage(t, r, 200, "checkout")
	var d checkoutData
	if m := checkoutDataRe.FindStringSubmatch(r.Body); m == nil || json.Unmarshal([]byte(m[1]), &d) != nil {
		t.Fatal("no checkout data")
	}
	if d.Language != "JA" {
		t.Errorf("window language %q", d.Language)
	}
	for name, u := range map[string]string{"successUrl": d.SuccessURL, "failUrl": d.FailURL} {
		if pu, err := url.Parse(u); err != nil || pu.Query().Get("token") != o.CheckoutToken {
			t.Errorf("%s %q does not carry the checkout token", name, u)
		}
	}

	// The buyer closes the window: Toss redirects to failUrl with its own query added.
	fu, _ := url.Parse(d.FailURL)
	q := fu.Query()
	q.Set("code", "PAY_PROCESS_CANCELED")
	q.Set("message", "canceled")
	r = h.page(h.svc.PaymentFail, rq{Method: "GET", Path: fu.Path, Query: q.Encode()})
	wantPage(t, r, 200, "fail")
	if href := linkHref(r.Body, "retry"); !strings.HasPrefix(href, o.CheckoutURL+"&") || !strings.Contains(href, "lang=ja") {
		t.Errorf("retry link %q, want the checkout URL with its token", href)
	}

	// Then approves: Toss redirects to successUrl.
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	su, _ := url.Parse(d.SuccessURL)
	sq := su.Query()
	sq.Set("paymentType", "NORMAL")
	sq.Set("orderId", o.OrderID)
	sq.Set("paymentKey", key)
	sq.Set("amount", fmt.Sprint(o.Amount))
	r = h.page(h.svc.PaymentSuccess, rq{Method: "GET", Path: su.Path, Query: sq.Encode()})
	wantPage(t, r, 200, "done")
	if m := htmlLangRe.FindStringSubmatch(r.Body); m == nil || m[1] != "ja" {
		t.Errorf("receipt language %v", m)
	}
	// The closed window was the browser's word: not recorded (PaymentFail).
	if got := h.getOrder(o.OrderID); got.Status != "DONE" || got.LastFailure != nil {
		t.Errorf("order %+v", got)
	}
	if got := h.storedOrder(o.OrderID); len(got.TokenAttempts) != 1 || len(got.RecentAttempts) != 0 {
		t.Errorf("the redirect spent %d of the token's budget and %d of the anonymous one, want 1 and 0", len(got.TokenAttempts), len(got.RecentAttempts))
	}
	// A checkout page opened with a token that is not the order's works,
	// as without one: the token goes nowhere.
	r = h.page(h.svc.Checkout, rq{Method: "GET", Path: cu.Path, Query: "token=" + orders.NewToken(), Params: map[string]string{"orderId": o.OrderID}})
	if strings.Contains(r.Body, "token=") {
		t.Errorf("a wrong token was passed on: %s", r.Body)
	}
}
