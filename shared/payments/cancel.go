package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// Bounds of a cancel request.
const (
	// MaxCancelReasonLen is Toss's limit on cancelReason, in characters.
	MaxCancelReasonLen = 200
)

// Errors Cancel returns. Toss's refusals come back as the *toss.Error
// itself (wrapped): test with errors.As and pass Code on.
var (
	// ErrNotCancelable: the order has no payment that can be refunded (unpaid,
	// still being confirmed, or fully refunded). Nothing was sent to Toss.
	ErrNotCancelable = errors.New("payments: order is not cancelable")
	// ErrCancelUnknown: Toss may or may not have executed the refund, and
	// the order does not record it. Retrying the same request is safe: it
	// carries the same Idempotency-Key (CancelIdempotencyKey).
	ErrCancelUnknown = errors.New("payments: refund outcome unknown; retry with the same request")
)

// InvalidCancelError: a field of the cancel request is malformed. Nothing
// was read or sent. It matches ErrInvalidRequest with errors.Is.
type InvalidCancelError struct {
	Field  string
	Reason string
	Err    error // the rule\'s own error, when another package owns the rule (idempotency.ValidateKey)
}

func (e *InvalidCancelError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("payments: invalid cancel request: %s %s: %v", e.Field, e.Reason, e.Err)
	}
	return fmt.Sprintf("payments: invalid cancel request: %s %s", e.Field, e.Reason)
}

func (e *InvalidCancelError) Unwrap() error { return e.Err }

func (e *InvalidCancelError) Is(target error) bool { return target == ErrInvalidRequest }

// NotCancelableError carries the order that cannot be refunded.
type NotCancelableError struct {
	Order *orders.Order
}

func (e *NotCancelableError) Error() string {
	return fmt.Sprintf("payments: order %s is %s: nothing to refund", e.Order.ID, e.Order.Status)
}

func (e *NotCancelableError) Is(target error) bool { return target == ErrNotCancelable }

// CancelAmountError: the amount asked for exceeds what the order can
// refund: its recorded balance less the refunds in flight (reserved, Toss's
// outcome not recorded yet). Nothing was sent to Toss.
type CancelAmountError struct {
	OrderID string
	Amount  int64 // asked for; for a full refund, the balance
	Balance int64 // refundable now (orders.Order.Refundable)
}

func (e *CancelAmountError) Error() string {
	return fmt.Sprintf("payments: order %s: cannot refund %d, the refundable balance is %d", e.OrderID, e.Amount, e.Balance)
}

// CancelUnknownError says a refund may have been executed at Toss without
// the order recording it: Toss's answer was lost (timeout, dropped
// connection, 5xx after retries) and Toss's record did not settle it, or
// Toss answered and the order could not be written. Executed tells the
// two apart. Either way, the same request again (same order, amount and
// caller key) is safe: it carries the same Idempotency-Key to Toss.
type CancelUnknownError struct {
	OrderID  string
	Executed bool  // Toss executed the refund; only recording it failed
	Err      error // the cause
}

func (e *CancelUnknownError) Error() string {
	what := "refund outcome unknown"
	if e.Executed {
		what = "refund executed at Toss but not recorded"
	}
	return fmt.Sprintf("payments: order %s: %s; retry with the same request: %v", e.OrderID, what, e.Err)
}

func (e *CancelUnknownError) Unwrap() error { return e.Err }

func (e *CancelUnknownError) Is(target error) bool { return target == ErrCancelUnknown }

// ValidateCancel checks the shape of a cancel request: Toss's limits on the
// reason, a non-negative amount (0 refunds the whole balance) and a bounded
// caller key.
func ValidateCancel(orderID, reason string, amount int64, callerKey string) error {
	if !orders.ValidID(orderID) {
		return &InvalidCancelError{Field: "orderId", Reason: "must be 6 to 64 of A-Z a-z 0-9 - _"}
	}
	return validateRefund(reason, amount, callerKey)
}

