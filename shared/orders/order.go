// Package orders keeps the merchant's orders: what was sold, for how much,
// and where its payment stands. It knows nothing of Toss or API Gateway; the
// payments engine drives its state machine through the Store's conditional
// operations, each of which is a single atomic write.
//
// State machine:
//
//	PENDING ──claim──▶ CONFIRMING ──complete──▶ DONE ──apply cancel──▶ PARTIAL_CANCELED ──▶ CANCELED
//	   ▲                   │
//	   └──── FAILED ◀──fail┘        (FAILED is payable again: the buyer may try another card)
//	PENDING / FAILED ──past PayableUntil──▶ EXPIRED
//	any unpaid state ──settle from Toss──▶ DONE   (Toss approved one of the order's attempts)
//
// Lifetime: while an order is unpaid it carries a TTL (PayableUntil plus a
// retention period) so DynamoDB eventually deletes abandoned orders. The TTL
// is removed the moment the order is claimed for confirmation and never set
// again once paid: a paid order never expires. DynamoDB deletes expired items
// late (and moto never does), so reads treat an item past its TTL as gone.
package orders

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Status is where an order's payment stands.
type Status string

// Order statuses.
const (
	StatusPending         Status = "PENDING"
	StatusConfirming      Status = "CONFIRMING"
	StatusDone            Status = "DONE"
	StatusFailed          Status = "FAILED"
	StatusCanceled        Status = "CANCELED"
	StatusPartialCanceled Status = "PARTIAL_CANCELED"
	StatusExpired         Status = "EXPIRED"
)

// Payable reports whether a buyer may start (or restart) paying the order.
func (s Status) Payable() bool { return s == StatusPending || s == StatusFailed }

// Paid reports whether money was taken for the order (even if later refunded).
func (s Status) Paid() bool {
	return s == StatusDone || s == StatusCanceled || s == StatusPartialCanceled
}

