package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// The claim storm: many orders, each with several attempts the buyer
// approved in the payment window (a second card after a decline, two tabs,
// a back button), and every attempt's success redirect, frontend confirm and
// reloads racing at once. One conditional claim per order admits one
// attempt; Toss's record decides which attempt is paid. Three kinds of order
// make sure every way an order settles is exercised:
//
//	clean      the storm alone: the claiming attempt is confirmed and recorded
//	lost-write Toss approves the claiming attempt but every write recording
//	           it fails (DynamoDB 5xx) during the storm: the order stays
//	           CONFIRMING until its claim lapses and the reconciler settles it
//	elsewhere  Toss already approved one attempt whose claim the order never
//	           recorded (what a store applying two claims at once, or an answer
//	           lost before a later attempt claimed, leaves behind); that
//	           attempt's tab is closed, so only Toss's record can tell the
//	           engine which attempt holds the money (approved_other_attempt)
//
// Afterwards every order must be DONE under the one attempt the sandbox
// shows DONE, Toss must have executed exactly one confirm per order, no
// attempt but that one may ever have been shown a receipt, and a refund by
// that paymentKey must succeed while one by a losing attempt must not.
const (
	claimOrders    = 15
	claimAttempts  = 4  // attempts approved in the window per order
	claimRequests  = 16 // racing requests per order
	claimRefunds   = 3  // orders refunded afterwards, one of each kind
	claimOrderBase = 61000
)

type claimKind string

const (
	claimClean     claimKind = "clean"
	claimLostWrite claimKind = "lost-write"
	claimElsewhere claimKind = "elsewhere"
)

// claimOrder is one order of the claim storm and its attempts.
type claimOrder struct {
	kind     claimKind
	attempts []paid // every attempt approved in the window, oldest first
	sent     []paid // the attempts whose requests race (elsewhere: not the approved one)
	approved string // elsewhere: the attempt Toss approved before the storm
}

func (o *claimOrder) id() string { return o.attempts[0].id }

// claimRequest is one racing request.
type claimRequest struct {
	order  *claimOrder
	p      paid   // the attempt it carries
	kind   string // page, api, api-key
	method string
	path   string
	header map[string]string
	body   []byte
}