// validateRefund checks what a refund request carries besides the order.
func validateRefund(reason string, amount int64, callerKey string) error {
	switch {
	case strings.TrimSpace(reason) == "":
		return &InvalidCancelError{Field: "cancelReason", Reason: "is required"}
	case !utf8.ValidString(reason):
		return &InvalidCancelError{Field: "cancelReason", Reason: "is not valid UTF-8"}
	case utf8.RuneCountInString(reason) > MaxCancelReasonLen:
		return &InvalidCancelError{Field: "cancelReason", Reason: fmt.Sprintf("is longer than %d characters", MaxCancelReasonLen)}
	case strings.IndexFunc(reason, unicode.IsControl) >= 0:
		return &InvalidCancelError{Field: "cancelReason", Reason: "contains control characters"}
	case amount < 0:
		return &InvalidCancelError{Field: "cancelAmount", Reason: "must not be negative (0 refunds the whole balance)"}
	}
	// The caller's key obeys the API's one key rule (characters counted as
	// Toss counts them, not bytes); "" is no key, and the refund is keyed
	// without one (CancelIdempotencyKey).
	if callerKey != "" {
		if err := idempotency.ValidateKey(callerKey); err != nil {
			return &InvalidCancelError{Field: "Idempotency-Key", Reason: "is invalid", Err: err}
		}
	}
	return nil
}

// CancelIdempotencyKey is the Idempotency-Key sent to Toss for a refund of
// amount (0: the whole balance) on orderID's payment paymentKey. Toss runs
// a key once and replays its first answer for 15 days, so the key is what
// makes two requests "the same refund":
//
//   - With the caller's own key (callerKey != ""): (order, paymentKey,
//     amount, callerKey). Two refunds of the same amount take two caller
//     keys. The same caller key with another amount is another refund (our
//     API's Idempotency-Key guard refuses a reused key with another body
//     before it gets here).
//   - Without one: (order, paymentKey, amount). Every identical request is
//     the same refund: a retry, a double click, two racing Lambdas. A
//     second refund of the same amount needs a caller key.
//
// The balance before the refund is deliberately not part of the key,
// though it would tell "the second refund of 5,000" from "the first one
// again": it is exactly what a successful first attempt changes, so every
// repeat made after the first refund got recorded would get a new key and
// refund again. Such repeats are common: the caller lost our answer and
// retries; a webhook recorded the refund before the caller's retry of an
// ErrCancelUnknown; an API invocation died after recording the refund and
// the Idempotency-Key guard runs it again. With this key, each of them is
// replayed by Toss (Cancel reports CancelResult.Repeated) instead.
//
// The reason is not part of the key either: it labels a refund, it does
// not make one. What the key cannot cover: a repeat more than 15 days
// after the first attempt, which Toss no longer remembers.
func CancelIdempotencyKey(orderID, paymentKey string, amount int64, callerKey string) string {
	h := sha256.New()
	h.Write([]byte("cancel\x00"))
	h.Write([]byte(orderID))
	h.Write([]byte{0})
	h.Write([]byte(paymentKey))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(amount, 10)))
	if callerKey != "" {
		h.Write([]byte("\x00k\x00"))
		h.Write([]byte(callerKey))
	}
	return "cancel-" + hex.EncodeToString(h.Sum(nil))
}

// CancelResult is what Cancel did.
type CancelResult struct {
	// Order is the order as it stands after the refund.
	Order *orders.Order
	// Repeated: the refund (the same Idempotency-Key, CancelIdempotencyKey)
	// was reported done by another answer: this one refunded nothing new.
	// Of all the successful answers about one refund, exactly one says
	// false: the one whose write settled its reservation
	// (orders.Store.SettleRefund), however many identical requests raced.
	// A caller that meant a second refund of the same amount gets true:
	// the sign that it needs its own key.
	Repeated bool
}

