package api_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
)

// merchantRoute is one merchant endpoint and how to call it on a fresh order.
type merchantRoute struct {
	name  string
	route func(h *harness) api.Route
	req   func(h *harness) rq
}

func merchantRoutes() []merchantRoute {
	withOrder := func(method string) func(h *harness) rq {
		return func(h *harness) rq {
			o := h.createOrder("Silk scarf", 39000)
			return rq{Method: method, Path: "/orders/" + o.OrderID, Params: map[string]string{"orderId": o.OrderID}}
		}
	}
	return []merchantRoute{
		{"POST /orders", func(h *harness) api.Route { return h.svc.CreateOrder },
			func(*harness) rq {
				return rq{Method: "POST", Path: "/orders", Headers: jsonHeaders(), Body: createBody("Silk scarf", 39000)}
			}},
		{"GET /orders/{orderId}", func(h *harness) api.Route { return h.svc.GetOrder }, withOrder("GET")},
		{"GET /orders", func(h *harness) api.Route { return h.svc.ListOrders },
			func(*harness) rq { return rq{Method: "GET", Path: "/orders", Query: "limit=5"} }},
		{"DELETE /orders/{orderId}", func(h *harness) api.Route { return h.svc.DeleteOrder }, withOrder("DELETE")},
	}
}

func TestMerchantAuth(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name   string
		auth   string
		status int
		code   string // "" for success
	}{
		{"correct", "Basic " + b64(merchantKey+":"), http.StatusOK, ""},
		{"scheme in lower case", "basic " + b64(merchantKey+":"), http.StatusOK, ""},
		{"password ignored", "Basic " + b64(merchantKey+":anything"), http.StatusOK, ""},
		{"missing", "", http.StatusUnauthorized, api.CodeUnauthorizedKey},
		{"wrong key", "Basic " + b64("mk_test_wrongwrongwrongwrong00:"), http.StatusUnauthorized, api.CodeUnauthorizedKey},
		{"key one character short", "Basic " + b64(merchantKey[:len(merchantKey)-1]+":"), http.StatusUnauthorized, api.CodeUnauthorizedKey},
		{"key as password", "Basic " + b64(":"+merchantKey), http.StatusUnauthorized, api.CodeUnauthorizedKey},
		{"no colon", "Basic " + b64(merchantKey), http.StatusForbidden, api.CodeIncorrectBasicAuthFormat},
		{"bearer scheme", "Bearer " + merchantKey, http.StatusUnauthorized, api.CodeUnauthorizedKey},
		{"raw key", merchantKey, http.StatusUnauthorized, api.CodeUnauthorizedKey},
		{"not base64", "Basic %%%not-base64%%%", http.StatusUnauthorized, api.CodeUnauthorizedKey},
		{"scheme only", "Basic", http.StatusUnauthorized, api.CodeUnauthorizedKey},
	}
	for _, mr := range merchantRoutes() {
		t.Run(mr.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					h := newHarness(t)
					r := mr.req(h)
					r.Auth = tc.auth
					resp := h.json(mr.route(h), r)
					if tc.code == "" {
						if resp.StatusCode/100 != 2 {
							t.Fatalf("status %d, want 2xx: %s", resp.StatusCode, resp.Body)
						}
						return
					}
					wantError(t, resp, tc.status, tc.code)
					if tc.status == http.StatusUnauthorized {
						if !strings.HasPrefix(resp.Headers["WWW-Authenticate"], "Basic ") {
							t.Errorf("401 without a Basic WWW-Authenticate challenge: %v", resp.Headers)
						}
					}
				})
			}
		})
	}
}

