// Package payments is the exactly-once confirm engine: it turns a buyer's
// return from the payment window (paymentKey, orderId, amount) into at most
// one confirm at Toss, for the stored amount only, and makes sure a payment
// Toss approved always ends up recorded on its order.
//
// The design follows "atomic phases": every step that talks to Toss is
// bracketed by a durable recovery point in the orders table.
//
//  1. Claim (one conditional write): PENDING/FAILED → CONFIRMING with the
//     paymentKey and a claim that lapses with the invocation's deadline. The
//     condition also checks the amount and that the order is live, so a
//     tampered amount, a paid order or a duplicate request is refused by the
//     same write that would have claimed it, and the refusal carries the
//     stored order (ALL_OLD): no extra read.
//  2. Confirm at Toss with an Idempotency-Key derived from (orderId,
//     paymentKey): every retry, re-drive, refresh or other Lambda reuses it,
//     so Toss executes the confirm once whatever happens on our side.
//  3. Record the outcome (one conditional write): DONE with the payment
//     summary (TTL removed), or FAILED (payable again with another card), or
//     nothing at all when the outcome is unknown: the order stays CONFIRMING
//     and the reconciler settles it once the claim lapses.
//
// A crash anywhere leaves the order CONFIRMING under a lapsing claim, which
// the next request with the same paymentKey resumes, or Reconcile settles
// from Toss's record of the order.
//
// The orderId sent to Toss is the order's own ID. Toss accepts new payment
// attempts for an orderId until one of them is approved, so a buyer whose
// card was declined retries on the same order; only one attempt can ever be
// confirmed by this engine, because only one can hold the claim.
//
// Toss's record is the truth all the same: if Toss holds an approved
// payment for the order and amount under another attempt than the one
// holding the claim (a store that once applied two claims at once, an
// answer lost before a later attempt claimed), the order is recorded paid
// under Toss's paymentKey (orders.Store.SettleFromToss) as soon as a
// request for that attempt or a reconcile pass asks Toss about it, and the
// event is counted ("approved_other_attempt") and logged for an operator.
// Only Toss's own answers, fetched with the secret key, ever settle an
// order so; a caller's input only decides which paymentKey to ask about.
package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// Gateway is the part of the Toss client the engine uses (*toss.Client).
type Gateway interface {
	Confirm(ctx context.Context, req toss.ConfirmRequest, idempotencyKey string, opts ...toss.CallOption) (*toss.Payment, error)
	Payment(ctx context.Context, paymentKey string, opts ...toss.CallOption) (*toss.Payment, error)
	PaymentByOrderID(ctx context.Context, orderID string, opts ...toss.CallOption) (*toss.Payment, error)
	Cancel(ctx context.Context, paymentKey string, req toss.CancelRequest, idempotencyKey string, opts ...toss.CallOption) (*toss.Payment, error)
}

var _ Gateway = (*toss.Client)(nil)

// Outcome is how a confirm ended for the caller.
type Outcome string

const (
	// OutcomeDone: the payment is approved and recorded.
	OutcomeDone Outcome = "DONE"
	// OutcomeProcessing: the confirm is under way or its outcome is not yet
	// known; ask again (the order settles by itself).
	OutcomeProcessing Outcome = "PROCESSING"
	// OutcomeDeclined: Toss refused the payment; the order is payable again.
	OutcomeDeclined Outcome = "DECLINED"
)

// Result is what Confirm tells its caller.
type Result struct {
	Outcome Outcome
	Order   *orders.Order   // the order as last seen
	Failure *orders.Failure // set when Declined
}

// Errors Confirm returns before any call to Toss.
var (
	// ErrInvalidRequest: malformed paymentKey, orderId or amount.
	ErrInvalidRequest = errors.New("payments: invalid confirm request")
	// ErrOrderNotFound: no live order with this ID.
	ErrOrderNotFound = errors.New("payments: order not found")
	// ErrNotPayable: the order expired, was deleted, or was paid under another paymentKey.
	ErrNotPayable = errors.New("payments: order is not payable")
)

// AmountMismatchError: the amount from the redirect is not the stored amount.
// Nothing was sent to Toss.
type AmountMismatchError struct {
	OrderID  string
	Expected int64
	Got      int64
}

func (e *AmountMismatchError) Error() string {
	return fmt.Sprintf("payments: order %s: amount %d does not match the order's amount %d", e.OrderID, e.Got, e.Expected)
}

// ErrRateLimited: the caller's budget of Toss calls is spent: the order's
// (orders.AttemptLimit per orders.AttemptWindow, the anonymous one or the
// checkout token's), or the ceiling on calls by callers without a token
// across all orders (Engine.Ceiling); nothing was sent to Toss. Ask again
// after RateLimitedError.RetryAfter.
var ErrRateLimited = errors.New("payments: too many payment attempts for this order")

// RateLimitedError says when the caller's next Toss call is admitted. It
// matches ErrRateLimited with errors.Is.
type RateLimitedError struct {
	OrderID    string
	RetryAfter time.Duration // positive
	// Ceiling: refused by the ceiling across all orders, not the order's
	// own budget.
	Ceiling bool
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("payments: order %s: too many payment attempts; retry in %s", e.OrderID, e.RetryAfter)
}