// cancelable reports whether o holds a payment with money left to refund.
func cancelable(o *orders.Order) bool {
	return (o.Status == orders.StatusDone || o.Status == orders.StatusPartialCanceled) &&
		o.Payment != nil && o.PaymentKey != "" && o.Payment.BalanceAmount > 0
}

// Cancel refunds amount (0: the whole balance) of orderID's payment at Toss
// and records Toss's answer on the order. callerKey is the caller's own
// Idempotency-Key, "" if none; CancelIdempotencyKey says what it changes.
//
// Before anything reaches Toss: ErrInvalidRequest (*InvalidCancelError),
// ErrOrderNotFound, ErrNotCancelable (*NotCancelableError), or
// *CancelAmountError when amount exceeds what is refundable: the recorded
// balance less the refunds in flight, which are reserved on the order
// before Toss is called (orders.Store.ReserveRefund), so concurrent
// refunds can never ask Toss for more than the balance. Toss's refusals
// (ALREADY_CANCELED_PAYMENT, NOT_CANCELABLE_AMOUNT, …) come back as the
// wrapped *toss.Error, after the reservation is released; after those that
// say our record is behind (a refund made in Toss's dashboard), the order
// is first brought up to date from Toss. When Toss's answer is lost,
// Toss's record of the payment decides; if it cannot, the error is
// ErrCancelUnknown (*CancelUnknownError), the reservation stays, and the
// same request again settles it, refunding at most once.
func (e *Engine) Cancel(ctx context.Context, orderID, reason string, amount int64, callerKey string) (*CancelResult, error) {
	if err := ValidateCancel(orderID, reason, amount, callerKey); err != nil {
		return nil, err
	}
	o, err := e.Orders.Get(ctx, orderID, e.now())
	switch {
	case errors.Is(err, orders.ErrNotFound):
		return nil, ErrOrderNotFound
	case err != nil:
		return nil, fmt.Errorf("payments: cancel: read order %s: %w", orderID, err)
	}
	return e.cancelOrder(ctx, o, reason, amount, callerKey)
}

// maxReserveAttempts bounds the reservation's retries. Each refusal that
// sends it round again is another request's successful write on the same
// order (a reservation, a settlement, a webhook), so a handful suffices
// for any burst one payment sees.
const maxReserveAttempts = 16

// refundClaim is the reservation a refund request acts under.
type refundClaim struct {
	key    string
	amount int64 // reserved: for a full refund, the balance it was asked on
	// fresh: this request's write created the reservation. Otherwise it
	// found it pending: a concurrent identical request's, or one left by
	// an attempt whose outcome was lost.
	fresh bool
}

// reserve holds the refund's amount back on the order before Toss is
// called, re-reading nothing: a refused reservation carries the order as
// it stood. It returns the order, and a nil claim with a result when the
// refund was settled earlier (a repeat, answered without calling Toss).
func (e *Engine) reserve(ctx context.Context, o *orders.Order, reason string, amount int64, key string) (*orders.Order, *refundClaim, *CancelResult, error) {
	for attempt := 1; ; attempt++ {
		if r, ok := o.Refunds[key]; ok {
			if !r.Pending() {
				// Settled earlier: the same refund again. Toss would replay
				// it for 15 days; after that it would run it again, which
				// this answer never risks.
				return o, nil, &CancelResult{Order: o, Repeated: true}, nil
			}
			return o, &refundClaim{key: key, amount: r.Amount}, nil, nil
		}
		if !cancelable(o) {
			return nil, nil, nil, &NotCancelableError{Order: o}
		}
		want := amount
		if amount == 0 {
			// A full refund holds the whole balance back, so it waits for
			// no refund in flight: Toss refunds whatever balance it holds.
			want = o.Payment.BalanceAmount
		}
		if want > o.Refundable() {
			return nil, nil, nil, &CancelAmountError{OrderID: o.ID, Amount: want, Balance: max(o.Refundable(), 0)}
		}
		updated, err := e.Orders.ReserveRefund(ctx, o.ID, orders.RefundReservation{
			Key: key, PaymentKey: o.PaymentKey, Balance: o.Payment.BalanceAmount, Amount: want, Reason: reason,
		}, e.now())
		if err == nil {
			return updated, &refundClaim{key: key, amount: want, fresh: true}, nil, nil
		}
		var ce *orders.ConflictError
		switch {
		case errors.As(err, &ce) && ce.Current != nil && attempt < maxReserveAttempts:
			o = ce.Current // decide again on the order as it stands
		case errors.Is(err, orders.ErrNotFound):
			return nil, nil, nil, ErrOrderNotFound
		default:
			return nil, nil, nil, fmt.Errorf("payments: cancel order %s: reserve the refund: %w", o.ID, err)
		}
	}
}

