package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tossintl/backend/tools/samlocal/stack"
)

// After the payment, through the real bootstraps: refunds over the API and
// refunds made in Toss's dashboard announced by webhook, duplicated and
// reordered — the order's state and balance always match the sandbox's.
func TestRefundsAndWebhooksKeepOrdersInStepWithToss(t *testing.T) {
	s, _ := startStack(t, stack.Options{})
	merchant := func(extra ...string) map[string]string {
		h := map[string]string{"Authorization": basic(stack.DefaultMerchantAPIKey), "Content-Type": "application/json"}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}
	type order struct {
		OrderID, Status, PaymentKey string
		Payment                     *struct{ BalanceAmount int64 }
	}
	readOrder := func(id string) order {
		t.Helper()
		r := do(t, "GET", s.URL+"/orders/"+id, merchant(), nil)
		var env struct{ EntityBody order }
		if r.Status != 200 || json.Unmarshal(r.Body, &env) != nil {
			t.Fatalf("get order: %d %s", r.Status, r.Body)
		}
		return env.EntityBody
	}
	// inStep checks the order against the sandbox's own record of the payment.
	inStep := func(id, pk, wantStatus string) {
		t.Helper()
		o := readOrder(id)
		p, ok := s.Sandbox.Payment(pk)
		if !ok {
			t.Fatalf("sandbox has no payment %s", pk)
		}
		if o.Status != wantStatus || o.Payment == nil || o.Payment.BalanceAmount != p.BalanceAmount {
			t.Fatalf("order %s: status %s balance %+v; sandbox %s balance %d; want %s", id, o.Status, o.Payment, p.Status, p.BalanceAmount, wantStatus)
		}
	}
	pay := func(name string, amount int64) (id, pk string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"orderName": name, "amount": amount})
		r := do(t, "POST", s.URL+"/orders", merchant(), body)
		var env struct{ EntityBody order }
		if r.Status != 200 || json.Unmarshal(r.Body, &env) != nil {
			t.Fatalf("create order: %d %s", r.Status, r.Body)
		}
		id = env.EntityBody.OrderID
		pk = s.Sandbox.Authorize(id, name, amount)
		cb, _ := json.Marshal(map[string]any{"paymentKey": pk, "orderId": id, "amount": amount})
		if r := do(t, "POST", s.URL+"/payments/confirm", map[string]string{"Content-Type": "application/json"}, cb); r.Status != 200 {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		return id, pk
	}
	refund := func(pk string, amount int64, key string) httpResult {
		t.Helper()
		b := map[string]any{"cancelReason": "customer request"}
		if amount > 0 {
			b["cancelAmount"] = amount
		}
		body, _ := json.Marshal(b)
		h := merchant()
		if key != "" {
			h["Idempotency-Key"] = key
		}
		return do(t, "POST", s.URL+"/payments/"+pk+"/cancel", h, body)
	}
	settle := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		if err := s.Sandbox.WaitWebhooks(ctx); err != nil {
			t.Fatalf("webhooks not delivered: %v", err)
		}
	}

	// Pay, refund partially, retry that refund, refund the rest.
	id, pk := pay("Hanbok rental, 1 day", 39000)
	settle()
	inStep(id, pk, "DONE")
	if r := refund(pk, 10000, "refund-1"); r.Status != 200 {
		t.Fatalf("partial refund: %d %s", r.Status, r.Body)
	}
	inStep(id, pk, "PARTIAL_CANCELED")
	if r := refund(pk, 10000, "refund-1"); r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retried refund: %d %v %s", r.Status, r.Header, r.Body)
	}
	if r := refund(pk, 50000, ""); r.Status != 400 {
		t.Fatalf("refund over the balance: %d %s", r.Status, r.Body)
	}
	inStep(id, pk, "PARTIAL_CANCELED")
	if r := refund(pk, 0, "refund-rest"); r.Status != 200 {
		t.Fatalf("refund of the rest: %d %s", r.Status, r.Body)
	}
	settle()
	inStep(id, pk, "CANCELED")
	if p, _ := s.Sandbox.Payment(pk); len(p.Cancels) != 2 {
		t.Fatalf("sandbox holds %d refunds, want 2", len(p.Cancels))
	}

	// A refund in Toss's dashboard, announced by webhook.
	id, pk = pay("Tea set", 52000)
	settle()
	if _, err := s.Sandbox.DashboardCancel(pk, "operator refund", 12000); err != nil {
		t.Fatal(err)
	}
	settle()
	inStep(id, pk, "PARTIAL_CANCELED")

	// Duplicated deliveries change nothing.
	s.Sandbox.RedeliverWebhooks()
	settle()
	inStep(id, pk, "PARTIAL_CANCELED")

	// Reordered: the later refund's event arrives before the earlier one's.
	s.Sandbox.HoldWebhooks(true)
	if _, err := s.Sandbox.DashboardCancel(pk, "operator refund 2", 10000); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sandbox.DashboardCancel(pk, "operator refund 3", 0); err != nil {
		t.Fatal(err)
	}
	var held []int
	for _, ev := range s.Sandbox.WebhookEvents() {
		if ev.PaymentKey == pk {
			held = append(held, ev.ID)
		}
	}
	if len(held) < 2 {
		t.Fatalf("events for %s: %v", pk, held)
	}
	last, prev := held[len(held)-1], held[len(held)-2]
	s.Sandbox.HoldWebhooks(false)
	s.Sandbox.ReleaseWebhooks(last, prev)
	settle()
	inStep(id, pk, "CANCELED")

	for _, d := range s.Sandbox.Webhooks() {
		if d.Status != 200 {
			t.Errorf("webhook delivery %d attempt %d answered %d %s", d.EventID, d.Attempt, d.Status, d.Err)
		}
	}
	if n := s.Sandbox.ConfirmsExecuted(id); n != 1 {
		t.Errorf("confirms executed %d", n)
	}
	t.Logf("webhook deliveries: %d", len(s.Sandbox.Webhooks()))
}
