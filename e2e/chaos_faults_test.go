package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tossintl/backend/internal/wait"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// The fault matrix. Each cell is one order, paid by a buyer in the window,
// whose confirm meets one fault through the real bootstraps:
//
//  1. The fault is armed, the buyer's browser lands on the success page
//     (entry "page") or the frontend calls POST /payments/confirm with an
//     Idempotency-Key (entry "api"), and the fault is removed.
//  2. The first answer must be the receipt, "processing", a 503 for our own
//     outage (only where nothing was confirmed), or, for a killed function,
//     API Gateway's 500; never a decline, never another 5xx, never a stack
//     trace. Toss must have executed at most one confirm, and the order's
//     state must agree with the answer.
//  3. One immediate retry must be safe: the receipt or "processing" again
//     (409 for the same Idempotency-Key while its first request's lock is
//     held), and still at most one confirm.
//
// Then the orders left CONFIRMING settle. A claim lapses with the deadline
// of the invocation that took it (the function's Timeout: 15 s for the
// confirm functions); the reconciler only settles lapsed claims, and a
// bootstrap's clock cannot be advanced, so the campaign waits, once for all
// cells, until the last claim's own deadline (read from the table) has
// passed. Then some cells recover the way a buyer does (a reload of the
// success page re-drives the confirm under the same Idempotency-Key) and the
// rest through one pass of the ReconcileFunction. Every cell must end DONE
// with exactly one confirm executed at Toss, and one more request must
// answer the receipt.

type cell struct {
	name    string // subtest name
	layer   string // where the fault is
	fault   string // what happens, for the doc
	entry   string // page or api
	want    string // first answer: done, processing, outage or crash
	recover string // retry (nothing was taken), refresh or reconcile (after the claim lapsed), webhook, "" when done at once
	// arm injects the fault for p's confirm and returns what removes it.
	arm func(t *testing.T, c *campaign, p paid) (disarm func())
	// verify checks what only this cell can (optional).
	verify func(t *testing.T, c *campaign, p paid)
}

// matrixRow is one line of the doc's table.
type matrixRow struct {
	layer, fault, entry, first, stateAfter, recovery, final string
	tossRequests, confirms                                  int
}

// cellRun is a cell's order and what happened to it.
type cellRun struct {
	cell
	p          paid
	first      reply
	stateAfter orders.Status
	firstOK    bool
}

func (c *campaign) faultMatrix(t *testing.T) {
	// Toss's webhooks would settle most cells on their own (the
	// TossWebhookFunction records a payment Toss reports DONE). They are
	// held back, as a lost or late webhook would be, so that what settles
	// each order is the engine's own recovery; one cell lets its webhook
	// through, and at the end every held webhook arrives late, and all of
	// them once more, and must change nothing.
	c.s.Sandbox.HoldWebhooks(true)
	cells := c.cells(t)
	var runs []*cellRun
	for _, cl := range cells {
		run := &cellRun{cell: cl}
		runs = append(runs, run)
		t.Run(cl.name, func(t *testing.T) { c.firstAnswer(t, run) })
	}
	c.scenario("fault cells", len(cells))

	// Wait, once, for the last claim still held to lapse.
	var last time.Time
	for _, run := range runs {
		if !run.firstOK {
			continue
		}
		if o := c.order(t, run.p.id); o.Status == orders.StatusConfirming && o.ClaimExpiresAt.After(last) {
			last = o.ClaimExpiresAt
		}
	}
	if wait := time.Until(last); wait > 0 {
		t.Logf("waiting %s for the last claim to lapse", wait.Round(time.Millisecond))
		time.Sleep(wait + 50*time.Millisecond)
	}

	pending := 0
	for _, run := range runs {
		if !run.firstOK {
			continue
		}
		switch run.recover {
		case "refresh":
			t.Run(run.name+"/refresh", func(t *testing.T) {
				o := c.order(t, run.p.id)
				c.check(t, o.Status == orders.StatusConfirming && o.ClaimExpiresAt.Before(time.Now()),
					"before the reload the order is %s, its claim until %s", o.Status, o.ClaimExpiresAt)
				r := c.entry(t, "page", run.p)
				c.check(t, r.status == 200 && r.state() == "done", "the buyer's reload after the claim lapsed: %s", r)
			})
		case "reconcile":
			if c.order(t, run.p.id).Status == orders.StatusConfirming {
				pending++
			}
		}
	}
	rep := c.reconcile(t)
	t.Logf("reconcile: %+v", rep)
	c.check(t, rep.Errors == 0 && rep.Pending == 0 && rep.Done == pending && rep.LapsedClaims == pending,
		"reconcile settled %+v; %d cells were waiting for it", rep, pending)

	for _, run := range runs {
		if !run.firstOK {
			continue
		}
		t.Run(run.name+"/settled", func(t *testing.T) { c.settled(t, run) })
	}

	t.Run("late-webhooks", func(t *testing.T) {
		held := 0
		for _, ev := range c.s.Sandbox.WebhookEvents() {
			if ev.Held {
				held++
			}
		}
		c.s.Sandbox.HoldWebhooks(false)
		c.s.Sandbox.ReleaseWebhooks()
		c.s.Sandbox.RedeliverWebhooks()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.s.Sandbox.WaitWebhooks(ctx); err != nil {
			t.Fatal(err)
		}
		c.tossFault("webhooks delivered late", held)
		for _, run := range runs {
			o := c.order(t, run.p.id)
			_, executed := c.tossConfirms(run.p.id)
			c.check(t, o.Status == orders.StatusDone && executed == 1, "%s: after the late webhooks the order is %s with %d confirms", run.name, o.Status, executed)
		}
		t.Logf("%d held webhooks delivered late, then every webhook once more", held)
	})
}