// cancelOrder refunds o as Cancel describes, from the order as just read.
func (e *Engine) cancelOrder(ctx context.Context, o *orders.Order, reason string, amount int64, callerKey string) (*CancelResult, error) {
	if o.PaymentKey == "" || o.Payment == nil {
		// Never paid: no key to derive, nothing to refund. A paid order
		// refunded in full goes on, for a repeat to be answered as one.
		return nil, &NotCancelableError{Order: o}
	}
	key := CancelIdempotencyKey(o.ID, o.PaymentKey, amount, callerKey)
	o, claim, done, err := e.reserve(ctx, o, reason, amount, key)
	switch {
	case err != nil:
		return nil, err
	case done != nil:
		e.log().InfoContext(ctx, "refund repeated: settled earlier", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "idempotencyKey", key)
		return done, nil
	}
	log := e.log().With("orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "amount", amount,
		"balance", o.Payment.BalanceAmount, "idempotencyKey", key, "ownReservation", claim.fresh)
	until := e.deadline(ctx, time.Now())
	tctx, cancel := e.tossContext(ctx, until)
	p, err := e.Toss.Cancel(tctx, o.PaymentKey, toss.CancelRequest{CancelReason: reason, CancelAmount: amount}, key)
	cancel()
	if err == nil {
		if err := e.samePayment(ctx, o, p); err != nil {
			return nil, err
		}
		res, err := e.settle(ctx, o, claim, p)
		if err != nil {
			return nil, &CancelUnknownError{OrderID: o.ID, Executed: true, Err: err}
		}
		if res.Repeated {
			log.WarnContext(ctx, "refund repeated: reported by another answer", "tossBalance", p.BalanceAmount)
		} else {
			log.InfoContext(ctx, "refund done", "tossBalance", p.BalanceAmount)
		}
		return res, nil
	}
	code := toss.CodeOf(err)
	if class := toss.Classify(err); class == toss.ClassUnknown || class == toss.ClassRetryable {
		log.WarnContext(ctx, "refund outcome unknown; querying Toss", "code", code, "class", class.String())
		return e.cancelFromLookup(ctx, o, claim, reason, amount, until, err)
	}
	log.InfoContext(ctx, "refund refused", "code", code)
	// Toss refused under this key, and answers every repeat of it the
	// same: the amount is not leaving, so it is refundable again.
	if cur, rerr := e.Orders.ReleaseRefund(ctx, o.ID, claim.key, claim.amount, e.now()); rerr == nil {
		o = cur
	} else if !errors.As(rerr, new(*orders.ConflictError)) {
		// Not released: the amount stays held back. The refusal is not
		// the caller's final answer then (a stored answer would keep the
		// same request from ever running again to release it): the
		// caller is told to retry, and the same request replays Toss's
		// refusal and releases; failing that, the reconciler's recheck
		// releases it from Toss's record.
		log.ErrorContext(ctx, "release refused refund", "error", rerr)
		return nil, fmt.Errorf("payments: cancel order %s: Toss refused the refund (%s) and releasing its reservation failed; retry: %w", o.ID, code, rerr)
	}
	if code == toss.CodeAlreadyCanceledPayment || code == toss.CodeNotCancelableAmount {
		// Toss knows of refunds we have not recorded (made in its dashboard,
		// their webhook not here yet): catch up, so the next request is
		// checked against the real balance.
		e.syncCancels(ctx, o, until)
	}
	return nil, fmt.Errorf("payments: cancel order %s: %w", o.ID, err)
}

