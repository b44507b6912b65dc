package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/orderevents"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/pages"
	"github.com/tossintl/backend/shared/ratelimit"
	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tossrules"
)

// order is the order as stored at the world's time, as every reader sees
// it once DynamoDB's TTL deleted it.
func (s *Sim) order(id string) (*orders.Order, error) {
	if s.vanished[id] {
		return nil, notFound(id)
	}
	return s.be.orders.Get(bg, id, s.now)
}

// checkStep holds after every step: a paid order never expires, disappears
// or changes payment; an order is paid only under a payment Toss approved
// for it, for its amount; it never records refunds Toss did not make (its
// balance may lag Toss's, never lead it), and its recorded balance never
// rises.
func (s *Sim) checkStep() {
	for _, so := range s.orders {
		// An order no write reached since it was last read is as it was
		// (the checks below only ever look at it against what Toss
		// approved, which never changes back): reads are what a schedule
		// over DynamoDB spends its time on.
		o, err := s.checked[so.id], error(nil)
		if s.touched[so.id] || o == nil {
			prev := o
			o, err = s.order(so.id)
			s.checked[so.id] = o
			delete(s.touched, so.id)
			if prev != nil && o != nil {
				s.orderWritten(so, prev, o) // one write at most since the last read: one step
			}
		}
		if o == nil && err == nil {
			err = notFound(so.id)
		}
		key, wasPaid := s.everPaid[so.id]
		if err != nil {
			if wasPaid {
				s.violate("paid order %s disappeared: %v", so.id, err)
			}
			continue
		}
		switch {
		case wasPaid && !o.Status.Paid():
			s.violate("paid order %s left the paid states: %s", so.id, o.Status)
		case wasPaid && o.PaymentKey != key:
			s.violate("paid order %s changed payment from %s to %s", so.id, key, o.PaymentKey)
		case wasPaid && !o.ExpiresAt.IsZero():
			s.violate("paid order %s carries a TTL (%s)", so.id, o.ExpiresAt)
		}
		if !o.Status.Paid() {
			continue
		}
		s.everPaid[so.id] = o.PaymentKey
		tp := s.toss.book.Payment(o.PaymentKey)
		switch {
		case tp == nil || !tp.Approved() || tp.OrderID != so.id:
			s.violate("order %s recorded paid under %s, which Toss never approved for it", so.id, o.PaymentKey)
		case o.Payment == nil || o.Payment.TotalAmount != tp.Amount || tp.Amount != so.amount:
			s.violate("order %s (amount %d) recorded paid with a payment of another amount", so.id, so.amount)
		case o.Payment.BalanceAmount < tp.Balance:
			s.violate("order %s records a balance of %d, Toss holds %d: a refund recorded that Toss did not make",
				so.id, o.Payment.BalanceAmount, tp.Balance)
		}
		if o.Payment != nil {
			if last, ok := s.lastBalance[so.id]; ok && o.Payment.BalanceAmount > last {
				s.violate("order %s's recorded balance rose from %d to %d", so.id, last, o.Payment.BalanceAmount)
			}
			s.lastBalance[so.id] = o.Payment.BalanceAmount
		}
	}
	for _, so := range s.orders {
		for _, p := range s.toss.book.Order(so.id) {
			var refunded int64
			for _, c := range p.Cancels {
				refunded += c.Amount
			}
			if refunded > p.Amount || p.Balance < 0 {
				s.violate("Toss refunded %d of %s, a payment of %d", refunded, p.Key, p.Amount)
			}
		}
	}
}

