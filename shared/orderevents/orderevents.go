// Package orderevents tells what a merchant's systems must learn from a
// change to an order: a change (the order before and after one write) makes
// zero or one event. It knows nothing of DynamoDB streams or EventBridge;
// adapters feed it changes and carry its events.
//
// Events:
//
//	Order Paid            the order became DONE (a confirm, or Toss's record settled it)
//	Order Payment Failed  a confirm was declined: CONFIRMING → FAILED (payable again), with
//	                      the failure Toss reported for that attempt; once per attempt
//	Order Refunded        a refund was recorded: the balance went down, or the order became
//	                      PARTIAL_CANCELED or CANCELED (one event per recorded refund write)
//	Order Expired         an unpaid order expired, by the reconciler or by DynamoDB's TTL
//	Order Deleted         the merchant deleted an unpaid order
//
// Every other write (a claim, a recorded failure that changes no status, a
// refund reserved but not yet executed, a lookup admitted) makes none. Nor
// does an attempt Toss reports it never issued (NOT_FOUND_PAYMENT_SESSION,
// NOT_FOUND_PAYMENT: a paymentKey made up by anyone who knows the orderId,
// or a session past Toss's window), or one refused before Toss was asked:
// those are no facts about the order, and a stranger could otherwise put
// any number of them on the merchant's bus. The payments engine releases
// such a claim back to what the order was (no new failure), and a failure
// with those codes recorded all the same is left out here too.
//
// Each event carries an ID derived from (orderId, version): every write of
// an order bumps its version once, so the ID names the write, and a stream
// record delivered twice (Lambda retries batches, a bisected batch repeats
// records) makes the same ID twice. Delivery is at least once; a consumer
// that drops IDs it has seen gets each event exactly once.
//
// Order Payment Failed is the exception: its ID is derived from (orderId,
// paymentKey), so it names the declined attempt rather than the write. An
// attempt Toss declined can be written FAILED again: an order FAILED under
// a later attempt takes the earlier paymentKey again (a buyer's old tab
// reloaded, or anyone who has the key), and Toss replays its decline under
// the confirm's Idempotency-Key. That write is the same fact, and arrives
// as another delivery of the same event: once per attempt, as promised,
// for a consumer that drops IDs it has seen (the simulator found the
// second event, seed 4360).
package orderevents

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// Source is the EventBridge source of every order event.
const Source = "tossintl.orders"

// Type is an event's detail-type.
type Type string

// Event types.
const (
	Paid          Type = "Order Paid"
	PaymentFailed Type = "Order Payment Failed"
	Refunded      Type = "Order Refunded"
	Expired       Type = "Order Expired"
	Deleted       Type = "Order Deleted"
)

// Change is one write to an order: Old is nil for a creation, New is nil
// for a removal.
type Change struct {
	Old, New *orders.Order
	// ByTTL says a removal was DynamoDB's TTL deleting an expired item,
	// not a caller's delete.
	ByTTL bool
	// At is when the change happened, as its carrier knows it: for a
	// removal, which stamps no time on the order, the event's time.
	At time.Time
}

// Event is what one change tells.
type Event struct {
	Type           Type
	ID             string // from (OrderID, Version): the same for every delivery of the change
	OrderID        string
	Version        int64 // the order's version after the change (a removal counts as one more)
	PreviousStatus orders.Status
	// Order is the order after the change, as consumers see it: for an
	// expiry by TTL, the removed order with status EXPIRED; for a deletion,
	// the order as it stood when it was deleted.
	Order  *orders.Order
	Refund *Refund // Refunded only
	At     time.Time
}

// Refund is what an Order Refunded event says of the refund.
type Refund struct {
	Amount        int64           // refunded by this change
	BalanceAmount int64           // left on the payment
	TotalAmount   int64           // the payment's total
	Cancels       []orders.Cancel // the cancels this change recorded
}

// From is the event a change makes, if any.
func From(c Change) (Event, bool) {
	switch {
	case c.Old == nil && c.New == nil:
		return Event{}, false
	case c.New == nil:
		return removal(c)
	case c.Old == nil:
		// A creation: the merchant made the order and knows it.
		return Event{}, false
	}
	old, cur := c.Old, c.New
	e := Event{OrderID: cur.ID, Version: cur.Version, PreviousStatus: old.Status, Order: cur, At: cur.UpdatedAt}
	switch {
	case cur.Status == old.Status:
		// Only a refund changes a paid order without changing its status
		// (a second partial refund).
		if r, ok := refundSince(old, cur); ok && old.Status.Paid() {
			e.Type, e.Refund = Refunded, r
			break
		}
		return Event{}, false
	case cur.Status == orders.StatusDone && !old.Status.Paid():
		e.Type = Paid
	case cur.Status == orders.StatusFailed:
		if !newDecline(old, cur) {
			return Event{}, false
		}
		e.Type = PaymentFailed
		e.ID = declineID(cur.ID, cur.LastFailure.PaymentKey)
		return e, true
	case cur.Status == orders.StatusExpired:
		e.Type = Expired
	case cur.Status == orders.StatusPartialCanceled || cur.Status == orders.StatusCanceled:
		r, _ := refund(old, cur)
		e.Type, e.Refund = Refunded, r
	default:
		// PENDING → CONFIRMING (a claim), a resume: the order is being
		// paid; its outcome is the event.
		return Event{}, false
	}
	e.ID = ID(e.OrderID, e.Version)
	return e, true
}