// entry makes the cell's request: the success page or the JSON confirm.
func (c *campaign) entry(t testing.TB, entry string, p paid) reply {
	t.Helper()
	if entry == "api" {
		return c.call(t, "POST", "/payments/confirm", map[string]string{"Content-Type": "application/json", "Idempotency-Key": "chaos-" + p.id}, p.confirmBody())
	}
	return c.call(t, "GET", p.successPath("en"), map[string]string{"Accept-Language": "en"}, nil)
}

// outcome classifies an answer to a confirm.
func outcome(r reply) string {
	switch {
	case r.status == 200 && (r.state() == "done" || r.code() == "DONE"):
		return "done"
	case r.status == 200 && r.state() == "processing", r.status == 202 && r.code() == "PROCESSING":
		return "processing"
	case r.status == 503 && (r.state() == "unavailable" || r.code() == "SERVICE_UNAVAILABLE"),
		r.status == 503 && (r.state() == "payments-unavailable" || r.code() == "PAYMENTS_UNAVAILABLE"):
		return "outage"
	case r.status == 409 && r.code() == "IDEMPOTENT_REQUEST_PROCESSING":
		return "busy"
	case r.status == 500 && r.gateway():
		return "crash"
	}
	return "unexpected: " + r.describe()
}

func (c *campaign) firstAnswer(t *testing.T, run *cellRun) {
	run.p = c.newPaid(t, "Chaos cell "+run.name, 50000+int64(len(run.name))*100)
	disarm := run.arm(t, c, run.p)
	run.first = c.entry(t, run.entry, run.p)
	disarm()
	got := outcome(run.first)
	c.check(t, got == run.want, "first answer %s (%s), want %s: %s", got, run.first.describe(), run.want, run.first)
	c.check(t, run.first.status < 500 || got == "outage" || got == "crash" && run.want == "crash", "first answer is a 5xx: %s", run.first)
	if run.entry == "page" {
		c.check(t, run.first.state() != "declined" && run.first.state() != "amount-refused", "the honest buyer was refused: %s", run.first.describe())
	}
	o := c.order(t, run.p.id)
	run.stateAfter = o.Status
	_, executed := c.tossConfirms(run.p.id)
	c.check(t, executed <= 1, "Toss executed %d confirms", executed)
	switch got {
	case "done":
		c.check(t, o.Status == orders.StatusDone && executed == 1, "answered done but the order is %s with %d confirms", o.Status, executed)
	case "processing", "crash":
		c.check(t, o.Status == orders.StatusConfirming || run.recover == "webhook" && o.Status == orders.StatusDone,
			"answered %s but the order is %s", got, o.Status)
	case "outage":
		c.check(t, o.Status == orders.StatusPending && executed == 0 || o.Status == orders.StatusConfirming,
			"answered outage but the order is %s with %d confirms", o.Status, executed)
	}
	if run.verify != nil {
		run.verify(t, c, run.p)
	}

	// One retry right away is safe.
	r := c.entry(t, run.entry, run.p)
	retry := outcome(r)
	allowed := retry == "done" || retry == "processing" || run.entry == "api" && retry == "busy"
	if run.recover == "retry" {
		allowed = retry == "done"
	}
	c.check(t, allowed, "immediate retry answered %s: %s", retry, r)
	_, executed = c.tossConfirms(run.p.id)
	c.check(t, executed <= 1, "Toss executed %d confirms after the retry", executed)
	run.firstOK = !t.Failed()
}