// Order is one sale. Amounts are integers in the currency's minor unit (KRW has none).
type Order struct {
	ID            string
	Name          string
	Amount        int64
	Currency      string
	RefOrderID    string // the merchant's own reference, optional
	CustomerEmail string
	CustomerName  string

	Status      Status
	PaymentKey  string   // Toss paymentKey of the current or last confirm attempt
	Payment     *Payment // summary of the Toss payment once confirmed
	LastFailure *Failure

	// ClaimExpiresAt is when a CONFIRMING claim lapses: the deadline of the
	// invocation that holds it. A lapsed claim may be resumed (same paymentKey)
	// or settled by the reconciler.
	ClaimExpiresAt time.Time
	// PayableUntil is when an unpaid order stops accepting payments.
	PayableUntil time.Time
	// ExpiresAt is the TTL: zero once the order is claimed or paid.
	ExpiresAt time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// Payment summarises the Toss payment behind a paid order.
type Payment struct {
	Status         string // Toss's payment status (DONE, PARTIAL_CANCELED, …)
	Method         string
	ApprovedAt     time.Time
	CardNumber     string // masked by Toss
	CardIssuerCode string
	CardType       string
	ReceiptURL     string
	TotalAmount    int64
	BalanceAmount  int64
	Cancels        []Cancel
}

// Cancel is one refund applied to the payment.
type Cancel struct {
	TransactionKey string
	Reason         string
	Amount         int64
	CanceledAt     time.Time
}

// Failure is the last thing that went wrong for the order.
type Failure struct {
	Code       string
	Message    string
	PaymentKey string
	Amount     int64 // the amount the failed attempt asked for
	At         time.Time
}

// Errors returned by Store implementations, wrapped with the order ID:
// test for them with errors.Is.
var (
	ErrNotFound = errors.New("orders: order not found")
	ErrExists   = errors.New("orders: order already exists")
)

// ConflictError says a conditional write was refused because the order is
// not in the expected state. Current is the order as it stood (read in the
// same call, from DynamoDB's ALL_OLD), so the caller needs no second read.
type ConflictError struct {
	Op      string
	Current *Order
}

func (e *ConflictError) Error() string {
	if e.Current == nil {
		return fmt.Sprintf("orders: %s: condition failed", e.Op)
	}
	return fmt.Sprintf("orders: %s: order %s is %s (version %d)", e.Op, e.Current.ID, e.Current.Status, e.Current.Version)
}

// Claim asks to move an order into CONFIRMING for one paymentKey.
type Claim struct {
	OrderID    string
	PaymentKey string
	Amount     int64     // must equal the stored amount
	Now        time.Time // the order must be live (TTL) at Now
	Until      time.Time // the claim lapses then (the invocation's deadline)
}

// Store is where orders live. Every mutating method is one conditional write.
type Store interface {
	// Create stores a new order; ErrExists if the ID is taken (even by an
	// order past its TTL: IDs are never reused). o must be PENDING with a pay
	// window and a TTL, as New makes it, else *ValidationError. On success o
	// holds what was stored: Version 1, times at the store's precision.
	Create(ctx context.Context, o *Order) error
	// Get returns the order; ErrNotFound if absent or past its TTL at now.
	Get(ctx context.Context, id string, now time.Time) (*Order, error)
	// Claim moves the order to CONFIRMING with c.PaymentKey and c.Until, and
	// removes its TTL, if and only if the order exists, is live at c.Now, has
	// exactly c.Amount, and either is payable (PENDING, or FAILED under
	// another paymentKey, before PayableUntil) or is CONFIRMING with the same
	// paymentKey under a lapsed claim (a resume). A FAILED order refuses the
	// paymentKey that failed: Toss would only repeat its refusal. Otherwise it returns ErrNotFound (no such live order)
	// or *ConflictError with the order as it stood.
	Claim(ctx context.Context, c Claim) (*Order, error)
	// Complete moves a CONFIRMING order held for paymentKey to DONE with p.
	Complete(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error)
	// SettleFromToss records the order as paid (DONE) under paymentKey with
	// p, whichever attempt holds its claim (live or lapsed) and even if it is
	// PENDING, FAILED or EXPIRED: it is for the payments engine to call with
	// Toss's own record of an approved payment for this order, which is the
	// truth the order must end at. Like Complete it removes the claim and
	// the TTL (a paid order never expires). The write's condition refuses
	// only an order already paid (DONE, PARTIAL_CANCELED or CANCELED, under
	// any paymentKey) or one whose amount is not p.TotalAmount, with
	// *ConflictError holding the order as it stands, and an order gone
	// (absent or past its TTL) with ErrNotFound. p must be an approval
	// (status DONE, PARTIAL_CANCELED or CANCELED, a positive total, a
	// balance within it), else *ValidationError before any I/O; a refunded
	// p is recorded as DONE with p's summary, for ApplyCancel to follow, as
	// after Complete.
	SettleFromToss(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error)
	// Fail moves a CONFIRMING order held for paymentKey to FAILED with f,
	// payable again until PayableUntil, and restores its TTL.
	Fail(ctx context.Context, id, paymentKey string, f Failure, now time.Time) (*Order, error)
	// ApplyCancel records on a paid order (DONE or PARTIAL_CANCELED, held
	// for paymentKey) the cancels Toss reports in p: the order becomes
	// CANCELED when p.BalanceAmount is 0, PARTIAL_CANCELED otherwise, and
	// its payment summary takes p's Status, BalanceAmount and Cancels (the
	// rest of the summary, recorded at confirm, stays). It only ever moves
	// an order forward: the write's condition requires the same
	// TotalAmount and a stored balance above p's (or equal to it while the
	// order still reads DONE, for a payment recorded as approved together
	// with a cancel), so a duplicate or an out-of-order application is
	// refused with *ConflictError holding the order as it stands. Toss's
	// balance only ever goes down, so the lowest balance always wins.
	// p must be a cancel: status CANCELED (balance 0) or PARTIAL_CANCELED
	// (balance between 0 and the total), with at least one cancel, else
	// *ValidationError before any I/O.
	ApplyCancel(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error)
	// RecordFailure sets LastFailure on an unpaid (PENDING or FAILED) order
	// without changing its status: a refused amount, a declined window.
	RecordFailure(ctx context.Context, id string, f Failure, now time.Time) (*Order, error)
	// Expire moves a PENDING or FAILED order past PayableUntil
	// (PayableUntil <= now, the complement of Claim's condition) to EXPIRED.
	// The TTL stays, so the expired order is deleted in due course.
	Expire(ctx context.Context, id string, now time.Time) (*Order, error)
	// LapsedClaims lists CONFIRMING orders whose claim lapsed before now,
	// oldest first, without scanning the table.
	LapsedClaims(ctx context.Context, now time.Time, limit int) ([]*Order, error)
	// Overdue lists PENDING and FAILED orders past PayableUntil (as Expire
	// means it), oldest first, without scanning the table.
	Overdue(ctx context.Context, now time.Time, limit int) ([]*Order, error)
	// List returns live orders, newest first, limit at a time; cursor is
	// opaque ("" for the first page) and next is "" on the last page. A
	// cursor List did not make is a *ValidationError. Orders past their TTL
	// still count against limit, so a page may hold fewer than limit.
	List(ctx context.Context, now time.Time, limit int, cursor string) (items []*Order, next string, err error)
	// Delete removes an unpaid (PENDING, FAILED or EXPIRED) order and returns it.
	Delete(ctx context.Context, id string, now time.Time) (*Order, error)
}

// idChars is the alphabet of Toss's orderId rule: letters, digits, '-' and
// '_'. The rule's length (6 to 64) is checked apart: a counted repetition
// compiles into one copy of the class per count, 0.25 ms of package init on
// every cold start.
var idChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidID reports whether id is a well-formed order ID.
func ValidID(id string) bool { return len(id) >= 6 && len(id) <= 64 && idChars.MatchString(id) }