// settle records Toss's payment p, the answer to the refund under claim,
// and settles the reservation in the same write. The request whose write
// settles it reports the refund (Repeated false), unless the reservation
// was its own and Toss's answer holds no cancel the order had not recorded:
// Toss replayed a refund made under the same key before reservations
// existed. Everyone else finds it settled and answers Repeated.
func (e *Engine) settle(ctx context.Context, o *orders.Order, claim *refundClaim, p *toss.Payment) (*CancelResult, error) {
	sum := Summary(p)
	// Each refusal is another request's write on the order (concurrent
	// refunds settle in whatever order Toss answered them, each moving
	// the balance this one must settle against), so the bound is the
	// reservation's: two tries lost to a third concurrent settlement, as
	// DynamoDB, applying concurrent writes for real, showed.
	for range maxReserveAttempts {
		updated, err := e.Orders.SettleRefund(ctx, o.ID, o.PaymentKey, claim.key, claim.amount, sum, e.now())
		if err == nil {
			return &CancelResult{Order: updated, Repeated: claim.fresh && len(newCancels(o, p)) == 0}, nil
		}
		var ce *orders.ConflictError
		if !errors.As(err, &ce) || ce.Current == nil {
			e.log().ErrorContext(ctx, "record refund", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "error", err)
			return nil, fmt.Errorf("payments: record refund on order %s: %w", o.ID, err)
		}
		cur := ce.Current
		r, ok := cur.Refunds[claim.key]
		switch {
		case ok && !r.Pending():
			// Settled by a concurrent identical request: the order is at
			// or past p.
			return &CancelResult{Order: cur, Repeated: true}, nil
		case !ok:
			// Released meanwhile: the reconciler's recheck found the
			// reservation stale and Toss showing nothing of it, and then
			// this request ran it at Toss (or, never from an honest Toss,
			// a refusal released it that this success contradicts). Toss's
			// answer is recorded as any cancel is; the request whose write
			// records it is the one that refunded something new.
			recorded, err := e.Orders.ApplyCancel(ctx, o.ID, o.PaymentKey, sum, e.now())
			switch {
			case err == nil:
				return &CancelResult{Order: recorded, Repeated: len(newCancels(o, p)) == 0}, nil
			case errors.As(err, &ce) && ce.Current != nil:
				return &CancelResult{Order: ce.Current, Repeated: true}, nil
			}
			return nil, fmt.Errorf("payments: record refund on order %s: %w", o.ID, err)
		case cur.Payment != nil && cur.Payment.BalanceAmount < sum.BalanceAmount && cur.PaymentKey == o.PaymentKey &&
			cur.Payment.TotalAmount == sum.TotalAmount && cur.Payment.BalanceAmount < cur.Payment.TotalAmount:
			// A later state of the payment is recorded already (a webhook
			// after another refund): settle against it, which moves
			// nothing back.
			sum = *cur.Payment
		default:
			return nil, fmt.Errorf("payments: record refund on order %s: %w", o.ID, err)
		}
	}
	return nil, fmt.Errorf("payments: record refund on order %s: the order kept changing", o.ID)
}

// newCancels are the cancels in Toss's payment p that the order o, as read
// before the refund, had not recorded.
func newCancels(o *orders.Order, p *toss.Payment) []toss.Cancel {
	known := make(map[string]bool, len(o.Payment.Cancels))
	for _, c := range o.Payment.Cancels {
		known[c.TransactionKey] = true
	}
	var out []toss.Cancel
	for _, c := range p.Cancels {
		if !known[c.TransactionKey] {
			out = append(out, c)
		}
	}
	return out
}

