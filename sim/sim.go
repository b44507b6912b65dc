// Package sim is a deterministic simulation of the money protocol: the
// real payments.Engine over the real orders.MemoryStore and an in-process
// fake of Toss, driven by a seeded scheduler that interleaves buyers,
// refreshes, merchants' refunds, reconcile passes, webhooks and a fake
// clock, and injects faults at every call to the store or to Toss.
//
// Every call the engine makes to the store or to Toss is a step: the
// calling actor (a goroutine running engine code) parks until the
// scheduler picks it, and only one actor runs at a time, so a schedule,
// its faults and its outcome are a function of the seed alone. The
// invariants are checked after every step and, once the faults stop and
// reconcile has run, at quiescence (see check.go).
package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/toss"
)

// Simulated time starts in the real past: the engine's Toss-call contexts
// (payments.Engine.tossContext) then never arm a real timer.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Tunables of one schedule.
const (
	lambdaTimeout    = 15 * time.Second // an API invocation's deadline (template.yaml: PaymentSuccessFunction)
	reconcileTimeout = 60 * time.Second // ReconcileFunction's
	payWindow        = 20 * time.Minute
	maxSteps         = 5000 // a schedule that takes more has a livelock
)

type stepKind uint8

const (
	stepStart stepKind = iota
	stepStore
	stepToss
)

// fault is what the scheduler does to a step.
type fault uint8

const (
	faultNone      fault = iota
	faultDieBefore       // the invocation dies before the call (its claim lapses at its deadline)
	faultDieAfter        // the call takes effect, then the invocation dies
	faultLost            // the call takes effect, its answer is lost (an error, as the SDK or client reports it)
	faultStoreDown       // the store refuses the call before writing
	faultTimeout         // Toss is not reached in time: nothing executed
	fault5xx
	fault429
	faultProvider // PROVIDER_ERROR
	faultLate     // Toss receives the request but processes it after the caller gave up
)

var faultNames = [...]string{"", "die-before", "die-after", "answer-lost", "store-down", "toss-timeout", "toss-5xx", "toss-429", "toss-PROVIDER_ERROR", "toss-late"}

func (f fault) String() string { return faultNames[f] }

var (
	storeFaults = []fault{faultDieBefore, faultDieAfter, faultLost, faultStoreDown}
	tossFaults  = []fault{faultDieBefore, faultDieAfter, faultLost, faultTimeout, fault5xx, fault429, faultProvider, faultLate}
)

// killed unwinds an actor whose invocation dies.
type killed struct{}

// actor is one invocation: a goroutine running engine code.
type actor struct {
	id       int
	name     string
	deadline time.Time
	resume   chan fault
	kind     stepKind
	op       string
	done     bool
	intent   *intent // the refund request a refund actor makes
	onDie    func()  // what the caller does when the invocation dies (Toss redelivers)
	result   string
	// dead: the invocation died at a step. Its goroutine unwinds through
	// the deferred calls of the code it ran; a call those make (a
	// deferred release) must not happen, as in a stopped Lambda.
	dead bool
	// replayOf is the record a completed Idempotency-Key answered from.
	replayOf string
}

// simCtx is an invocation's context: its deadline is on the fake clock
// (the engine takes claims until it), and it is never canceled: an
// invocation ends by dying at a step, not by its context.
type simCtx struct{ deadline time.Time }

