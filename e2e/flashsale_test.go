package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// TestFlashSale drives crowds of buyers through the real bootstraps while
// DynamoDB and Toss push back as they do under a flash sale's load:
// DynamoDB throttling (400 ProvisionedThroughputExceededException past the
// SDK's own retries) at order creation, at the claim and at the final
// write after Toss approved; and a storm of Toss 429s on every confirm.
// Whatever was refused is answered 503 with Retry-After and changed
// nothing; whatever Toss approved ends DONE, with one executed confirm per
// order, after retries, reloads and reconcile passes.
func TestFlashSale(t *testing.T) {
	c := startCampaign(t)
	t.Run("DynamoDBThrottling", c.throttledSale)
	t.Run("Toss429Storm", c.toss429Storm)
}

// crowd runs do(0..n-1) at once.
func crowd(n int, do func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			do(i)
		})
	}
	close(start)
	wg.Wait()
}

// attempt is campaign.entry for a crowd's goroutines: an error is
// reported, never fatal (t.Fatal must run on the test's own goroutine).
func (c *campaign) attempt(t *testing.T, entry string, p paid) reply {
	path, method, h, body := p.successPath("en"), "GET", map[string]string{"Accept-Language": "en"}, []byte(nil)
	if entry == "api" {
		path, method, h, body = "/payments/confirm", "POST",
			map[string]string{"Content-Type": "application/json", "Idempotency-Key": "chaos-" + p.id}, p.confirmBody()
	}
	r, err := c.send(t, method, path, h, body)
	if err != nil {
		t.Error(err)
	}
	return r
}

// wantRetryLater checks a refusal for now: 503, Retry-After in seconds,
// and the page or JSON error that says to try again.
func (c *campaign) wantRetryLater(t *testing.T, what string, r reply) {
	t.Helper()
	c.check(t, outcome(r) == "outage" && r.header.Get("Retry-After") == "2",
		"%s: %s with Retry-After %q, want 503 asking to retry after 2 s", what, r.describe(), r.header.Get("Retry-After"))
}

// throttledSale throttles one function's DynamoDB calls at a time while a
// crowd of buyers reaches it.
func (c *campaign) throttledSale(t *testing.T) {
	const n = 8

	// POST /orders: the merchant's servers create orders for a crowd while
	// every DynamoDB call of CreateOrderFunction is throttled.
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "flash-" + chaosHex(8)
	}
	create := func(i int) reply {
		h := c.merchant()
		h["Idempotency-Key"] = keys[i]
		body := fmt.Appendf(nil, `{"orderName":"Concert ticket, seat %d","amount":%d}`, i, 99000+i)
		r, err := c.send(t, "POST", "/orders", h, body)
		if err != nil {
			t.Error(err)
		}
		return r
	}
	throttle := &awsRule{function: "CreateOrderFunction", service: "dynamodb", fault: awsThrottle}
	remove := c.aws.add(throttle)
	crowd(n, func(i int) { c.wantRetryLater(t, "create while throttled", create(i)) })
	remove()
	c.check(t, c.aws.hitsOf(throttle) >= n, "the throttle fired %d times for %d creates", c.aws.hitsOf(throttle), n)
	// After Retry-After, the same requests create each order once.
	ids := make([]string, n)
	crowd(n, func(i int) {
		r := create(i)
		var v struct {
			EntityBody struct{ OrderID string } `json:"entityBody"`
		}
		if !c.check(t, r.status == 200 && json.Unmarshal(r.body, &v) == nil && v.EntityBody.OrderID != "", "create after the throttle: %s", r) {
			return
		}
		ids[i] = v.EntityBody.OrderID
	})
	seen := map[string]bool{}
	for i := range n {
		again := create(i) // a third time: replayed, nothing new
		c.check(t, again.header.Get("Idempotent-Replayed") == "true", "repeat of create %d: %s", i, again)
		seen[ids[i]] = true
	}
	c.check(t, len(seen) == n, "%d creates made %d distinct orders", n, len(seen))

	// The claim write throttled: nothing reaches Toss, the buyer is asked
	// to retry, and the retry pays. Half the buyers come back through the
	// success page, half through the SPA's confirm.
	buyers := make([]paid, n)
	for i, id := range ids {
		buyers[i] = paid{id: id, name: fmt.Sprintf("Concert ticket, seat %d", i), amount: 99000 + int64(i)}
		buyers[i].key = c.s.Sandbox.Authorize(id, buyers[i].name, buyers[i].amount)
	}
	entry := func(i int) string { return []string{"page", "api"}[i%2] }
	claims := []*awsRule{
		{function: "PaymentSuccessFunction", service: "dynamodb", op: "UpdateItem", step: "claim", fault: awsThrottle},
		{function: "ConfirmPaymentFunction", service: "dynamodb", op: "UpdateItem", step: "claim", fault: awsThrottle},
	}
	var removes []func()
	for _, r := range claims {
		removes = append(removes, c.aws.add(r))
	}
	crowd(n, func(i int) {
		c.wantRetryLater(t, "confirm while claims are throttled", c.attempt(t, entry(i), buyers[i]))
	})
	for i, r := range claims {
		removes[i]()
		c.check(t, c.aws.hitsOf(r) > 0, "the claim throttle of %s never fired", r.function)
	}
	for _, p := range buyers {
		o := c.order(t, p.id)
		_, executed := c.tossConfirms(p.id)
		c.check(t, o.Status == orders.StatusPending && executed == 0, "a throttled claim left order %s %s with %d confirms", p.id, o.Status, executed)
	}
	crowd(n, func(i int) {
		r := c.attempt(t, entry(i), buyers[i])
		c.check(t, outcome(r) == "done", "retry after Retry-After: %s", r.describe())
	})

	// The final write throttled after Toss approved: the buyer sees
	// "processing", never an error or a decline, and the reconciler
	// records every payment.
	more := make([]paid, n)
	for i := range more {
		more[i] = c.newPaid(t, fmt.Sprintf("Concert ticket, row B seat %d", i), 120000+int64(i))
	}
	finals := []*awsRule{
		{function: "PaymentSuccessFunction", service: "dynamodb", op: "UpdateItem", step: "complete", fault: awsThrottle},
		{function: "ConfirmPaymentFunction", service: "dynamodb", op: "UpdateItem", step: "complete", fault: awsThrottle},
	}
	// Toss's webhooks would record these payments too: held, so that the
	// reconciler's part is what is tested; delivered at the end.
	c.s.Sandbox.HoldWebhooks(true)
	removes = removes[:0]
	for _, r := range finals {
		removes = append(removes, c.aws.add(r))
	}
	crowd(n, func(i int) {
		r := c.attempt(t, entry(i), more[i])
		c.check(t, outcome(r) == "processing", "confirm with the final write throttled: %s", r.describe())
	})
	for i, r := range finals {
		removes[i]()
		c.check(t, c.aws.hitsOf(r) > 0, "the final-write throttle of %s never fired", r.function)
	}
	done := c.reconcileUntilSettled(t, more)
	c.check(t, done == n, "reconcile passes recorded %d payments, want %d", done, n)
	c.s.Sandbox.HoldWebhooks(false)
	c.s.Sandbox.ReleaseWebhooks()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.s.Sandbox.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(buyers, more...) {
		o := c.order(t, p.id)
		_, executed := c.tossConfirms(p.id)
		c.check(t, o.Status == orders.StatusDone && o.PaymentKey == p.key && executed == 1,
			"order %s ends %s under %s with %d confirms at Toss", p.id, o.Status, o.PaymentKey, executed)
	}
	c.scenario("flash sale, DynamoDB throttled", 4*n)
}

