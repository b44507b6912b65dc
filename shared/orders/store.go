package orders

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"
)

// Page sizes for List, LapsedClaims and Overdue: a limit below 1 means
// DefaultLimit, one above MaxLimit means MaxLimit, so no caller can ask one
// call to read an unbounded number of items.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// MaxPaymentKeyLen is Toss's bound on a paymentKey.
const MaxPaymentKeyLen = 200

func clampLimit(n int) int {
	switch {
	case n < 1:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// prepareNew checks an order handed to Create and returns the copy to
// store. Only PENDING orders are created: every other state is reached
// through the transitions, so every stored order carries what its
// transitions rely on (a pay window, and an unpaid TTL for Fail to restore).
func prepareNew(o *Order) (*Order, error) {
	if o == nil {
		return nil, &ValidationError{Field: "order", Reason: "nil"}
	}
	bad := func(field, reason string) (*Order, error) {
		return nil, &ValidationError{Field: field, Reason: reason}
	}
	switch {
	case !ValidID(o.ID):
		return bad("id", "not a valid order ID")
	case o.Status != StatusPending:
		return bad("status", "a new order must be PENDING")
	case o.Amount <= 0:
		return bad("amount", "must be positive")
	case o.Currency == "":
		return bad("currency", "required")
	case o.CreatedAt.IsZero():
		return bad("createdAt", "required")
	case o.PayableUntil.IsZero():
		return bad("payableUntil", "required")
	case o.ExpiresAt.IsZero():
		return bad("expiresAt", "required: an unpaid order must carry a TTL")
	case o.ExpiresAt.Before(o.PayableUntil):
		return bad("expiresAt", "before payableUntil: the order would vanish while payable")
	case o.Payment != nil:
		return bad("payment", "a new order has no payment")
	case !o.ClaimExpiresAt.IsZero():
		return bad("claimExpiresAt", "a new order has no claim")
	case len(o.RecentAttempts) != 0 || len(o.TokenAttempts) != 0:
		return bad("recentAttempts", "a new order has no attempts")
	case !o.ClaimedAt.IsZero():
		return bad("claimedAt", "a new order has no claim")
	case o.CheckoutToken != "" && !ValidToken(o.CheckoutToken):
		return bad("checkoutToken", "not a checkout token")
	case len(o.Refunds) != 0:
		return bad("refunds", "a new order has no refunds")
	}
	n := cloneOrder(o)
	normalize(n)
	n.Version = 1
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	return n, nil
}

// checkClaim refuses claims no order could satisfy before any I/O.
func checkClaim(c Claim) error {
	switch {
	case c.PaymentKey == "":
		return &ValidationError{Field: "paymentKey", Reason: "required"}
	case len(c.PaymentKey) > MaxPaymentKeyLen || !utf8.ValidString(c.PaymentKey):
		return &ValidationError{Field: "paymentKey", Reason: fmt.Sprintf("longer than %d bytes or not UTF-8", MaxPaymentKeyLen)}
	case c.Now.IsZero():
		return &ValidationError{Field: "now", Reason: "required"}
	case !c.Until.After(c.Now):
		return &ValidationError{Field: "until", Reason: "a claim must end after it starts"}
	}
	return nil
}

// When the reconciler asks Toss about an order again (Order.RecheckAt).
const (
	// ExpiredRecheckAfter is how long after an order expired FAILED it is
	// looked at once more: past Toss's 10-minute confirm window of any
	// attempt authenticated before the pay window closed, and past the
	// time Toss takes over a confirm it received, so that an approval
	// Toss makes late is recorded long before the TTL (at least a day
	// after the pay window) can remove the order.
	ExpiredRecheckAfter = 15 * time.Minute
	// RefundRecheckAfter is how old a refund reservation is when the
	// reconciler settles or releases it from Toss's record: far longer
	// than any invocation that could still be recording its outcome.
	RefundRecheckAfter = 5 * time.Minute
)

// recheckable is Rechecked's condition on the order's status: states no
// claim or pay window makes due.
func recheckable(s Status) bool { return s == StatusExpired || s.Paid() }

// The budgets of Toss calls callers can cause per order. Anyone who reads
// an order's checkout page, or any URL that names its orderId, knows its
// orderId and amount, so anyone can ask to confirm it with made-up
// paymentKeys (each one a Toss call with the merchant's secret key) or
// send webhooks naming it. Claims of a new paymentKey and lookups share a
// sliding window per budget: at most AttemptLimit admitted in any
// AttemptWindow. Five a minute is far above what a person paying does (one
// window, perhaps a second card). The window is counted on the order item
// itself, inside the write that admits the call, so it costs no extra
// round trip.
//
// There are two budgets, so that callers who know only the orderId cannot
// spend what the real buyer needs: Anonymous, shared by everyone, and
// TokenHolder, the order's own, spent only by callers presenting its
// CheckoutToken (which the merchant gives the buyer in the checkout URL)
// and by lookups of a paid order's own payment (AdmitLookup). An attacker
// who takes every slot of the anonymous budget as it frees delays only
// callers without the token.
const (
	AttemptLimit  = 5
	AttemptWindow = time.Minute
)

// Budget is one of an order's budgets of Toss calls (see AttemptLimit).
type Budget int

// The budgets.
const (
	// Anonymous is spent by every caller who does not present the order's
	// checkout token: the order's RecentAttempts.
	Anonymous Budget = iota
	// TokenHolder is spent by callers presenting the order's checkout
	// token, and by lookups of a paid order's own payment: TokenAttempts.
	TokenHolder
)

func (b Budget) String() string {
	if b == TokenHolder {
		return "token"
	}
	return "anonymous"
}

// attempts is where b's admissions are kept on o.
func (o *Order) attempts(b Budget) *[]time.Time {
	if b == TokenHolder {
		return &o.TokenAttempts
	}
	return &o.RecentAttempts
}

// room is the budget's test, as DynamoStore's condition spells it on the
// oldest of b's AttemptLimit slots: fewer than AttemptLimit attempts
// admitted after nowMs - AttemptWindow.
func room(o *Order, b Budget, nowMs int64) bool {
	recent := *o.attempts(b)
	return len(recent) < AttemptLimit ||
		recent[AttemptLimit-1].UnixMilli() <= nowMs-AttemptWindow.Milliseconds()
}

// recordAttempt adds an attempt admitted on b at now, keeping the newest AttemptLimit.
func recordAttempt(o *Order, b Budget, now time.Time) {
	p := o.attempts(b)
	recent := append([]time.Time{toMillis(now)}, *p...)
	*p = recent[:min(len(recent), AttemptLimit)]
}

// FullUntil reports whether the order's budget b (see AttemptLimit) is
// spent at now, and if so when its next call is admitted: what a refused
// Claim or lookup leaves a caller to tell a caller being throttled from
// one refused for another reason, with no extra read.
func (o *Order) FullUntil(b Budget, now time.Time) (time.Time, bool) {
	if room(o, b, now.UnixMilli()) {
		return time.Time{}, false
	}
	return (*o.attempts(b))[AttemptLimit-1].Add(AttemptWindow), true
}

// AttemptsFullUntil is FullUntil of the anonymous budget.
func (o *Order) AttemptsFullUntil(now time.Time) (time.Time, bool) {
	return o.FullUntil(Anonymous, now)
}

// TossAttempted reports whether a Toss call was ever admitted for the
// order (a claim, released or not, or a lookup): such an order may have
// attempts Toss approves without our claim recording it (another server
// holding the secret key, a webhook lost), so it is looked up at Toss
// before it expires, and after, as a FAILED one is. Both budgets keep
// their slots once written, so this never turns false again.
func (o *Order) TossAttempted() bool {
	return len(o.RecentAttempts) > 0 || len(o.TokenAttempts) > 0
}

// TokenMatches reports whether token is the order's checkout token, in
// time that does not depend on where they differ. An order without one
// matches no token.
func (o *Order) TokenMatches(token string) bool {
	return o.CheckoutToken != "" && subtle.ConstantTimeCompare([]byte(o.CheckoutToken), []byte(token)) == 1
}

// Payment statuses Toss reports for a payment with cancels, as ApplyCancel takes them.
const (
	tossCanceled        = "CANCELED"
	tossPartialCanceled = "PARTIAL_CANCELED"
)

// checkCancel refuses before any I/O a payment that cannot be the state of
// a payment after a cancel: acting on a misread one could close an order
// that still holds money, or reopen one that does not.
func checkCancel(paymentKey string, p Payment) error {
	bad := func(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }
	switch {
	case paymentKey == "":
		return bad("paymentKey", "required")
	case p.TotalAmount <= 0:
		return bad("payment.totalAmount", "must be positive")
	case p.BalanceAmount < 0 || p.BalanceAmount >= p.TotalAmount:
		return bad("payment.balanceAmount", "a canceled payment's balance is at least 0 and below its total")
	case p.Status != tossCanceled && p.Status != tossPartialCanceled:
		return bad("payment.status", "must be CANCELED or PARTIAL_CANCELED")
	case (p.Status == tossCanceled) != (p.BalanceAmount == 0):
		return bad("payment.status", "CANCELED if and only if the balance is 0")
	case len(p.Cancels) == 0:
		return bad("payment.cancels", "a canceled payment lists its cancels")
	}
	return nil
}

// tossDone is the status of a Toss payment approved and not refunded.
const tossDone = "DONE"

// checkSettle refuses before any I/O a payment that is not an approval as
// Toss reports one (approved, possibly refunded since): SettleFromToss
// marks an order paid whatever its claim says, so a misread payment must
// never reach the write.
func checkSettle(paymentKey string, p Payment) error {
	bad := func(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }
	switch {
	case paymentKey == "":
		return bad("paymentKey", "required")
	case len(paymentKey) > MaxPaymentKeyLen || !utf8.ValidString(paymentKey):
		return bad("paymentKey", fmt.Sprintf("longer than %d bytes or not UTF-8", MaxPaymentKeyLen))
	case p.TotalAmount <= 0:
		return bad("payment.totalAmount", "must be positive")
	case p.BalanceAmount < 0 || p.BalanceAmount > p.TotalAmount:
		return bad("payment.balanceAmount", "must be between 0 and the total")
	case p.Status != tossDone && p.Status != tossPartialCanceled && p.Status != tossCanceled:
		return bad("payment.status", "must be DONE, PARTIAL_CANCELED or CANCELED: an approved payment")
	}
	return checkRaw(p)
}

// unpaidStatuses are the states SettleFromToss may record a payment on:
// every state but the paid ones, listed rather than negated so that a
// status added later is refused until someone decides what it means.
var unpaidStatuses = []Status{StatusPending, StatusConfirming, StatusFailed, StatusExpired}

// settleable is SettleFromToss's condition on a stored order, as
// DynamoStore's condition expression spells it.
func settleable(o *Order, p Payment, now time.Time) bool {
	return live(o.ExpiresAt, now) && slices.Contains(unpaidStatuses, o.Status) && o.Amount == p.TotalAmount
}

// cancelStatus is the order status a cancel with balance leaves.
func cancelStatus(balance int64) Status {
	if balance == 0 {
		return StatusCanceled
	}
	return StatusPartialCanceled
}

// cancelForward is ApplyCancel's condition: o is paid under paymentKey
// for p's total, and p lowers its balance (or, while o still reads DONE,
// keeps it: an approval recorded with a cancel already in its summary).
func cancelForward(o *Order, paymentKey string, p Payment) bool {
	if (o.Status != StatusDone && o.Status != StatusPartialCanceled) || o.PaymentKey != paymentKey ||
		o.Payment == nil || o.Payment.TotalAmount != p.TotalAmount {
		return false
	}
	stored := o.Payment.BalanceAmount
	return stored > p.BalanceAmount || (o.Status == StatusDone && stored == p.BalanceAmount)
}

// refundKeyChars is the alphabet of a refund key: it becomes a document
// path in the DynamoDB item (refunds.<key>), where a '.' would split it.
var refundKeyChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// MaxRefundKeyLen is Toss's bound on an Idempotency-Key.
const MaxRefundKeyLen = 300

func checkRefundKey(key string) error {
	if len(key) == 0 || len(key) > MaxRefundKeyLen || !refundKeyChars.MatchString(key) {
		return &ValidationError{Field: "key", Reason: fmt.Sprintf("1 to %d of A-Z a-z 0-9 - _", MaxRefundKeyLen)}
	}
	return nil
}

// checkReservation refuses before any I/O a reservation no order could take.
func checkReservation(r RefundReservation) error {
	bad := func(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }
	switch {
	case r.PaymentKey == "":
		return bad("paymentKey", "required")
	case r.Amount <= 0:
		return bad("amount", "must be positive")
	case r.Amount > r.Balance:
		return bad("amount", "more than the balance")
	}
	return checkRefundKey(r.Key)
}

// paidStatuses hold a payment, refunded or not.
var paidStatuses = []Status{StatusDone, StatusPartialCanceled, StatusCanceled}

// reservable is ReserveRefund's condition on a stored order, as
// DynamoStore's condition expression spells it.
func reservable(o *Order, r RefundReservation) bool {
	_, taken := o.Refunds[r.Key]
	return (o.Status == StatusDone || o.Status == StatusPartialCanceled) && o.PaymentKey == r.PaymentKey &&
		o.Payment != nil && o.Payment.BalanceAmount == r.Balance && o.Reserved() <= r.Balance-r.Amount && !taken
}

// pendingRefund holds when o has a pending refund under key reserved for amount.
func pendingRefund(o *Order, key string, amount int64) bool {
	r, ok := o.Refunds[key]
	return ok && r.Pending() && r.Amount == amount
}

// refundSettleable is SettleRefund's condition on a stored order besides the
// pending refund: paid under paymentKey for p's total, at or past p.
func refundSettleable(o *Order, paymentKey string, p Payment) bool {
	return slices.Contains(paidStatuses, o.Status) && o.PaymentKey == paymentKey && o.Payment != nil &&
		o.Payment.TotalAmount == p.TotalAmount && o.Payment.BalanceAmount >= p.BalanceAmount
}

func checkPaymentKey(pk string) error {
	if pk == "" {
		return &ValidationError{Field: "paymentKey", Reason: "required"}
	}
	return nil
}

// notFound wraps ErrNotFound with the ID asked for.
func notFound(id string) error { return fmt.Errorf("%w: %s", ErrNotFound, id) }

// normalize brings every time in o to the precision the DynamoDB item keeps,
// so both stores return identical orders.
func normalize(o *Order) {
	o.ClaimExpiresAt = toMillis(o.ClaimExpiresAt)
	o.PayableUntil = toMillis(o.PayableUntil)
	o.ExpiresAt = toTTL(o.ExpiresAt)
	o.RecheckAt = toMillis(o.RecheckAt)
	o.CreatedAt = toMillis(o.CreatedAt)
	o.UpdatedAt = toMillis(o.UpdatedAt)
	if o.Payment != nil {
		normalizePayment(o.Payment)
	}
	if o.LastFailure != nil {
		o.LastFailure.At = toMillis(o.LastFailure.At)
	}
	o.ClaimedAt = toMillis(o.ClaimedAt)
	for _, b := range []Budget{Anonymous, TokenHolder} {
		p := o.attempts(b)
		for i, t := range *p {
			(*p)[i] = toMillis(t)
		}
		if len(*p) == 0 {
			*p = nil
		}
	}
	if len(o.Refunds) == 0 {
		o.Refunds = nil
	}
	for k, r := range o.Refunds {
		r.ReservedAt, r.SettledAt = toMillis(r.ReservedAt), toMillis(r.SettledAt)
		o.Refunds[k] = r
	}
}

func normalizePayment(p *Payment) {
	p.ApprovedAt = toMillis(p.ApprovedAt)
	if len(p.Raw) == 0 {
		p.Raw = nil
	}
	for i := range p.Cancels {
		p.Cancels[i].CanceledAt = toMillis(p.Cancels[i].CanceledAt)
	}
	if len(p.Cancels) == 0 {
		p.Cancels = nil
	}
}

// cloneOrder is a deep copy: callers of either store may change what they
// get back without touching what is stored.
func cloneOrder(o *Order) *Order {
	c := *o
	if o.Payment != nil {
		p := clonePayment(*o.Payment)
		c.Payment = &p
	}
	if o.LastFailure != nil {
		f := *o.LastFailure
		c.LastFailure = &f
	}
	c.RecentAttempts = slices.Clone(o.RecentAttempts)
	c.TokenAttempts = slices.Clone(o.TokenAttempts)
	c.Refunds = maps.Clone(o.Refunds)
	if len(c.Refunds) == 0 {
		c.Refunds = nil
	}
	return &c
}

func clonePayment(p Payment) Payment {
	if p.Cancels != nil {
		p.Cancels = append([]Cancel(nil), p.Cancels...)
	}
	p.Raw = bytes.Clone(p.Raw)
	return p
}

// ValidPaymentRaw reports whether an order keeps raw as Payment.Raw (see
// checkRaw): callers with something else record the payment without it.
func ValidPaymentRaw(raw []byte) bool {
	return len(raw) > 0 && checkRaw(Payment{Raw: raw}) == nil
}

// checkRaw refuses before any I/O a Payment.Raw the order could not keep or
// give back as it came: larger than MaxPaymentRaw, or not a JSON object
// in UTF-8 (DynamoDB keeps it as a string).
func checkRaw(p Payment) error {
	bad := func(reason string) error { return &ValidationError{Field: "payment.raw", Reason: reason} }
	switch raw := bytes.TrimSpace(p.Raw); {
	case len(p.Raw) == 0:
		return nil
	case len(p.Raw) > MaxPaymentRaw:
		return bad(fmt.Sprintf("longer than %d bytes", MaxPaymentRaw))
	case !utf8.Valid(p.Raw) || !json.Valid(p.Raw) || raw[0] != '{':
		return bad("not a JSON object in UTF-8")
	}
	return nil
}

// cursor is the position after the last order of a List page: its
// createdAt and id. It carries no shard: every shard is read from the same
// position (DynamoStore.List), and cursors made before the sharding, which
// had the same two fields, stay valid.
type cursor struct {
	CreatedAt int64  `json:"c"`
	ID        string `json:"i"`
}

const maxCursorLen = 256

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c) // two plain fields: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor accepts only what encodeCursor makes: a cursor arrives in a
// query string, so anything else is the caller's mistake (a 400), never a
// reason to send DynamoDB a made-up key.
func decodeCursor(s string) (cursor, error) {
	bad := func(reason string) (cursor, error) {
		return cursor{}, &ValidationError{Field: "cursor", Reason: reason}
	}
	if len(s) > maxCursorLen {
		return bad("too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c cursor
	if err := dec.Decode(&c); err != nil {
		return bad("malformed")
	}
	if dec.More() {
		return bad("trailing data")
	}
	if !ValidID(c.ID) || c.CreatedAt <= 0 {
		return bad("malformed position")
	}
	return c, nil
}

// listStart is where a List page starts: nil for "" (the newest order),
// else the decoded cursor.
func listStart(cur string) (*cursor, error) {
	if cur == "" {
		return nil, nil
	}
	c, err := decodeCursor(cur)
	if err != nil {
		return nil, err
	}
	return &c, nil
}
