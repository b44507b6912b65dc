// Package tossrules is the rule book of a Toss Payments card payment: the
// state Toss holds for each payment attempt, and what Toss answers a
// confirm, a cancel and a lookup by paymentKey or by orderId, with the
// HTTP status and error code of every refusal (docs/toss-api.md).
//
// Both fakes of Toss follow it: the sandbox (tools/tosssandbox/tosstest),
// which speaks Toss's wire format over HTTP, and the simulator's fake
// (sim/toss.go), which speaks it in process. Each writes the wire format
// itself and keeps its own idempotency; this package holds no HTTP and no
// JSON. A Book is not safe for concurrent use: its owner serialises calls.
package tossrules

import (
	"net/http"
	"time"
)

// Status is a payment's status as Toss names it.
type Status string

// Payment statuses the rules produce.
const (
	StatusInProgress      Status = "IN_PROGRESS" // authenticated, not confirmed yet
	StatusDone            Status = "DONE"
	StatusPartialCanceled Status = "PARTIAL_CANCELED"
	StatusCanceled        Status = "CANCELED"
	StatusAborted         Status = "ABORTED" // the card company refused it at confirm
	StatusExpired         Status = "EXPIRED" // derived: IN_PROGRESS past the confirm window (Book.StatusAt)
)

// Payment is one payment attempt as Toss holds it. X is what the Book's
// owner keeps with it beyond the rules (the sandbox's card and receipt
// details, say).
type Payment[X any] struct {
	Key         string
	OrderID     string
	Amount      int64     // authenticated in the payment window
	Balance     int64     // what cancels may still refund: Amount until the first one
	Status      Status    // as stored; EXPIRED is derived (Book.StatusAt)
	Decline     bool      // the card company refuses it at confirm
	Failure     *Refusal  // why it was aborted
	RequestedAt time.Time // the buyer's authentication
	ApprovedAt  time.Time
	Cancels     []Cancel
	// Confirming counts confirms received and not processed yet: while
	// one is, the payment reads IN_PROGRESS, not EXPIRED.
	Confirming int
	Extra      X
}

// Cancel is one refund of a payment.
type Cancel struct {
	TransactionKey string
	Reason         string
	Amount         int64
	Refundable     int64 // the balance it left
	At             time.Time
}

// Approved reports whether Toss ever approved p (canceled since or not).
func (p *Payment[X]) Approved() bool {
	return p.Status == StatusDone || p.Status == StatusPartialCanceled || p.Status == StatusCanceled
}

// Book is every payment Toss holds for one merchant.
type Book[X any] struct {
	window    time.Duration
	txKey     func() string
	payments  map[string]*Payment[X]   // by paymentKey
	all       []*Payment[X]            // in the order Toss issued them
	orders    map[string][]*Payment[X] // by orderId, in authentication order
	approvals map[string]int           // confirms that approved a payment, by orderId
}

// New returns an empty Book whose payments must be confirmed within window
// of their authentication (Toss's is 10 minutes); transactionKey makes the
// key of each cancel.
func New[X any](window time.Duration, transactionKey func() string) *Book[X] {
	return &Book[X]{window: window, txKey: transactionKey, payments: map[string]*Payment[X]{},
		orders: map[string][]*Payment[X]{}, approvals: map[string]int{}}
}

// Authenticate is the buyer finishing the payment window at at: Toss
// issues paymentKey key for orderID and amount, IN_PROGRESS until
// confirmed. A key already issued is replaced; nothing is validated, so
// that tests can build states the window would refuse.
func (b *Book[X]) Authenticate(key, orderID string, amount int64, at time.Time) *Payment[X] {
	p := &Payment[X]{Key: key, OrderID: orderID, Amount: amount, Balance: amount, Status: StatusInProgress, RequestedAt: at}
	b.payments[key] = p
	b.all = append(b.all, p)
	b.orders[orderID] = append(b.orders[orderID], p)
	return p
}

// Payment is what a lookup by paymentKey finds: nil when Toss never issued
// key (404 NOT_FOUND_PAYMENT).
func (b *Book[X]) Payment(key string) *Payment[X] { return b.payments[key] }

// Order is every payment authenticated for orderID, oldest first.
func (b *Book[X]) Order(orderID string) []*Payment[X] { return b.orders[orderID] }

// All is every payment, in the order Toss issued them.
func (b *Book[X]) All() []*Payment[X] { return b.all }

// Approvals counts the confirms that approved a payment of orderID. The
// rules allow one.
func (b *Book[X]) Approvals(orderID string) int { return b.approvals[orderID] }

// StatusAt is p's status as Toss answers it at now: an authentication
// nobody confirmed within the window reads EXPIRED (Toss documents EXPIRED
// for IN_PROGRESS payments never confirmed; one window serves both).
func (b *Book[X]) StatusAt(p *Payment[X], now time.Time) Status {
	if p.Status == StatusInProgress && p.Confirming == 0 && now.Sub(p.RequestedAt) > b.window {
		return StatusExpired
	}
	return p.Status
}