// toss429Storm answers every Toss call 429 while a crowd pays: every buyer
// sees "processing", nothing executes at Toss, and reconcile passes, once
// Toss answers again, confirm each order once under its Idempotency-Key.
func (c *campaign) toss429Storm(t *testing.T) {
	const n = 16
	buyers := make([]paid, n)
	for i := range buyers {
		buyers[i] = c.newPaid(t, fmt.Sprintf("Fan-meeting ticket %d", i), 77000+int64(i))
	}
	before := len(c.s.Sandbox.Requests())
	drain := tossFaults(40*n, tosstest.Fault429)(t, c, paid{})
	crowd(n, func(i int) {
		r := c.attempt(t, []string{"page", "api"}[i%2], buyers[i])
		c.check(t, outcome(r) == "processing", "confirm in a 429 storm: %s", r.describe())
	})
	drain()
	refused := 0
	for _, r := range c.s.Sandbox.Requests()[before:] {
		if r.Fault == tosstest.Fault429 && r.Path == "/v1/payments/confirm" {
			refused++
		}
	}
	c.check(t, refused >= n, "Toss refused %d confirms with 429 in the storm, want at least one per buyer (%d)", refused, n)
	c.tossFault("429 storm", refused)
	for _, p := range buyers {
		c.check(t, c.s.Sandbox.ConfirmsExecuted(p.id) == 0, "order %s was confirmed during the storm", p.id)
	}
	done := c.reconcileUntilSettled(t, buyers)
	c.check(t, done == n, "reconcile passes recorded %d payments, want %d", done, n)
	for _, p := range buyers {
		o := c.order(t, p.id)
		_, executed := c.tossConfirms(p.id)
		c.check(t, o.Status == orders.StatusDone && o.PaymentKey == p.key && executed == 1,
			"after the storm order %s is %s with %d confirms at Toss", p.id, o.Status, executed)
	}
	c.scenario("flash sale, Toss 429 storm", n)
}

// reconcileUntilSettled waits until the claims of ps have lapsed (a claim
// lasts the confirming invocation's timeout) and runs reconcile passes, at
// most three, until none of them is CONFIRMING. It returns how many
// payments the passes recorded.
func (c *campaign) reconcileUntilSettled(t *testing.T, ps []paid) (done int) {
	t.Helper()
	var until time.Time
	for _, p := range ps {
		if o := c.order(t, p.id); o.Status == orders.StatusConfirming && o.ClaimExpiresAt.After(until) {
			until = o.ClaimExpiresAt
		}
	}
	time.Sleep(time.Until(until) + 100*time.Millisecond)
	for pass := 1; pass <= 3; pass++ {
		rep := c.reconcile(t)
		t.Logf("reconcile pass %d: %+v", pass, rep)
		done += rep.Done
		left := 0
		for _, p := range ps {
			if c.order(t, p.id).Status == orders.StatusConfirming {
				left++
			}
		}
		if left == 0 {
			return done
		}
	}
	t.Errorf("orders still CONFIRMING after three reconcile passes")
	return done
}
