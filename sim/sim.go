// Package sim is a deterministic simulation of the money protocol: the
// real API handlers (api.Service) over the real payments.Engine, the real
// stores (in memory, or DynamoDB in -dynamo mode) and the real toss.Client
// talking to an in-process fake of Toss, driven by a seeded scheduler that
// interleaves buyers, refreshes, merchants' refunds and deletes, reconcile
// passes, real and forged webhooks, another server confirming at Toss, TTL
// deletions, a fake clock and, in half the schedules, an attacker racing
// for the orders' anonymous budgets (attacker.go), and injects faults at
// every call to a store and at every HTTP request to Toss.
//
// Every call the product makes to a store, and every HTTP request its Toss
// client sends, is a step: the calling actor (a goroutine running product
// code) parks until the scheduler picks it, and only one actor runs at a
// time, so a schedule, its faults and its outcome are a function of the
// seed alone. Each actor reads its own clock, skewed from the world's by up
// to a few seconds. The invariants are checked after every step, on every
// answer the API gives, on every request Toss receives, on the events the
// order events function makes of every write, and, once the faults stop
// and reconcile has run, at quiescence (see check.go).
package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/ratelimit"
	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tossrules"
)

// Simulated time starts in the real past: the engine's Toss-call contexts
// (payments.Engine.tossContext) then never arm a real timer.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Tunables of one schedule.
const (
	lambdaTimeout    = 15 * time.Second // an API invocation's deadline (template.yaml: PaymentSuccessFunction)
	reconcileTimeout = 60 * time.Second // ReconcileFunction's
	reconcileEvery   = 5 * time.Minute  // its schedule (template.yaml), besides the passes drawn as events
	payWindow        = 20 * time.Minute
	// retention is the shortest EXPIRED_ORDER_RETENTION_DAYS: an unpaid
	// order's TTL falls a day after its window, past every reconcile pass
	// of a schedule's busy phase, so TTL deletions happen at quiescence.
	retention = 24 * time.Hour
	maxSteps  = 8000 // a schedule that takes more has a livelock
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
	faultLost            // the call takes effect, its answer is lost (an error, as the SDK or the transport reports it)
	faultStoreDown       // the store refuses the call before writing
	faultTimeout         // Toss is not reached in time: nothing executed
	fault5xx
	fault429
	faultProvider  // PROVIDER_ERROR
	faultLate      // Toss receives the request but processes it after the caller gave up
	fault5xxAfter  // Toss executes the request, then answers 500
	faultWriteLate // the store write is in flight when the invocation's deadline passes; it lands later
)

var faultNames = [...]string{"", "die-before", "die-after", "answer-lost", "store-down", "toss-timeout", "toss-5xx", "toss-429",
	"toss-PROVIDER_ERROR", "toss-late", "toss-5xx-after-executing", "store-write-late"}

func (f fault) String() string { return faultNames[f] }

var (
	storeReadFaults  = []fault{faultDieBefore, faultDieAfter, faultLost, faultStoreDown}
	storeWriteFaults = []fault{faultDieBefore, faultDieAfter, faultLost, faultStoreDown, faultWriteLate}
	tossFaults       = []fault{faultDieBefore, faultDieAfter, faultLost, faultTimeout, fault5xx, fault429, faultProvider, faultLate, fault5xxAfter}
)

// killed unwinds an actor whose invocation dies.
type killed struct{}

// actor is one invocation: a goroutine running product code.
type actor struct {
	id       int
	name     string
	deadline time.Time     // on the world's clock: Lambda stops the invocation then
	skew     time.Duration // its clock reads the world's plus skew
	resume   chan fault
	jobs     chan func() // the schedule's goroutine it runs on
	kind     stepKind
	op       string
	write    bool // the store step it is parked at writes
	// outage is the transient fault Toss answered its last request with
	// (a timeout, a 5xx, a 429, PROVIDER_ERROR): Toss's trouble comes in
	// bursts, so its next request (the client's retry) likely meets it
	// too, and a call can fail after all its retries.
	outage fault
	done   bool
	intent *intent // the refund request a refund actor makes
	onDie  func()  // what the caller does when the invocation dies (Toss redelivers)
	result string
	// dead: the invocation died at a step. Its goroutine unwinds through
	// the deferred calls of the code it ran; a call those make (a
	// deferred release) must not happen, as in a stopped Lambda.
	dead bool
	// The Idempotency-Key record of the request it serves: the record,
	// the lock token it took it under, and the completed record a replay
	// answered from.
	idemRec, idemToken, replayOf string
	// What the abuse limits are checked on (check.go). anon: a request
	// without the order's checkout token (a buyer's frontend that does not
	// send it, the attacker, webhooks, Toss's own included), whose Toss
	// calls the order's budgets and the ceiling across orders bound. start
	// is the world's clock when it was made; admissions are the calls the
	// order's budgets admitted for it. noTossCall, when set, says why it
	// must send Toss nothing (a hint that cannot be news, a paid order's
	// receipt).
	anon       bool
	start      time.Time
	admissions []*admission
	noTossCall string
	// hintKey is the paymentKey a webhook names: its lookup of a paid
	// order's own payment draws on the order's own budget.
	hintKey string
	// ceilingLost: the ceiling's count failed for it, which admits the
	// call uncounted (limits).
	ceilingLost bool
}

