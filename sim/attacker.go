package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/ratelimit"
)

// The attacker README's "Abuse limits" is about: someone who knows every order's orderId and
// amount (the checkout page, success URLs, receipts and the merchant's
// e-mails show them) and nothing else. Not the checkout token, which only
// the checkout URL the merchant gave the buyer carries; not the buyer's
// paymentKey until the order is paid (then every buyer's success URL shows
// it). It races for the order's anonymous budget of Toss calls: one thread
// per slot of it and one more, each sending its next request the moment
// its last one is answered or, answered 429, the moment Retry-After says a
// slot frees (the world's clock moves only between steps, and the attacker
// takes its turn as soon as it has). Its requests:
//
//   - confirms of paymentKeys it made up (or of another order's, its own
//     purchase elsewhere) at the order's amount, on the success redirect,
//     POST /payments/confirm and POST /confirm, sometimes with a checkout
//     token it guessed;
//   - the same under the Idempotency-Key a frontend is likely to send (the
//     orderId, which frontends in its schedules use half the time) with an
//     amount the order refuses, to store a refusal where the buyer's own
//     confirm would meet it;
//   - forged webhooks naming the order: its own paymentKey once paid (a
//     redelivery of DONE, or a refund it claims), another before;
//   - the paid order's success redirect (its receipt).
//
// Everything it decides is drawn from the schedule's attack stream (its
// invocations' clock skews and interleaving are the scheduler's, as
// everyone's are), and it is in attackerShare percent of the schedules
// only.
type attacker struct {
	s       *Sim
	rng     *rand.Rand
	threads []*attackThread
	seq     int
}

// attackThread is one of the attacker's connections: one request at a time.
type attackThread struct {
	order   *simOrder
	busy    bool
	readyAt time.Time // the world's clock: when the last 429 said a slot frees
	fired   int       // requests since the clock last moved
}

const (
	// attackerShare is the percent of schedules with an attacker.
	attackerShare = 50
	// attackBurst bounds the requests a thread sends while the clock
	// stands still: most of its answers then are 429 anyway, and a
	// refusal that spends no slot (a refused amount, a hint that cannot
	// be news) would otherwise be sent again without end.
	attackBurst = 2
	// attackTurn is the percent of the scheduler's rounds the attacker
	// takes a turn in, besides every move of the clock.
	attackTurn = 20
)

// newAttacker is the schedule's attacker, and the ceiling across orders it
// meets: the engine's own (ratelimit.Ceiling), on a counter behind a
// scheduled step with the store faults (the limits table), at the
// default of 600 a minute or at a few a minute, low enough that the two
// orders' anonymous budgets together reach it.
func newAttacker(s *Sim) *attacker {
	k := &attacker{s: s, rng: s.attack}
	s.ceiling = &ratelimit.Ceiling{
		Name:      "anonymousTossCalls",
		PerMinute: []int{3, 7, 600}[k.rng.IntN(3)],
		Counter:   limits{s: s, c: &ratelimit.MemoryCounter{}},
		Pick:      k.rng.IntN, // the schedule's, so that it replays
	}
	s.eng.Ceiling = s.ceiling
	return k
}

// clockMoved is the attacker's turn when the world's clock has moved:
// every thread may send again, and those a slot waited for do at once.
func (k *attacker) clockMoved() {
	if k.threads == nil {
		for _, o := range k.s.orders {
			for range orders.AttemptLimit + 1 {
				k.threads = append(k.threads, &attackThread{order: o, readyAt: k.s.now})
			}
		}
	}
	for _, t := range k.threads {
		t.fired = 0
	}
	k.fire()
}

// turn is the attacker's chance to act in a round of the scheduler; it
// reports whether it sent anything.
func (k *attacker) turn() bool {
	if k.rng.IntN(100) >= attackTurn {
		return false
	}
	return k.fire() > 0
}

// fire sends the next request of every thread that is free to.
func (k *attacker) fire() int {
	n := 0
	for _, t := range k.threads {
		if t.busy || t.fired >= attackBurst || k.s.now.Before(t.readyAt) {
			continue
		}
		k.send(t)
		n++
	}
	return n
}