// approvedNow is Toss approving p: if an answer of ours told p's buyer it
// was declined, that answer was false (the buyer tries another card, or
// gives up, and is charged); so was the order's record of the decline,
// which is what the merchant's GET /orders answers (and what the engine
// acts on: a FAILED order expires, and its TTL deletes it).
func (s *Sim) approvedNow(p *tossPayment) {
	if !s.ours(p) {
		return
	}
	if how, ok := s.declined[p.Key]; ok {
		s.violate("Toss approved %s for order %s after %s told its buyer it was declined", p.Key, p.OrderID, how)
	}
	o, err := s.be.orders.Get(bg, p.OrderID, time.Time{}) // TTL or not: what the item says
	if err == nil && !s.vanished[o.ID] && (o.Status == orders.StatusFailed || o.Status == orders.StatusExpired) &&
		o.PaymentKey == p.Key && o.LastFailure != nil && o.LastFailure.PaymentKey == p.Key {
		s.violate("Toss approved %s for order %s, which records it declined (%s, %s)", p.Key, p.OrderID, o.Status, o.LastFailure.Code)
	}
}

// answeredPaid holds an answer that says attempt pk paid order o: Toss
// approved pk for o, at o's amount.
func (s *Sim) answeredPaid(o *simOrder, pk, how string) {
	p := s.toss.book.Payment(pk)
	if p == nil || !p.Approved() || p.OrderID != o.id || p.Amount != o.amount {
		s.violate("%s says %s paid order %s, which Toss has not approved for it at %d", how, pk, o.id, o.amount)
	}
}

// answeredDeclined holds an answer that says attempt pk was declined: Toss
// has not approved pk (and, approvedNow, never will).
func (s *Sim) answeredDeclined(o *simOrder, pk, how string) {
	if p := s.toss.book.Payment(pk); p != nil && p.OrderID != o.id {
		return // another order's attempt, named by someone else: Toss never approves it for o
	}
	if _, ok := s.declined[pk]; !ok {
		s.declined[pk] = how
	}
	if p := s.toss.book.Payment(pk); p != nil && s.ours(p) {
		s.violate("%s says %s was declined, and Toss approved it for order %s", how, pk, o.id)
	}
}

// answeredRefunded holds a 200 to refund request in: an identical request
// (the same payment, amount and Idempotency-Key, so the same refund at
// Toss) executed at Toss on the payment the request named. A full refund
// may also be answered once Toss's balance is 0 by whoever's refund: the
// engine settles a full refund on that goal (payments.ours), which is the
// merchant's.
func (s *Sim) answeredRefunded(in *intent) {
	for _, e := range s.toss.refunds {
		if e.paymentKey == in.paymentKey && e.requested == in.amount && e.in != nil && e.in.callerKey == in.callerKey {
			return
		}
	}
	if p := s.toss.book.Payment(in.paymentKey); in.amount == 0 && p != nil && p.Approved() && p.Balance == 0 {
		return
	}
	s.violate("refund #%d (%s, amount %d, key %q) answered 200, and no such refund executed at Toss",
		in.id, in.paymentKey, in.amount, in.callerKey)
}

// checkKeyed holds the Idempotency-Key promise on an answer of the
// running invocation in the API's shape: a replay is the first answer
// stored under the key, status and body; and a fresh answer given by the
// request that held the key's lock throughout is the answer the key
// replays from then on, if it stored one. (A request whose lock was taken
// over may answer otherwise: its answer is not stored, by design.)
func (s *Sim) checkKeyed(what string, got keyedAnswer, replayed bool) {
	a := s.cur
	switch {
	case a.replayOf != "" && !replayed:
		s.violate("%s: a request found its key's first answer stored and was not answered with it", what)
	case replayed:
		first, ok := s.firstAnswer[a.replayOf]
		switch {
		case !ok:
			s.violate("%s: a replay answers what no request of that key completed", what)
		case first != got:
			s.violate("%s: a replay under its key answers\n%d %s\nnot the first answer\n%d %s", what, got.status, got.body, first.status, first.body)
		}
	case a.idemRec != "" && s.lockHolder[a.idemRec] == a.idemToken:
		if first, ok := s.firstAnswer[a.idemRec]; ok && first != got {
			s.violate("%s: answered\n%d %s\nby the request holding its key, whose record replays\n%d %s", what, got.status, got.body, first.status, first.body)
		}
	}
}

