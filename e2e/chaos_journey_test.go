package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/orders"
)

// journey is a full end-to-end run through every function, the way a
// merchant and a buyer use the API: create (and replay), read, list, the
// checkout page, a closed window, the payment, the JSON confirm, a refund,
// a deletion, the webhook and the reconciler. secretsNeverLeak then reads
// every log line of the whole campaign.
func (c *campaign) journey(t *testing.T) {
	steps := 0
	step := func(name string, ok bool, r reply) {
		t.Helper()
		steps++
		c.check(t, ok, "journey %s: %s", name, r)
	}
	auth := c.merchant()
	auth["Idempotency-Key"] = "journey-" + chaosHex(8)
	body := []byte(`{"orderName":"Hanbok rental, 1 day","amount":39000,"customerEmail":"buyer@example.com","customerName":"Mina","refOrderId":"journey-1"}`)
	r := c.call(t, "POST", "/orders", auth, body)
	step("create", r.status == 200, r)
	id := between(string(r.body), `"orderId":"`, `"`)
	r = c.call(t, "POST", "/orders", auth, body)
	step("create replayed", r.status == 200 && r.header.Get("Idempotent-Replayed") == "true" && strings.Contains(string(r.body), id), r)
	r = c.call(t, "GET", "/orders/"+id, c.merchant(), nil)
	step("get", r.status == 200 && strings.Contains(string(r.body), `"status":"PENDING"`), r)
	r = c.call(t, "GET", "/orders?limit=5", c.merchant(), nil)
	step("list", r.status == 200 && strings.Contains(string(r.body), id), r)
	r = c.call(t, "GET", "/checkout/"+id+"?lang=ja", nil, nil)
	step("checkout", r.status == 200 && r.state() == "checkout" && strings.Contains(string(r.body), c.s.Keys.TossClientKey), r)
	r = c.call(t, "GET", "/payments/fail?lang=ja&code=PAY_PROCESS_CANCELED&message="+url.QueryEscape("결제가 취소되었습니다")+"&orderId="+id, nil, nil)
	step("window closed", r.status == 200 && r.state() == "fail", r)
	p := paid{id: id, amount: 39000, key: c.s.Sandbox.Authorize(id, "Hanbok rental, 1 day", 39000)}
	r = c.call(t, "GET", p.successPath("ja"), nil, nil)
	step("pay", r.status == 200 && r.state() == "done", r)
	r = c.call(t, "GET", "/orders/"+id, c.merchant(), nil)
	step("get paid", r.status == 200 && strings.Contains(string(r.body), `"status":"DONE"`), r)
	refund := c.merchant()
	refund["Idempotency-Key"] = "journey-refund-" + chaosHex(8)
	r = c.call(t, "POST", "/payments/"+url.PathEscape(p.key)+"/cancel", refund, []byte(`{"cancelReason":"Returned one item","cancelAmount":9000}`))
	step("refund part", r.status == 200, r)
	o := c.order(t, id)
	step("refund recorded", o.Status == orders.StatusPartialCanceled && o.Payment != nil && o.Payment.BalanceAmount == 30000, reply{body: []byte(string(o.Status))})

	q := c.newPaid(t, "Tea ceremony for two", 52000)
	h := map[string]string{"Content-Type": "application/json", "Idempotency-Key": "journey-confirm-" + q.id}
	r = c.call(t, "POST", "/payments/confirm", h, q.confirmBody())
	step("confirm API", r.status == 200 && r.code() == "DONE", r)
	r = c.call(t, "POST", "/payments/confirm", h, q.confirmBody())
	step("confirm API replayed", r.status == 200 && r.header.Get("Idempotent-Replayed") == "true", r)

	d := c.newOrder(t, "Abandoned cart", 12000)
	r = c.call(t, "DELETE", "/orders/"+d, c.merchant(), nil)
	step("delete", r.status == 200, r)
	r = c.call(t, "GET", "/orders/"+d, c.merchant(), nil)
	step("deleted is gone", r.status == 404, r)

	rep := c.reconcile(t)
	step("reconcile", rep.Errors == 0 && rep.Pending == 0, reply{body: fmt.Appendf(nil, "%+v", rep)})
	c.scenario("journey steps", steps)
}

// secretsNeverLeak reads every line the campaign's functions, the sandbox
// and the stack logged (the stack's Logs writer) for the Toss secret keys
// (the first and every rotated one) and the merchant key, raw and in their
// Basic forms; the functions' environments must not hold them either. Every
// answer of the campaign was already searched as it arrived (inspect).
func (c *campaign) secretsNeverLeak(t *testing.T) {
	logs := c.logs.String()
	lines := strings.Count(logs, "\n")
	forms := c.secretForms()
	for _, f := range forms {
		c.check(t, !strings.Contains(logs, f), "a key (or its Basic form %q…) appears in the logs", f[:min(len(f), 12)])
	}
	c.mu.Lock()
	journeyRan := c.scenarios["journey steps"] > 0
	c.mu.Unlock()
	for _, fn := range c.s.Template.Functions {
		if journeyRan {
			// The journey reaches every function: each must have been heard.
			c.check(t, strings.Contains(logs, "["+fn+"] "), "%s logged nothing: the scan would not see its lines", fn)
		}
		for k, v := range c.s.Env(fn) {
			for _, f := range forms {
				c.check(t, !strings.Contains(v, f), "%s's environment variable %s holds a key", fn, k)
			}
		}
	}
	c.check(t, strings.Contains(logs, sandboxLinePrefix), "the sandbox logged nothing")
	// paymentKeys: only ever masked (guardPaymentKeys searches again once
	// the stack is closed, for the lines written after this).
	paymentKeys := c.s.Sandbox.PaymentKeys()
	leaks, searched := paymentKeyLeaks(logs, paymentKeys)
	c.invariants.Add(int64(len(paymentKeys)))
	reportKeyLeaks(t, leaks, searched, len(paymentKeys))
	c.mu.Lock()
	keys := len(c.secretKeys) + 1
	c.mu.Unlock()
	note := fmt.Sprintf("%d log lines of the whole campaign (every function, the sandbox, the stack) searched for %d keys (%d Toss secret keys, the merchant key), each raw and base64-encoded with and without the trailing colon: none found; no function's environment holds a key. "+
		"The %d lines that are ours (all but the sandbox's, which stand for Toss's own logs) searched for each of the %d paymentKeys the sandbox issued: %d held one unmasked.",
		lines, keys, keys-1, searched, len(paymentKeys), len(leaks))
	t.Log(note)
	c.mu.Lock()
	c.secretsNote = note
	c.mu.Unlock()
}

// between returns the text after start up to end.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return v
}