func (c simCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (simCtx) Done() <-chan struct{}         { return nil }
func (simCtx) Err() error                    { return nil }
func (simCtx) Value(any) any                 { return nil }

type simOrder struct {
	id       string
	amount   int64
	attempts []attempt
	deleted  bool // the merchant deleted it (DELETE /orders/{id} answered 200)
}

// attempt is a buyer's authentication in the window and what the
// redirect back to us carries.
type attempt struct {
	paymentKey string
	redirect   int64
}

// intent is one refund a merchant means: retried with the same
// parameters after an error, it must execute at Toss at most once.
type intent struct {
	id         int
	order      *simOrder
	paymentKey string // the payment the merchant refunds (POST /payments/{paymentKey}/cancel)
	amount     int64
	callerKey  string // its Idempotency-Key, if it sends one
	reason     string
	executed   int  // times Toss executed it
	newAnswers int  // fresh 200 answers saying it refunded something new
	failed     bool // no definitive answer yet: the merchant retries
}

type webhook struct {
	paymentKey, orderID string
	status              string
	at                  time.Time
}

type traceEntry struct {
	at    time.Duration
	actor string
	op    string
	fault fault
}

// Sim is one schedule.
type Sim struct {
	seed     uint64
	rng      *rand.Rand
	now      time.Time
	faults   bool
	faultPct int
	budget   int
	events   int
	steps    int

	mem  *orders.MemoryStore
	toss *fakeToss
	eng  *payments.Engine
	api  *api.Service

	reqSeq      int
	forged      int
	firstAnswer map[string]string // idempotency record → the first answer stored under it

	actors  []*actor
	cur     *actor
	yield   chan *actor
	nextID  int
	orders  []*simOrder
	amounts map[string]int64
	intents []*intent
	hooks   []webhook

	holder    map[string]*actor // the actor whose claim an order is under
	everPaid  map[string]string // orderId → the paymentKey it was first seen paid under
	violation string
	trace     []traceEntry
	outcomes  map[string]int // the engine's own metric of how confirms ended: what a run covered
}

// ConfirmOutcome implements payments.Metrics.
func (s *Sim) ConfirmOutcome(outcome string) { s.outcomes[outcome]++ }

// Result is what one schedule found.
type Result struct {
	Seed      uint64
	Steps     int
	Violation string // "" when every invariant held
	Trace     string // the step trace, when asked for or on a violation
	Outcomes  map[string]int
}

// Run plays the schedule of seed. withTrace keeps the trace even when
// nothing is violated (for replays).
func Run(seed uint64, withTrace bool) Result {
	s := newSim(seed)
	s.play()
	r := Result{Seed: seed, Steps: s.steps, Violation: s.violation, Outcomes: s.outcomes}
	if withTrace || s.violation != "" {
		r.Trace = s.formatTrace()
	}
	return r
}

func newSim(seed uint64) *Sim {
	s := &Sim{seed: seed, rng: rand.New(rand.NewPCG(seed, 0x51d0c0de)), now: epoch, faults: true,
		yield: make(chan *actor), amounts: map[string]int64{}, holder: map[string]*actor{}, everPaid: map[string]string{},
		outcomes: map[string]int{}, firstAnswer: map[string]string{}}
	s.faultPct = s.rng.IntN(30)
	s.budget = 10 + s.rng.IntN(30)
	s.mem = orders.NewMemoryStore()
	s.toss = newFakeToss(s)
	s.eng = &payments.Engine{Orders: store{s: s, mem: s.mem}, Toss: gateway{s: s}, Clock: func() time.Time { return s.now }, Metrics: s}
	s.api = s.newAPI()
	for i := range 1 + s.rng.IntN(2) {
		amount := int64(1000 * (1 + s.rng.IntN(50)))
		o, err := orders.New(orders.Draft{Name: "sim", Amount: amount}, s.now,
			orders.Policy{MaxAmount: 1 << 40, PayWindow: payWindow, Retention: time.Hour})
		if err != nil {
			panic(err)
		}
		o.ID = fmt.Sprintf("order-%d", i+1) // orders.New draws a random ID; the schedule must not
		if err := s.mem.Create(context.Background(), o); err != nil {
			panic(err)
		}
		s.orders = append(s.orders, &simOrder{id: o.ID, amount: amount})
		s.amounts[o.ID] = amount
	}
	return s
}

func (s *Sim) violate(format string, args ...any) {
	if s.violation == "" {
		s.violation = fmt.Sprintf(format, args...)
	}
}

func (s *Sim) record(actor, op string, f fault) {
	s.trace = append(s.trace, traceEntry{at: s.now.Sub(epoch), actor: actor, op: op, fault: f})
}

func (s *Sim) formatTrace() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d orders, fault rate %d%%, %d events\n", s.seed, len(s.orders), s.faultPct, s.budget)
	for i, e := range s.trace {
		fmt.Fprintf(&b, "%4d +%-6s %-28s %s", i, e.at, e.actor, e.op)
		if e.fault != faultNone {
			fmt.Fprintf(&b, "  [%s]", e.fault)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// spawn starts an invocation; it runs when the scheduler first picks it.
func (s *Sim) spawn(name string, in *intent, body func(ctx context.Context) string) *actor {
	return s.spawnFor(lambdaTimeout, name, in, body)
}

func (s *Sim) spawnFor(timeout time.Duration, name string, in *intent, body func(ctx context.Context) string) *actor {
	s.nextID++
	a := &actor{id: s.nextID, name: fmt.Sprintf("a%d:%s", s.nextID, name), deadline: s.now.Add(timeout),
		resume: make(chan fault), kind: stepStart, op: "start", intent: in}
	s.actors = append(s.actors, a)
	go func() {
		f := <-a.resume
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(killed); ok {
					a.result = "died"
					if a.onDie != nil {
						a.onDie()
					}
				} else {
					s.violate("panic in %s: %v\n%s", a.name, r, debug.Stack())
				}
			}
			a.done = true
			s.yield <- a
		}()
		if f == faultDieBefore {
			s.die()
		}
		a.result = body(simCtx{deadline: a.deadline})
	}()
	return a
}

// step parks the running actor at a call until the scheduler picks it,
// and returns the fault drawn for the call.
func (s *Sim) step(kind stepKind, op string) fault {
	a := s.cur
	if a.dead {
		panic(killed{}) // a deferred call of an invocation that died: never made
	}
	a.kind, a.op = kind, op
	s.yield <- a
	f := <-a.resume
	if f == faultDieBefore {
		s.die()
	}
	return f
}

// die stops the running invocation where it stands.
func (s *Sim) die() {
	s.cur.dead = true
	panic(killed{})
}

func (s *Sim) pickFault(a *actor) fault {
	if a.kind == stepStart {
		return faultNone
	}
	if !s.now.Before(a.deadline) {
		return faultDieBefore // Lambda's timeout: the invocation is stopped
	}
	if !s.faults || s.rng.IntN(100) >= s.faultPct {
		return faultNone
	}
	if a.kind == stepStore {
		return storeFaults[s.rng.IntN(len(storeFaults))]
	}
	return tossFaults[s.rng.IntN(len(tossFaults))]
}

// grant runs a to its next step (or its end), then checks the invariants.
func (s *Sim) grant(a *actor, f fault) {
	s.steps++
	s.record(a.name, a.op, f)
	s.cur = a
	a.resume <- f
	<-s.yield
	s.cur = nil
	if a.done {
		s.record(a.name, "→ "+a.result, faultNone)
		s.remove(a)
	}
	s.checkStep()
}

func (s *Sim) remove(a *actor) {
	for i, b := range s.actors {
		if b == a {
			s.actors = append(s.actors[:i], s.actors[i+1:]...)
			return
		}
	}
}

func (s *Sim) pick() *actor { return s.actors[s.rng.IntN(len(s.actors))] }

// runAll runs every live actor to its end, in a seeded interleaving.
func (s *Sim) runAll() {
	for len(s.actors) > 0 && s.violation == "" && s.steps < maxSteps {
		a := s.pick()
		s.grant(a, s.pickFault(a))
	}
}

// play is the schedule: a seeded mix of steps and events, then
// quiescence with the faults off, then the final checks.
func (s *Sim) play() {
	defer s.drain()
	for s.violation == "" && s.steps < maxSteps {
		more := s.events < s.budget
		if len(s.actors) == 0 && !more {
			break
		}
		if len(s.actors) > 0 && (!more || s.rng.IntN(100) < 65) {
			a := s.pick()
			s.grant(a, s.pickFault(a))
			continue
		}
		s.events++
		s.event()
	}
	s.quiesce()
}

// drain stops whatever is still parked (after a violation or a livelock),
// so no goroutine outlives its schedule.
func (s *Sim) drain() {
	for len(s.actors) > 0 {
		a := s.actors[0]
		s.cur = a
		a.resume <- faultDieBefore
		<-s.yield
		s.cur = nil
		s.remove(a)
	}
}

// event is one thing the world does between steps.
func (s *Sim) event() {
	o := s.orders[s.rng.IntN(len(s.orders))]
	switch r := s.rng.IntN(100); {
	case r < 19:
		s.newAttempt(o)
	case r < 22:
		s.forgedRedirect(o)
	case r < 32:
		if len(o.attempts) > 0 {
			at := o.attempts[s.rng.IntN(len(o.attempts))]
			s.spawnConfirm("refresh", o, at)
		}
	case r < 46:
		s.newRefund(o)
	case r < 52:
		var failed []*intent
		for _, in := range s.intents {
			if in.failed {
				failed = append(failed, in)
			}
		}
		if len(failed) > 0 {
			s.spawnRefund("retry", failed[s.rng.IntN(len(failed))])
		}
	case r < 61:
		s.spawnReconcile()
	case r < 79:
		s.deliverWebhook(s.rng.IntN(100) < 30)
	case r < 90:
		d := time.Duration(1+s.rng.IntN(40)) * time.Second
		if s.rng.IntN(100) < 15 {
			d = time.Duration(5+s.rng.IntN(11)) * time.Minute
		}
		s.now = s.now.Add(d)
		s.record("clock", "advance "+d.String(), faultNone)
	case r < 94:
		if len(s.toss.late) > 0 {
			s.toss.runLate(s.rng.IntN(len(s.toss.late)))
		}
	case r < 96:
		s.dashboardRefund(o)
	case r < 98:
		s.spawn("delete("+o.id+")", nil, func(ctx context.Context) string { return s.deleteOverHTTP(ctx, o) })
	default:
		s.otherServerConfirm(o)
	}
}

// newAttempt is a buyer authenticating in Toss's window (sometimes for a
// tampered amount, sometimes with a card that will be declined) and
// coming back with a redirect (sometimes carrying another amount).
func (s *Sim) newAttempt(o *simOrder) {
	auth := o.amount
	if s.rng.IntN(100) < 10 {
		auth = o.amount - 500
	}
	redirect := auth
	if s.rng.IntN(100) < 10 {
		redirect = []int64{o.amount, o.amount + 1000, auth - 1}[s.rng.IntN(3)]
	}
	decline := s.rng.IntN(100) < 20
	pk := s.toss.authenticate(o.id, auth, decline)
	at := attempt{paymentKey: pk, redirect: redirect}
	o.attempts = append(o.attempts, at)
	s.record("buyer", fmt.Sprintf("authenticated %s at Toss for %d (order %d, redirect %d, decline %v)", pk, auth, o.amount, redirect, decline), faultNone)
	s.spawnConfirm("confirm", o, at)
}

// forgedRedirect is an attacker's success redirect: a paymentKey Toss
// never issued, for the order's amount or another, spending the order's
// attempt budget and taking its claim while the confirm fails.
func (s *Sim) forgedRedirect(o *simOrder) {
	s.forged++
	amount := o.amount
	if s.rng.IntN(2) == 0 {
		amount = 100
	}
	at := attempt{paymentKey: fmt.Sprintf("tpk_forged_%d", s.forged), redirect: amount}
	s.record("attacker", fmt.Sprintf("redirects with %s for %d", at.paymentKey, amount), faultNone)
	s.spawnConfirm("forged", o, at)
}

func (s *Sim) spawnConfirm(name string, o *simOrder, at attempt) {
	s.spawn(name+"("+at.paymentKey+")", nil, func(ctx context.Context) string {
		res, err := s.eng.Confirm(ctx, at.paymentKey, o.id, at.redirect)
		if err != nil {
			return "error: " + err.Error()
		}
		return string(res.Outcome)
	})
}

func (s *Sim) newRefund(o *simOrder) {
	in := &intent{id: len(s.intents) + 1, order: o, reason: "refund"}
	in.reason = fmt.Sprintf("refund %d", in.id)
	if s.rng.IntN(100) < 60 {
		in.amount = int64(500 * (1 + s.rng.IntN(int(o.amount/500))))
		if in.amount >= o.amount {
			in.amount = 0
		}
	}
	if s.rng.IntN(2) == 0 {
		in.callerKey = fmt.Sprintf("merchant-key-%d", in.id)
	}
	// The merchant refunds the payment Toss approved for the order (known
	// from its webhooks or its dashboard), sometimes another attempt's key.
	for _, p := range s.toss.byOrder[o.id] {
		if p.approved() {
			in.paymentKey = p.key
		}
	}
	if (in.paymentKey == "" || s.rng.IntN(100) < 15) && len(o.attempts) > 0 {
		in.paymentKey = o.attempts[s.rng.IntN(len(o.attempts))].paymentKey
	}
	if in.paymentKey == "" {
		return // nothing to refund yet
	}
	s.intents = append(s.intents, in)
	s.spawnRefund("refund", in)
}

func (s *Sim) spawnRefund(name string, in *intent) {
	in.failed = true // until an answer says otherwise: a merchant whose call died retries
	s.spawn(fmt.Sprintf("%s#%d(%s %s %d key=%q)", name, in.id, in.order.id, in.paymentKey, in.amount, in.callerKey), in, func(ctx context.Context) string {
		return s.refundOverHTTP(ctx, in)
	})
}

// refundExecuted is Toss executing an API refund: it must belong to the
// running refund request, and to no request twice.
func (s *Sim) refundExecuted(in *intent, p *tossPayment, amount int64) {
	in.executed++
	if in.executed > 1 {
		s.violate("refund request #%d (order %s, amount %d, key %q) executed at Toss twice",
			in.id, in.order.id, in.amount, in.callerKey)
	}
}

func (s *Sim) spawnReconcile() {
	s.spawnFor(reconcileTimeout, "reconcile", nil, func(ctx context.Context) string {
		rep, err := s.eng.Reconcile(ctx)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%+v", rep)
	})
}

func (s *Sim) queueWebhook(p *tossPayment) {
	s.hooks = append(s.hooks, webhook{paymentKey: p.key, orderID: p.orderID, status: string(p.status), at: s.now})
}

// deliverWebhook delivers a queued webhook, any of them (late and out of
// order); twice keeps it queued for a second delivery. A delivery answered
// with an error is queued again, as Toss retries it.
func (s *Sim) deliverWebhook(twice bool) {
	if len(s.hooks) == 0 {
		return
	}
	i := s.rng.IntN(len(s.hooks))
	w := s.hooks[i]
	if !twice {
		s.hooks = append(s.hooks[:i], s.hooks[i+1:]...)
	}
	body := fmt.Appendf(nil, `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":%q,"data":{"paymentKey":%q,"orderId":%q,"status":%q}}`,
		w.at.Format(time.RFC3339), w.paymentKey, w.orderID, w.status)
	a := s.spawn("webhook("+w.paymentKey+" "+w.status+")", nil, func(ctx context.Context) string {
		res, err := s.eng.ApplyWebhook(ctx, body)
		if err != nil {
			s.hooks = append(s.hooks, w)
			return "error (Toss redelivers): " + err.Error()
		}
		return string(res.Action) + ": " + res.Reason
	})
	a.onDie = func() { s.hooks = append(s.hooks, w) } // no answer: Toss delivers it again
}

// dashboardRefund is a refund made in Toss's dashboard: known to us only
// by its webhook, or by what Toss answers later.
func (s *Sim) dashboardRefund(o *simOrder) {
	for _, p := range s.toss.byOrder[o.id] {
		if p.approved() && p.balance > 0 {
			amount := int64(0)
			if s.rng.IntN(2) == 0 {
				amount = int64(500 * (1 + s.rng.IntN(int(p.balance/500))))
			}
			_, e := s.toss.cancelOnce(p.key, "dashboard", amount, nil)
			s.record("dashboard", fmt.Sprintf("refund %d of %s (err %v)", amount, p.key, e != nil), faultNone)
			return
		}
	}
}

// otherServerConfirm is a confirm this engine did not make: another
// server holding the same secret key (Toss's sample server still running
// beside this backend during a move, an operator's script) confirms an
// attempt of an order that this engine has claimed for another attempt.
// Toss's record wins: the order must end paid under the approved attempt,
// by reconcile alone if nothing else touches it.
func (s *Sim) otherServerConfirm(o *simOrder) {
	cur, err := s.mem.Get(context.Background(), o.id, s.now)
	if err != nil || cur.Status != orders.StatusConfirming {
		return
	}
	for _, p := range s.toss.byOrder[o.id] {
		if p.key != cur.PaymentKey && p.amount == o.amount && !p.decline && p.status == toss.StatusInProgress && p.confirming == 0 {
			_, e := s.toss.confirmOnce(toss.ConfirmRequest{PaymentKey: p.key, OrderID: o.id, Amount: p.amount})
			s.record("other server", fmt.Sprintf("confirms %s at Toss while the order is claimed for %s (err %v)", p.key, cur.PaymentKey, e != nil), faultNone)
			return
		}
	}
}

// claimed checks a successful claim of the order that stood as before:
// the amount gate, and the one-holder promise (a CONFIRMING order's claim
// is never taken over while its holder's deadline runs).
func (s *Sim) claimed(before *orders.Order, c orders.Claim) {
	if want := s.amounts[c.OrderID]; c.Amount != want {
		s.violate("claim of order %s succeeded for amount %d, the order's is %d", c.OrderID, c.Amount, want)
	}
	h := s.holder[c.OrderID]
	if before != nil && before.Status == orders.StatusConfirming && h != nil && h != s.cur && !h.done && s.now.Before(h.deadline) {
		s.violate("order %s claimed by %s while %s still holds its claim (until %s)", c.OrderID, s.cur.name, h.name, h.deadline.Sub(epoch))
	}
	s.holder[c.OrderID] = s.cur
}

// quiesce stops the faults, lets every invocation finish, advances the
// clock past every claim and runs two reconcile passes, checking what must
// hold then. The webhooks still queued are delivered only after the
// passes, or in half the schedules never (Toss gives up redelivering), so
// that reconcile alone must settle every approved payment.
func (s *Sim) quiesce() {
	if s.violation != "" {
		return
	}
	s.faults = false
	s.record("sim", "quiescence: faults off", faultNone)
	for len(s.toss.late) > 0 {
		s.toss.runLate(0)
	}
	s.runAll()
	s.now = s.now.Add(reconcileTimeout + time.Minute)
	s.record("clock", "advance past every claim", faultNone)
	for range 2 {
		s.spawnReconcile()
		s.runAll()
	}
	s.checkNoConfirming()
	// Past every order's payable window, one more pass: the expiry pass,
	// and the one that settles a FAILED order Toss holds an approval for.
	s.now = s.now.Add(payWindow)
	s.record("clock", "advance past every payable window", faultNone)
	s.spawnReconcile()
	s.runAll()
	s.checkExpired()
	hooksLost := s.rng.IntN(2) == 0
	if hooksLost {
		s.record("toss", fmt.Sprintf("gives up redelivering %d webhooks", len(s.hooks)), faultNone)
		s.hooks = nil
	} else {
		s.flushWebhooks()
	}
	s.checkFinal(!hooksLost)
}

func (s *Sim) flushWebhooks() {
	// Bounded: a delivery the order's budget of Toss calls refuses is
	// queued again, and the clock does not move here.
	for round := 0; len(s.hooks) > 0 && round < 200 && s.violation == ""; round++ {
		s.deliverWebhook(false)
		s.runAll()
	}
}