// checkSampleKeyed is checkKeyed for POST /confirm, whose answer is the
// stored one reshaped (api.tossShaped): the status is kept, a 200's body
// is the stored entityBody, and every answer from one record is the same.
func (s *Sim) checkSampleKeyed(what string, got keyedAnswer, replayed bool) {
	a := s.cur
	rec := a.replayOf
	if rec == "" && a.idemRec != "" && s.lockHolder[a.idemRec] == a.idemToken {
		rec = a.idemRec
	}
	if a.replayOf != "" && !replayed {
		s.violate("%s: a request found its key's first answer stored and was not answered with it", what)
	}
	first, ok := s.firstAnswer[rec]
	if rec == "" || !ok {
		if replayed {
			s.violate("%s: a replay answers what no request of that key completed", what)
		}
		return
	}
	var stored struct {
		EntityBody json.RawMessage `json:"entityBody"`
	}
	switch {
	case first.status != got.status:
		s.violate("%s: answered %d from a key whose first answer was %d", what, got.status, first.status)
	case got.status == http.StatusOK && (json.Unmarshal([]byte(first.body), &stored) != nil || !bytes.Equal(stored.EntityBody, []byte(got.body))):
		s.violate("%s: answered\n%s\nfrom a key whose first answer was\n%s", what, got.body, first.body)
	}
	if shaped, ok := s.firstShaped[rec]; !ok {
		s.firstShaped[rec] = got
	} else if shaped != got {
		s.violate("%s: answered\n%d %s\nfrom a key that answered before\n%d %s", what, got.status, got.body, shaped.status, shaped.body)
	}
}

// checkNoConfirming: after fault-free reconcile passes past every claim
// and every attempt's confirm window, no order is left CONFIRMING.
func (s *Sim) checkNoConfirming() {
	for _, so := range s.orders {
		if o, err := s.order(so.id); err == nil && o.Status == orders.StatusConfirming {
			s.violate("order %s still CONFIRMING (under %s) after fault-free reconcile passes past every claim and confirm window", so.id, o.PaymentKey)
		}
	}
}

// checkExpired: after a fault-free reconcile pass past every payable
// window, no order is left payable (PENDING or FAILED).
func (s *Sim) checkExpired() {
	for _, so := range s.orders {
		if o, err := s.order(so.id); err == nil && o.Status.Payable() {
			s.violate("order %s still %s after a fault-free reconcile pass past its payable window", so.id, o.Status)
		}
	}
}

// checkFinal: every payment Toss approved for an order at its amount is
// recorded on its order under its own key, whatever TTL deleted since;
// once every webhook was delivered, with Toss's balance and the status
// that goes with it too (without them, a dashboard refund is known to the
// order only at the next refund, as documented).
func (s *Sim) checkFinal(hooksDelivered bool) {
	for _, so := range s.orders {
		for _, p := range s.toss.book.Order(so.id) {
			if !s.ours(p) {
				continue
			}
			o, err := s.order(so.id)
			switch {
			case err != nil:
				s.violate("Toss approved %s for order %s, which is gone: %v", p.Key, so.id, err)
			case !o.Status.Paid() || o.PaymentKey != p.Key:
				s.violate("Toss approved %s for order %s, which ends %s under %q", p.Key, so.id, o.Status, o.PaymentKey)
			case hooksDelivered && (o.Payment.BalanceAmount != p.Balance || o.Status != statusFor(p.Status)):
				s.violate("order %s ends %s with balance %d; Toss holds %s with %d", so.id, o.Status, o.Payment.BalanceAmount, p.Status, p.Balance)
			}
		}
	}
}

// checkRefunded: once the merchant refunded every payment in full, Toss
// holds none of the buyers' money, and no order holds a refund
// reservation (one left pending refuses every later refund).
func (s *Sim) checkRefunded() {
	for _, so := range s.orders {
		for _, p := range s.toss.book.Order(so.id) {
			if s.ours(p) && p.Balance != 0 {
				s.violate("after a full refund of %s (order %s), Toss still holds %d of it", p.Key, so.id, p.Balance)
			}
		}
		o, err := s.order(so.id)
		if err != nil {
			continue
		}
		for _, key := range slices.Sorted(maps.Keys(o.Refunds)) {
			if r := o.Refunds[key]; r.Pending() {
				s.violate("order %s keeps a pending refund reservation of %d (%q) after every refund was answered",
					so.id, r.Amount, r.Reason)
			}
		}
	}
}

