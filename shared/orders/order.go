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
	// RecheckAt is when the reconciler must ask Toss about the order again
	// although nothing else makes it due: an order that expired FAILED
	// (it had attempts at Toss, one of which Toss may still approve), or a
	// paid order holding a refund reservation (pending until Toss's
	// outcome is recorded). Zero when no recheck is scheduled. Expire and
	// ReserveRefund schedule one, Rechecked moves or clears it, and a
	// payment recorded (Complete, SettleFromToss) clears it.
	RecheckAt time.Time

	// CheckoutToken is the order's capability: a random secret made with
	// the order (New), carried by the checkout URL the merchant gives the
	// buyer and by the successUrl the checkout page hands Toss. A caller
	// who presents it draws on the order's own budget of Toss calls
	// (TokenAttempts), which callers who know only the orderId cannot
	// spend. Empty on orders made before it existed.
	CheckoutToken string

	// RecentAttempts are when the order's last Toss calls on an anonymous
	// caller's behalf were admitted (claims and lookups, at most
	// AttemptLimit of them), newest first: what bounds the Toss calls
	// anyone who knows an orderId can cause (see AttemptLimit).
	RecentAttempts []time.Time
	// TokenAttempts are the same for the order's own budget (Budget
	// TokenHolder): claims and lookups by callers presenting the checkout
	// token, and lookups of a paid order's own payment.
	TokenAttempts []time.Time

	// ClaimedAt is when the current claim was first taken (kept across
	// resumes of it); zero unless CONFIRMING under a claim this field
	// existed for. A caller whose claim came back with ClaimedAt equal to
	// its own Claim.Now took a fresh claim, not a resume: nothing was sent
	// to Toss under it yet.
	ClaimedAt time.Time

	// Refunds are the refunds this API sent (or is about to send) to Toss,
	// by the Idempotency-Key each carries there (nil when none). A pending
	// one holds its amount back from the balance (Refundable), so that
	// concurrent refunds can never ask Toss for more than the balance; a
	// settled one tells a repeat of it from a new refund.
	Refunds map[string]Refund

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
	// Raw is the payment as the payment processor reported it when the
	// order was recorded paid: a JSON object (for Toss, the Payment object
	// of the confirm answer or lookup), at most MaxPaymentRaw bytes, so that
	// a repeated confirm can answer with the very object the first one got.
	// Only the transitions to DONE (Complete, SettleFromToss) write it; the
	// refund transitions leave it as it was, so it stays the approval.
	// Nil when the order was paid before it was kept, or the caller had none.
	Raw []byte
}

// MaxPaymentRaw bounds Payment.Raw: a Toss Payment is a few KiB, and the
// whole order item must stay far below DynamoDB's 400 KB.
const MaxPaymentRaw = 32 << 10

// Cancel is one refund applied to the payment.
type Cancel struct {
	TransactionKey string
	Reason         string
	Amount         int64
	CanceledAt     time.Time
}

// Refund is one refund of the order's payment, reserved before Toss was
// asked to execute it (ReserveRefund) and settled once Toss's answer was
// recorded (SettleRefund). A refund Toss refused is released (ReleaseRefund)
// and leaves no trace.
type Refund struct {
	Amount     int64 // reserved; a full refund reserves the balance it was asked on
	Reason     string
	ReservedAt time.Time
	SettledAt  time.Time // zero while pending: Toss's outcome is not recorded yet
}

// Pending reports whether the refund still holds its amount back.
func (r Refund) Pending() bool { return r.SettledAt.IsZero() }

// Reserved is the sum of the pending refunds: money that may be leaving
// the payment right now, so no other refund may count on it.
func (o *Order) Reserved() int64 {
	var n int64
	for _, r := range o.Refunds {
		if r.Pending() {
			n += r.Amount
		}
	}
	return n
}

// Refundable is what a new refund may take: the recorded balance less the
// pending refunds. Conservative by design: a pending refund that a webhook
// has already recorded in the balance is counted twice until its request
// settles it.
func (o *Order) Refundable() int64 {
	if o.Payment == nil {
		return 0
	}
	return o.Payment.BalanceAmount - o.Reserved()
}

