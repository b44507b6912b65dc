package sim

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
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
			o, err = s.order(so.id)
			s.checked[so.id] = o
			delete(s.touched, so.id)
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
		tp := s.toss.payments[o.PaymentKey]
		switch {
		case tp == nil || !tp.approved() || tp.orderID != so.id:
			s.violate("order %s recorded paid under %s, which Toss never approved for it", so.id, o.PaymentKey)
		case o.Payment == nil || o.Payment.TotalAmount != tp.amount || tp.amount != so.amount:
			s.violate("order %s (amount %d) recorded paid with a payment of another amount", so.id, so.amount)
		case o.Payment.BalanceAmount < tp.balance:
			s.violate("order %s records a balance of %d, Toss holds %d: a refund recorded that Toss did not make",
				so.id, o.Payment.BalanceAmount, tp.balance)
		}
		if o.Payment != nil {
			if last, ok := s.lastBalance[so.id]; ok && o.Payment.BalanceAmount > last {
				s.violate("order %s's recorded balance rose from %d to %d", so.id, last, o.Payment.BalanceAmount)
			}
			s.lastBalance[so.id] = o.Payment.BalanceAmount
		}
	}
	for _, so := range s.orders {
		for _, p := range s.toss.byOrder[so.id] {
			var refunded int64
			for _, c := range p.cancels {
				refunded += c.CancelAmount
			}
			if refunded > p.amount || p.balance < 0 {
				s.violate("Toss refunded %d of %s, a payment of %d", refunded, p.key, p.amount)
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
	if !p.ours(s) {
		return
	}
	if how, ok := s.declined[p.key]; ok {
		s.violate("Toss approved %s for order %s after %s told its buyer it was declined", p.key, p.orderID, how)
	}
	o, err := s.be.orders.Get(bg, p.orderID, time.Time{}) // TTL or not: what the item says
	if err == nil && !s.vanished[o.ID] && (o.Status == orders.StatusFailed || o.Status == orders.StatusExpired) &&
		o.PaymentKey == p.key && o.LastFailure != nil && o.LastFailure.PaymentKey == p.key {
		s.violate("Toss approved %s for order %s, which records it declined (%s, %s)", p.key, p.orderID, o.Status, o.LastFailure.Code)
	}
}

// answeredPaid holds an answer that says attempt pk paid order o: Toss
// approved pk for o, at o's amount.
func (s *Sim) answeredPaid(o *simOrder, pk, how string) {
	p := s.toss.payments[pk]
	if p == nil || !p.approved() || p.orderID != o.id || p.amount != o.amount {
		s.violate("%s says %s paid order %s, which Toss has not approved for it at %d", how, pk, o.id, o.amount)
	}
}

// answeredDeclined holds an answer that says attempt pk was declined: Toss
// has not approved pk (and, approvedNow, never will).
func (s *Sim) answeredDeclined(o *simOrder, pk, how string) {
	if _, ok := s.declined[pk]; !ok {
		s.declined[pk] = how
	}
	if p := s.toss.payments[pk]; p != nil && p.ours(s) {
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
	if p := s.toss.payments[in.paymentKey]; in.amount == 0 && p != nil && p.approved() && p.balance == 0 {
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
		for _, p := range s.toss.byOrder[so.id] {
			if !p.ours(s) {
				continue
			}
			o, err := s.order(so.id)
			switch {
			case err != nil:
				s.violate("Toss approved %s for order %s, which is gone: %v", p.key, so.id, err)
			case !o.Status.Paid() || o.PaymentKey != p.key:
				s.violate("Toss approved %s for order %s, which ends %s under %q", p.key, so.id, o.Status, o.PaymentKey)
			case hooksDelivered && (o.Payment.BalanceAmount != p.balance || o.Status != statusFor(p.status)):
				s.violate("order %s ends %s with balance %d; Toss holds %s with %d", so.id, o.Status, o.Payment.BalanceAmount, p.status, p.balance)
			}
		}
	}
}

// checkRefunded: once the merchant refunded every payment in full, Toss
// holds none of the buyers' money, and no order holds a refund
// reservation (one left pending refuses every later refund).
func (s *Sim) checkRefunded() {
	for _, so := range s.orders {
		for _, p := range s.toss.byOrder[so.id] {
			if p.ours(s) && p.balance != 0 {
				s.violate("after a full refund of %s (order %s), Toss still holds %d of it", p.key, so.id, p.balance)
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

func statusFor(st toss.PaymentStatus) orders.Status {
	switch st {
	case toss.StatusCanceled:
		return orders.StatusCanceled
	case toss.StatusPartialCanceled:
		return orders.StatusPartialCanceled
	}
	return orders.StatusDone
}