func statusFor(st tossrules.Status) orders.Status {
	switch st {
	case tossrules.StatusCanceled:
		return orders.StatusCanceled
	case tossrules.StatusPartialCanceled:
		return orders.StatusPartialCanceled
	}
	return orders.StatusDone
}

// The abuse limits (README, "Abuse limits"), held on what the API
// answers, on what the fake Toss receives and on the events the order
// events function makes from the table's stream.

// budgetKey names one of an order's budgets of Toss calls: own is the
// order's own (the checkout token's holder's, and lookups of a paid
// order's own payment), else the anonymous one.
type budgetKey struct {
	order string
	own   bool
}

func (k budgetKey) String() string {
	if k.own {
		return "own"
	}
	return "anonymous"
}

// admission is one call a budget of an order admitted: a claim (fresh, or
// the resume of a lapsed one) or a lookup without a claim.
type admission struct {
	actor   *actor
	at      time.Time // the time the admitting write carried: its caller's clock
	resume  bool
	reached bool // a request to Toss followed
}

// admitted records an admission on budget (orderID, own) and holds the
// budget as README states it: at most AttemptLimit fresh calls in any
// AttemptWindow, on the callers' clocks as the store's condition compares
// them (the fifth admission before a fresh one is at least AttemptWindow
// older; a resume only repeats an admitted call, and is recorded without
// being refused). The time a write carries must be its caller's clock
// during its invocation, or the budget could be passed by misdating. A
// request without the checkout token draws on the anonymous budget, but
// for a webhook's lookup of a paid order's own payment.
func (s *Sim) admitted(a *actor, orderID string, own, lookup, resume bool, at time.Time) {
	if w := at.Add(-a.skew); w.Before(a.start) || w.After(s.now) {
		s.violate("%s's admission on order %s carries +%s, outside its invocation (+%s to +%s on its clock)",
			a.name, orderID, at.Sub(epoch), a.start.Add(a.skew).Sub(epoch), s.now.Add(a.skew).Sub(epoch))
	}
	if a.anon && own && !(lookup && a.hintKey != "" && s.everPaid[orderID] == a.hintKey) {
		s.violate("%s, a request without order %s's checkout token, was admitted on the order's own budget", a.name, orderID)
	}
	k := budgetKey{order: orderID, own: own}
	ad := &admission{actor: a, at: at, resume: resume}
	list := append(s.budgets[k], ad)
	s.budgets[k] = list
	a.admissions = append(a.admissions, ad)
	if n := len(list); !resume && n > orders.AttemptLimit {
		if prev := list[n-1-orders.AttemptLimit]; prev.at.UnixMilli() > at.UnixMilli()-orders.AttemptWindow.Milliseconds() {
			s.violate("order %s's %s budget admitted a call at +%s, %s after the one %d admissions before it (+%s, %s): the budget is %d calls in %s",
				orderID, k, at.Sub(epoch), at.Sub(prev.at), orders.AttemptLimit, prev.at.Sub(epoch), prev.actor.name, orders.AttemptLimit, orders.AttemptWindow)
		}
	}
}

// sendsToss holds the limits on a request a's invocation sends Toss
// (what): a request that cannot be news sends none (a.noTossCall); one
// without the checkout token sends only what a budget of the order
// admitted for it, and its fresh calls count against the ceiling across
// orders. Checked as the request leaves, whatever the transport then does
// with it.
func (s *Sim) sendsToss(a *actor, what string) {
	if a.noTossCall != "" {
		s.violate("%s sent Toss %s: %s costs no Toss call", a.name, what, a.noTossCall)
	}
	if !a.anon {
		return
	}
	if len(a.admissions) == 0 {
		s.violate("%s, a request without the checkout token, sent Toss %s with no admission on an order's budget", a.name, what)
	}
	for _, ad := range a.admissions {
		if ad.reached {
			continue
		}
		ad.reached = true
		if !ad.resume && s.ceiling != nil && !a.ceilingLost {
			s.checkCeiling(ad)
		}
	}
}

