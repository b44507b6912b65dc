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
}

// RefundDetail is the refund of an Order Refunded event. Its cancels have
// the fields of the order view's payment.cancels.
type RefundDetail struct {
	Amount        int64          `json:"refundedAmount"`
	BalanceAmount int64          `json:"balanceAmount"`
	TotalAmount   int64          `json:"totalAmount"`
	Cancels       []CancelDetail `json:"cancels"`
}

// CancelDetail is one cancel a refund recorded.
type CancelDetail struct {
	TransactionKey string    `json:"transactionKey,omitempty"`
	Reason         string    `json:"cancelReason"`
	Amount         int64     `json:"cancelAmount"`
	CanceledAt     time.Time `json:"canceledAt"`
}

// Detail is e's detail, its order shown by view.
func (e Event) Detail(view func(*orders.Order) any) Detail {
	d := Detail{
		EventID: e.ID, OrderID: e.OrderID, Version: e.Version,
		Status: e.Order.Status, PreviousStatus: e.PreviousStatus,
		OccurredAt: e.At.UTC(), Order: view(e.Order),
	}
	if r := e.Refund; r != nil {
		d.Refund = &RefundDetail{Amount: r.Amount, BalanceAmount: r.BalanceAmount, TotalAmount: r.TotalAmount, Cancels: []CancelDetail{}}
		for _, c := range r.Cancels {
			d.Refund.Cancels = append(d.Refund.Cancels, CancelDetail{TransactionKey: c.TransactionKey, Reason: c.Reason, Amount: c.Amount, CanceledAt: c.CanceledAt.UTC()})
		}
	}
	return d
}