// A refused merchant request changes nothing.
func TestMerchantAuthRefusalHasNoEffect(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Tea set", 15000)
	resp := h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Headers: jsonHeaders(), Body: createBody("Other", 1000)})
	wantError(t, resp, 401, api.CodeUnauthorizedKey)
	resp = h.json(h.svc.DeleteOrder, rq{Method: "DELETE", Path: "/orders/" + o.OrderID, Params: map[string]string{"orderId": o.OrderID},
		Auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(merchantKey))})
	wantError(t, resp, 403, api.CodeIncorrectBasicAuthFormat)

	var list struct {
		Items []orderView `json:"items"`
	}
	wantEntity(t, h.json(h.svc.ListOrders, rq{Method: "GET", Path: "/orders", Auth: authHeader()}), 200, "order-list", &list)
	if len(list.Items) != 1 || list.Items[0].OrderID != o.OrderID {
		t.Fatalf("orders after refused requests: %+v", list.Items)
	}
}

func TestMerchantKeysUnavailable(t *testing.T) {
	for _, mr := range merchantRoutes() {
		t.Run(mr.name, func(t *testing.T) {
			h := newHarness(t)
			r := mr.req(h)
			r.Auth = authHeader()
			h.keys.fail(errors.New("secrets manager unreachable"))
			wantError(t, h.json(mr.route(h), r), http.StatusServiceUnavailable, api.CodeServiceUnavailable)
		})
	}
}

func TestEnvelopes(t *testing.T) {
	h := newHarness(t)

	t.Run("success", func(t *testing.T) {
		req := h.request(rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: jsonHeaders(), Body: createBody("Tea", 1000)})
		resp := h.call(h.svc.JSON(h.svc.CreateOrder), req)
		e := wantEntity(t, resp, 200, "order", nil)
		if e.Version != api.Version || e.TraceID != req.RequestContext.RequestID || len(e.EntityBody) == 0 {
			t.Fatalf("envelope %+v, want version %s and traceId %s", e, api.Version, req.RequestContext.RequestID)
		}
		checkJSONHeaders(t, resp)
	})

	msgs := []struct {
		name, acceptLanguage, want string
	}{
		{"Korean by default", "", "인증되지 않은 API 키입니다."},
		{"English for en-US", "en-US", "The API key is not authorized."},
		{"English for en", "en", "The API key is not authorized."},
		{"Korean for ko-KR first", "ko-KR,en-US;q=0.8", "인증되지 않은 API 키입니다."},
		{"English for en after a language we lack", "fr-FR,en;q=0.5", "The API key is not authorized."},
		{"Korean when English is refused", "en;q=0", "인증되지 않은 API 키입니다."},
	}
	for _, tc := range msgs {
		t.Run("error "+tc.name, func(t *testing.T) {
			hd := jsonHeaders()
			if tc.acceptLanguage != "" {
				hd["accept-language"] = tc.acceptLanguage
			}
			req := h.request(rq{Method: "POST", Path: "/orders", Headers: hd, Body: createBody("Tea", 1000)})
			resp := h.call(h.svc.JSON(h.svc.CreateOrder), req)
			e := wantError(t, resp, 401, api.CodeUnauthorizedKey)
			if e.Error.Message != tc.want {
				t.Errorf("message %q, want %q", e.Error.Message, tc.want)
			}
			if e.Version != api.Version || e.TraceID != req.RequestContext.RequestID {
				t.Errorf("version %q traceId %q, want %q %q", e.Version, e.TraceID, api.Version, req.RequestContext.RequestID)
			}
			checkJSONHeaders(t, resp)
		})
	}

	t.Run("field errors name the field in the caller's language", func(t *testing.T) {
		for _, tc := range []struct{ lang, want string }{{"", "amount"}, {"en-US", "Invalid value for amount"}} {
			hd := jsonHeaders()
			if tc.lang != "" {
				hd["accept-language"] = tc.lang
			}
			resp := h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: hd, Body: `{"orderName":"Tea","amount":0}`})
			e := wantError(t, resp, 400, api.CodeInvalidRequest)
			if !strings.Contains(e.Error.Message, tc.want) {
				t.Errorf("Accept-Language %q: message %q lacks %q", tc.lang, e.Error.Message, tc.want)
			}
		}
	})
}