// checkCeiling counts a fresh anonymous call that reached Toss against
// the ceiling's calendar minute (on its caller's clock, as the ceiling
// counts it): no more than PerMinute of them, but for calls admitted when
// the count itself failed (limits).
func (s *Sim) checkCeiling(ad *admission) {
	m := ad.at.Truncate(ratelimit.Window)
	s.ceilingUsed[m.Unix()]++
	if n := s.ceilingUsed[m.Unix()]; n > s.ceiling.PerMinute {
		s.violate("%d calls of callers without a checkout token reached Toss in the minute from +%s (the last %s): the ceiling across orders is %d",
			n, m.Sub(epoch), ad.actor.name, s.ceiling.PerMinute)
	}
}

// hintCannotBeNews is why webhook w cannot be news for the order it names,
// as the world stands when it is sent, or "" if it can: README, "a hint
// claiming anything else (Toss's own redeliveries of DONE for a paid
// order, a forged ABORTED, a balance not below the recorded one, anything
// about a wholly refunded order) costs a read and no lookup". A paid order
// stays paid under its paymentKey (checkStep), and a wholly refunded one
// stays so, so what is true at sending holds when it is handled.
func (s *Sim) hintCannotBeNews(w webhook) string {
	switch toss.PaymentStatus(w.status) {
	case toss.StatusDone, toss.StatusPartialCanceled, toss.StatusCanceled:
	default:
		return "a hint claiming " + w.status + ", which moves no order"
	}
	if _, ok := s.amounts[w.orderID]; !ok {
		return "a hint about an order that is not ours"
	}
	paidKey, paid := s.everPaid[w.orderID]
	switch {
	case !paid || paidKey != w.paymentKey:
		return ""
	case w.status == string(toss.StatusDone):
		return "a repeated DONE about a paid order's own payment"
	case s.checked[w.orderID] != nil && s.checked[w.orderID].Status == orders.StatusCanceled:
		return "a hint about a wholly refunded order's own payment"
	}
	return ""
}

// checkAbuseAnswer holds the abuse limits on a confirm's answer: the
// order's own amount is never refused as AMOUNT_MISMATCH, and an
// Idempotency-Key never answers 422 on these routes (README: scoped by the
// payment, a key meets only requests about the same payment), whoever
// stored what under it first; a buyer holding the checkout token is
// answered 429 only once its own budget is spent (never for the anonymous
// budget or the ceiling); and nobody is told the order expired while it is
// payable.
func (s *Sim) checkAbuseAnswer(a *actor, o *simOrder, at attempt, ans answer, code, state string) {
	what := fmt.Sprintf("%s (order %s, key %q)", a.name, o.id, at.idemKey)
	switch {
	case code == api.CodeIdempotencyKeyReused:
		s.violate("%s was answered %d %s: an anonymous confirm's key met another request", what, ans.status, code)
	case at.redirect == o.amount && (code == api.CodeAmountMismatch || state == pages.StateAmountRefused):
		s.violate("%s for the order's own amount %d was refused as a mismatch", what, o.amount)
	case ans.status == http.StatusTooManyRequests && !a.anon:
		s.checkOwnBudgetSpent(a, o, what)
	case code == api.CodeOrderExpired || state == string(pages.NoticeExpired):
		if cur, err := s.order(o.id); err == nil && (cur.Status.Payable() || cur.Status == orders.StatusConfirming) &&
			cur.PayableUntil.After(a.start.Add(lambdaTimeout+s.maxSkew)) {
			s.violate("%s was told the order expired; it is %s and payable until +%s", what, cur.Status, cur.PayableUntil.Sub(epoch))
		}
	}
}

