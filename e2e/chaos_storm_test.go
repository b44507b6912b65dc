package e2e

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
)

// storm sends 240 requests for one order at once, through the API and the
// real bootstraps (8 warm processes per function): the buyer's success page
// reloaded, the frontend's confirm with and without Idempotency-Keys, and
// tampered amounts among them. Toss must execute exactly one confirm, every
// honest answer must be the receipt or "processing", never a decline or an
// error, and nothing may be a 5xx.
func (c *campaign) storm(t *testing.T) {
	p := c.newPaid(t, "Storm: Jeju day trip for two", 129000)
	tampered := p
	tampered.amount = 1000
	keys := []string{"storm-" + p.id + "-a", "storm-" + p.id + "-b", "storm-" + p.id + "-c", "storm-" + p.id + "-d"}

	type req struct {
		kind   string // page, api, api-key, page-tampered, api-tampered
		method string
		path   string
		header map[string]string
		body   []byte
	}
	var reqs []req
	for i := range 80 {
		lang := []string{"en", "ko", "ja", "zh"}[i%4]
		reqs = append(reqs, req{"page", "GET", p.successPath(lang), nil, nil})
	}
	for range 60 {
		reqs = append(reqs, req{"api", "POST", "/payments/confirm", map[string]string{"Content-Type": "application/json"}, p.confirmBody()})
	}
	for i := range 80 {
		reqs = append(reqs, req{"api-key", "POST", "/payments/confirm",
			map[string]string{"Content-Type": "application/json", "Idempotency-Key": keys[i%len(keys)]}, p.confirmBody()})
	}
	for range 10 {
		reqs = append(reqs, req{"page-tampered", "GET", tampered.successPath("en"), nil, nil})
		reqs = append(reqs, req{"api-tampered", "POST", "/payments/confirm", map[string]string{"Content-Type": "application/json"}, tampered.confirmBody()})
	}
	replies, errs := burst(reqs, 1, func(rq req) (reply, error) { return c.send(t, rq.method, rq.path, rq.header, rq.body) })
	c.scenario("storm requests", len(reqs))

	outcomes := map[string]int{}
	for i, rq := range reqs {
		if !c.check(t, errs[i] == nil, "storm %s: %v", rq.kind, errs[i]) {
			continue
		}
		r := replies[i]
		c.check(t, r.status < 500, "storm %s: a 5xx: %s", rq.kind, r)
		var ok bool
		switch rq.kind {
		case "page":
			ok = r.status == 200 && (r.state() == "done" || r.state() == "processing")
		case "api":
			ok = r.status == 200 && r.code() == "DONE" || r.status == 202 && r.code() == "PROCESSING"
		case "api-key":
			ok = r.status == 200 && r.code() == "DONE" || r.status == 202 && r.code() == "PROCESSING" ||
				r.status == 409 && r.code() == "IDEMPOTENT_REQUEST_PROCESSING"
		case "page-tampered":
			ok = r.status == 400 && r.state() == "amount-refused"
		case "api-tampered":
			ok = r.status == 400 && r.code() == "AMOUNT_MISMATCH"
		}
		c.check(t, ok, "storm %s: answer inconsistent with one honest payment: %s", rq.kind, r)
		outcomes[rq.kind+" → "+r.describe()]++
	}

	o := c.order(t, p.id)
	c.check(t, o.Status == "DONE" && o.PaymentKey == p.key && o.Payment != nil && o.Payment.TotalAmount == p.amount,
		"storm: order ends %s with paymentKey %s", o.Status, o.PaymentKey)
	requests, executed := c.tossConfirms(p.id)
	c.check(t, executed == 1, "storm: Toss executed %d confirms of one order", executed)
	for _, r := range c.s.Sandbox.Requests() {
		if r.Path == "/v1/payments/confirm" && strings.Contains(r.Body, p.id) {
			c.check(t, strings.Contains(r.Body, fmt.Sprintf(`"amount":%d`, p.amount)), "storm: a tampered amount reached Toss: %s", r.Body)
		}
	}
	claims := c.aws.claimsOf(p.id)
	c.check(t, claims == 1, "storm: DynamoDB applied %d claims of the order (the conditional claim must admit one)", claims)

	// One more of each converges on the receipt.
	if r := c.call(t, "GET", p.successPath("en"), nil, nil); !c.check(t, r.status == 200 && r.state() == "done", "storm: reload after: %s", r) {
		t.Logf("%s", r.body)
	}
	for _, k := range keys {
		r := c.call(t, "POST", "/payments/confirm", map[string]string{"Content-Type": "application/json", "Idempotency-Key": k}, p.confirmBody())
		c.check(t, r.status == 200 && r.code() == "DONE", "storm: key %s after the storm: %s", k, r)
	}
	_, executed = c.tossConfirms(p.id)
	c.check(t, executed == 1, "storm: Toss executed %d confirms after the reloads", executed)

	var lines []string
	for k, n := range outcomes {
		lines = append(lines, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(lines)
	t.Logf("storm: %d requests; Toss received %d confirm requests and executed %d; %d claim won", len(reqs), requests, executed, claims)
	c.mu.Lock()
	c.stormNote = fmt.Sprintf("%d concurrent requests on one order (%d warm processes per function): %s. "+
		"The order ended DONE; one claim won; Toss received %d confirm request(s) and executed %d; no 5xx.",
		len(reqs), chaosMaxConcurrency, strings.Join(lines, "; "), requests, executed)
	c.mu.Unlock()
}

// countLines counts log lines holding every one of subs.
func countLines(logs string, subs ...string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		all := true
		for _, s := range subs {
			if !strings.Contains(line, s) {
				all = false
				break
			}
		}
		if all {
			n++
		}
	}
	return n
}

// burst sends every request at once, in an order shuffled by seed (reqs is
// shuffled in place, so the interleaving is not the order they were built
// in), and returns each answer at its request's index.
func burst[R any](reqs []R, seed uint64, send func(R) (reply, error)) ([]reply, []error) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	rng.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
	replies := make([]reply, len(reqs))
	errs := make([]error, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, rq := range reqs {
		wg.Go(func() {
			<-start
			replies[i], errs[i] = send(rq)
		})
	}
	close(start)
	wg.Wait()
	return replies, errs
}
