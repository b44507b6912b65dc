package orderevents

import (
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// Detail is an event's detail as consumers read it (the EventBridge
// event's "detail"). Order is the order in the API's own view (GET
// /orders/{orderId}), which the caller supplies: this package does not
// know the API's shapes.
type Detail struct {
	EventID        string        `json:"eventId"`
	OrderID        string        `json:"orderId"`
	Version        int64         `json:"version"`
	Status         orders.Status `json:"status"`
	PreviousStatus orders.Status `json:"previousStatus"`
	OccurredAt     time.Time     `json:"occurredAt"`
	Order          any           `json:"order"`
	Refund         *RefundDetail `json:"refund,omitempty"`
	// Truncated says the event leaves part of the order out (the oldest
	// of its payment's cancels, CancelsOmitted of them): GET
	// /orders/{orderId} has the whole order. An event embeds at most
	// MaxEmbeddedCancels cancels in each list, fewer if it would not fit in
	// one EventBridge entry otherwise; the amounts are always whole.
	Truncated      bool `json:"truncated,omitempty"`
	CancelsOmitted int  `json:"cancelsOmitted,omitempty"`
}

// MaxEmbeddedCancels is the most cancels an event embeds in
// order.payment.cancels and in refund.cancels: an order can be refunded
// in part any number of times, and an event embedding every refund would
// pass EventBridge's 256 KB entry limit (at about 360 refunds with long
// reasons), after which every retry of it fails. The newest are kept.
const MaxEmbeddedCancels = 50

// RefundDetail is the refund of an Order Refunded event. Its cancels have
// the fields of the order view's payment.cancels.
type RefundDetail struct {
	Amount        int64          `json:"refundedAmount"`
	BalanceAmount int64          `json:"balanceAmount"`
	TotalAmount   int64          `json:"totalAmount"`
	Cancels       []CancelDetail `json:"cancels"`
	// CancelsOmitted is how many of the cancels this refund recorded are
	// left out of Cancels (the oldest; see Detail.Truncated).
	CancelsOmitted int `json:"cancelsOmitted,omitempty"`
}

// CancelDetail is one cancel a refund recorded.
type CancelDetail struct {
	TransactionKey string    `json:"transactionKey,omitempty"`
	Reason         string    `json:"cancelReason"`
	Amount         int64     `json:"cancelAmount"`
	CanceledAt     time.Time `json:"canceledAt"`
}

// Detail is e's detail, its order shown by view, with at most
// MaxEmbeddedCancels cancels in each list.
func (e Event) Detail(view func(*orders.Order) any) Detail {
	return e.DetailWithin(view, MaxEmbeddedCancels)
}

// DetailWithin is e's detail with at most maxCancels (0 or more) of the
// newest cancels in each list, the rest counted as omitted: a carrier with
// a size limit asks for fewer until the detail fits.
func (e Event) DetailWithin(view func(*orders.Order) any, maxCancels int) Detail {
	maxCancels = max(maxCancels, 0)
	o := e.Order
	omitted := 0
	if o.Payment != nil && len(o.Payment.Cancels) > maxCancels {
		// A copy: the view sees fewer cancels, the event's order keeps them.
		c, p := *o, *o.Payment
		omitted = len(p.Cancels) - maxCancels
		p.Cancels = p.Cancels[omitted:]
		c.Payment = &p
		o = &c
	}
	d := Detail{
		EventID: e.ID, OrderID: e.OrderID, Version: e.Version,
		Status: e.Order.Status, PreviousStatus: e.PreviousStatus,
		OccurredAt: e.At.UTC(), Order: view(o), CancelsOmitted: omitted,
	}
	if r := e.Refund; r != nil {
		d.Refund = &RefundDetail{Amount: r.Amount, BalanceAmount: r.BalanceAmount, TotalAmount: r.TotalAmount, Cancels: []CancelDetail{}}
		cancels := r.Cancels
		if len(cancels) > maxCancels {
			d.Refund.CancelsOmitted = len(cancels) - maxCancels
			cancels = cancels[d.Refund.CancelsOmitted:]
		}
		for _, c := range cancels {
			d.Refund.Cancels = append(d.Refund.Cancels, CancelDetail{TransactionKey: c.TransactionKey, Reason: c.Reason, Amount: c.Amount, CanceledAt: c.CanceledAt.UTC()})
		}
	}
	d.Truncated = d.CancelsOmitted > 0 || (d.Refund != nil && d.Refund.CancelsOmitted > 0)
	return d
}