// settled checks a cell's end: DONE, one confirm, and one more request
// converges on the receipt.
func (c *campaign) settled(t *testing.T, run *cellRun) {
	o := c.order(t, run.p.id)
	requests, executed := c.tossConfirms(run.p.id)
	c.check(t, o.Status == orders.StatusDone && o.PaymentKey == run.p.key && o.Payment != nil && o.Payment.TotalAmount == run.p.amount,
		"the paid order ends %s", o.Status)
	c.check(t, executed == 1, "Toss executed %d confirms", executed)
	final := o.Status
	r := c.entry(t, run.entry, run.p)
	c.check(t, outcome(r) == "done", "one more request after recovery: %s", r)
	_, executed = c.tossConfirms(run.p.id)
	c.check(t, executed == 1, "Toss executed %d confirms after the last request", executed)

	recovery := map[string]string{
		"":          "none needed",
		"retry":     "buyer retries at once",
		"refresh":   "buyer reloads after the claim lapsed",
		"reconcile": "ReconcileFunction pass",
		"webhook":   "Toss's webhook",
	}[run.recover]
	entry := map[string]string{"page": "GET /payments/success", "api": "POST /payments/confirm (Idempotency-Key)"}[run.entry]
	c.mu.Lock()
	c.rows = append(c.rows, matrixRow{layer: run.layer, fault: run.fault, entry: entry, first: run.first.describe(),
		stateAfter: string(run.stateAfter), recovery: recovery, final: string(final), tossRequests: requests, confirms: executed})
	c.mu.Unlock()
}

// tossFaults queues n sandbox faults of kind f and removes the leftovers.
func tossFaults(n int, f tosstest.Fault) func(t *testing.T, c *campaign, p paid) func() {
	return func(t *testing.T, c *campaign, p paid) func() {
		c.mu.Lock()
		c.tossQueued += n
		c.mu.Unlock()
		c.s.Sandbox.FailNext(n, f)
		return func() { c.drainTossFaults(t) }
	}
}

// awsFaultAt fails fn's AWS calls matching r until the first answer.
func awsFaultAt(r awsRule) func(t *testing.T, c *campaign, p paid) func() {
	return func(t *testing.T, c *campaign, p paid) func() {
		rule := r
		rule.orderID = p.id
		if rule.service != "secretsmanager" {
			rule.service = "dynamodb"
		}
		remove := c.aws.add(&rule)
		return func() {
			remove()
			c.check(t, c.aws.hitsOf(&rule) > 0, "the %s fault never fired", rule.fault)
		}
	}
}

// outageAfterClaim lets fn's claim of the order through, then makes every
// later AWS call of fn fail with f until the first answer: DynamoDB goes
// away between the claim and everything after it.
func outageAfterClaim(fn string, f awsFault) func(t *testing.T, c *campaign, p paid) func() {
	return func(t *testing.T, c *campaign, p paid) func() {
		outage := &awsRule{function: fn, service: "dynamodb", fault: f}
		var mu sync.Mutex
		var removeOutage func()
		claim := &awsRule{function: fn, service: "dynamodb", op: "UpdateItem", step: "claim", orderID: p.id, times: 1,
			after: func() {
				mu.Lock()
				defer mu.Unlock()
				removeOutage = c.aws.add(outage)
			}}
		removeClaim := c.aws.add(claim)
		return func() {
			removeClaim()
			mu.Lock()
			defer mu.Unlock()
			c.check(t, removeOutage != nil, "the claim never passed")
			if removeOutage != nil {
				removeOutage()
			}
			c.check(t, c.aws.hitsOf(outage) > 0, "the outage after the claim never fired")
		}
	}
}

