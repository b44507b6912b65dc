package api_test

import (
	"net/http"
	"testing"

	"github.com/tossintl/backend/shared/apigw"
)

func TestTossWebhookRoute(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	if resp := h.confirm(key, o.OrderID, o.Amount, ""); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	if _, err := h.sb.DashboardCancel(key, "operator", 4000); err != nil {
		t.Fatal(err)
	}
	hook := func(body string) apigw.Response {
		return h.json(h.svc.TossWebhook, rq{Method: "POST", Path: "/webhooks/toss", Headers: jsonHeaders(), Body: body})
	}
	// The payload lies about the balance; the re-fetch decides.
	body := `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:18:14.123456","data":{"paymentKey":"` + key + `","status":"CANCELED","balanceAmount":0}}`
	if r := hook(body); r.StatusCode != 200 || !contains(r.Body, `"action":"APPLIED"`) {
		t.Fatalf("webhook: %d %s", r.StatusCode, r.Body)
	}
	got := h.getOrder(o.OrderID)
	if got.Status != "PARTIAL_CANCELED" || got.Payment == nil || got.Payment.BalanceAmount != 35000 {
		t.Fatalf("order after webhook: %+v", got)
	}
	if r := hook(body); r.StatusCode != 200 || contains(r.Body, `"action":"APPLIED"`) {
		t.Fatalf("duplicate webhook: %d %s", r.StatusCode, r.Body)
	}
	for _, bad := range []string{`{`, `[]`, `{"eventType":42}`, `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:18:14","data":{}}`} {
		if r := hook(bad); r.StatusCode != http.StatusBadRequest || !contains(r.Body, `"INVALID_WEBHOOK"`) {
			t.Errorf("malformed %q: %d %s", bad, r.StatusCode, r.Body)
		}
	}
}