func (e *RateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// rateLimited is the error for an order whose budget b is spent at now,
// or nil if it is not: the refused write's ALL_OLD is all it needs.
func rateLimited(o *orders.Order, b orders.Budget, now time.Time) error {
	at, full := o.FullUntil(b, now)
	if !full {
		return nil
	}
	return &RateLimitedError{OrderID: o.ID, RetryAfter: max(at.Sub(now), time.Millisecond)}
}

// budgetOf is the order's budget a caller presenting token ("" for none) draws on.
func budgetOf(token string) orders.Budget {
	if token != "" {
		return orders.TokenHolder
	}
	return orders.Anonymous
}

// Ceiling bounds the Toss calls callers without a checkout token cause
// across all orders (*ratelimit.Ceiling): Admit answers 0 to admit a call,
// else how long until calls are admitted again; an error when the count
// cannot be kept.
type Ceiling interface {
	Admit(ctx context.Context, now time.Time) (time.Duration, error)
}

// admitAnonymous counts one Toss call of a caller without a token against
// the ceiling, once the order's own budget admitted it (so that a caller
// naming one order cannot spend the ceiling all orders share).
//
// A count that cannot be kept (the limits table failing) admits the call,
// logged and counted: the order's budget, checked in the order's own
// write, still bounds every call, and the ceiling is the backstop above
// it, not a reason to turn a storage fault into a payment outage (with
// DynamoDB down after a claim, the confirm goes on to Toss and its answer
// is recorded later, as ever).
func (e *Engine) admitAnonymous(ctx context.Context, orderID string, now time.Time) error {
	if e.Ceiling == nil {
		return nil
	}
	wait, err := e.Ceiling.Admit(ctx, now)
	switch {
	case err != nil:
		e.count("ceiling_unavailable")
		e.log().ErrorContext(ctx, "the ceiling on Toss calls could not be counted; the order's own budget bounds this call", "orderId", orderID, "error", err)
	case wait > 0:
		e.count("over_ceiling")
		e.log().WarnContext(ctx, "Toss call refused: the ceiling on calls by callers without a checkout token is reached", "orderId", orderID, "retryAfter", wait)
		return &RateLimitedError{OrderID: orderID, RetryAfter: wait, Ceiling: true}
	}
	return nil
}

// NotPayableError carries the order that refused the payment.
type NotPayableError struct {
	Order *orders.Order
}

func (e *NotPayableError) Error() string {
	return fmt.Sprintf("payments: order %s is %s", e.Order.ID, e.Order.Status)
}

func (e *NotPayableError) Is(target error) bool { return target == ErrNotPayable }

// ErrTossConfiguration: Toss refused the confirm for the merchant's
// configuration (its keys, MID or contract), not for the buyer's card.
var ErrTossConfiguration = errors.New("payments: Toss refuses the merchant's configuration")

// ConfigurationError is a confirm Toss refused for the merchant's
// configuration. Toss executed nothing, so nothing was charged; the order
// is left as it was before the attempt (payable, no failure recorded, no
// event), and every buyer meets the same until an operator acts (README,
// runbook). It matches ErrTossConfiguration with errors.Is.
type ConfigurationError struct {
	OrderID string
	Code    string // Toss's code
	// Suspected: Toss's code names no configuration, but a window the
	// checkout page opened issued a paymentKey that our secret key cannot
	// see (keys of two MIDs; see Engine.attemptUnseen).
	Suspected bool
	Err       error // Toss's answer, paymentKeys masked
}

func (e *ConfigurationError) Error() string {
	return fmt.Sprintf("payments: confirm order %s: Toss refuses the merchant's configuration (%s): %v", e.OrderID, e.Code, e.Err)
}

func (e *ConfigurationError) Unwrap() error { return e.Err }

func (e *ConfigurationError) Is(target error) bool { return target == ErrTossConfiguration }

// Failure codes this engine records on orders (Toss's codes are recorded as they come).
const (
	CodeAmountMismatch     = "AMOUNT_MISMATCH"
	CodePaymentMismatch    = "PAYMENT_MISMATCH"
	CodeConfirmWindowShut  = "NOT_FOUND_PAYMENT_SESSION"
	CodeApprovedElsewhere  = "APPROVED_UNDER_OTHER_PAYMENT_KEY"
	maxPaymentKeyLen       = 200
	defaultClaim           = 30 * time.Second
	defaultFinalWrite      = 2 * time.Second
	defaultSessionWindow   = 10 * time.Minute
	defaultReconcileBatch  = 50
	minimumTossCallTimeout = 500 * time.Millisecond
)

// Engine confirms payments exactly once. The zero value is not usable; fill
// Orders and Toss.
type Engine struct {
	Orders orders.Store
	Toss   Gateway
	// Ceiling, if set, bounds the Toss calls callers without an order's
	// checkout token cause across all orders (confirms, lookups,
	// webhooks); beyond it they are refused with *RateLimitedError. The
	// reconciler's and the merchant's own calls never count.
	Ceiling Ceiling
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives one line per decision; nil discards.
	Logger *slog.Logger
	// Metrics receives confirm outcomes; nil discards.
	Metrics Metrics
	// ClaimDuration is how long a claim lasts when ctx has no deadline.
	ClaimDuration time.Duration
	// FinalWriteReserve is kept back from the deadline for recording Toss's answer.
	FinalWriteReserve time.Duration
	// SessionWindow is Toss's confirm window after authentication (10 minutes).
	SessionWindow time.Duration
}

// Metrics is told how each confirm ended.
type Metrics interface {
	ConfirmOutcome(outcome string)
	// TossConfigurationError counts a configuration outage the engine
	// concluded from a code that names none (ConfigurationError.Suspected).
	// The Toss client counts the answers whose code names one itself
	// (toss.Options.Metrics), on every call, so they are not counted here.
	TossConfigurationError(code string)
}

// IdempotencyKey is the Idempotency-Key sent to Toss for confirming
// paymentKey on orderID: the same for every retry, re-drive and Lambda.
func IdempotencyKey(orderID, paymentKey string) string {
	h := sha256.New()
	h.Write([]byte("confirm\x00"))
	h.Write([]byte(orderID))
	h.Write([]byte{0})
	h.Write([]byte(paymentKey))
	return "confirm-" + hex.EncodeToString(h.Sum(nil))
}

func (e *Engine) now() time.Time {
	if e.Clock != nil {
		return e.Clock()
	}
	return time.Now()
}

func (e *Engine) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (e *Engine) count(outcome string) {
	if e.Metrics != nil {
		e.Metrics.ConfirmOutcome(outcome)
	}
}

// deadline is when work for ctx must end: its deadline, else ClaimDuration
// after from.
func (e *Engine) deadline(ctx context.Context, from time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return from.Add(orDefault(e.ClaimDuration, defaultClaim))
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ValidateConfirm checks the shape of a confirm request: Toss's own limits.
func ValidateConfirm(paymentKey, orderID string, amount int64) error {
	switch {
	case paymentKey == "" || len(paymentKey) > maxPaymentKeyLen:
		return fmt.Errorf("%w: paymentKey must be 1 to %d characters", ErrInvalidRequest, maxPaymentKeyLen)
	case !orders.ValidID(orderID):
		return fmt.Errorf("%w: orderId must be 6 to 64 of A-Z a-z 0-9 - _", ErrInvalidRequest)
	case amount <= 0:
		return fmt.Errorf("%w: amount must be a positive integer", ErrInvalidRequest)
	}
	return nil
}

// Confirm confirms paymentKey for orderID if amount is the order's amount,
// on behalf of a caller without the order's checkout token (anyone who
// knows the orderId; the reconciler's re-drives too). It returns a Result
// (Done, Processing or Declined) or an error: ErrInvalidRequest,
// ErrOrderNotFound, *AmountMismatchError, ErrNotPayable,
// *RateLimitedError (the order's anonymous budget of Toss calls, or the
// ceiling across all orders, is spent: a new paymentKey, or a lookup of an
// attempt the order will not take, waits; a refresh of this paymentKey's
// own attempt never does), a storage error (nothing was sent to Toss
// unless the claim succeeded, in which case the order stays CONFIRMING
// and settles later), or, after the claim, an error wrapping
// toss.ErrSecretKey or Toss's UNAUTHORIZED_KEY (our keys failed: Toss
// executed nothing; the order stays CONFIRMING too).
//
// An attempt Toss reports it never issued (NOT_FOUND_PAYMENT_SESSION, or
// NOT_FOUND_PAYMENT) is Declined to the caller but leaves the order as it
// was before the claim (orders.Store.Release): a made-up paymentKey is no
// fact about the order, so it records no failure and makes no event.
func (e *Engine) Confirm(ctx context.Context, paymentKey, orderID string, amount int64) (*Result, error) {
	return e.confirm(ctx, "", paymentKey, orderID, amount)
}

// ConfirmWithToken is Confirm for a caller presenting checkoutToken, the
// capability the order's checkout URL carries (orders.Order.CheckoutToken):
// its Toss calls draw on the order's own budget, which callers without the
// token cannot spend, and never on the ceiling across orders. A token that
// is not the order's is ignored: the caller is confirmed as one without it.
func (e *Engine) ConfirmWithToken(ctx context.Context, checkoutToken, paymentKey, orderID string, amount int64) (*Result, error) {
	return e.confirm(ctx, checkoutToken, paymentKey, orderID, amount)
}

func (e *Engine) confirm(ctx context.Context, token, paymentKey, orderID string, amount int64) (*Result, error) {
	if err := ValidateConfirm(paymentKey, orderID, amount); err != nil {
		return nil, err
	}
	now := e.now()
	until := e.deadline(ctx, now)
	claim := orders.Claim{OrderID: orderID, PaymentKey: paymentKey, Amount: amount, Now: now, Until: until, Token: token}
	o, err := e.Orders.Claim(ctx, claim)
	var ce *orders.ConflictError
	if token != "" && errors.As(err, &ce) && ce.Current != nil && !ce.Current.TokenMatches(token) {
		// Not the order's token (a damaged link, a guess, an order made
		// before tokens): the caller is one without a token. Nothing of it
		// is logged: a near miss of a secret is a secret too.
		e.count("token_refused")
		e.log().WarnContext(ctx, "checkout token is not the order's; confirming as a caller without one", "orderId", orderID)
		token, claim.Token = "", ""
		o, err = e.Orders.Claim(ctx, claim)
	}
	if err != nil {
		return e.refused(ctx, err, token, paymentKey, orderID, amount, now)
	}
	e.log().InfoContext(ctx, "confirm claimed", "orderId", orderID, "paymentKey", MaskKey(paymentKey), "version", o.Version, "budget", budgetOf(token).String())
	fresh := o.ClaimedAt.UnixMilli() == now.UnixMilli()
	if token == "" && fresh {
		// A fresh claim of a caller without the token: its Toss call
		// counts against the ceiling across orders. (A resume repeats a
		// call already counted; and what it resumes may have executed at
		// Toss, so it is never released.)
		if err := e.admitAnonymous(ctx, orderID, now); err != nil {
			e.release(ctx, o)
			return nil, err
		}
	}
	// A claim taken with a token is a token the order's own write
	// accepted (orders.Claim): the caller came through the checkout page.
	return e.confirmClaimed(ctx, o, until, claimed{fromCheckout: claim.Token != "", fresh: fresh})
}

// claimed is what confirmClaimed knows of how its claim was taken.
type claimed struct {
	// fromCheckout: the caller presented the order's checkout token.
	fromCheckout bool
	// fresh: taken by this request, not resumed; no confirm was sent
	// under it before.
	fresh bool
}

// release gives up a fresh claim nothing was sent to Toss under. If it
// cannot, the claim lapses at its deadline and a resume or the reconciler
// settles it from Toss's record, as after any invocation that died.
func (e *Engine) release(ctx context.Context, o *orders.Order) {
	if _, err := e.Orders.Release(context.WithoutCancel(ctx), o.ID, o.PaymentKey, e.now()); err != nil {
		e.log().WarnContext(ctx, "release a claim nothing was sent to Toss under", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "error", err)
	}
}

// refused turns a refused claim into the caller's answer, with no further
// write except recording a tampered amount.
func (e *Engine) refused(ctx context.Context, err error, token, paymentKey, orderID string, amount int64, now time.Time) (*Result, error) {
	if errors.Is(err, orders.ErrNotFound) {
		e.count("not_found")
		return nil, ErrOrderNotFound
	}
	var ce *orders.ConflictError
	if !errors.As(err, &ce) || ce.Current == nil {
		return nil, fmt.Errorf("payments: claim order %s: %w", orderID, err)
	}
	cur := ce.Current
	switch {
	case cur.Amount != amount:
		e.count("amount_mismatch")
		e.log().WarnContext(ctx, "confirm refused: amount mismatch", "orderId", orderID, "paymentKey", MaskKey(paymentKey), "expected", cur.Amount, "got", amount)
		// Recorded only on an order with no failure yet: anyone can send a
		// wrong amount, and their word must not replace a failure Toss
		// reported (nor cost a write per request). The store holds the
		// same condition, so a decline recorded between the claim and
		// this write is kept (the simulator's seed 376653: the declined
		// attempt's repeat was answered AMOUNT_MISMATCH).
		if cur.Status.Payable() && cur.LastFailure == nil {
			f := orders.Failure{Code: CodeAmountMismatch, Message: "amount does not match the order", PaymentKey: paymentKey, Amount: amount, At: now}
			if _, rerr := e.Orders.RecordFailure(ctx, orderID, f, now); rerr != nil {
				e.log().WarnContext(ctx, "record amount mismatch", "orderId", orderID, "error", rerr)
			}
		}
		return nil, &AmountMismatchError{OrderID: orderID, Expected: cur.Amount, Got: amount}
	case cur.Status.Paid() && cur.PaymentKey == paymentKey:
		e.count("already_done")
		return &Result{Outcome: OutcomeDone, Order: cur}, nil
	case cur.Status.Paid():
		e.count("paid_other_key")
		return nil, &NotPayableError{Order: cur}
	case cur.Status == orders.StatusConfirming && cur.PaymentKey == paymentKey:
		// Our own confirm is under way (live claim): it answers.
		e.count("in_progress")
		return &Result{Outcome: OutcomeProcessing, Order: cur}, nil
	case cur.Status == orders.StatusFailed && cur.PaymentKey == paymentKey && cur.LastFailure != nil:
		// A refresh of a declined attempt: Toss would only replay its refusal.
		e.count("declined_again")
		return &Result{Outcome: OutcomeDeclined, Order: cur, Failure: cur.LastFailure}, nil
	}
	// The order is unpaid but will not take this attempt: another attempt
	// holds its claim, or its pay window closed. This attempt can still
	// have been approved at Toss (it held the claim once and its answer was
	// lost; two claims once landed together), and then Toss's record wins:
	// otherwise this buyer would wait on "processing" for a claim that can
	// never confirm, with the money taken. Asking Toss spends the order's
	// budget of Toss calls: once it is spent, the caller waits for it, as a
	// new paymentKey would (the claim may have been refused for that alone).
	// Each caller waits on its own budget: the token's, or the anonymous one.
	if err := rateLimited(cur, budgetOf(token), now); err != nil {
		e.count("rate_limited")
		e.log().WarnContext(ctx, "confirm refused: too many attempts", "orderId", orderID, "paymentKey", MaskKey(paymentKey), "status", cur.Status, "budget", budgetOf(token).String())
		return nil, err
	}
	p, err := e.approvedAttempt(ctx, cur, token, paymentKey, now, e.deadline(ctx, now))
	if err != nil {
		return nil, err
	}
	if p != nil {
		settled, err := e.settleFromToss(ctx, cur, p)
		if err != nil {
			return nil, err
		}
		return answerFor(settled, paymentKey)
	}
	if cur.Status == orders.StatusConfirming {
		e.count("in_progress")
		return &Result{Outcome: OutcomeProcessing, Order: cur}, nil
	}
	e.count("not_payable")
	return nil, &NotPayableError{Order: cur}
}

// paymentKeyPattern is the shape of a paymentKey worth asking Toss about
// on a caller's word: Toss's keys are letters, digits, '_' and '-', at most
// maxPaymentKeyLen of them (checked apart: a counted repetition would
// compile into 200 copies of the class, half a millisecond of every cold
// start). Anything else is not a Toss payment, and is not sent.
var paymentKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// approvedAttempt asks Toss whether paymentKey, an attempt on o that o will
// not take, was approved for o. It is the one Toss call a caller can cause
// without claiming the order, so it is kept to one place, made only for an
// unpaid order and a well-formed paymentKey, and only once the caller's
// budget of Toss calls admits it (orders.Store.AdmitLookup, or
// AdmitTokenLookup for a caller presenting the checkout token: one write,
// on this path only; then, without a token, the ceiling across orders).
// It returns Toss's payment only when Toss approved it for o's orderId and
// amount; nil otherwise, whatever went wrong at Toss (logged). Its errors
// are the budget's: *RateLimitedError, ErrOrderNotFound, or a storage
// error (then Toss is not asked).
func (e *Engine) approvedAttempt(ctx context.Context, o *orders.Order, token, paymentKey string, now, until time.Time) (*toss.Payment, error) {
	if o.Status.Paid() || !wellFormedKey(paymentKey) {
		return nil, nil
	}
	var err error
	if token != "" {
		_, err = e.Orders.AdmitTokenLookup(ctx, o.ID, token, now)
	} else {
		_, err = e.Orders.AdmitLookup(ctx, o.ID, "", now)
	}
	if err != nil {
		var ce *orders.ConflictError
		switch {
		case errors.Is(err, orders.ErrNotFound):
			return nil, ErrOrderNotFound
		case errors.As(err, &ce) && ce.Current != nil && rateLimited(ce.Current, budgetOf(token), now) != nil:
			e.count("rate_limited")
			return nil, rateLimited(ce.Current, budgetOf(token), now)
		case errors.As(err, &ce):
			// The order changed under the lookup (and with it the token
			// matched, as the claim's refusal showed): nothing to ask.
			return nil, nil
		}
		return nil, fmt.Errorf("payments: admit a lookup for order %s: %w", o.ID, err)
	}
	if token == "" {
		if err := e.admitAnonymous(ctx, o.ID, now); err != nil {
			return nil, err
		}
	}
	tctx, cancel := e.tossContext(ctx, until)
	p, err := e.Toss.Payment(tctx, paymentKey)
	cancel()
	switch {
	case err != nil:
		if code := toss.CodeOf(err); code != toss.CodeNotFoundPayment {
			e.log().WarnContext(ctx, "look up an attempt the order did not take", "orderId", o.ID, "paymentKey", MaskKey(paymentKey), "code", code)
		}
		return nil, nil
	case p.PaymentKey != paymentKey || !approvedFor(o, p):
		return nil, nil
	}
	return p, nil
}

// wellFormedKey reports whether paymentKey has the shape of Toss's keys,
// the only ones worth sending to Toss (or naming in a request path) on a
// caller's word.
func wellFormedKey(paymentKey string) bool {
	return len(paymentKey) <= maxPaymentKeyLen && paymentKeyPattern.MatchString(paymentKey)
}

// redactKey returns err with paymentKey masked in its message, still
// matching err with errors.Is and errors.As, because such errors end up in
// log lines: the Toss client masks the key in the paths it names, but an
// answer about another payment than asked (toss.ErrResponseMismatch)
// quotes both keys, the one asked and the one Toss answered with, so its
// message is replaced whole. Keys too short to be Toss's are not searched
// for: masking them would mangle the message and protect nothing.
func redactKey(err error, paymentKey string) error {
	if err == nil {
		return err
	}
	msg := err.Error()
	if errors.Is(err, toss.ErrResponseMismatch) {
		msg = "toss: " + toss.ErrResponseMismatch.Error() + " (paymentKeys withheld)"
		if te := (*toss.Error)(nil); errors.As(err, &te) {
			msg = fmt.Sprintf("toss: %s %s: %d: %s (paymentKeys withheld)", te.Method, te.Path, te.Status, toss.ErrResponseMismatch)
		}
	}
	if len(paymentKey) >= minRedactedKeyLen {
		for _, form := range []string{paymentKey, url.PathEscape(paymentKey), url.QueryEscape(paymentKey)} {
			msg = strings.ReplaceAll(msg, form, MaskKey(paymentKey))
		}
	}
	return &redactedError{err: err, msg: msg}
}

const minRedactedKeyLen = 6

type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// approvedFor reports whether Toss's payment p is an approval of o: its
// orderId and amount, approved (and perhaps refunded since).
func approvedFor(o *orders.Order, p *toss.Payment) bool {
	return p.OrderID == o.ID && p.TotalAmount == o.Amount && isApproved(p.Status)
}

// settleFromToss records o as paid under p, Toss's approved payment for it,
// whichever attempt holds o's claim (see the package comment), then any
// refunds p already carries. p must come from Toss (a confirm answer or a
// lookup made with our secret key), never from a caller. It returns the
// order as it stands, paid under p.PaymentKey; *NotPayableError if the
// order was paid under another paymentKey (Toss approved two attempts of
// one order: logged for an operator); ErrOrderNotFound if the order is
// gone; or a storage error, after which the next request or pass retries.
func (e *Engine) settleFromToss(ctx context.Context, o *orders.Order, p *toss.Payment) (*orders.Order, error) {
	log := e.log().With("orderId", o.ID, "paymentKey", MaskKey(p.PaymentKey), "claimPaymentKey", MaskKey(o.PaymentKey), "status", o.Status)
	// Every caller comes here because Toss approved an attempt the order's
	// claim does not hold: the engine's one-claim rule was bypassed once
	// (see the package comment), which an operator should hear of even
	// though the order settles.
	if p.PaymentKey == o.PaymentKey {
		// The order's own attempt, approved at Toss while the order reads
		// unpaid without a claim on it (FAILED or EXPIRED): Toss decided
		// after we stopped waiting, and its record wins.
		e.count("approved_unrecorded")
		log.WarnContext(ctx, "approved at Toss under the order's own attempt, which the order does not record; settling under Toss's record")
	} else {
		e.count("approved_other_attempt")
		log.WarnContext(ctx, "approved at Toss under an attempt the order does not hold; settling under Toss's record")
	}
	if !approvedFor(o, p) {
		e.count("payment_mismatch")
		log.ErrorContext(ctx, "Toss payment does not match the order; not recorded",
			"tossOrderId", p.OrderID, "tossAmount", p.TotalAmount, "amount", o.Amount, "tossStatus", p.Status)
		return nil, fmt.Errorf("payments: order %s: Toss payment %s is not an approval of this order", o.ID, MaskKey(p.PaymentKey))
	}
	updated, err := e.Orders.SettleFromToss(ctx, o.ID, p.PaymentKey, Summary(p), e.now())
	var ce *orders.ConflictError
	switch {
	case err == nil:
		e.count("done")
		log.InfoContext(ctx, "order recorded paid from Toss's record", "amount", o.Amount, "tossStatus", p.Status)
	case errors.As(err, &ce) && ce.Current != nil && ce.Current.Status.Paid() && ce.Current.PaymentKey == p.PaymentKey:
		updated = ce.Current // settled first by a concurrent request, reconciler or webhook
	case errors.As(err, &ce) && ce.Current != nil && ce.Current.Status.Paid():
		e.count("approved_twice")
		log.ErrorContext(ctx, "Toss approved two attempts of one order; the other is recorded, this one needs a refund",
			"recordedPaymentKey", MaskKey(ce.Current.PaymentKey))
		return nil, &NotPayableError{Order: ce.Current}
	case errors.Is(err, orders.ErrNotFound):
		e.count("approved_order_gone")
		log.ErrorContext(ctx, "Toss approved a payment for an order that is gone; needs a refund")
		return nil, ErrOrderNotFound
	default:
		e.count("record_failed")
		log.ErrorContext(ctx, "record payment approved at Toss", "error", err)
		return nil, fmt.Errorf("payments: record order %s paid under %s: %w", o.ID, MaskKey(p.PaymentKey), err)
	}
	if refunded, err := e.recordRefundsSince(ctx, updated, p); err == nil {
		updated = refunded
	} else {
		log.WarnContext(ctx, "record refunds found at settlement", "error", err)
	}
	return updated, nil
}

// answerFor is the answer to a caller about attempt paymentKey once the
// order stands as o: an order paid under another attempt is not payable
// by this one (its card was not charged), whatever else it is.
func answerFor(o *orders.Order, paymentKey string) (*Result, error) {
	if o.Status.Paid() && o.PaymentKey != paymentKey {
		return nil, &NotPayableError{Order: o}
	}
	return resultOf(o), nil
}

// confirmClaimed calls Toss for a claimed order and records the outcome.
func (e *Engine) confirmClaimed(ctx context.Context, o *orders.Order, until time.Time, how claimed) (*Result, error) {
	tctx, cancel := e.tossContext(ctx, until)
	defer cancel()
	req := toss.ConfirmRequest{PaymentKey: o.PaymentKey, OrderID: o.ID, Amount: o.Amount}
	p, err := e.Toss.Confirm(tctx, req, IdempotencyKey(o.ID, o.PaymentKey))
	if err == nil {
		return e.settleApproved(ctx, o, p)
	}
	code := toss.CodeOf(err)
	if errors.Is(err, toss.ErrSecretKey) {
		// Our own outage, not the buyer's card: the keys could not be
		// loaded (Secrets Manager failing). Nothing was sent, or Toss
		// refused a key the secret could not be reloaded after: either way
		// Toss executed nothing, so this is no decline. The order stays
		// CONFIRMING under its lapsing claim, and the buyer's next request
		// or the reconciler confirms it once the keys load again.
		e.count("keys_unavailable")
		e.log().ErrorContext(ctx, "confirm not sent: Toss secret key unavailable", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "code", code)
		return nil, fmt.Errorf("payments: confirm order %s: %w", o.ID, redactKey(err, o.PaymentKey))
	}
	if toss.IsConfiguration(err) {
		return e.configuration(ctx, o, code, false, how.fresh, err)
	}
	if how.fromCheckout && toss.CauseOf(err) == toss.CauseAttemptRefused {
		if res, settled, err := e.attemptUnseen(ctx, o, until, code, how.fresh, err); settled || err != nil {
			return res, err
		}
	}
	class := toss.Classify(err)
	if code == toss.CodeAlreadyProcessedPayment || class == toss.ClassUnknown || class == toss.ClassRetryable {
		// Query before concluding: the confirm may have been executed.
		e.log().WarnContext(ctx, "confirm outcome unknown; querying Toss", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "code", code, "class", class.String())
		return e.settleFromLookup(ctx, o, until, code)
	}
	var te *toss.Error
	msg := "payment failed"
	if errors.As(err, &te) {
		msg = te.Message
	}
	f := orders.Failure{Code: code, Message: msg, PaymentKey: o.PaymentKey, Amount: o.Amount, At: e.now()}
	if f.Code == "" {
		f.Code = "CONFIRM_FAILED"
	}
	if NeverIssued(f.Code) {
		return e.neverIssued(ctx, o, f)
	}
	return e.fail(ctx, o, f)
}

// attemptUnseen decides an attempt Toss refused to confirm for a caller
// who came through the checkout page (NOT_FOUND_PAYMENT_SESSION or
// FORBIDDEN_REQUEST, toss.CauseAttemptRefused). Toss gives those codes to
// a made-up or expired attempt and to another order's, and also when the
// secret key belongs to another MID than the client key that opened the
// window (seed 002: the international window has a MID of its own). The
// checkout page's buyer holds a paymentKey the window issued, so one
// lookup with our secret key tells the two apart: Toss showing no such
// payment (or refusing to show it) means our key cannot see what our
// client key made, a configuration outage (settled, with
// *ConfigurationError). Toss showing it means the keys work: the session
// expired or the attempt is another order's, and the caller goes on as
// for anyone else (settled false); an approval of it for this order is
// recorded. Anyone without the token is never looked up: a made-up key
// costs Toss one call, as before, and cannot trip the alarm.
func (e *Engine) attemptUnseen(ctx context.Context, o *orders.Order, until time.Time, code string, fresh bool, refusal error) (*Result, bool, error) {
	tctx, cancel := e.tossContext(ctx, until)
	p, err := e.Toss.Payment(tctx, o.PaymentKey)
	cancel()
	switch {
	case err == nil && p.PaymentKey == o.PaymentKey && approvedFor(o, p):
		res, err := e.settleApproved(ctx, o, p)
		return res, true, err
	case err == nil:
		e.log().InfoContext(ctx, "confirm refused; Toss shows the attempt, so the keys work", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey),
			"code", code, "tossStatus", p.Status, "sameOrder", p.OrderID == o.ID)
		return nil, false, nil
	case toss.CodeOf(err) == toss.CodeNotFoundPayment, toss.CauseOf(err) == toss.CauseAttemptRefused, toss.IsConfiguration(err):
		res, err := e.configuration(ctx, o, code, true, fresh, refusal)
		return res, true, err
	}
	// Toss could not say (a timeout, a 5xx): the answer is the one
	// anyone gets, as before this lookup existed.
	e.log().WarnContext(ctx, "confirm refused; Toss could not say whether it knows the attempt", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey),
		"code", code, "lookupCode", toss.CodeOf(err))
	return nil, false, nil
}