// send is one request of thread t.
func (k *attacker) send(t *attackThread) {
	s, o := k.s, t.order
	t.busy = true
	t.fired++
	done := func(ans answer) {
		t.busy = false
		t.readyAt = s.now.Add(ans.retryAfter) // 0 unless refused 429: at once
	}
	paidKey, paid := s.everPaid[o.id]
	var a *actor
	switch r := k.rng.IntN(100); {
	case r < 50 || (r >= 85 && !paid):
		at := attempt{paymentKey: k.madeUpKey(o), redirect: o.amount, route: route(k.rng.IntN(3))}
		if k.rng.IntN(100) < 20 {
			at.token = k.guessToken()
		}
		if at.route != routePage && k.rng.IntN(2) == 0 {
			at.idemKey = o.id
		}
		a = s.spawnConfirmThen("attacker confirm", o, at, done)
	case r < 65:
		// Poisoning: the Idempotency-Key a frontend would send, with an
		// amount the order refuses, so that a refusal is stored under it.
		at := attempt{paymentKey: k.madeUpKey(o), redirect: o.amount + int64(1+k.rng.IntN(3))*100, route: routeJSON + route(k.rng.IntN(2)), idemKey: o.id}
		a = s.spawnConfirmThen("attacker poison", o, at, done)
	case r < 85:
		w := webhook{paymentKey: k.madeUpKey(o), orderID: o.id, status: "DONE", at: s.now}
		if paid && k.rng.IntN(100) < 80 {
			w.paymentKey = paidKey
		}
		if k.rng.IntN(100) < 30 {
			w.status = []string{"PARTIAL_CANCELED", "CANCELED", "ABORTED", "EXPIRED"}[k.rng.IntN(4)]
		}
		a = s.spawnHint("attacker webhook("+w.paymentKey+" "+w.orderID+" "+w.status+")", w, func(ans answer) string {
			done(ans)
			return ans.text
		})
	default:
		// The paid order's success redirect, as every buyer's browser
		// history holds it: its receipt, no Toss call.
		a = s.spawnConfirmThen("attacker confirm", o, attempt{paymentKey: paidKey, redirect: o.amount, route: routePage}, done)
	}
	a.onDie = func() { t.busy = false } // no answer: it sends the next one
}

// madeUpKey is a paymentKey Toss never issued for o: made up, or, now and
// then, one Toss issued for another order (the attacker's own purchase of
// it, say), which Toss refuses for o as FORBIDDEN_REQUEST.
func (k *attacker) madeUpKey(o *simOrder) string {
	if k.rng.IntN(100) < 15 {
		var others []string
		for _, p := range k.s.toss.book.All() {
			if p.OrderID != o.id {
				others = append(others, p.Key)
			}
		}
		if len(others) > 0 {
			return others[k.rng.IntN(len(others))]
		}
	}
	k.seq++
	return fmt.Sprintf("tpk_attacker_%d", k.seq)
}

// guessToken is a checkout token of the right shape that is not the
// order's (131 random bits are not guessed): the engine must confirm it as
// a request without one.
func (k *attacker) guessToken() string {
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := []byte("ct_")
	for range 22 {
		b = append(b, base62[k.rng.IntN(len(base62))])
	}
	return string(b)
}

// limits is the ceiling's counter: ratelimit's in-memory one behind a
// scheduled step with the store faults, as the limits table is reached. A
// count that fails admits the call (the engine's choice, README: a fault
// of the backstop must not become an outage of payments); the invocation
// is marked, and the ceiling check (checkCeiling) allows for it.
type limits struct {
	s *Sim
	c *ratelimit.MemoryCounter
}

var _ ratelimit.Counter = limits{}

func (l limits) Increment(ctx context.Context, key string, limit int64, expires time.Time) (bool, error) {
	a := l.s.cur
	ok, err := do(l.s, "Limits.Increment "+key, true, func() (bool, error) { return l.c.Increment(bg, key, limit, expires) })
	if err != nil {
		a.ceilingLost = true
	}
	return ok, err
}