// secretsDown makes a cold PaymentSuccessFunction find Secrets Manager
// failing with f: its keys are not cached yet.
func secretsDown(f awsFault) func(t *testing.T, c *campaign, p paid) func() {
	return func(t *testing.T, c *campaign, p paid) func() {
		c.killAll("PaymentSuccessFunction")
		rule := &awsRule{function: "PaymentSuccessFunction", service: "secretsmanager", fault: f}
		remove := c.aws.add(rule)
		return func() {
			remove()
			c.check(t, c.aws.hitsOf(rule) > 0, "Secrets Manager was never called")
		}
	}
}

// crashBeforeFinalWrite kills every process of fn when its final write of
// the order reaches DynamoDB, after Toss answered: the write never lands.
func crashBeforeFinalWrite(fn string) func(t *testing.T, c *campaign, p paid) func() {
	return func(t *testing.T, c *campaign, p paid) func() {
		before := c.s.Function(fn).PIDs()
		var killed atomic.Int64
		done := make(chan struct{}) // the answer may arrive before KillAll returns
		rule := &awsRule{function: fn, service: "dynamodb", op: "UpdateItem", step: "complete", orderID: p.id, times: 1, fault: awsDrop,
			before: func() { killed.Add(int64(c.killAll(fn))); close(done) }}
		remove := c.aws.add(rule)
		return func() {
			remove()
			select {
			case <-done:
			case <-time.After(time.Minute):
			}
			c.check(t, killed.Load() > 0, "no process was killed")
			// The next request runs on a fresh process: the pool restarts by itself.
			_ = c.entry(t, "page", p)
			if fn == "ConfirmPaymentFunction" {
				_ = c.call(t, "POST", "/payments/confirm", map[string]string{"Content-Type": "application/json"}, p.confirmBody())
			}
			after := c.s.Function(fn).PIDs()
			fresh := len(after) > 0
			for _, pid := range after {
				for _, old := range before {
					fresh = fresh && pid != old
				}
			}
			c.check(t, fresh, "%s's processes after the crash %v, before %v: no fresh process took over", fn, after, before)
		}
	}
}