// RefundReservation asks to hold back a refund's amount on a paid order
// before Toss is asked to execute it.
type RefundReservation struct {
	Key        string // the refund's Idempotency-Key at Toss: one reservation per refund
	PaymentKey string // the order's payment
	// Balance is the payment's balance as the caller read it: the
	// reservation holds only while it still stands, because what is
	// refundable is computed from it (conditions cannot do arithmetic).
	Balance int64
	Amount  int64 // positive, at most Balance; a full refund reserves Balance
	Reason  string
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
	// Token is the checkout token the caller presented ("" for none): the
	// claim then draws on the order's own budget (TokenHolder) and is
	// refused unless Token is the order's CheckoutToken.
	Token string
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
	// paymentKey that failed: Toss would only repeat its refusal. A payable
	// order also refuses a new paymentKey while AttemptLimit attempts were
	// admitted in the last AttemptWindow on the claim's budget (FullUntil
	// says until when): the anonymous one, or with c.Token the order's own
	// (TokenHolder), and then only if c.Token is the order's
	// CheckoutToken; a resume is never refused for the budget, since it
	// only repeats a confirm already admitted. Every claim records its
	// attempt on its budget. A fresh claim sets ClaimedAt to c.Now and
	// remembers the status it was taken from, for Release; a resume keeps
	// both. Otherwise it returns ErrNotFound (no such live order) or
	// *ConflictError with the order as it stood.
	Claim(ctx context.Context, c Claim) (*Order, error)
	// Release gives up the claim of a CONFIRMING order held for
	// paymentKey whose attempt Toss never executed and never will: Toss
	// reported the paymentKey never issued, or the caller refused the
	// attempt before calling Toss. The order goes back to what it was
	// before the claim (PENDING, or FAILED under the attempt that failed,
	// with its TTL and pay window), as if the attempt had never been
	// made: nothing of it is recorded but the budget it spent. A claim
	// taken before the store remembered what it was taken from is never
	// released (*ConflictError): fail it instead.
	Release(ctx context.Context, id, paymentKey string, now time.Time) (*Order, error)
	// AdmitLookup records one Toss call made on an anonymous caller's
	// behalf without claiming the order (a lookup of an attempt the order
	// would not take, or of a webhook's payment), in the same budget as
	// claims: it refuses with *ConflictError (the order as it stood) while
	// AttemptLimit attempts were admitted in the last AttemptWindow, and
	// with ErrNotFound when there is no such live order. The caller makes
	// the call only once admitted. With ownPaymentKey (not empty) it is a
	// lookup of the order's own payment, admitted only on an order paid
	// under that key and drawn on the order's own budget (TokenHolder)
	// instead: that key is known to the order's buyer, the merchant and
	// Toss (and anyone the buyer showed the success URL), not to anyone
	// who read the checkout page, so forged webhooks about other keys
	// cannot hold back Toss's webhooks about the order's refunds, while
	// those naming its own key are bounded too. It changes nothing else:
	// not even the order's Version or UpdatedAt, since the order itself
	// did not change. On success it returns the order.
	AdmitLookup(ctx context.Context, id, ownPaymentKey string, now time.Time) (*Order, error)
	// AdmitTokenLookup is AdmitLookup on the order's own budget for a
	// caller presenting token: refused (*ConflictError) unless token is
	// the order's CheckoutToken and the budget has room.
	AdmitTokenLookup(ctx context.Context, id, token string, now time.Time) (*Order, error)
	// Complete moves a CONFIRMING order held for paymentKey to DONE with p,
	// p.Raw included (*ValidationError before any I/O if p.Raw is not a
	// JSON object of at most MaxPaymentRaw bytes).
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
	// balance within it, a Raw as Complete takes it), else *ValidationError
	// before any I/O; a refunded p is recorded as DONE with p's summary, for
	// ApplyCancel to follow, as after Complete.
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
	// ReserveRefund records r as a pending refund of the paid order (DONE
	// or PARTIAL_CANCELED under r.PaymentKey) and holds r.Amount back from
	// what is refundable, if and only if the payment's balance is still
	// r.Balance, r.Amount fits in what is refundable (the balance less the
	// pending refunds), and no refund under r.Key is recorded, pending or
	// settled. Otherwise *ConflictError with the order as it stood (which
	// says which condition failed), or ErrNotFound. r must name a key and a
	// payment and ask for 0 < Amount <= Balance, else *ValidationError
	// before any I/O. It schedules a recheck RefundRecheckAfter later if
	// none is scheduled, so that a reservation whose request never
	// recorded Toss's outcome is settled or released from Toss's record.
	ReserveRefund(ctx context.Context, id string, r RefundReservation, now time.Time) (*Order, error)
	// SettleRefund records Toss's payment p after the pending refund under
	// key (reserved for amount) executed: the refund becomes settled, its
	// amount is no longer held back, and the order takes p's status,
	// balance and cancels as ApplyCancel would. The condition requires the
	// refund pending with that amount, the order paid (DONE,
	// PARTIAL_CANCELED or CANCELED) under paymentKey for p's total, and a
	// stored balance at or above p's: a webhook may have recorded p
	// already, which settles nothing. A stored balance below p's (a later
	// refund recorded) is refused with *ConflictError: settle against the
	// order's own summary then. p must be a cancel, as for ApplyCancel.
	SettleRefund(ctx context.Context, id, paymentKey, key string, amount int64, p Payment, now time.Time) (*Order, error)
	// ReleaseRefund forgets the pending refund under key (reserved for
	// amount), which Toss refused: its amount is refundable again and the
	// same refund may be asked for again. *ConflictError when no such
	// refund is pending.
	ReleaseRefund(ctx context.Context, id, key string, amount int64, now time.Time) (*Order, error)
	// RecordFailure sets LastFailure on an unpaid (PENDING or FAILED) order
	// that has none yet, without changing its status: a refused amount.
	// *ConflictError when the order has a failure already: what anyone
	// can send (a wrong amount) never replaces what Toss reported (a
	// decline), which the attempt's own repeat is answered from.
	RecordFailure(ctx context.Context, id string, f Failure, now time.Time) (*Order, error)
	// Expire moves a PENDING or FAILED order past PayableUntil
	// (PayableUntil <= now, the complement of Claim's condition) to EXPIRED.
	// The TTL stays, so the expired order is deleted in due course. An
	// order that expires FAILED, or PENDING after Toss calls were made for
	// it (TossAttempted: a claim released back, a lookup), had attempts at
	// Toss, and Toss may still approve one (a confirm it received late,
	// another server holding the secret key): Expire schedules its recheck
	// ExpiredRecheckAfter later.
	Expire(ctx context.Context, id string, now time.Time) (*Order, error)
	// Rechecks lists orders whose RecheckAt is at or before now, oldest
	// first, without scanning the table.
	Rechecks(ctx context.Context, now time.Time, limit int) ([]*Order, error)
	// Rechecked sets the order's RecheckAt to next (zero: no further
	// recheck) if the order still stands at version and is neither
	// CONFIRMING nor payable (those are due by their claim or pay window).
	// Otherwise *ConflictError with the order as it stands, or ErrNotFound.
	Rechecked(ctx context.Context, id string, version int64, next, now time.Time) (*Order, error)
	// LapsedClaims lists CONFIRMING orders whose claim lapsed before now,
	// oldest first, without scanning the table.
	LapsedClaims(ctx context.Context, now time.Time, limit int) ([]*Order, error)
	// Overdue lists PENDING and FAILED orders past PayableUntil (as Expire
	// means it), oldest first, without scanning the table.
	Overdue(ctx context.Context, now time.Time, limit int) ([]*Order, error)
	// List returns live orders, newest first (createdAt, then ID,
	// descending), limit at a time; cursor is opaque ("" for the first
	// page) and next is "" exactly when no order follows the page. A
	// cursor names the last order listed, so orders created after it never
	// shift what follows it. A cursor List did not make is a
	// *ValidationError. Orders past their TTL still count against limit,
	// so a page may hold fewer than limit.
	List(ctx context.Context, now time.Time, limit int, cursor string) (items []*Order, next string, err error)
	// Delete removes an unpaid (PENDING, FAILED or EXPIRED) order and
	// returns it, if it still stands at version, the Version its caller
	// read it at (what the caller checked, such as Toss's record of the
	// order, must not have changed under it); otherwise *ConflictError.
	Delete(ctx context.Context, id string, version int64, now time.Time) (*Order, error)
}

// idChars is the alphabet of Toss's orderId rule: letters, digits, '-' and
// '_'. The rule's length (6 to 64) is checked apart: a counted repetition
// compiles into one copy of the class per count, 0.25 ms of package init on
// every cold start.
var idChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidID reports whether id is a well-formed order ID.
func ValidID(id string) bool { return len(id) >= 6 && len(id) <= 64 && idChars.MatchString(id) }
