package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
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
	body := `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:18:14.123456","data":{"paymentKey":"` + key + `","orderId":"` + o.OrderID + `","status":"CANCELED","balanceAmount":0}}`
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

// webhookFor is a PAYMENT_STATUS_CHANGED delivery naming orderID, with
// paymentKey as given (json.Marshal escapes what needs it; a non-UTF-8
// key is spliced in raw, as a forger would send it).
func webhookFor(orderID, paymentKey string) string {
	pk, _ := json.Marshal(paymentKey)
	if !json.Valid(pk) || strings.Contains(string(pk), `\ufffd`) {
		pk = []byte(`"` + paymentKey + `"`)
	}
	return `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:18:14.123456","data":{"paymentKey":` + string(pk) +
		`,"orderId":"` + orderID + `","status":"DONE","totalAmount":39000,"balanceAmount":39000}}`
}

// A webhook's fields are the sender's word: malformed ones are the
// sender's fault (4xx), never ours (5xx, which Toss retries for days and
// an alarm watches), and no log line carries the key unmasked.
func TestTossWebhookMalformedFields(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	real := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	keys := map[string]string{
		"slash":         real + "/cancel",
		"dot-dot":       "../" + real,
		"question mark": real + "?x=1",
		"hash":          real + "#frag",
		"spaces":        real + " x",
		"300 chars":     real + strings.Repeat("a", 300-len(real)),
		"non-UTF-8":     real + "\xff\xfe",
		"empty":         "",
		"percent":       real + "%2F",
		"not a string":  "",
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			before := h.tossRequests()
			body := webhookFor(o.OrderID, key)
			if name == "not a string" {
				body = strings.Replace(webhookFor(o.OrderID, "x"), `"paymentKey":"x"`, `"paymentKey":{"k":"`+real+`"}`, 1)
			}
			r := h.json(h.svc.TossWebhook, rq{Method: "POST", Path: "/webhooks/toss", Headers: jsonHeaders(), Body: body})
			if r.StatusCode >= 500 || r.StatusCode < 200 || (r.StatusCode != 200 && r.StatusCode >= 300 && r.StatusCode != 400) {
				t.Fatalf("answered %d: %s", r.StatusCode, r.Body)
			}
			if r.StatusCode == 400 && !contains(r.Body, `"INVALID_WEBHOOK"`) {
				t.Errorf("400 without INVALID_WEBHOOK: %s", r.Body)
			}
			if n := h.tossRequests() - before; n != 0 {
				t.Errorf("%d requests reached Toss for a malformed paymentKey", n)
			}
		})
	}
	logs := h.log.String()
	if strings.Contains(logs, real) {
		t.Errorf("a log line carries the paymentKey unmasked:\n%s", logs)
	}
	if got := h.storedOrder(o.OrderID); got.Status != orders.StatusPending || got.Version != 1 {
		t.Errorf("order changed: %+v", got)
	}
}

// A Toss failure on a well-formed key answers 503 (so Toss retries), and
// the error line names the key masked only: the Toss client's error
// carries the request path, which carries the key.
func TestTossWebhookErrorLineMasksTheKey(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	h.sb.FailNext(1000, tosstest.Fault5xx)
	r := h.json(h.svc.TossWebhook, rq{Method: "POST", Path: "/webhooks/toss", Headers: jsonHeaders(), Body: webhookFor(o.OrderID, key)})
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("answered %d, want 503: %s", r.StatusCode, r.Body)
	}
	logs := h.log.String()
	if strings.Contains(logs, key) || !strings.Contains(logs, payments.MaskKey(key)) {
		t.Errorf("want the key masked, never whole, in:\n%s", logs)
	}
}

// Forged webhooks naming an order cost at most orders.AttemptLimit Toss
// lookups a minute for it; beyond that, 429 with Retry-After (Toss would
// deliver a real one again later). Webhooks naming no order of ours cost
// none.
func TestTossWebhookLookupsAreBoundedPerOrder(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	hook := func(orderID, key string) apigw.Response {
		return h.json(h.svc.TossWebhook, rq{Method: "POST", Path: "/webhooks/toss", Headers: jsonHeaders(), Body: webhookFor(orderID, key)})
	}
	before := h.tossRequests()
	throttled := 0
	for i := range 20 {
		r := hook(o.OrderID, fmt.Sprintf("tgen_forged_%04d", i))
		switch r.StatusCode {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			throttled++
			wantError(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS")
			if s, err := strconv.Atoi(r.Headers["Retry-After"]); err != nil || s < 1 || s > 60 {
				t.Fatalf("Retry-After %q", r.Headers["Retry-After"])
			}
		default:
			t.Fatalf("forged webhook %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
	if n := h.tossRequests() - before; n != orders.AttemptLimit || throttled != 20-orders.AttemptLimit {
		t.Fatalf("20 forged webhooks: %d Toss lookups and %d throttled, want %d and %d", n, throttled, orders.AttemptLimit, 20-orders.AttemptLimit)
	}
	for _, id := range []string{orders.NewID(), "not-ours=1", ""} {
		if r := hook(id, "tgen_forged_other"); r.StatusCode != http.StatusOK {
			t.Fatalf("webhook naming %q: %d %s", id, r.StatusCode, r.Body)
		}
	}
	if n := h.tossRequests() - before; n != orders.AttemptLimit {
		t.Fatalf("webhooks naming no order of ours reached Toss (%d lookups)", n)
	}
	// The budget rolls: a minute later the order admits lookups again.
	h.clock.Advance(orders.AttemptWindow)
	if r := hook(o.OrderID, "tgen_forged_late"); r.StatusCode != http.StatusOK {
		t.Fatalf("after the window: %d %s", r.StatusCode, r.Body)
	}
}