// simCtx is an invocation's context: its deadline is on the world's clock
// (the product takes claims and locks until it), and it is never
// canceled: an invocation ends by dying at a step, not by its context.
type simCtx struct{ deadline time.Time }

func (c simCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (simCtx) Done() <-chan struct{}         { return nil }
func (simCtx) Err() error                    { return nil }
func (simCtx) Value(any) any                 { return nil }

type simOrder struct {
	id       string
	amount   int64
	token    string // its checkout token ("" on a commit before tokens)
	attempts []attempt
}

// route is how a buyer's confirm reaches the API.
type route uint8

const (
	routePage   route = iota // GET /payments/success (the successUrl)
	routeJSON                // POST /payments/confirm
	routeSample              // POST /confirm (Toss's sample servers' shape)
)

var routeNames = [...]string{"page", "json", "sample"}

// attempt is a buyer's authentication in the window and what the
// redirect back to us carries, and how the buyer's frontend confirms it.
type attempt struct {
	paymentKey string
	redirect   int64
	route      route
	idemKey    string // the frontend's Idempotency-Key on a JSON route, if it sends one
	// token is the order's checkout token, if the buyer's request carries
	// it: the successUrl the checkout page gave Toss does; a single-page
	// frontend sends it if its merchant passed it on; an attacker has none.
	token string
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

// lateWrite is a store write in flight past its invocation's deadline.
type lateWrite struct {
	op       string
	actor    string
	deadline time.Time
	apply    func()
}

type traceEntry struct {
	at    time.Duration
	actor string
	op    string
	fault fault
}

// Sim is one schedule.
type Sim struct {
	seed uint64
	rng  *rand.Rand
	// tokens draws which frontends send the checkout token: a stream of
	// its own, so that the schedule (every draw of rng) is the same on a
	// commit without tokens, where a seed found there replays.
	tokens   *rand.Rand
	now      time.Time // the world's clock (Toss's and DynamoDB's)
	maxSkew  time.Duration
	faults   bool
	faultPct int
	budget   int
	events   int
	steps    int

	be   backend
	toss *fakeToss
	eng  *payments.Engine
	api  *api.Service

	reqSeq      int
	forged      int
	firstAnswer map[string]keyedAnswer // idempotency record → the first answer stored under it
	firstShaped map[string]keyedAnswer // idempotency record → the first POST /confirm answer given from it
	lockHolder  map[string]string      // idempotency record → the token of its last successful lock

	actors     []*actor
	workers    []chan func() // the schedule's goroutines (goRun)
	idle       []chan func()
	cur        *actor
	yield      chan *actor
	nextID     int
	orders     []*simOrder
	amounts    map[string]int64
	intents    []*intent
	hooks      []webhook
	lateWrites []*lateWrite
	vanished   map[string]bool // orders TTL deleted

	holder      map[string]*actor        // the actor whose claim an order is under
	everPaid    map[string]string        // orderId → the paymentKey it was first seen paid under
	lastBalance map[string]int64         // orderId → the balance last seen recorded
	declined    map[string]string        // paymentKey → the answer that told its buyer it was declined
	touched     map[string]bool          // orders a write reached since the last checkStep
	checked     map[string]*orders.Order // each order as checkStep last read it (nil: gone)
	violation   string
	trace       []traceEntry
	outcomes    map[string]int // the engine's own metric of how confirms ended: what a run covered

	// The attacker (attacker.go) and what the abuse limits are checked
	// on (check.go). attack draws everything about the attacker, a stream
	// of its own, and the attacker is in some schedules only: a schedule
	// without one plays as it did before the attacker was modelled, seed
	// for seed (so do the seeds kept in TestFoundBugs).
	attack   *rand.Rand
	attacker *attacker
	// ceiling is the engine's ceiling on anonymous Toss calls across
	// orders, with the attacker only (nil otherwise, as before).
	ceiling *ratelimit.Ceiling
	// budgets are the admissions on each budget of each order, in the
	// order the store took them; ceilingUsed counts, per minute (its
	// start, Unix seconds), the anonymous calls the ceiling admitted that
	// reached Toss.
	budgets     map[budgetKey][]*admission
	ceilingUsed map[int64]int
	// failedEvents are the eventIds of the Order Payment Failed events of
	// each attempt (orderId, NUL, paymentKey), as the order events
	// function makes them from the table's stream: a consumer drops an
	// eventId it has seen (README), so each is one event to the merchant.
	failedEvents map[string][]string
}

// ConfirmOutcome implements payments.Metrics.
func (s *Sim) ConfirmOutcome(outcome string) { s.outcomes[outcome]++ }

// TossConfigurationError implements payments.Metrics: the simulated Toss
// holds one pair of keys, so a run never meets one (the confirm outcome
// "configuration" says so if it does).
func (s *Sim) TossConfigurationError(string) {}

// Result is what one schedule found.
type Result struct {
	Seed      uint64
	Steps     int
	Violation string // "" when every invariant held
	Trace     string // the step trace, when asked for or on a violation
	Outcomes  map[string]int
}

// Run plays the schedule of seed over the in-memory stores. withTrace
// keeps the trace even when nothing is violated (for replays).
func Run(seed uint64, withTrace bool) Result {
	return runOn(seed, withTrace, memoryBackend())
}

func runOn(seed uint64, withTrace bool, be backend) Result {
	s := newSim(seed, be)
	s.play()
	return s.result(withTrace)
}

func (s *Sim) result(withTrace bool) Result {
	r := Result{Seed: s.seed, Steps: s.steps, Violation: s.violation, Outcomes: s.outcomes}
	if withTrace || s.violation != "" {
		r.Trace = s.formatTrace()
	}
	return r
}

func newSim(seed uint64, be backend) *Sim {
	s := &Sim{seed: seed, rng: rand.New(rand.NewPCG(seed, 0x51d0c0de)), tokens: rand.New(rand.NewPCG(seed, 0x70ce5)), now: epoch, faults: true, be: be,
		yield: make(chan *actor), amounts: map[string]int64{}, holder: map[string]*actor{}, everPaid: map[string]string{},
		lastBalance: map[string]int64{}, touched: map[string]bool{}, checked: map[string]*orders.Order{}, declined: map[string]string{}, vanished: map[string]bool{},
		outcomes: map[string]int{}, firstAnswer: map[string]keyedAnswer{}, firstShaped: map[string]keyedAnswer{}, lockHolder: map[string]string{},
		attack: rand.New(rand.NewPCG(seed, 0xa77ac4)), budgets: map[budgetKey][]*admission{}, ceilingUsed: map[int64]int{},
		failedEvents: map[string][]string{}}
	s.faultPct = s.rng.IntN(30)
	s.budget = 10 + s.rng.IntN(30)
	s.maxSkew = []time.Duration{0, time.Second, 3 * time.Second}[s.rng.IntN(3)]
	s.toss = newFakeToss(s)
	s.toss.anyAttempt = s.rng.IntN(2) == 0
	s.eng = &payments.Engine{Orders: store{s: s}, Toss: gateway{c: s.newTossClient()}, Clock: s.actorNow, Metrics: s}
	s.api = &api.Service{
		Orders: store{s: s},
		Engine: s.eng,
		Keys:   merchantKeys{},
		Guard:  idempotency.New(idemStore{s: s}, idempotency.Options{Clock: s.actorNow}),
		Clock:  s.actorNow,
	}
	if s.attack.IntN(100) < attackerShare {
		s.attacker = newAttacker(s)
	}
	for i := range 1 + s.rng.IntN(2) {
		s.newOrder(fmt.Sprintf("order-%d", i+1))
	}
	return s
}

// newOrder is an order the merchant created, now or up to a pay window
// before the schedule begins (so that its window closes while buyers,
// Toss and the reconciler are busy), perhaps with an attempt a buyer
// authenticated then and abandoned: Toss holds it, never confirmed.
func (s *Sim) newOrder(id string) {
	amount := int64(1000 * (1 + s.rng.IntN(50)))
	created := s.now
	if s.rng.IntN(2) == 0 {
		created = s.now.Add(-time.Duration(s.rng.IntN(int(payWindow/time.Second))) * time.Second)
	}
	o, err := orders.New(orders.Draft{Name: "sim", Amount: amount}, created,
		orders.Policy{MaxAmount: 1 << 40, PayWindow: payWindow, Retention: retention})
	if err != nil {
		panic(fmt.Sprintf("sim: new order: %v", err))
	}
	o.ID = id // orders.New draws a random ID; the schedule must not
	if err := s.be.orders.Create(bg, o); err != nil {
		s.violate("sim: create order %s: %v", o.ID, err) // DynamoDB Local failed: the schedule says nothing
		return
	}
	so := &simOrder{id: o.ID, amount: amount, token: checkoutToken(o)}
	s.orders = append(s.orders, so)
	s.amounts[o.ID] = amount
	if ago := s.now.Sub(created); ago > time.Second && s.rng.IntN(2) == 0 {
		ago = time.Duration(s.rng.Int64N(int64(ago/time.Second))) * time.Second
		pk := s.toss.authenticate(o.ID, amount, false, s.now.Add(-ago))
		so.attempts = append(so.attempts, attempt{paymentKey: pk, redirect: amount, route: routePage, token: so.token})
		s.record("buyer", fmt.Sprintf("authenticated %s at Toss for %d %s ago, and left", pk, amount, ago), faultNone)
	}
}

// checkoutToken is o's checkout token, read by the field's name so that
// this package still builds on a commit before tokens (where it is "" and
// no request carries one), and a seed found there replays there.
func checkoutToken(o *orders.Order) string {
	if f := reflect.ValueOf(o).Elem().FieldByName("CheckoutToken"); f.IsValid() && f.Kind() == reflect.String {
		return f.String()
	}
	return ""
}

// actorNow is the clock the running invocation reads: the world's, skewed
// by the invocation's own offset. The engine, the API and the idempotency
// guard all read it.
func (s *Sim) actorNow() time.Time {
	if s.cur != nil {
		return s.now.Add(s.cur.skew)
	}
	return s.now
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
	lookup := "the latest attempt"
	if s.toss.anyAttempt {
		lookup = "any attempt"
	}
	fmt.Fprintf(&b, "seed %d: %d orders, fault rate %d%%, clock skew up to %s, %d events, Toss's lookup by orderId answers %s",
		s.seed, len(s.orders), s.faultPct, s.maxSkew, s.budget, lookup)
	if s.attacker != nil {
		fmt.Fprintf(&b, ", an attacker (ceiling across orders %d a minute)", s.ceiling.PerMinute)
	}
	b.WriteByte('\n')
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
	a := &actor{id: s.nextID, deadline: s.now.Add(timeout), resume: make(chan fault), kind: stepStart, op: "start", intent: in, start: s.now}
	if s.maxSkew > 0 && s.rng.IntN(2) == 0 {
		ms := s.maxSkew.Milliseconds()
		a.skew = time.Duration(s.rng.Int64N(2*ms+1)-ms) * time.Millisecond
	}
	a.name = fmt.Sprintf("a%d:%s", a.id, name)
	if a.skew != 0 {
		a.name = fmt.Sprintf("a%d(clock %+.1fs):%s", a.id, a.skew.Seconds(), name)
	}
	s.actors = append(s.actors, a)
	s.goRun(a, func() {
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
			s.idle = append(s.idle, a.jobs)
			s.yield <- a
		}()
		if f == faultDieBefore {
			s.die()
		}
		a.result = body(simCtx{deadline: a.deadline})
	})
	return a
}

// goRun runs job on a goroutine of the schedule's own: an idle one if
// there is one. Actors run deep stacks (the HTTP client, JSON), which a
// fresh goroutine would grow again for every invocation. A goroutine is
// idle again once its job is about to hand control back to the scheduler
// (done, below): it is then the only one running, so the list needs no
// lock.
func (s *Sim) goRun(a *actor, job func()) {
	if n := len(s.idle); n > 0 {
		a.jobs = s.idle[n-1]
		s.idle = s.idle[:n-1]
		a.jobs <- job
		return
	}
	a.jobs = make(chan func())
	go func(jobs chan func()) {
		for job := range jobs {
			job()
		}
	}(a.jobs)
	s.workers = append(s.workers, a.jobs)
	a.jobs <- job
}

// stopWorkers ends the schedule's goroutines, every actor having ended.
func (s *Sim) stopWorkers() {
	for _, jobs := range s.workers {
		close(jobs)
	}
	s.workers, s.idle = nil, nil
}

// step parks the running actor at a call until the scheduler picks it,
// and returns the fault drawn for the call.
func (s *Sim) step(kind stepKind, op string, write bool) fault {
	a := s.cur
	if a.dead {
		panic(killed{}) // a deferred call of an invocation that died: never made
	}
	a.kind, a.op, a.write = kind, op, write
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
	if a.kind == stepToss && a.outage != faultNone && s.faults && s.rng.IntN(100) < 60 {
		return a.outage // Toss's trouble outlasts one request: the client's retry meets it again
	}
	a.outage = faultNone
	if !s.faults || s.rng.IntN(100) >= s.faultPct {
		return faultNone
	}
	switch {
	case a.kind == stepToss:
		f := tossFaults[s.rng.IntN(len(tossFaults))]
		if f == faultTimeout || f == fault5xx || f == fault429 || f == faultProvider {
			a.outage = f
		}
		return f
	case a.write:
		return storeWriteFaults[s.rng.IntN(len(storeWriteFaults))]
	}
	return storeReadFaults[s.rng.IntN(len(storeReadFaults))]
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
	if len(s.touched) > 0 {
		s.checkStep()
	}
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
	if s.attacker != nil {
		s.attacker.clockMoved() // it arrives with the schedule
	}
	for s.violation == "" && s.steps < maxSteps {
		more := s.events < s.budget
		if len(s.actors) == 0 && !more {
			break
		}
		// The attacker acts between the world's events, on draws of its own
		// stream; it stops when the busy phase does (quiescence needs an end).
		if s.attacker != nil && more && s.attacker.turn() {
			continue
		}
		if len(s.actors) > 0 && (!more || s.rng.IntN(100) < 65) {
			a := s.pick()
			s.grant(a, s.pickFault(a))
			continue
		}
		s.events++
		s.event()
		s.checkStep()
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
	s.stopWorkers()
}

// event is one thing the world does between steps.
func (s *Sim) event() {
	o := s.orders[s.rng.IntN(len(s.orders))]
	switch r := s.rng.IntN(100); {
	case r < 17:
		s.newAttempt(o)
	case r < 19:
		s.forgedRedirect(o)
	case r < 28:
		if len(o.attempts) > 0 {
			at := o.attempts[s.rng.IntN(len(o.attempts))]
			s.spawnConfirm("refresh", o, at)
		}
	case r < 40:
		s.newRefund(o)
	case r < 46:
		var failed []*intent
		for _, in := range s.intents {
			if in.failed {
				failed = append(failed, in)
			}
		}
		if len(failed) > 0 {
			s.spawnRefund("retry", failed[s.rng.IntN(len(failed))])
		}
	case r < 53:
		s.spawnReconcile()
	case r < 67:
		s.deliverWebhook(s.rng.IntN(100) < 30)
	case r < 70:
		s.forgedWebhook()
	case r < 82:
		d := time.Duration(1+s.rng.IntN(40)) * time.Second
		if s.rng.IntN(100) < 15 {
			d = time.Duration(5+s.rng.IntN(11)) * time.Minute
		}
		before := s.now.Sub(epoch) / reconcileEvery
		s.now = s.now.Add(d)
		s.record("clock", "advance "+d.String(), faultNone)
		if s.now.Sub(epoch)/reconcileEvery != before {
			s.spawnReconcile() // the schedule's own pass (EventBridge)
		}
		if s.attacker != nil {
			s.attacker.clockMoved() // slots freed: it re-takes them before anyone else
		}
	case r < 86:
		if len(s.toss.late) > 0 {
			s.toss.runLate(s.rng.IntN(len(s.toss.late)))
		}
	case r < 91:
		s.landLateWrite()
	case r < 92:
		s.ttlDelete()
	case r < 94:
		s.dashboardRefund(o)
	case r < 96:
		s.spawn("delete("+o.id+")", nil, func(ctx context.Context) string { return s.deleteOverHTTP(ctx, o) })
	default:
		s.otherServerConfirm(o)
	}
}

// newAttempt is a buyer authenticating in Toss's window (sometimes for a
// tampered amount, higher or lower, sometimes with a card that will be
// declined) and coming back with a redirect (sometimes carrying another
// amount), confirmed through one of the API's three confirm routes.
func (s *Sim) newAttempt(o *simOrder) {
	auth := o.amount
	switch r := s.rng.IntN(100); {
	case r < 10:
		auth = o.amount - 500
	case r < 15:
		auth = o.amount + 1000
	}
	redirect := auth
	if s.rng.IntN(100) < 10 {
		redirect = []int64{o.amount, o.amount + 1000, auth - 1}[s.rng.IntN(3)]
	}
	decline := s.rng.IntN(100) < 20
	pk := s.toss.authenticate(o.id, auth, decline, s.now)
	at := attempt{paymentKey: pk, redirect: redirect, route: route(s.rng.IntN(3))}
	if at.route != routePage && s.rng.IntN(2) == 0 {
		at.idemKey = "confirm-" + pk
		if s.attacker != nil && s.attack.IntN(2) == 0 {
			at.idemKey = o.id // the natural choice, which the attacker guesses too
		}
	}
	if at.route == routePage || s.tokens.IntN(2) == 0 {
		at.token = o.token
	}
	o.attempts = append(o.attempts, at)
	s.record("buyer", fmt.Sprintf("authenticated %s at Toss for %d (order %d, redirect %d, decline %v, %s route, key %q, checkout token %v)",
		pk, auth, o.amount, redirect, decline, routeNames[at.route], at.idemKey, at.token != ""), faultNone)
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
	at := attempt{paymentKey: fmt.Sprintf("tpk_forged_%d", s.forged), redirect: amount, route: route(s.rng.IntN(3))}
	s.record("attacker", fmt.Sprintf("redirects with %s for %d (%s route)", at.paymentKey, amount, routeNames[at.route]), faultNone)
	s.spawnConfirm("forged", o, at)
}

func (s *Sim) spawnConfirm(name string, o *simOrder, at attempt) {
	s.spawnConfirmThen(name, o, at, nil)
}

// spawnConfirmThen is spawnConfirm telling then the answer (the attacker's
// threads wait on theirs).
func (s *Sim) spawnConfirmThen(name string, o *simOrder, at attempt, then func(answer)) *actor {
	a := s.spawn(name+"("+at.paymentKey+" "+routeNames[at.route]+")", nil, func(ctx context.Context) string {
		ans := s.confirmOverHTTP(ctx, o, at)
		if then != nil {
			then(ans)
		}
		return ans.text
	})
	a.anon = o.token == "" || at.token != o.token
	if _, paid := s.everPaid[o.id]; paid {
		a.noTossCall = "a confirm of a paid order (its receipt, or an attempt it will not take)"
	}
	return a
}

func (s *Sim) newRefund(o *simOrder) {
	in := &intent{id: len(s.intents) + 1, order: o}
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
	for _, p := range s.toss.book.Order(o.id) {
		if s.ours(p) {
			in.paymentKey = p.Key
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

// refundExecuted is Toss executing the merchant's refund request in: no
// request executes twice.
func (s *Sim) refundExecuted(in *intent) {
	in.executed++
	if in.executed > 1 {
		s.violate("refund request #%d (order %s, amount %d, key %q) executed at Toss twice",
			in.id, in.order.id, in.amount, in.callerKey)
	}
}

// spawnReconcile is one run of ReconcileFunction's handler.
func (s *Sim) spawnReconcile() {
	s.spawnFor(reconcileTimeout, "reconcile", nil, func(ctx context.Context) string {
		rep, err := s.api.Reconcile(ctx, nil)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%+v", rep)
	})
}

func (s *Sim) queueWebhook(p *tossPayment) {
	s.hooks = append(s.hooks, webhook{paymentKey: p.Key, orderID: p.OrderID, status: string(p.Status), at: s.now})
}

// deliverWebhook delivers a queued webhook, any of them (late and out of
// order); twice keeps it queued for a second delivery. A delivery answered
// with anything but 200 is queued again, as Toss retries it.
func (s *Sim) deliverWebhook(twice bool) {
	if len(s.hooks) == 0 {
		return
	}
	i := s.rng.IntN(len(s.hooks))
	w := s.hooks[i]
	if !twice {
		s.hooks = append(s.hooks[:i], s.hooks[i+1:]...)
	}
	a := s.spawnHint("webhook("+w.paymentKey+" "+w.status+")", w, func(ans answer) string {
		if ans.status != 200 {
			s.hooks = append(s.hooks, w)
			return ans.text + " (Toss redelivers)"
		}
		return ans.text
	})
	a.onDie = func() { s.hooks = append(s.hooks, w) } // no answer: Toss delivers it again
}

// spawnHint posts webhook w (Toss's, or anyone's: Toss does not sign
// them) and tells then the answer. A webhook carries no checkout token:
// its lookups are anonymous calls, and one whose hint cannot be news for
// the order (hintCannotBeNews) must cost no Toss call at all.
func (s *Sim) spawnHint(name string, w webhook, then func(answer) string) *actor {
	a := s.spawn(name, nil, func(ctx context.Context) string { return then(s.webhookOverHTTP(ctx, w)) })
	a.anon, a.hintKey, a.noTossCall = true, w.paymentKey, s.hintCannotBeNews(w)
	return a
}

// forgedWebhook is someone posting to the webhook URL (Toss does not sign
// webhooks): a body naming a real paymentKey or a made-up one, with
// another order's orderId or one that does not exist, and any status.
func (s *Sim) forgedWebhook() {
	s.forged++
	w := webhook{paymentKey: fmt.Sprintf("tpk_madeup_%d", s.forged), at: s.now}
	if n := len(s.toss.book.All()); n > 0 && s.rng.IntN(100) < 70 {
		w.paymentKey = s.toss.book.All()[s.rng.IntN(n)].Key
	}
	w.orderID = s.orders[s.rng.IntN(len(s.orders))].id
	if s.rng.IntN(100) < 20 {
		w.orderID = "order-nobody"
	}
	w.status = []string{"DONE", "CANCELED", "PARTIAL_CANCELED", "ABORTED", "EXPIRED", "IN_PROGRESS"}[s.rng.IntN(6)]
	s.spawnHint("forged webhook("+w.paymentKey+" "+w.orderID+" "+w.status+")", w, func(ans answer) string {
		if ans.status == http.StatusOK {
			return "200 " + ans.text
		}
		return ans.text
	})
}

// dashboardRefund is a refund made in Toss's dashboard: known to us only
// by its webhook, or by what Toss answers later.
func (s *Sim) dashboardRefund(o *simOrder) {
	for _, p := range s.toss.book.Order(o.id) {
		if p.Approved() && p.Balance > 0 {
			amount := int64(0)
			if s.rng.IntN(2) == 0 {
				amount = int64(500 * (1 + s.rng.IntN(int(p.Balance/500))))
			}
			a := s.toss.cancelOnce(p.Key, "dashboard", amount, nil)
			s.record("dashboard", fmt.Sprintf("refund %d of %s: %d", amount, p.Key, a.status), faultNone)
			return
		}
	}
}

// otherServerConfirm is a confirm this backend did not make: another
// server holding the same secret key (Toss's sample server still running
// beside this backend during a move, an operator's script) confirms an
// attempt of an order this backend is confirming or has failed, at the
// amount the buyer authenticated, which may be the order's or another,
// higher or lower. Toss's record wins for an approval at the order's
// amount: the order must end paid under it, by reconcile alone if nothing
// else touches it. An approval at another amount is not the order's
// payment: it must never be recorded as one. (An order still PENDING has
// no attempt this backend ever sent to Toss, and reconcile does not look
// it up: an approval of one is known by its webhook only, as the README's
// runbook says, and the simulator does not require webhooks to arrive.)
func (s *Sim) otherServerConfirm(o *simOrder) {
	cur, err := s.order(o.id)
	if err != nil || (cur.Status != orders.StatusConfirming && cur.Status != orders.StatusFailed) {
		return
	}
	var open []*tossPayment
	for _, p := range s.toss.book.Order(o.id) {
		if p.Status == tossrules.StatusInProgress && p.Confirming == 0 {
			open = append(open, p)
		}
	}
	if len(open) == 0 {
		return
	}
	p := open[s.rng.IntN(len(open))]
	a := s.toss.confirmOnce(toss.ConfirmRequest{PaymentKey: p.Key, OrderID: o.id, Amount: p.Amount})
	s.record("other server", fmt.Sprintf("confirms %s at Toss for %d (order %d): %d", p.Key, p.Amount, o.amount, a.status), faultNone)
}

// landLateWrite lands a store write that was in flight when its
// invocation's deadline passed, any of those whose deadline has passed.
func (s *Sim) landLateWrite() {
	var due []int
	for i, w := range s.lateWrites {
		if !s.now.Before(w.deadline) {
			due = append(due, i)
		}
	}
	if len(due) == 0 {
		return
	}
	s.applyLateWrite(due[s.rng.IntN(len(due))])
}

func (s *Sim) applyLateWrite(i int) {
	w := s.lateWrites[i]
	s.lateWrites = slices.Delete(s.lateWrites, i, i+1)
	s.record("store", fmt.Sprintf("late write of %s lands: %s (its deadline was +%s)", w.actor, w.op, w.deadline.Sub(epoch)), faultNone)
	w.apply()
}

// ttlDelete is DynamoDB's TTL deleting an order whose TTL passed, any of
// them: it does so within days of the TTL, at a moment of its own.
func (s *Sim) ttlDelete() {
	var due []*simOrder
	for _, o := range s.orders {
		if s.ttlDue(o) {
			due = append(due, o)
		}
	}
	if len(due) == 0 {
		return
	}
	o := due[s.rng.IntN(len(due))]
	s.vanished[o.id] = true
	s.touched[o.id] = true
	s.record("dynamodb", "TTL deletes "+o.id, faultNone)
}

// ttlDue reports whether DynamoDB's TTL may delete o now: its TTL passed
// on the world's clock. An item whose TTL a write removed is kept.
func (s *Sim) ttlDue(o *simOrder) bool {
	if s.vanished[o.id] {
		return false
	}
	cur, err := s.be.orders.Get(context.Background(), o.id, time.Time{})
	return err == nil && !cur.ExpiresAt.IsZero() && cur.ExpiresAt.Unix() < s.now.Unix()
}

// claimed checks a successful claim of the order that stood as before:
// the amount gate, and the one-holder promise (a CONFIRMING order's claim
// is never taken over while its holder's deadline runs). The promise is
// kept by the clocks of the callers, so it holds up to their skew: a
// caller whose clock runs ahead by maxSkew takes over that much early.
func (s *Sim) claimed(a *actor, before *orders.Order, c orders.Claim) {
	if want := s.amounts[c.OrderID]; c.Amount != want {
		s.violate("claim of order %s succeeded for amount %d, the order's is %d", c.OrderID, c.Amount, want)
	}
	h := s.holder[c.OrderID]
	if before != nil && before.Status == orders.StatusConfirming && h != nil && h != a && !h.done &&
		s.now.Before(h.deadline.Add(-s.maxSkew)) {
		s.violate("order %s claimed by %s while %s still holds its claim (until %s)", c.OrderID, a.name, h.name, h.deadline.Sub(epoch))
	}
	s.holder[c.OrderID] = a
}

// quiesce stops the faults and lets every invocation finish; a reconcile
// pass then meets the lapsing claims while Toss processes what it received
// late and writes in flight land. Past every claim and every confirm
// window, fault-free passes must leave nothing CONFIRMING; past every pay
// window, nothing payable; the reconciler's rechecks follow. The webhooks
// still queued are delivered only then, or in half the schedules never
// (Toss gives up redelivering), so that reconcile alone must settle every
// approved payment; TTL deletions interleave with them. Last, the merchant
// gets an answer to every refund and refunds every payment in full.
func (s *Sim) quiesce() {
	if s.violation != "" {
		return
	}
	s.faults = false
	s.record("sim", "quiescence: faults off", faultNone)
	s.runAll()
	// The last invocations' claims lapse while Toss still processes what
	// it received late and writes in flight land: a reconcile pass meets
	// them in a seeded interleaving, as the scheduled reconciler can.
	s.now = s.now.Add(lambdaTimeout + time.Second)
	s.record("clock", "advance past every API invocation's deadline", faultNone)
	s.spawnReconcile()
	for (len(s.actors) > 0 || len(s.toss.late) > 0) && s.violation == "" && s.steps < maxSteps {
		if len(s.toss.late) > 0 && (len(s.actors) == 0 || s.rng.IntN(4) == 0) {
			s.toss.runLate(s.rng.IntN(len(s.toss.late)))
			s.checkStep()
			continue
		}
		if s.rng.IntN(4) == 0 {
			s.landLateWrite()
			s.checkStep()
		}
		if len(s.actors) > 0 {
			a := s.pick()
			s.grant(a, s.pickFault(a))
		}
	}
	for len(s.lateWrites) > 0 && s.violation == "" {
		if w := s.lateWrites[0]; s.now.Before(w.deadline) {
			s.now = w.deadline
			s.record("clock", "advance to the deadline of a write in flight", faultNone)
		}
		s.applyLateWrite(0)
		s.checkStep()
	}
	s.runAll()
	s.now = s.now.Add(reconcileTimeout + time.Minute)
	s.record("clock", "advance past every claim", faultNone)
	for range 2 {
		s.spawnReconcile()
		s.runAll()
	}
	// An attempt Toss still shows undecided keeps its claim (the engine
	// never fails what Toss may still approve): past every attempt's
	// confirm window, and every late request's limit, none is.
	s.now = s.now.Add(sessionWindow + lateLimit)
	s.record("clock", "advance past every confirm window", faultNone)
	for range 2 {
		s.spawnReconcile()
		s.runAll()
	}
	s.checkNoConfirming()
	if s.violation != "" {
		return
	}
	// Past every order's payable window, one more pass: the expiry pass,
	// and the one that settles a FAILED order Toss holds an approval for.
	s.now = s.now.Add(payWindow)
	s.record("clock", "advance past every payable window", faultNone)
	s.spawnReconcile()
	s.runAll()
	s.checkExpired()
	if s.violation != "" {
		return
	}
	// The reconciler runs every five minutes until the TTL: its rechecks
	// (an order that expired FAILED, a refund reservation left pending)
	// come due within the first hour.
	s.reconcileAfter(30 * time.Minute)
	s.reconcileAfter(time.Hour)
	s.now = s.now.Add(retention + time.Second)
	s.record("clock", "advance past every TTL", faultNone)
	hooksLost := s.rng.IntN(2) == 0
	if hooksLost {
		s.record("toss", fmt.Sprintf("gives up redelivering %d webhooks", len(s.hooks)), faultNone)
		s.hooks = nil
	}
	s.flushWebhooks()
	s.checkFinal(!hooksLost)
	s.checkDeclineEvents()
	if s.violation != "" {
		return
	}
	s.settleRefunds()
}

// reconcileAfter is a fault-free reconcile pass d from now.
func (s *Sim) reconcileAfter(d time.Duration) {
	s.now = s.now.Add(d)
	s.record("clock", "advance "+d.String(), faultNone)
	s.spawnReconcile()
	s.runAll()
}

// flushWebhooks delivers what Toss still redelivers while DynamoDB's TTL
// deletes what is due, in a seeded interleaving.
func (s *Sim) flushWebhooks() {
	// Bounded: a delivery the order's budget of Toss calls refuses is
	// queued again, and the clock does not move here.
	for round := 0; round < 200 && s.violation == ""; round++ {
		due := 0
		for _, o := range s.orders {
			if s.ttlDue(o) {
				due++
			}
		}
		if len(s.hooks) == 0 && due == 0 {
			return
		}
		if due > 0 && (len(s.hooks) == 0 || s.rng.IntN(3) == 0) {
			s.ttlDelete()
			s.checkStep()
			continue
		}
		s.deliverWebhook(false)
		s.runAll()
	}
}

// settleRefunds is the merchant at quiescence: every refund without a
// definitive answer (5xx, 409, 429, no answer) is sent again until one
// comes, and then every payment Toss approved for an order is refunded in
// full (under a fresh Idempotency-Key). Toss must end holding nothing, and
// no order may keep a refund reservation.
func (s *Sim) settleRefunds() {
	for round := 0; round < 4 && s.violation == ""; round++ {
		var failed []*intent
		for _, in := range s.intents {
			if in.failed {
				failed = append(failed, in)
			}
		}
		if len(failed) == 0 {
			break
		}
		for _, in := range failed {
			s.spawnRefund("resend", in)
			s.runAll()
		}
	}
	for _, in := range s.intents {
		if in.failed {
			s.violate("refund #%d (order %s, %s, amount %d, key %q) got no definitive answer in 4 fault-free re-sends",
				in.id, in.order.id, in.paymentKey, in.amount, in.callerKey)
		}
	}
	s.reconcileAfter(10 * time.Minute)
	for _, so := range s.orders {
		for _, p := range s.toss.book.Order(so.id) {
			if !s.ours(p) || p.Balance == 0 || s.violation != "" {
				continue
			}
			in := &intent{id: len(s.intents) + 1, order: so, paymentKey: p.Key}
			in.reason, in.callerKey = fmt.Sprintf("final refund %d", in.id), fmt.Sprintf("final-%d", in.id)
			s.intents = append(s.intents, in)
			for range 3 {
				s.spawnRefund("final refund", in)
				s.runAll()
				if !in.failed {
					break
				}
			}
		}
	}
	s.checkRefunded()
}