// removal is the event of an order's item removed.
func removal(c Change) (Event, bool) {
	old := c.Old
	e := Event{OrderID: old.ID, Version: old.Version + 1, PreviousStatus: old.Status, Order: old, At: c.At}
	switch {
	case !c.ByTTL:
		e.Type = Deleted
	case old.Status.Payable():
		// The TTL got to an unpaid order before the reconciler expired it:
		// the reads already treated it as gone, so it expired.
		o := *old
		o.Status = orders.StatusExpired
		e.Type, e.Order = Expired, &o
	case old.Status == orders.StatusExpired:
		// Order Expired was told when it expired; the TTL only clears it.
		return Event{}, false
	default:
		// A paid or confirming order carries no TTL, so this should not
		// happen; if it does, the merchant hears the order is gone.
		e.Type = Deleted
	}
	e.ID = ID(e.OrderID, e.Version)
	return e, true
}

// newDecline reports whether cur, just FAILED, records a failure old did
// not hold, of an attempt Toss did issue: a declined confirm (Fail records
// one per attempt, once). A claim given back to a FAILED order (Release)
// leaves its failure as it was, and tells nothing new.
func newDecline(old, cur *orders.Order) bool {
	f := cur.LastFailure
	switch {
	case f == nil || neverIssued[f.Code]:
		return false
	case old.LastFailure == nil:
		return true
	}
	return *old.LastFailure != *f
}

// neverIssued are the failure codes of attempts Toss says it never issued,
// as payments.NeverIssued tells them (this package knows no Toss; a test
// holds the two to each other).
var neverIssued = map[string]bool{"NOT_FOUND_PAYMENT_SESSION": true, "NOT_FOUND_PAYMENT": true}

// refund is what a paid order's change refunded, if anything. Leaving
// DONE, nothing refunded was told yet, so every cancel on the payment is
// this change's (a payment Toss reported already refunded is recorded DONE
// with its cancels, then marked refunded by the next write); after that,
// the drop in the balance and the cancels added.
func refund(old, cur *orders.Order) (*Refund, bool) {
	if cur.Payment == nil {
		return nil, false
	}
	p := cur.Payment
	r := &Refund{BalanceAmount: p.BalanceAmount, TotalAmount: p.TotalAmount}
	if old.Payment == nil || old.Status == orders.StatusDone {
		r.Amount, r.Cancels = p.TotalAmount-p.BalanceAmount, p.Cancels
		return r, r.Amount > 0
	}
	return refundSince(old, cur)
}

// refundSince is what a change of a paid order refunded: the drop in its
// balance, and the cancels it added.
func refundSince(old, cur *orders.Order) (*Refund, bool) {
	if old.Payment == nil || cur.Payment == nil {
		return nil, false
	}
	p := cur.Payment
	r := &Refund{BalanceAmount: p.BalanceAmount, TotalAmount: p.TotalAmount}
	if len(p.Cancels) > len(old.Payment.Cancels) {
		r.Cancels = p.Cancels[len(old.Payment.Cancels):]
	}
	r.Amount = old.Payment.BalanceAmount - p.BalanceAmount
	return r, r.Amount > 0
}

// namespace is the UUID namespace of event IDs: fixed once, chosen at
// random, so IDs are UUIDs any consumer's store takes and the same
// (orderId, version) is always the same UUID. Changing it changes every ID.
var namespace = [16]byte{0x4c, 0x2b, 0x8e, 0x5a, 0x1f, 0x3d, 0x5b, 0x0e, 0x9a, 0x61, 0x2d, 0x7c, 0x48, 0xe3, 0x90, 0x15}

// ID is the event ID of an order's write: a name-based UUID (RFC 9562,
// version 5) of "orderId/version".
func ID(orderID string, version int64) string {
	return uuid5(orderID + "/" + strconv.FormatInt(version, 10))
}

// declineID is the event ID of the decline of attempt paymentKey of an
// order: "orderId/declined/paymentKey", which no ID of a write can be (an
// orderId holds no '/', and a version is digits).
func declineID(orderID, paymentKey string) string {
	return uuid5(orderID + "/declined/" + paymentKey)
}

// uuid5 is the name-based UUID (RFC 9562, version 5) of name in namespace.
func uuid5(name string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