func (c *campaign) cells(t *testing.T) []cell {
	timeout, err := c.s.Resolver.Timeout("PaymentSuccessFunction")
	if err != nil {
		t.Fatal(err)
	}
	dynamo := []struct {
		name, text string
		f          awsFault
	}{{"throttled", "throttled (400 ProvisionedThroughputExceededException)", awsThrottle}, {"5xx", "500 InternalServerError", aws5xx}, {"unreachable", "unreachable (connection closed)", awsDrop}}

	cs := []cell{{
		name: "baseline", layer: "none", fault: "no fault", entry: "page", want: "done",
		arm: func(*testing.T, *campaign, paid) func() { return func() {} },
	}, {
		name: "toss/timeout", layer: "Toss", fault: fmt.Sprintf("answers after %s, beyond the function's Toss budget (%s timeout − 2 s reserve); the confirm then executes", timeout+5*time.Second, timeout),
		entry: "page", want: "processing", recover: "reconcile",
		arm: func(t *testing.T, c *campaign, p paid) func() {
			c.s.Sandbox.SetLatency(timeout + 5*time.Second)
			c.tossFault("timeouts", 1)
			return func() {
				c.s.Sandbox.SetLatency(0) // the held confirm executes now, as Toss would have
				wait.For(t, 30*time.Second, "the sandbox to answer the calls it holds", func() bool { return c.s.Sandbox.InFlight() == 0 })
			}
		},
		verify: func(t *testing.T, c *campaign, p paid) {
			_, executed := c.tossConfirms(p.id)
			c.check(t, executed == 1, "the confirm held past the timeout executed %d times", executed)
		},
	}, {
		name: "toss/5xx-once", layer: "Toss", fault: "one 500 FAILED_INTERNAL_SYSTEM_PROCESSING, then normal", entry: "page", want: "done",
		arm: tossFaults(1, tosstest.Fault5xx),
	}, {
		name: "toss/5xx", layer: "Toss", fault: "500 FAILED_INTERNAL_SYSTEM_PROCESSING on every try and lookup", entry: "page", want: "processing", recover: "reconcile",
		arm: tossFaults(6, tosstest.Fault5xx),
	}, {
		name: "toss/429", layer: "Toss", fault: "429 TOO_MANY_REQUESTS on every try and lookup", entry: "page", want: "processing", recover: "reconcile",
		arm: tossFaults(6, tosstest.Fault429),
	}, {
		name: "toss/provider-error", layer: "Toss", fault: "400 PROVIDER_ERROR on every try and lookup", entry: "page", want: "processing", recover: "refresh",
		arm: tossFaults(6, tosstest.FaultProviderError),
	}, {
		name: "toss/dropped", layer: "Toss", fault: "connection closed unanswered on every try and lookup", entry: "page", want: "processing", recover: "reconcile",
		arm: tossFaults(6, tosstest.FaultDrop),
	}, {
		name: "toss/approved-answer-lost", layer: "Toss", fault: "approves the payment, then closes the connection unanswered", entry: "page", want: "done",
		arm: func(t *testing.T, c *campaign, p paid) func() {
			c.s.Sandbox.ApproveThenDrop(1)
			c.tossFault("approved then dropped", 1)
			return func() {}
		},
		verify: func(t *testing.T, c *campaign, p paid) {
			dropped := false
			for _, r := range c.s.Sandbox.Requests() {
				dropped = dropped || r.Dropped && r.Fault == 0 && strings.Contains(r.Body, p.id)
			}
			c.check(t, dropped, "the approved confirm's answer was not dropped")
		},
	}}
	for _, d := range dynamo {
		cs = append(cs, cell{
			name: "dynamodb/" + d.name + "/claim", layer: "DynamoDB", fault: d.text + " on the claim write (before anything is sent to Toss)",
			entry: "page", want: "outage", recover: "retry",
			arm: awsFaultAt(awsRule{function: "PaymentSuccessFunction", op: "UpdateItem", step: "claim", fault: d.f}),
		})
	}
	for i, d := range dynamo {
		cs = append(cs, cell{
			name: "dynamodb/" + d.name + "/after-claim", layer: "DynamoDB", fault: d.text + " from just after the claim: Toss confirms, nothing more can be written",
			entry: "api", want: "processing", recover: "reconcile",
			arm: outageAfterClaim("ConfirmPaymentFunction", d.f),
		})
		recover := []string{"reconcile", "refresh", "reconcile"}[i]
		cs = append(cs, cell{
			name: "dynamodb/" + d.name + "/final-write", layer: "DynamoDB", fault: d.text + " on the final write, after Toss approved",
			entry: "page", want: "processing", recover: recover,
			arm: awsFaultAt(awsRule{function: "PaymentSuccessFunction", op: "UpdateItem", step: "complete", fault: d.f}),
		})
	}
	cs = append(cs, cell{
		name: "dynamodb/5xx/final-write-applied", layer: "DynamoDB", fault: "the final write lands, then its answer is a 500",
		entry: "page", want: "done",
		arm: awsFaultAt(awsRule{function: "PaymentSuccessFunction", op: "UpdateItem", step: "complete", fault: awsAppliedThen5xx, times: 1}),
	}, cell{
		name: "dynamodb/unreachable/final-write-applied", layer: "DynamoDB", fault: "the final write lands, then the connection closes unanswered",
		entry: "page", want: "done",
		arm: awsFaultAt(awsRule{function: "PaymentSuccessFunction", op: "UpdateItem", step: "complete", fault: awsAppliedThenDrop, times: 1}),
	}, cell{
		name: "dynamodb/5xx/final-write+webhook", layer: "DynamoDB", fault: "500 InternalServerError on the final write, with Toss's webhook delivered",
		entry: "page", want: "processing", recover: "webhook",
		arm: func(t *testing.T, c *campaign, p paid) func() {
			c.s.Sandbox.HoldWebhooks(false)
			disarm := awsFaultAt(awsRule{function: "PaymentSuccessFunction", op: "UpdateItem", step: "complete", fault: aws5xx})(t, c, p)
			return func() {
				disarm()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := c.s.Sandbox.WaitWebhooks(ctx); err != nil {
					t.Fatal(err)
				}
				c.s.Sandbox.HoldWebhooks(true)
			}
		},
	}, cell{
		name: "secretsmanager/unreachable", layer: "Secrets Manager", fault: "unreachable (connection closed) for a cold function",
		entry: "page", want: "outage", recover: "refresh", arm: secretsDown(awsDrop),
	}, cell{
		name: "secretsmanager/5xx", layer: "Secrets Manager", fault: "500 InternalServiceError for a cold function",
		entry: "page", want: "outage", recover: "reconcile", arm: secretsDown(aws5xx),
	}, cell{
		name: "lambda/crash/page", layer: "Lambda", fault: "every PaymentSuccessFunction process killed after Toss approved, before the final write",
		entry: "page", want: "crash", recover: "refresh", arm: crashBeforeFinalWrite("PaymentSuccessFunction"),
	}, cell{
		name: "lambda/crash/api", layer: "Lambda", fault: "every ConfirmPaymentFunction process killed after Toss approved, before the final write",
		entry: "api", want: "crash", recover: "reconcile", arm: crashBeforeFinalWrite("ConfirmPaymentFunction"),
	}, cell{
		// Toss refusing our key is a configuration outage: the claim is
		// given back (the buyer was told nothing was charged, so nothing
		// confirms behind their back), and the buyer's retry pays once the
		// operator has fixed the secret. The functions are restarted with
		// the fix so that the retry does not wait out the secret's reload
		// interval (toss/key-rotated covers a warm function's reload).
		name: "toss/key-rotated-secret-stale", layer: "Toss", fault: "secret key re-issued at Toss, the secret not yet updated (every call: 401 UNAUTHORIZED_KEY); then the operator updates it",
		entry: "page", want: "outage", recover: "retry",
		arm: func(t *testing.T, c *campaign, p paid) func() {
			key := c.newSecretKey()
			c.s.Sandbox.RotateSecretKey(key)
			c.tossFault("key rotations", 1)
			return func() {
				c.putSecretKey(t, key)
				c.killAll("PaymentSuccessFunction")
			}
		},
	}, cell{
		name: "toss/key-rotated", layer: "Toss", fault: "secret key re-issued and the secret updated under a warm function (old key: 401 UNAUTHORIZED_KEY)",
		entry: "page", want: "done",
		arm: func(t *testing.T, c *campaign, p paid) func() {
			// One warm process holding the old key in its cache.
			c.killAll("PaymentSuccessFunction")
			warm := c.newPaid(t, "Chaos warm-up before the rotation", 12000)
			if r := c.entry(t, "page", warm); outcome(r) != "done" {
				t.Fatalf("warm-up payment: %s", r)
			}
			key := c.newSecretKey()
			c.s.Sandbox.RotateSecretKey(key)
			c.putSecretKey(t, key)
			c.tossFault("key rotations", 1)
			return func() {}
		},
		verify: func(t *testing.T, c *campaign, p paid) {
			refused, accepted := 0, 0
			for _, r := range c.s.Sandbox.Requests() {
				if r.Path == "/v1/payments/confirm" && strings.Contains(r.Body, p.id) {
					if r.AuthOK {
						accepted++
					} else if r.Status == 401 {
						refused++
					}
				}
			}
			c.check(t, refused == 1 && accepted == 1, "the old key should be refused once and the reloaded key accepted once: %d refused, %d accepted", refused, accepted)
			c.check(t, strings.Contains(c.logs.String(), "toss secret key refreshed after UNAUTHORIZED_KEY"), "the function did not say it reloaded the key")
		},
	})
	return cs
}