// configuration answers a confirm Toss refused for the merchant's
// configuration: the claim is given back (Release), so the order is as it
// was before the attempt, payable and with no failure recorded (and so no
// event), and the caller gets *ConfigurationError: payments are
// unavailable, nothing was charged. Releasing is safe because Toss ran
// nothing. The claim is not kept for the reconciler to re-drive, as it is
// when Secrets Manager fails: the buyer has been told nothing was
// charged, and a configuration error lasts until someone fixes it. Once
// it is fixed, the buyer's own retry pays: the same success URL within
// Toss's 10 minutes if the fix changed the secret key (Toss scopes its
// Idempotency-Keys by API key, and answers refused for the key itself
// are not kept under them), else a new window from the checkout page,
// which the buyer's page links to.
//
// Only a fresh claim is given back. A resumed one had a confirm sent
// under it whose outcome was never known (that is why it lapsed), and
// Toss refusing our key now says nothing about that one: the order stays
// CONFIRMING, the reconciler settles it from Toss's record once the
// configuration works, and the caller hears a plain outage (a wrapped
// Toss error), never that nothing was charged.
func (e *Engine) configuration(ctx context.Context, o *orders.Order, code string, suspected, fresh bool, refusal error) (*Result, error) {
	e.count("configuration")
	if suspected && e.Metrics != nil {
		e.Metrics.TossConfigurationError(code)
	}
	e.log().ErrorContext(ctx, "confirm refused for the merchant's Toss configuration (keys, MID or contract) (README, runbook)",
		"orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "code", code, "suspected", suspected, "resumed", !fresh)
	if !fresh {
		return nil, fmt.Errorf("payments: confirm order %s: a resumed claim stays for the reconciler: %w", o.ID, redactKey(refusal, o.PaymentKey))
	}
	cerr := &ConfigurationError{OrderID: o.ID, Code: code, Suspected: suspected, Err: redactKey(refusal, o.PaymentKey)}
	_, err := e.Orders.Release(context.WithoutCancel(ctx), o.ID, o.PaymentKey, e.now())
	var ce *orders.ConflictError
	switch {
	case err == nil:
	case errors.As(err, &ce) && ce.Current != nil && ce.Current.Status == orders.StatusConfirming && ce.Current.PaymentKey == o.PaymentKey:
		// A claim from before the store remembered what it was taken
		// from cannot be released; it lapses, and the reconciler asks
		// Toss again. It is never failed: the buyer is not to blame.
		e.log().WarnContext(ctx, "a claim from before releases were possible stays until it lapses", "orderId", o.ID)
	case errors.As(err, &ce) && ce.Current != nil && ce.Current.Status.Paid():
		// Settled meanwhile from Toss's record (another attempt, a webhook).
		return answerFor(ce.Current, o.PaymentKey)
	default:
		// The claim lapses at its deadline; a resume or the reconciler
		// asks Toss again, which refuses again until the fix.
		e.log().ErrorContext(ctx, "release a claim Toss refused for our configuration", "orderId", o.ID, "error", err)
	}
	return nil, cerr
}

// NeverIssued reports whether a confirm refused with code is an attempt
// Toss says it never issued (or no longer has): a paymentKey made up by
// anyone who knows the orderId, or a session past Toss's 10-minute window.
// Either way Toss executed nothing and never will, so it tells nothing
// about the order: the order is left as it was, and no event is made.
func NeverIssued(code string) bool {
	return code == toss.CodeNotFoundPaymentSession || code == toss.CodeNotFoundPayment
}

// neverIssued answers a confirm of an attempt Toss never issued: declined
// to its caller (the page offers another try, as for a decline), while
// the order goes back to what it was before the claim (Release), with no
// failure recorded and so no event. A claim taken before the store could
// release it is failed as before; the order events leave its code out.
func (e *Engine) neverIssued(ctx context.Context, o *orders.Order, f orders.Failure) (*Result, error) {
	e.count("never_issued")
	e.log().InfoContext(ctx, "confirm refused: Toss never issued the attempt", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "code", f.Code)
	released, err := e.Orders.Release(ctx, o.ID, o.PaymentKey, e.now())
	var ce *orders.ConflictError
	switch {
	case err == nil:
		return &Result{Outcome: OutcomeDeclined, Order: released, Failure: &f}, nil
	case errors.As(err, &ce) && ce.Current != nil && ce.Current.Status == orders.StatusConfirming && ce.Current.PaymentKey == o.PaymentKey:
		return e.fail(ctx, o, f)
	case errors.As(err, &ce) && ce.Current != nil:
		return answerFor(ce.Current, o.PaymentKey)
	}
	// The order stays CONFIRMING; its claim lapses and a resume or the
	// reconciler asks Toss again, which refuses again.
	e.log().ErrorContext(ctx, "release a claim Toss never issued", "orderId", o.ID, "error", err)
	return &Result{Outcome: OutcomeProcessing, Order: o}, nil
}

// tossContext leaves FinalWriteReserve of the deadline for recording the answer.
func (e *Engine) tossContext(ctx context.Context, until time.Time) (context.Context, context.CancelFunc) {
	reserve := orDefault(e.FinalWriteReserve, defaultFinalWrite)
	d := until.Add(-reserve)
	if time.Until(d) < minimumTossCallTimeout {
		d = time.Now().Add(minimumTossCallTimeout)
	}
	return context.WithDeadline(ctx, d)
}

func (e *Engine) fail(ctx context.Context, o *orders.Order, f orders.Failure) (*Result, error) {
	e.count("declined")
	e.log().InfoContext(ctx, "confirm declined", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "code", f.Code)
	updated, err := e.Orders.Fail(ctx, o.ID, o.PaymentKey, f, e.now())
	if err != nil {
		var ce *orders.ConflictError
		if errors.As(err, &ce) && ce.Current != nil {
			// Someone settled it first (a reconciler, a concurrent re-drive,
			// or Toss's record of another attempt).
			return answerFor(ce.Current, o.PaymentKey)
		}
		// The order stays CONFIRMING; the reconciler will redo this.
		e.log().ErrorContext(ctx, "record declined confirm", "orderId", o.ID, "error", err)
		return &Result{Outcome: OutcomeProcessing, Order: o}, nil
	}
	return &Result{Outcome: OutcomeDeclined, Order: updated, Failure: &f}, nil
}

// settleApproved records an approved payment, after checking it is the one we asked for.
func (e *Engine) settleApproved(ctx context.Context, o *orders.Order, p *toss.Payment) (*Result, error) {
	if p.OrderID != o.ID || p.TotalAmount != o.Amount {
		// Toss approved the claimed attempt, but not as this order's
		// payment: for another amount (the buyer authenticated a tampered
		// amount and something other than this engine confirmed it, such
		// as another server holding the secret key), or for another order.
		// It is never recorded as this order's payment, and the claim can
		// never confirm: it ends FAILED (left CONFIRMING, every pass would
		// ask Toss again for good). The money Toss holds needs a refund:
		// an operator hears of it.
		e.count("payment_mismatch")
		e.log().ErrorContext(ctx, "Toss approved the claimed attempt for another amount or order; not recorded, refund it at Toss",
			"orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "tossOrderId", p.OrderID, "tossAmount", p.TotalAmount, "amount", o.Amount)
		return e.fail(ctx, o, orders.Failure{Code: CodePaymentMismatch, Message: "the payment approved at Toss does not match the order",
			PaymentKey: o.PaymentKey, Amount: o.Amount, At: e.now()})
	}
	updated, err := e.Orders.Complete(ctx, o.ID, o.PaymentKey, Summary(p), e.now())
	if err != nil {
		var ce *orders.ConflictError
		if errors.As(err, &ce) && ce.Current != nil && !ce.Current.Status.Paid() {
			// The claim was lost meanwhile (our invocation overran it and the
			// reconciler failed the order, or another attempt claimed it), but
			// Toss approved this payment: Toss's answer is the truth.
			settled, err := e.settleFromToss(ctx, ce.Current, p)
			if err != nil {
				return nil, err
			}
			return answerFor(settled, o.PaymentKey)
		}
		if errors.As(err, &ce) && ce.Current != nil {
			cur := ce.Current
			if cur.Status.Paid() && cur.PaymentKey == o.PaymentKey {
				// Recorded meanwhile, perhaps from an older record of
				// Toss's: bring it up to p's refunds.
				if refunded, err := e.recordRefundsSince(ctx, cur, p); err == nil {
					cur = refunded
				}
			}
			return answerFor(cur, o.PaymentKey)
		}
		// Paid at Toss, not yet recorded: the order stays CONFIRMING under a
		// lapsing claim, and the next request or the reconciler records it.
		e.count("record_failed")
		e.log().ErrorContext(ctx, "record approved payment", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "error", err)
		return &Result{Outcome: OutcomeProcessing, Order: o}, nil
	}
	e.count("done")
	e.log().InfoContext(ctx, "confirm done", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "amount", o.Amount)
	if refunded, err := e.recordRefundsSince(ctx, updated, p); err == nil {
		updated = refunded
	} else {
		// DONE is recorded; the refunds follow with their webhook or the next refund.
		e.log().WarnContext(ctx, "record refunds found at settlement", "orderId", o.ID, "error", err)
	}
	return &Result{Outcome: OutcomeDone, Order: updated}, nil
}

// settleFromLookup asks Toss what became of the order after an unknown outcome.
func (e *Engine) settleFromLookup(ctx context.Context, o *orders.Order, until time.Time, code string) (*Result, error) {
	tctx, cancel := e.tossContext(ctx, until)
	defer cancel()
	p, err := e.Toss.Payment(tctx, o.PaymentKey)
	if err != nil {
		e.count("unknown")
		e.log().WarnContext(ctx, "confirm left processing", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "code", code, "lookupCode", toss.CodeOf(err))
		return &Result{Outcome: OutcomeProcessing, Order: o}, nil
	}
	if p.OrderID == o.ID && isApproved(p.Status) {
		return e.settleApproved(ctx, o, p)
	}
	if code == toss.CodeAlreadyProcessedPayment && p.OrderID == o.ID {
		// Toss refuses this attempt as processed, yet did not approve it:
		// another attempt of the order is approved. Find that one first, or
		// this claim would be resumed and refused forever (or failed while
		// Toss holds the buyer's money).
		if res, found, err := e.settleOtherAttempt(ctx, o, until); found {
			return res, err
		}
		if p.Status == toss.StatusAborted {
			return e.fail(ctx, o, failureOf(p, o, e.now()))
		}
	}
	e.count("unknown")
	return &Result{Outcome: OutcomeProcessing, Order: o}, nil
}

// settleOtherAttempt records o paid under the attempt Toss approved for it,
// after Toss refused o's claimed attempt as ALREADY_PROCESSED_PAYMENT. The
// answer is for the claimed attempt, which was not charged. found is false
// when Toss shows no other approved attempt (or cannot be asked).
func (e *Engine) settleOtherAttempt(ctx context.Context, o *orders.Order, until time.Time) (res *Result, found bool, err error) {
	tctx, cancel := e.tossContext(ctx, until)
	p, err := e.Toss.PaymentByOrderID(tctx, o.ID)
	cancel()
	if err != nil || p.PaymentKey == o.PaymentKey || !approvedFor(o, p) {
		e.log().WarnContext(ctx, "confirm refused as processed; no other approved attempt found", "orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "lookupCode", toss.CodeOf(err))
		return nil, false, nil
	}
	settled, err := e.settleFromToss(ctx, o, p)
	if err != nil {
		return nil, true, err
	}
	res, err = answerFor(settled, o.PaymentKey)
	return res, true, err
}

// recordRefundsSince brings an order just recorded DONE from p up to p's
// refunds, when p was approved and refunded at Toss (a dashboard refund)
// before the order was settled. An order already there is returned as it is.
func (e *Engine) recordRefundsSince(ctx context.Context, done *orders.Order, p *toss.Payment) (*orders.Order, error) {
	if p.Status != toss.StatusCanceled && p.Status != toss.StatusPartialCanceled {
		return done, nil
	}
	cur, err := e.Orders.ApplyCancel(ctx, done.ID, done.PaymentKey, Summary(p), e.now())
	var ce *orders.ConflictError
	switch {
	case err == nil:
		return cur, nil
	case errors.As(err, &ce) && ce.Current != nil:
		return ce.Current, nil
	}
	return done, fmt.Errorf("payments: record refunds of order %s: %w", done.ID, err)
}

func isApproved(s toss.PaymentStatus) bool {
	return s == toss.StatusDone || s == toss.StatusPartialCanceled || s == toss.StatusCanceled
}

func failureOf(p *toss.Payment, o *orders.Order, now time.Time) orders.Failure {
	f := orders.Failure{Code: "PAYMENT_" + string(p.Status), Message: "payment " + string(p.Status), PaymentKey: o.PaymentKey, Amount: o.Amount, At: now}
	if p.Failure != nil && p.Failure.Code != "" {
		f.Code, f.Message = p.Failure.Code, p.Failure.Message
	}
	return f
}

func resultOf(o *orders.Order) *Result {
	switch {
	case o.Status.Paid():
		return &Result{Outcome: OutcomeDone, Order: o}
	case o.Status == orders.StatusFailed:
		return &Result{Outcome: OutcomeDeclined, Order: o, Failure: o.LastFailure}
	default:
		return &Result{Outcome: OutcomeProcessing, Order: o}
	}
}

// Summary is what the order keeps of a Toss payment, p itself included as
// JSON (orders.Payment.Raw; the DONE transitions store it, so that POST
// /confirm answers a repeat with the object the first confirm got).
func Summary(p *toss.Payment) orders.Payment {
	s := orders.Payment{
		Status:        string(p.Status),
		Method:        p.Method,
		TotalAmount:   p.TotalAmount,
		BalanceAmount: p.BalanceAmount,
		Raw:           rawPayment(p),
	}
	if p.ApprovedAt != nil {
		s.ApprovedAt = p.ApprovedAt.Time
	}
	if p.Card != nil {
		s.CardNumber = p.Card.Number
		s.CardIssuerCode = p.Card.IssuerCode
		s.CardType = p.Card.CardType
	}
	if p.Receipt != nil {
		s.ReceiptURL = p.Receipt.URL
	}
	for _, c := range p.Cancels {
		oc := orders.Cancel{TransactionKey: c.TransactionKey, Reason: c.CancelReason, Amount: c.CancelAmount}
		if c.CanceledAt != nil {
			oc.CanceledAt = c.CanceledAt.Time
		}
		s.Cancels = append(s.Cancels, oc)
	}
	return s
}

// rawPayment is p as JSON for orders.Payment.Raw, or nil when it would not
// fit (the order is then recorded paid without it: never refused for it).
// It is Toss's own answer (p.Raw) where the order can keep it as it came:
// POST /confirm gives those bytes back, every field Toss sent included,
// also to a repeat that never reaches Toss. A Payment without its answer
// (one the engine did not get from the toss client) is p re-encoded,
// which has only the fields the client models.
func rawPayment(p *toss.Payment) []byte {
	if len(p.Raw) > 0 && orders.ValidPaymentRaw(p.Raw) {
		return p.Raw
	}
	b, err := json.Marshal(p)
	if err != nil || !orders.ValidPaymentRaw(b) {
		return nil
	}
	return b
}

// MaskKey shortens a paymentKey for logs: enough to correlate, not to use.
func MaskKey(k string) string {
	if len(k) <= 8 {
		return "****"
	}
	return k[:4] + "****" + k[len(k)-4:]
}