// samePayment refuses an answer about another payment than o's: never
// sent by an honest Toss (the key is derived from the order), and
// recording it could close the wrong order.
func (e *Engine) samePayment(ctx context.Context, o *orders.Order, p *toss.Payment) error {
	if p.OrderID == o.ID && p.PaymentKey == o.PaymentKey && p.TotalAmount == o.Payment.TotalAmount {
		return nil
	}
	e.log().ErrorContext(ctx, "Toss answered a refund with another payment", "orderId", o.ID,
		"tossOrderId", p.OrderID, "tossAmount", p.TotalAmount, "amount", o.Payment.TotalAmount)
	return fmt.Errorf("payments: cancel order %s: Toss answered about order %s (total %d)", o.ID, p.OrderID, p.TotalAmount)
}

// recordCancel writes Toss's payment p, the same payment as o's, on the order.
func (e *Engine) recordCancel(ctx context.Context, o *orders.Order, p *toss.Payment) (*orders.Order, error) {
	updated, err := e.Orders.ApplyCancel(ctx, o.ID, o.PaymentKey, Summary(p), e.now())
	if err == nil {
		return updated, nil
	}
	var ce *orders.ConflictError
	if errors.As(err, &ce) && ce.Current != nil {
		// Recorded already (a webhook, a concurrent request, or this answer
		// is a replay of a refund recorded earlier): the order is at or past
		// what Toss answered.
		return ce.Current, nil
	}
	e.log().ErrorContext(ctx, "record refund", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "error", err)
	return nil, fmt.Errorf("payments: record refund on order %s: %w", o.ID, err)
}

// cancelFromLookup settles a refund whose answer was lost from Toss's record
// of the payment. The refund counts as done when a cancel we had not
// recorded matches it (its amount and reason; for a full refund, a zero
// balance): then its reservation is settled. Other unrecorded cancels are
// recorded too, but settle nothing; the reservation stays until the same
// request is made again, and Toss's answer under its key settles it.
func (e *Engine) cancelFromLookup(ctx context.Context, o *orders.Order, claim *refundClaim, reason string, amount int64, until time.Time, cause error) (*CancelResult, error) {
	unknown := &CancelUnknownError{OrderID: o.ID, Err: cause}
	tctx, cancel := e.tossContext(ctx, until)
	p, err := e.Toss.Payment(tctx, o.PaymentKey)
	cancel()
	if err != nil {
		e.log().WarnContext(ctx, "refund left unknown: lookup failed", "orderId", o.ID, "lookupCode", toss.CodeOf(err))
		return nil, unknown
	}
	if err := e.samePayment(ctx, o, p); err != nil {
		return nil, unknown
	}
	if !movesForward(o, p) {
		// Nothing executed yet, or still executing, or a repeat of a refund
		// recorded earlier: the same key replays it or runs it, once.
		e.log().WarnContext(ctx, "refund left unknown: Toss shows no new cancel", "orderId", o.ID)
		return nil, unknown
	}
	if !ours(o, p, reason, amount) {
		if _, err := e.recordCancel(ctx, o, p); err != nil {
			unknown.Err = err
		}
		e.log().WarnContext(ctx, "refund left unknown: Toss shows other cancels only", "orderId", o.ID, "tossBalance", p.BalanceAmount)
		return nil, unknown
	}
	res, err := e.settle(ctx, o, claim, p)
	if err != nil {
		unknown.Executed, unknown.Err = true, err
		return nil, unknown
	}
	e.log().InfoContext(ctx, "refund settled from Toss's record", "orderId", o.ID, "tossBalance", p.BalanceAmount)
	return res, nil
}

// movesForward reports whether Toss's payment p holds cancels the paid order
// o has not recorded: the same payment, a lower balance.
func movesForward(o *orders.Order, p *toss.Payment) bool {
	return o.Payment != nil && p.PaymentKey == o.PaymentKey && p.TotalAmount == o.Payment.TotalAmount &&
		(p.Status == toss.StatusCanceled || p.Status == toss.StatusPartialCanceled) &&
		(p.BalanceAmount < o.Payment.BalanceAmount ||
			(o.Status == orders.StatusDone && p.BalanceAmount == o.Payment.BalanceAmount && p.BalanceAmount < p.TotalAmount))
}