// OrderPayment is what a lookup by orderId answers: the order's approved
// payment if there is one, else one of its attempts, which Toss documents
// nowhere: pick(n) chooses among the n (nil: the latest). It is nil when
// the order has none (404 NOT_FOUND_PAYMENT).
func (b *Book[X]) OrderPayment(orderID string, pick func(n int) int) *Payment[X] {
	ps := b.orders[orderID]
	for _, p := range ps {
		if p.Approved() {
			return p
		}
	}
	switch {
	case len(ps) == 0:
		return nil
	case pick != nil:
		return ps[pick(len(ps))]
	}
	return ps[len(ps)-1]
}

// Confirm approves payment key for orderID at amount, as Toss does a
// confirm it received at received and executes at now, or says why not.
// The checks, in order:
//
//	paymentKey never issued                        404 NOT_FOUND_PAYMENT_SESSION
//	orderId differs from the authenticated one     403 FORBIDDEN_REQUEST
//	payment, or another of the order, approved     400 ALREADY_PROCESSED_PAYMENT
//	received more than the window after            404 NOT_FOUND_PAYMENT_SESSION
//	  authentication (exactly the window confirms)
//	amount differs from the authenticated one      400 INVALID_REQUEST
//	the card company refuses (Decline; ABORTED)    403 REJECT_CARD_COMPANY
//
// An unknown paymentKey gets NOT_FOUND_PAYMENT_SESSION rather than
// NOT_FOUND_PAYMENT because Toss lists "the paymentKey differs from the one
// the payment request returned" among that code's causes
// (docs/toss-api.md#the-10-minute-confirm-window). For a tampered amount
// Toss's documents name no code (docs/toss-api.md#confirm): INVALID_REQUEST,
// saying the amount differs, so clients must check the amount themselves
// before confirming (and treat 400 as definitive). An approval is DONE at
// now, with the whole amount as balance.
func (b *Book[X]) Confirm(key, orderID string, amount int64, received, now time.Time) (*Payment[X], *Refusal) {
	p := b.payments[key]
	switch {
	case p == nil:
		return nil, refusal(http.StatusNotFound, CodeNotFoundPaymentSession)
	case p.OrderID != orderID:
		return p, refusal(http.StatusForbidden, CodeForbiddenRequest,
			"orderId가 결제 요청한 값과 다릅니다.", "orderId differs from the one the payment was requested with.")
	}
	for _, other := range b.orders[p.OrderID] {
		if other.Approved() {
			return p, refusal(http.StatusBadRequest, CodeAlreadyProcessedPayment)
		}
	}
	switch {
	case received.Sub(p.RequestedAt) > b.window:
		return p, refusal(http.StatusNotFound, CodeNotFoundPaymentSession)
	case amount != p.Amount:
		return p, refusal(http.StatusBadRequest, CodeInvalidRequest,
			"결제 금액이 결제 요청한 금액과 다릅니다.", "amount differs from the amount the payment was requested with.")
	case p.Status == StatusAborted:
		return p, p.Failure
	case p.Decline:
		p.Status, p.Failure = StatusAborted, refusal(http.StatusForbidden, CodeRejectCardCompany)
		return p, p.Failure
	}
	p.Status, p.ApprovedAt, p.Balance = StatusDone, now, p.Amount
	b.approvals[p.OrderID]++
	return p, nil
}

// Cancel refunds amount (0: the whole balance) of payment key at now, as
// PARTIAL_CANCELED, or CANCELED once nothing is left, or says why not:
//
//	paymentKey never issued              404 NOT_FOUND_PAYMENT
//	already canceled in full             400 ALREADY_CANCELED_PAYMENT
//	never approved                       403 NOT_CANCELABLE_PAYMENT
//	more than the balance                403 NOT_CANCELABLE_AMOUNT
func (b *Book[X]) Cancel(key, reason string, amount int64, now time.Time) (*Payment[X], *Refusal) {
	p := b.payments[key]
	switch {
	case p == nil:
		return nil, refusal(http.StatusNotFound, CodeNotFoundPayment)
	case p.Status == StatusCanceled:
		return p, refusal(http.StatusBadRequest, CodeAlreadyCanceledPayment)
	case !p.Approved():
		return p, refusal(http.StatusForbidden, CodeNotCancelablePayment)
	}
	if amount == 0 {
		amount = p.Balance
	}
	if amount > p.Balance {
		return p, refusal(http.StatusForbidden, CodeNotCancelableAmount)
	}
	p.Balance -= amount
	p.Status = StatusPartialCanceled
	if p.Balance == 0 {
		p.Status = StatusCanceled
	}
	p.Cancels = append(p.Cancels, Cancel{TransactionKey: b.txKey(), Reason: reason, Amount: amount, Refundable: p.Balance, At: now})
	return p, nil
}