// checkOwnBudgetSpent holds a 429 answered to a buyer holding o's checkout
// token: its own budget was spent, AttemptLimit calls in the AttemptWindow
// before its request. Counted generously: admissions carry their callers'
// clocks, which may run apart by the skew, and a call admitted before
// another can carry a later time by up to an invocation's life.
func (s *Sim) checkOwnBudgetSpent(a *actor, o *simOrder, what string) {
	since := a.start.Add(a.skew - orders.AttemptWindow - lambdaTimeout - 2*s.maxSkew)
	n := 0
	for _, ad := range s.budgets[budgetKey{order: o.id, own: true}] {
		if ad.at.After(since) {
			n++
		}
	}
	if n < orders.AttemptLimit {
		s.violate("%s, holding the checkout token, was answered 429 with %d of its own %d calls a minute used: the anonymous budget or the ceiling refused it",
			what, n, orders.AttemptLimit)
	}
}

// orderWritten holds the event rule on one write of an order, prev to
// cur, as the order events function reads it off the table's stream
// (package orderevents): an Order Payment Failed event, and a claim that
// ends in a recorded failure, name an attempt Toss issued and was asked
// about (declined, approved at another amount, expired, or refused as
// another order's), never one Toss says it never issued or one we refused
// before asking Toss; and an attempt makes one event at most (one eventId:
// a consumer drops a repeat, README). A refused amount recorded on an
// unclaimed order is the caller's word, kept as such, and no event (a race
// may let it replace a decline's failure: README documents it).
func (s *Sim) orderWritten(so *simOrder, prev, cur *orders.Order) {
	if ev, ok := orderevents.From(orderevents.Change{Old: prev, New: cur}); ok && ev.Type == orderevents.PaymentFailed {
		f := cur.LastFailure
		k := so.id + "\x00" + f.PaymentKey
		if ids := s.failedEvents[k]; !slices.Contains(ids, ev.ID) {
			s.failedEvents[k] = append(ids, ev.ID)
		}
		if why := s.notTossFailure(so, f.PaymentKey); why != "" {
			s.violate("order %s made an Order Payment Failed event (%s) for %s, %s", so.id, f.Code, f.PaymentKey, why)
		}
		if n := len(s.failedEvents[k]); n > 1 {
			s.violate("order %s made %d Order Payment Failed events (distinct eventIds) for attempt %s", so.id, n, f.PaymentKey)
		}
	}
	if f := cur.LastFailure; prev.Status == orders.StatusConfirming && cur.Status == orders.StatusFailed && f != nil &&
		f.PaymentKey == prev.PaymentKey && (prev.LastFailure == nil || *prev.LastFailure != *f) {
		if why := s.notTossFailure(so, f.PaymentKey); why != "" {
			s.violate("order %s recorded FAILED with a failure (%s) of %s, %s", so.id, f.Code, f.PaymentKey, why)
		}
	}
}

// notTossFailure is why a failure of attempt pk is no fact about order so
// ("" when it is one). A paymentKey Toss issued for another order is one:
// Toss refuses it for this one (FORBIDDEN_REQUEST), which README counts as
// a decline of the attempt, once.
func (s *Sim) notTossFailure(so *simOrder, pk string) string {
	switch {
	case s.toss.book.Payment(pk) == nil:
		return "an attempt Toss never issued"
	case !s.toss.asked[pk]:
		return "an attempt we refused before asking Toss"
	}
	return ""
}

// checkDeclineEvents: a real decline still makes its event. Every attempt
// Toss declined in answer to a confirm of ours, of an order never paid,
// made exactly one Order Payment Failed event: its claim can only end in
// the write that records the decline (Toss replays the decline to every
// retry under the confirm's key, and a declined attempt is never given
// back).
func (s *Sim) checkDeclineEvents() {
	for _, k := range slices.Sorted(maps.Keys(s.toss.declinedOurs)) {
		orderID, pk, _ := strings.Cut(k, "\x00")
		if _, paid := s.everPaid[orderID]; paid {
			continue
		}
		if n := len(s.failedEvents[k]); n != 1 {
			s.violate("Toss declined attempt %s of order %s, never paid, and the order made %d Order Payment Failed events for it", pk, orderID, n)
		}
	}
}
