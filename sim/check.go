package sim

import (
	"context"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// checkStep holds after every step: a paid order never expires, disappears
// or changes payment; an order is paid only under a payment Toss approved
// for it, for its amount; and it never records refunds Toss did not make
// (its balance may lag Toss's, never lead it).
func (s *Sim) checkStep() {
	ctx := context.Background()
	for _, so := range s.orders {
		o, err := s.mem.Get(ctx, so.id, s.now)
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

// checkNoConfirming: after two fault-free reconcile passes past every
// claim, no order is left CONFIRMING.
func (s *Sim) checkNoConfirming() {
	for _, so := range s.orders {
		if o, err := s.mem.Get(context.Background(), so.id, s.now); err == nil && o.Status == orders.StatusConfirming {
			s.violate("order %s still CONFIRMING (under %s) after two fault-free reconcile passes", so.id, o.PaymentKey)
		}
	}
}

// checkExpired: after a fault-free reconcile pass past every payable
// window, no order is left payable (PENDING or FAILED).
func (s *Sim) checkExpired() {
	for _, so := range s.orders {
		if o, err := s.mem.Get(context.Background(), so.id, s.now); err == nil && o.Status.Payable() {
			s.violate("order %s still %s after a fault-free reconcile pass past its payable window", so.id, o.Status)
		}
	}
}

// checkFinal: every payment Toss approved is recorded on its order under
// its own key; once every webhook was delivered, with Toss's balance and
// the status that goes with it too (without them, a dashboard refund is
// known to the order only at the next refund, as documented).
func (s *Sim) checkFinal(hooksDelivered bool) {
	for _, so := range s.orders {
		for _, p := range s.toss.byOrder[so.id] {
			if !p.approved() {
				continue
			}
			o, err := s.mem.Get(context.Background(), so.id, s.now)
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

func statusFor(st toss.PaymentStatus) orders.Status {
	switch st {
	case toss.StatusCanceled:
		return orders.StatusCanceled
	case toss.StatusPartialCanceled:
		return orders.StatusPartialCanceled
	}
	return orders.StatusDone
}