func checkJSONHeaders(t *testing.T, resp apigw.Response) {
	t.Helper()
	if ct := resp.Headers["Content-Type"]; !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Headers["Cache-Control"]; cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
}

// A panicking route answers a generic error, never a stack trace.
func TestPanicRecovered(t *testing.T) {
	h := newHarness(t)
	broken := *h.svc
	broken.Orders = nil // a wiring mistake: every store call panics
	broken.Engine = nil

	stackHints := []string{"goroutine", "panic", ".go:", "runtime/", "nil pointer"}
	noStack := func(t *testing.T, resp apigw.Response) {
		t.Helper()
		for _, s := range stackHints {
			if strings.Contains(resp.Body, s) {
				t.Errorf("body carries %q:\n%s", s, resp.Body)
			}
		}
	}

	jsonCases := []struct {
		name  string
		route api.Route
		req   rq
	}{
		{"create order", broken.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: jsonHeaders(), Body: createBody("Tea", 1000)}},
		{"get order", broken.GetOrder, rq{Method: "GET", Path: "/orders/ord_0000000000000000000000", Auth: authHeader(), Params: map[string]string{"orderId": "ord_0000000000000000000000"}}},
		{"confirm", broken.ConfirmPayment, rq{Method: "POST", Path: "/payments/confirm", Headers: jsonHeaders(), Body: confirmBody("tgen_key_0001", "ord_0000000000000000000000", 1000)}},
		{"list orders", broken.ListOrders, rq{Method: "GET", Path: "/orders", Auth: authHeader()}},
		{"delete order", broken.DeleteOrder, rq{Method: "DELETE", Path: "/orders/ord_0000000000000000000000", Auth: authHeader(), Params: map[string]string{"orderId": "ord_0000000000000000000000"}}},
		{"refund", broken.CancelPayment, rq{Method: "POST", Path: "/payments/tgen_key_0001/cancel", Auth: authHeader(), Headers: jsonHeaders(),
			Params: map[string]string{"paymentKey": "tgen_key_0001"}, Body: refundBody(0)}},
		{"webhook", broken.TossWebhook, rq{Method: "POST", Path: "/webhooks/toss", Headers: jsonHeaders(),
			Body: `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:05:00.000000","data":{"paymentKey":"tgen_key_0001","orderId":"ord_0000000000000000000000","status":"DONE"}}`}},
	}
	for _, tc := range jsonCases {
		t.Run(tc.name, func(t *testing.T) {
			req := h.request(tc.req)
			resp := h.call(broken.JSON(tc.route), req)
			e := wantError(t, resp, http.StatusInternalServerError, api.CodeInternal)
			if e.TraceID != req.RequestContext.RequestID {
				t.Errorf("traceId %q", e.TraceID)
			}
			checkJSONHeaders(t, resp)
			noStack(t, resp)
		})
	}

	pageCases := []struct {
		name  string
		route api.Route
		req   rq
	}{
		{"checkout", broken.Checkout, rq{Method: "GET", Path: "/checkout/ord_0000000000000000000000", Params: map[string]string{"orderId": "ord_0000000000000000000000"}}},
		{"success", broken.PaymentSuccess, rq{Method: "GET", Path: "/payments/success", Query: "orderId=ord_0000000000000000000000&paymentKey=tgen_key_0001&amount=1000"}},
		{"fail", broken.PaymentFail, rq{Method: "GET", Path: "/payments/fail", Query: "code=PAY_PROCESS_ABORTED&message=x&orderId=ord_0000000000000000000000"}},
	}
	for _, tc := range pageCases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.call(broken.Page(tc.route), h.request(tc.req))
			wantPage(t, resp, http.StatusInternalServerError, "unavailable")
			noStack(t, resp)
		})
	}
}