// ours reports whether p holds a cancel, not recorded on o, that is the
// refund of amount with reason asked for.
func ours(o *orders.Order, p *toss.Payment, reason string, amount int64) bool {
	if amount == 0 {
		return p.BalanceAmount == 0 // a full refund's goal, by whoever
	}
	for _, c := range newCancels(o, p) {
		if c.CancelAmount == amount && c.CancelReason == reason {
			return true
		}
	}
	return false
}

// syncCancels records cancels Toss knows of and the order does not, on a
// best-effort basis: failures are logged, the caller's answer stands.
func (e *Engine) syncCancels(ctx context.Context, o *orders.Order, until time.Time) {
	tctx, cancel := e.tossContext(ctx, until)
	p, err := e.Toss.Payment(tctx, o.PaymentKey)
	cancel()
	if err != nil {
		e.log().WarnContext(ctx, "refresh refunds from Toss", "orderId", o.ID, "code", toss.CodeOf(err))
		return
	}
	if p.OrderID != o.ID || !movesForward(o, p) {
		return
	}
	if _, err := e.recordCancel(ctx, o, p); err != nil {
		e.log().WarnContext(ctx, "record refunds found at Toss", "orderId", o.ID, "error", err)
		return
	}
	e.log().InfoContext(ctx, "recorded refunds made outside this API", "orderId", o.ID, "tossBalance", p.BalanceAmount)
}

// CancelPayment refunds by paymentKey, as the merchant API addresses a
// payment: Toss says which order the payment belongs to, and the refund goes
// ahead only if that order is ours and holds this very paymentKey, so a
// paymentKey can never refund another order's payment.
func (e *Engine) CancelPayment(ctx context.Context, paymentKey, reason string, amount int64, callerKey string) (*CancelResult, error) {
	if err := validateRefund(reason, amount, callerKey); err != nil {
		return nil, err
	}
	if paymentKey == "" || len(paymentKey) > maxPaymentKeyLen {
		return nil, ErrOrderNotFound
	}
	until := e.deadline(ctx, time.Now())
	tctx, cancel := e.tossContext(ctx, until)
	p, err := e.Toss.Payment(tctx, paymentKey)
	cancel()
	switch {
	case toss.CodeOf(err) == toss.CodeNotFoundPayment:
		return nil, ErrOrderNotFound
	case err != nil:
		return nil, fmt.Errorf("payments: cancel: look up payment %s: %w", MaskKey(paymentKey), err)
	case !orders.ValidID(p.OrderID):
		return nil, ErrOrderNotFound
	}
	o, err := e.Orders.Get(ctx, p.OrderID, e.now())
	switch {
	case errors.Is(err, orders.ErrNotFound):
		return nil, ErrOrderNotFound
	case err != nil:
		return nil, fmt.Errorf("payments: cancel: read order %s: %w", p.OrderID, err)
	case o.PaymentKey != paymentKey && !o.Status.Paid() && approvedFor(o, p):
		// Toss approved this payment for the order, which has not recorded
		// it yet (another attempt holds its claim): record it first, so the
		// money Toss holds is refundable now, not after the next reconcile.
		settled, err := e.settleFromToss(ctx, o, p)
		var np *NotPayableError
		switch {
		case errors.Is(err, ErrOrderNotFound) || errors.As(err, &np):
			return nil, ErrOrderNotFound
		case err != nil:
			return nil, fmt.Errorf("payments: cancel: %w", err)
		}
		o = settled
	case o.PaymentKey != paymentKey:
		return nil, ErrOrderNotFound
	}
	return e.cancelOrder(ctx, o, reason, amount, callerKey)
}