func (c *campaign) claimStorm(t *testing.T) {
	started := time.Now()
	// Webhooks are held, as in the fault matrix: the TossWebhookFunction
	// would settle the lost-write and elsewhere orders on its own, and this
	// scenario is about the engine's claim and its recovery. They arrive
	// late at the end and must change nothing.
	c.s.Sandbox.HoldWebhooks(true)
	defer c.s.Sandbox.HoldWebhooks(false)

	var all []*claimOrder
	for i := range claimOrders {
		kind := []claimKind{claimClean, claimClean, claimClean, claimLostWrite, claimElsewhere}[i%5]
		name := fmt.Sprintf("Claim storm %d: Busan food tour (%s)", i, kind)
		amount := int64(claimOrderBase + 100*i)
		id := c.newOrder(t, name, amount)
		o := &claimOrder{kind: kind}
		for range claimAttempts {
			o.attempts = append(o.attempts, paid{id: id, name: name, amount: amount, key: c.s.Sandbox.Authorize(id, name, amount)})
		}
		o.sent = o.attempts
		if kind == claimElsewhere {
			// A middle attempt, so neither the oldest nor the latest
			// attempt (what GET /v1/payments/orders answers for an unpaid
			// order) is the right guess.
			approved := o.attempts[2]
			c.confirmAtToss(t, approved)
			o.approved = approved.key
			o.sent = append(append([]paid(nil), o.attempts[:2]...), o.attempts[3])
		}
		all = append(all, o)
	}

	// lost-write: every write that would record the order paid fails until
	// the storm is over, whichever function makes it.
	var removes []func()
	lostRules := map[string]*awsRule{}
	for _, o := range all {
		if o.kind == claimLostWrite {
			r := &awsRule{service: "dynamodb", op: "UpdateItem", step: "complete", orderID: o.id(), fault: aws5xx}
			lostRules[o.id()] = r
			removes = append(removes, c.aws.add(r))
		}
	}
	disarm := func() {
		for _, rm := range removes {
			rm()
		}
		removes = nil
	}
	defer disarm()

	var reqs []claimRequest
	for _, o := range all {
		for i := range claimRequests {
			p := o.sent[i%len(o.sent)]
			// Each attempt gets its success redirect, its reloads (the
			// same GET again), the frontend's confirm without and with an
			// Idempotency-Key (one key per attempt, as a frontend keeps it).
			switch kind := []string{"page", "api", "page", "api-key"}[(i/len(o.sent))%4]; kind {
			case "page":
				lang := []string{"en", "ko", "ja", "zh"}[i%4]
				reqs = append(reqs, claimRequest{o, p, kind, "GET", p.successPath(lang), nil, nil})
			case "api":
				reqs = append(reqs, claimRequest{o, p, kind, "POST", "/payments/confirm", map[string]string{"Content-Type": "application/json"}, p.confirmBody()})
			case "api-key":
				reqs = append(reqs, claimRequest{o, p, kind, "POST", "/payments/confirm",
					map[string]string{"Content-Type": "application/json", "Idempotency-Key": "claims-" + p.key}, p.confirmBody()})
			}
		}
	}
	replies, errs := burst(reqs, 3, func(rq claimRequest) (reply, error) {
		return c.send(t, rq.method, rq.path, rq.header, rq.body)
	})
	stormTook := time.Since(started)
	c.scenario("claim storm requests", len(reqs))
	for _, o := range all {
		if r := lostRules[o.id()]; o.kind == claimLostWrite {
			c.check(t, c.aws.hitsOf(r) > 0, "claims %s: the lost write never fired", o.id())
		}
	}
	disarm()

	// Right after the storm: one claim per order, and only lost-write
	// orders are still waiting (their claim live or lapsing).
	for _, o := range all {
		st := c.order(t, o.id())
		claims := c.aws.claimsOf(o.id())
		c.check(t, claims == 1, "claims %s (%s): DynamoDB applied %d claims of the order; the conditional claim admits one", o.id(), o.kind, claims)
		want := orders.StatusDone
		if o.kind == claimLostWrite {
			want = orders.StatusConfirming
		}
		c.check(t, st.Status == want, "claims %s (%s): after the storm the order is %s, want %s", o.id(), o.kind, st.Status, want)
		_, executed := c.tossConfirms(o.id())
		c.check(t, executed == 1, "claims %s (%s): Toss executed %d confirms during the storm", o.id(), o.kind, executed)
	}

	// The lost-write orders settle through the reconciler once their
	// claims lapse (a bootstrap's clock cannot be advanced: wait for the
	// last claim's own deadline, read from the table). A second pass must
	// find nothing left to do.
	var last time.Time
	waiting := 0
	for _, o := range all {
		if st := c.order(t, o.id()); st.Status == orders.StatusConfirming {
			waiting++
			if st.ClaimExpiresAt.After(last) {
				last = st.ClaimExpiresAt
			}
		}
	}
	if wait := time.Until(last); wait > 0 {
		t.Logf("claims: waiting %s for the last claim to lapse", wait.Round(time.Millisecond))
		timer := time.NewTimer(wait + 50*time.Millisecond)
		<-timer.C
	}
	rep := c.reconcile(t)
	c.check(t, rep.Errors == 0 && rep.Pending == 0 && rep.LapsedClaims == waiting && rep.Done == waiting,
		"claims: the reconciler settled %+v; %d orders were waiting for it", rep, waiting)
	again := c.reconcile(t)
	c.check(t, again.Errors == 0 && again.Pending == 0 && again.LapsedClaims == 0 && again.Done == 0,
		"claims: a second reconcile pass found work: %+v", again)

	// Held webhooks arrive late, then every webhook once more: nothing
	// may change.
	c.s.Sandbox.HoldWebhooks(false)
	c.s.Sandbox.ReleaseWebhooks()
	c.s.Sandbox.RedeliverWebhooks()
	wctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err := c.s.Sandbox.WaitWebhooks(wctx)
	cancel()
	c.check(t, err == nil, "claims: webhooks still in delivery: %v", err)

	// The end state of every order, as the merchant reads it.
	winners := map[string]string{}
	settledElsewhere := 0
	confirms := 0
	for _, o := range all {
		done := c.doneAttempts(o.id())
		if !c.check(t, len(done) == 1, "claims %s (%s): the sandbox shows %d attempts approved: %v", o.id(), o.kind, len(done), maskKeys(strings.Join(done, " "), done)) {
			continue
		}
		w := done[0]
		winners[o.id()] = w
		if o.kind == claimElsewhere {
			c.check(t, w == o.approved, "claims %s: Toss approved %s, yet shows %s approved", o.id(), payments.MaskKey(o.approved), payments.MaskKey(w))
			settledElsewhere++
		}
		_, executed := c.tossConfirms(o.id())
		confirms += executed
		c.check(t, executed == 1, "claims %s (%s): Toss executed %d confirms", o.id(), o.kind, executed)
		r := c.call(t, "GET", "/orders/"+o.id(), c.merchant(), nil)
		var v struct {
			EntityBody struct {
				Status     string `json:"status"`
				PaymentKey string `json:"paymentKey"`
				Payment    *struct {
					TotalAmount int64 `json:"totalAmount"`
				} `json:"payment"`
			} `json:"entityBody"`
		}
		ok := r.status == 200 && json.Unmarshal(r.body, &v) == nil
		c.check(t, ok && v.EntityBody.Status == "DONE" && v.EntityBody.PaymentKey == w && v.EntityBody.Payment != nil && v.EntityBody.Payment.TotalAmount == o.attempts[0].amount,
			"claims %s (%s): the merchant reads %s under %s, want DONE under %s", o.id(), o.kind, v.EntityBody.Status, payments.MaskKey(v.EntityBody.PaymentKey), payments.MaskKey(w))
	}
	otherAttempt := 0
	logs := c.logs.String()
	for _, o := range all {
		otherAttempt += countLines(logs, "approved at Toss under an attempt the order does not hold", o.id())
	}
	c.check(t, otherAttempt >= settledElsewhere,
		"claims: %d orders were approved under an attempt they never claimed, yet the engine settled %d from Toss's record", settledElsewhere, otherAttempt)

	// Every answer, judged against the order's end: a receipt only for the
	// attempt Toss charged, "already paid" only for the others.
	outcomes := map[string]int{}
	limited := 0
	for i, rq := range reqs {
		if !c.check(t, errs[i] == nil, "claims %s: %v", rq.kind, errs[i]) {
			continue
		}
		r := replies[i]
		w, known := winners[rq.order.id()]
		charged := known && rq.p.key == w
		c.check(t, r.status < 500, "claims %s: a 5xx: %s", rq.kind, r)
		var ok bool
		switch {
		case r.status == http.StatusTooManyRequests:
			// The limit on new Toss-reaching attempts per order: the
			// buyer's browser asks again, and the claim is not lost.
			ok = true
			limited++
		case rq.kind == "page":
			ok = r.status == 200 && (r.state() == "processing" || charged && r.state() == "done" || !charged && r.state() == "paid")
		default:
			ok = r.status == 202 && r.code() == "PROCESSING" ||
				charged && r.status == 200 && r.code() == "DONE" ||
				!charged && r.status == 400 && r.code() == "ALREADY_PAID_ORDER" ||
				rq.kind == "api-key" && r.status == 409 && r.code() == "IDEMPOTENT_REQUEST_PROCESSING"
		}
		c.check(t, ok, "claims %s (%s, attempt charged: %v): answer inconsistent with one payment per order: %s", rq.kind, rq.order.kind, charged, r)
		who := "other attempt"
		if charged {
			who = "charged attempt"
		}
		outcomes[rq.kind+" of the "+who+" → "+r.describe()]++
	}

	// The elsewhere orders' approved attempt: its tab comes back, and it
	// is the receipt.
	for _, o := range all {
		if o.kind != claimElsewhere {
			continue
		}
		for _, p := range o.attempts {
			if p.key == o.approved {
				r := c.call(t, "GET", p.successPath("en"), nil, nil)
				c.check(t, r.status == 200 && r.state() == "done", "claims %s: the approved attempt's reload: %s", o.id(), r)
			}
		}
	}

	// Refunds: by the charged key one succeeds; by a losing attempt's key
	// nothing reaches a payment that was never charged.
	refunded := 0
	for _, kind := range []claimKind{claimClean, claimLostWrite, claimElsewhere} {
		for _, o := range all {
			if o.kind != kind || refunded >= claimRefunds {
				continue
			}
			w := winners[o.id()]
			if w == "" {
				break
			}
			h := c.merchant()
			h["Idempotency-Key"] = "claims-refund-" + chaosHex(8)
			r := c.call(t, "POST", "/payments/"+url.PathEscape(w)+"/cancel", h, []byte(`{"cancelReason":"Tour cancelled by the guide","cancelAmount":1000}`))
			c.check(t, r.status == 200, "claims %s (%s): refund by the charged key: %s", o.id(), o.kind, r)
			st := c.order(t, o.id())
			c.check(t, st.Status == orders.StatusPartialCanceled && st.Payment != nil && st.Payment.BalanceAmount == o.attempts[0].amount-1000,
				"claims %s (%s): after the refund the order is %s", o.id(), o.kind, st.Status)
			for _, p := range o.attempts {
				if p.key == w {
					continue
				}
				h := c.merchant()
				h["Idempotency-Key"] = "claims-refund-" + chaosHex(8)
				r := c.call(t, "POST", "/payments/"+url.PathEscape(p.key)+"/cancel", h, []byte(`{"cancelReason":"Wrong attempt","cancelAmount":1000}`))
				c.check(t, r.status >= 400 && r.status < 500, "claims %s: refund by a losing attempt's key: %s", o.id(), r)
				info, _ := c.s.Sandbox.Payment(p.key)
				c.check(t, len(info.Cancels) == 0 && info.Status != tosstest.StatusDone, "claims %s: a losing attempt reads %s with %d cancels at Toss", o.id(), info.Status, len(info.Cancels))
				break
			}
			refunded++
			break
		}
	}
	c.check(t, refunded == claimRefunds, "claims: %d refunds made, want %d", refunded, claimRefunds)

	var lines []string
	for k, n := range outcomes {
		lines = append(lines, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(lines)
	took := time.Since(started)
	t.Logf("claims: %d orders × %d attempts, %d requests in %s (%d answered 429); %d confirms executed; reconcile %+v then %+v; %d settled from Toss's record; whole scenario %s",
		len(all), claimAttempts, len(reqs), stormTook.Round(time.Millisecond), limited, confirms, rep, again, otherAttempt, took.Round(time.Second))
	c.mu.Lock()
	c.claimsNote = fmt.Sprintf("%d orders, each with %d attempts approved in the payment window, and %d concurrent requests per order "+
		"(%d in all: success redirects, reloads, confirms with and without an Idempotency-Key, mixed across the attempts): "+
		"%d clean; %d whose recording write failed until the storm ended (settled by the reconciler after their claims lapsed: %d orders, then a second pass with nothing to do); "+
		"%d that Toss had approved under an attempt whose tab was closed (settled from Toss's record: %d times). "+
		"Answers: %s. Every order ended DONE under the one attempt Toss shows approved; one claim won per order; Toss executed %d confirms for %d orders; "+
		"no attempt but the charged one was shown a receipt; %d refunds by the charged key succeeded, by a losing key none reached Toss; no 5xx.",
		len(all), claimAttempts, claimRequests, len(reqs),
		countKind(all, claimClean), countKind(all, claimLostWrite), rep.Done, countKind(all, claimElsewhere), otherAttempt,
		strings.Join(lines, "; "), confirms, len(all), refunded)
	c.mu.Unlock()
}

// confirmAtToss confirms p at Toss directly, with the merchant's secret
// key, as the order's lost claim once did: the order never hears of it.
func (c *campaign) confirmAtToss(t testing.TB, p paid) {
	t.Helper()
	req, err := http.NewRequest("POST", c.s.SandboxURL+"/v1/payments/confirm", bytes.NewReader(p.confirmBody()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", basic(c.s.Sandbox.SecretKey()))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("confirm at Toss: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("confirm at Toss: %d %.300s", resp.StatusCode, b)
	}
}

// doneAttempts lists the attempts of orderID that Toss approved.
func (c *campaign) doneAttempts(orderID string) []string {
	var keys []string
	for _, p := range c.s.Sandbox.OrderPayments(orderID) {
		switch p.Status {
		case tosstest.StatusDone, tosstest.StatusPartialCanceled, tosstest.StatusCanceled:
			keys = append(keys, p.PaymentKey)
		}
	}
	return keys
}

func countKind(all []*claimOrder, k claimKind) int {
	n := 0
	for _, o := range all {
		if o.kind == k {
			n++
		}
	}
	return n
}
