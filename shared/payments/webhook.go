package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// Webhook event types Toss documents. Only PaymentStatusChanged changes
// anything here; the others are accepted (answered 200, so Toss does not
// retry them for days) and logged.
const (
	EventPaymentStatusChanged  = "PAYMENT_STATUS_CHANGED"
	EventDepositCallback       = "DEPOSIT_CALLBACK"
	EventCancelStatusChanged   = "CANCEL_STATUS_CHANGED"
	EventMethodUpdated         = "METHOD_UPDATED"
	EventCustomerStatusChanged = "CUSTOMER_STATUS_CHANGED"
	EventPayoutStatusChanged   = "PAYOUT_STATUS_CHANGED"
	EventSellerChanged         = "SELLER_CHANGED"
	EventBillingDeleted        = "BILLING_DELETED"
)

// MaxWebhookBytes bounds a webhook body: a Payment is a few KiB.
const MaxWebhookBytes = 1 << 20

// ErrMalformedWebhook: the body is not a Toss webhook (answer 400).
var ErrMalformedWebhook = errors.New("payments: malformed webhook")

// MalformedWebhookError says what is wrong with a webhook body. It matches
// ErrMalformedWebhook with errors.Is.
type MalformedWebhookError struct {
	Reason string
}

func (e *MalformedWebhookError) Error() string {
	return "payments: malformed webhook: " + e.Reason
}

func (e *MalformedWebhookError) Is(target error) bool { return target == ErrMalformedWebhook }

// Webhook is a parsed webhook body. Data is kept raw: it is a hint, never
// acted on.
type Webhook struct {
	EventType  string
	CreatedAt  time.Time // Toss writes it without an offset: read as KST
	Data       json.RawMessage
	PaymentKey string // data.paymentKey, for PAYMENT_STATUS_CHANGED
	OrderID    string // data.orderId as the payload claims it ("" if absent)
	// Status and Balance are what the payload claims (data.status,
	// data.balanceAmount, nil if absent or not an integer): never acted
	// on, only used to skip a lookup that could tell nothing new.
	Status  string
	Balance *int64
}

// eventTypePattern is what an event name looks like: an upper-case letter,
// then A-Z 0-9 _, 64 characters at most (validEventType checks the length:
// a counted repetition would compile into 63 copies of the class at every
// cold start). It keeps junk out of logs and answers without refusing event
// types Toss adds later.
var eventTypePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

func validEventType(s string) bool { return len(s) <= 64 && eventTypePattern.MatchString(s) }

// ParseWebhook reads `{eventType, createdAt, data}`. It checks the shape
// only: eventType an upper-case name, createdAt a Toss timestamp (with or
// without an offset), and for PAYMENT_STATUS_CHANGED a data object with a
// paymentKey of Toss's shape (letters, digits, '_' and '-', at most 200:
// anything else would be sent to Toss in a request path, where '/', '?'
// or '#' make it another request). Anything else is a
// *MalformedWebhookError, whose reason never quotes the paymentKey.
func ParseWebhook(body []byte) (*Webhook, error) {
	bad := func(format string, args ...any) (*Webhook, error) {
		return nil, &MalformedWebhookError{Reason: fmt.Sprintf(format, args...)}
	}
	if len(body) > MaxWebhookBytes {
		return bad("body larger than %d bytes", MaxWebhookBytes)
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return bad("body is not a JSON object")
	}
	var raw struct {
		EventType *string         `json:"eventType"`
		CreatedAt *string         `json:"createdAt"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return bad("not JSON of the webhook's shape: %v", err)
	}
	switch {
	case raw.EventType == nil:
		return bad("eventType missing")
	case !validEventType(*raw.EventType):
		return bad("eventType %q is not an event name", truncate(*raw.EventType, 70))
	case raw.CreatedAt == nil:
		return bad("createdAt missing")
	}
	at, err := toss.ParseTime(*raw.CreatedAt)
	if err != nil {
		return bad("createdAt %q is not a timestamp", truncate(*raw.CreatedAt, 40))
	}
	w := &Webhook{EventType: *raw.EventType, CreatedAt: at, Data: raw.Data}
	if w.EventType != EventPaymentStatusChanged {
		return w, nil
	}
	if d := bytes.TrimSpace(raw.Data); len(d) == 0 || d[0] != '{' {
		return bad("data of %s is not an object", w.EventType)
	}
	var data struct {
		PaymentKey    any `json:"paymentKey"`
		OrderID       any `json:"orderId"`
		Status        any `json:"status"`
		BalanceAmount any `json:"balanceAmount"`
	}
	if err := json.Unmarshal(raw.Data, &data); err != nil {
		return bad("data of %s is not an object", w.EventType)
	}
	// Read as any, so that a value of the wrong type is refused without
	// the decoder's message, which could quote it.
	key, _ := data.PaymentKey.(string)
	if key == "" || !wellFormedKey(key) {
		return bad("data.paymentKey must be 1 to %d of A-Z a-z 0-9 _ -", maxPaymentKeyLen)
	}
	orderID, _ := data.OrderID.(string)
	status, _ := data.Status.(string)
	w.PaymentKey, w.OrderID, w.Status = key, truncate(orderID, 70), truncate(status, 40)
	if f, ok := data.BalanceAmount.(float64); ok && f >= 0 && f <= 1e15 && f == math.Trunc(f) {
		b := int64(f)
		w.Balance = &b
	}
	return w, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// WebhookAction is what a webhook did.
type WebhookAction string

// Webhook actions.
const (
	// WebhookApplied: the order moved forward to Toss's state.
	WebhookApplied WebhookAction = "APPLIED"
	// WebhookIgnored: nothing to change (a duplicate, a late delivery, a
	// payment or order this backend does not hold, a state that is no step
	// forward); Reason says which.
	WebhookIgnored WebhookAction = "IGNORED"
	// WebhookAccepted: an event type this backend does not act on.
	WebhookAccepted WebhookAction = "ACCEPTED"
)

// WebhookResult is what ApplyWebhook did. Every result is answered 200.
type WebhookResult struct {
	EventType  string
	CreatedAt  time.Time
	PaymentKey string
	Action     WebhookAction
	Reason     string        // why, in a few words
	Order      *orders.Order // the order as left, when one was found
}

// ApplyWebhook handles one webhook delivery. A payment webhook is unsigned,
// so its payload is only a hint: the payment is fetched from Toss by
// data.paymentKey, only for a delivery naming one of our orders
// (data.orderId, which Toss's payload always carries), only when the
// status it claims (data.status, data.balanceAmount) could be news for
// that order as it stands (settledFor), and only once the order's budget
// of Toss calls admits it (orders.Store.AdmitLookup: the anonymous budget
// confirms spend too, or for the order's own payment once paid, the
// order's own budget) and then the ceiling across orders (Engine.Ceiling):
// a forged webhook cannot be told from a real one before the lookup, so
// the lookup is what is bounded. The fetched payment must belong to that
// order, and the order moves only if Toss's state is a step forward from
// it:
//
//   - CONFIRMING for the same paymentKey, approved at Toss: recorded as
//     paid (Complete), with its cancels if it was refunded since;
//   - unpaid (FAILED and EXPIRED included), approved at Toss under any
//     attempt, the order's own or another: recorded paid under Toss's
//     paymentKey (settleFromToss);
//   - DONE or PARTIAL_CANCELED, with a lower balance at Toss: the cancels
//     recorded (ApplyCancel);
//   - anything else is ignored and logged: an order we do not hold (it may
//     belong to another system on the same MID), another attempt's
//     paymentKey, a state no further than ours.
//
// Since every decision is made from Toss's current record and every write
// only moves forward, duplicated and reordered deliveries change nothing.
//
// Errors: ErrMalformedWebhook (*MalformedWebhookError; answer 400),
// *RateLimitedError (answer 429: Toss delivers it again later), or a
// failure to reach Toss or the store, or Toss refusing our secret key
// (answer 5xx, so Toss retries later). Toss refusing the lookup itself
// (no such payment, a forged key) is no error: the delivery is ignored.
// Errors never carry the paymentKey unmasked.
func (e *Engine) ApplyWebhook(ctx context.Context, body []byte) (WebhookResult, error) {
	w, err := ParseWebhook(body)
	if err != nil {
		e.log().WarnContext(ctx, "webhook refused", "error", err)
		return WebhookResult{}, err
	}
	res := WebhookResult{EventType: w.EventType, CreatedAt: w.CreatedAt, PaymentKey: w.PaymentKey}
	if w.EventType != EventPaymentStatusChanged {
		res.Action, res.Reason = WebhookAccepted, "event type not acted on"
		e.logWebhook(ctx, w, res)
		return res, nil
	}
	if !orders.ValidID(w.OrderID) {
		return e.ignore(ctx, w, res, "the payment's orderId is not one of ours"), nil
	}
	if w.Status != "" && !isApproved(toss.PaymentStatus(w.Status)) {
		// Only an approval moves an unpaid order, and only a refund a paid
		// one: a hint of anything else cannot be news, whoever sent it.
		return e.ignore(ctx, w, res, "the status it claims moves no order forward"), nil
	}
	now := e.now()
	o, err := e.Orders.Get(ctx, w.OrderID, now)
	switch {
	case errors.Is(err, orders.ErrNotFound):
		return e.ignore(ctx, w, res, "no such order"), nil
	case err != nil:
		return res, fmt.Errorf("payments: webhook: read order %s: %w", w.OrderID, err)
	}
	res.Order = o
	if why, settled := settledFor(o, w); settled {
		// Repeated hints about a settled order (Toss's redeliveries, or
		// anyone's forgeries naming the order's own paymentKey, which every
		// buyer's success URL shows) cost a read and no Toss call.
		return e.ignore(ctx, w, res, why), nil
	}
	// A lookup of a paid order's own payment draws on the order's own
	// budget, which only callers knowing that key can spend; any other on
	// the anonymous one. Either way it is bounded per order, and then by
	// the ceiling across orders: a forged webhook cannot be told from a
	// real one before the lookup, so the lookup is what is bounded.
	own, b := "", orders.Anonymous
	if o.Status.Paid() && o.PaymentKey == w.PaymentKey {
		own, b = w.PaymentKey, orders.TokenHolder
	}
	admitted, err := e.Orders.AdmitLookup(ctx, w.OrderID, own, now)
	var ce *orders.ConflictError
	switch {
	case errors.Is(err, orders.ErrNotFound):
		return e.ignore(ctx, w, res, "no such order"), nil
	case errors.As(err, &ce) && ce.Current != nil && rateLimited(ce.Current, b, now) != nil:
		res.Order = ce.Current
		e.log().WarnContext(ctx, "webhook refused: too many Toss calls for the order", "orderId", w.OrderID, "paymentKey", MaskKey(w.PaymentKey), "budget", b.String())
		return res, rateLimited(ce.Current, b, now)
	case errors.As(err, &ce) && ce.Current != nil:
		// The order moved since it was read (paid under another key):
		// the next delivery is judged on what it is now.
		res.Order = ce.Current
		return res, &RateLimitedError{OrderID: w.OrderID, RetryAfter: time.Second}
	case err != nil:
		return res, fmt.Errorf("payments: webhook: admit a lookup for order %s: %w", w.OrderID, err)
	}
	o = admitted
	res.Order = o
	if err := e.admitAnonymous(ctx, w.OrderID, now); err != nil {
		return res, err
	}
	until := e.deadline(ctx, time.Now())
	tctx, cancel := e.tossContext(ctx, until)
	p, err := e.Toss.Payment(tctx, w.PaymentKey)
	cancel()
	switch {
	case toss.CodeOf(err) == toss.CodeNotFoundPayment:
		return e.ignore(ctx, w, res, "Toss has no such payment"), nil
	case err != nil && tossRefusedLookup(err):
		return e.ignore(ctx, w, res, "Toss refused the lookup: "+toss.CodeOf(err)), nil
	case err != nil:
		return res, fmt.Errorf("payments: webhook: look up payment %s: %w", MaskKey(w.PaymentKey), redactKey(err, w.PaymentKey))
	}
	if p.OrderID != o.ID {
		// Toss's payload carries the payment's own orderId: this one lied.
		e.log().WarnContext(ctx, "webhook names an order the payment is not for", "orderId", o.ID, "paymentKey", MaskKey(w.PaymentKey))
		return e.ignore(ctx, w, res, "the payment is not for the order the webhook names"), nil
	}
	return e.applyPayment(ctx, w, res, o, p)
}

// settledFor reports whether the order, as it stands, has nothing to learn
// from w whatever Toss would answer about it, and why. What can still move
// an order is an approval (unpaid) or a lower balance (paid, not fully
// refunded); Toss's own webhook about such a change claims it, so a hint
// that claims nothing of the kind is skipped, while a hint that claims no
// status at all is looked up (Toss's payload always carries one; a
// delivery without one is not trusted to be empty).
func settledFor(o *orders.Order, w *Webhook) (string, bool) {
	claimed := toss.PaymentStatus(w.Status)
	switch {
	case !o.Status.Paid():
		return "", false // an approval of any attempt is news
	case o.PaymentKey != w.PaymentKey:
		// Another attempt of a paid order: news only if Toss approved it
		// too (a refund for an operator), which a real hint would claim.
		return "", false
	case o.Status == orders.StatusCanceled:
		return "the order's payment is wholly refunded: nothing can follow", true
	case claimed == "":
		return "", false
	case claimed != toss.StatusCanceled && claimed != toss.StatusPartialCanceled:
		return "the order is paid; the status it claims is no refund", true
	case w.Balance == nil || o.Payment == nil:
		return "", false
	case *w.Balance > o.Payment.BalanceAmount:
		return "the balance it claims is above the recorded one", true
	case *w.Balance == o.Payment.BalanceAmount && !(o.Status == orders.StatusDone && o.Payment.BalanceAmount < o.Payment.TotalAmount):
		// Equal is news only to an order recorded DONE together with the
		// cancels that lowered it (ApplyCancel then marks it refunded).
		return "the balance it claims is the recorded one", true
	}
	return "", false
}

// tossRefusedLookup reports whether err is Toss's definitive refusal of
// the lookup itself (a key it does not know or will not show us), which a
// retry cannot change: such a delivery is ignored (200), not failed (5xx),
// so that nobody can make Toss retry it or trip the 5xx alarm at will.
// Toss refusing our own configuration (toss.CauseConfiguration), and
// anything transient or unknown, stay errors.
func tossRefusedLookup(err error) bool {
	var te *toss.Error
	if !errors.As(err, &te) || errors.Is(err, toss.ErrSecretKey) || toss.Classify(err) != toss.ClassDefinitive {
		return false
	}
	return te.Code != "" && !toss.IsConfiguration(err)
}

// applyPayment moves o to Toss's state p if that is a step forward.
func (e *Engine) applyPayment(ctx context.Context, w *Webhook, res WebhookResult, o *orders.Order, p *toss.Payment) (WebhookResult, error) {
	switch {
	case o.PaymentKey != p.PaymentKey && isApproved(p.Status) && !o.Status.Paid():
		// Toss approved an attempt the order does not hold (see the
		// engine's package comment): its record, fetched with our key and
		// checked to be for this order, wins, as on the request and
		// reconcile paths.
		res.Order = o
		settled, err := e.settleFromToss(ctx, o, p)
		if errors.As(err, new(*NotPayableError)) {
			return e.ignore(ctx, w, res, "the order was paid under another attempt"), nil
		}
		if err == nil && refundsPending(settled, p) {
			return e.refundsNotRecorded(w, res, settled)
		}
		return e.applied(ctx, w, res, settled, err, "payment recorded from Toss's record")
	case o.PaymentKey != p.PaymentKey:
		if isApproved(p.Status) {
			// Paid under one attempt, approved at Toss under another:
			// settleFromToss's approved_twice case; a refund for an operator.
			e.log().ErrorContext(ctx, "Toss reports an approved payment the order does not hold",
				"orderId", o.ID, "status", o.Status, "tossPaymentKey", MaskKey(p.PaymentKey), "tossStatus", p.Status)
		}
		return e.ignore(ctx, w, res, "another payment attempt of the order"), nil
	case o.Status == orders.StatusConfirming && isApproved(p.Status):
		return e.completeFromWebhook(ctx, w, res, o, p)
	case (o.Status == orders.StatusDone || o.Status == orders.StatusPartialCanceled) && movesForward(o, p):
		updated, err := e.Orders.ApplyCancel(ctx, o.ID, o.PaymentKey, Summary(p), e.now())
		return e.applied(ctx, w, res, updated, err, "refund recorded")
	case !o.Status.Paid() && isApproved(p.Status):
		// Toss approved the order's own attempt, and the order reads
		// FAILED or EXPIRED (or PENDING): recorded from Toss's record as on
		// every other path, never left to the TTL.
		e.log().ErrorContext(ctx, "Toss reports the order's payment approved, the order does not; settling under Toss's record",
			"orderId", o.ID, "status", o.Status, "tossStatus", p.Status)
		settled, err := e.settleFromToss(ctx, o, p)
		if errors.As(err, new(*NotPayableError)) {
			return e.ignore(ctx, w, res, "the order was paid under another attempt"), nil
		}
		if err == nil && refundsPending(settled, p) {
			return e.refundsNotRecorded(w, res, settled)
		}
		return e.applied(ctx, w, res, settled, err, "payment recorded from Toss's record")
	}
	return e.ignore(ctx, w, res, fmt.Sprintf("order %s, payment %s at Toss: no step forward", o.Status, p.Status)), nil
}

// refundsPending reports whether o, just recorded paid from Toss's record
// p, lacks the refunds p carries: settleFromToss records them after the
// approval, best effort, and their write can fail.
func refundsPending(o *orders.Order, p *toss.Payment) bool {
	return (p.Status == toss.StatusCanceled || p.Status == toss.StatusPartialCanceled) && o.Status == orders.StatusDone
}

// refundsNotRecorded answers a webhook whose payment was recorded without
// the refunds it carries: not 200, so that Toss delivers it again and the
// next delivery, which can be news (a refund the order lacks), records
// them. Acknowledged, the refund would be lost to the order, and with it
// its Order Refunded event, since Toss's later redeliveries of DONE cost
// no lookup (settledFor). The simulator found it (seed 8448 of a run with
// the attacker taking fewer turns): a dashboard refund's webhook settled an
// unpaid order, its refunds' write was refused, and the order ended DONE
// at a balance of 0 while Toss held it CANCELED.
func (e *Engine) refundsNotRecorded(w *Webhook, res WebhookResult, settled *orders.Order) (WebhookResult, error) {
	res.Order = settled
	return res, fmt.Errorf("payments: webhook: order %s recorded paid under %s, its refunds not yet: %w",
		settled.ID, MaskKey(w.PaymentKey), errRefundsPending)
}

// errRefundsPending: a payment was recorded, the refunds Toss's record of
// it carries were not (yet).
var errRefundsPending = errors.New("refunds not recorded")

// completeFromWebhook records an approval the confirm's own answer has not
// recorded yet (the confirming invocation is slow, or died): the write's
// condition (CONFIRMING, same paymentKey) makes it race-free with that
// invocation and the reconciler.
func (e *Engine) completeFromWebhook(ctx context.Context, w *Webhook, res WebhookResult, o *orders.Order, p *toss.Payment) (WebhookResult, error) {
	if p.TotalAmount != o.Amount {
		e.log().ErrorContext(ctx, "Toss approved a payment that does not match the order",
			"orderId", o.ID, "paymentKey", MaskKey(o.PaymentKey), "tossAmount", p.TotalAmount, "amount", o.Amount)
		return e.ignore(ctx, w, res, "approved amount differs from the order's"), nil
	}
	updated, err := e.Orders.Complete(ctx, o.ID, o.PaymentKey, Summary(p), e.now())
	refunded := p.Status == toss.StatusCanceled || p.Status == toss.StatusPartialCanceled
	var ce *orders.ConflictError
	if refunded && errors.As(err, &ce) && ce.Current != nil && ce.Current.Status.Paid() && ce.Current.PaymentKey == o.PaymentKey {
		// Recorded meanwhile (by the confirm, the reconciler, an earlier
		// delivery), perhaps from an older record of Toss's: p is newer
		// and carries refunds that record may lack. The simulator found
		// the order left DONE while Toss showed it refunded.
		updated, err = ce.Current, nil
	}
	if err != nil || !refunded {
		return e.applied(ctx, w, res, updated, err, "payment recorded")
	}
	cur, err := e.recordRefundsSince(ctx, updated, p)
	if err != nil {
		// Not answered 200: Toss delivers the webhook again and the refunds follow.
		res.Order = updated
		return res, fmt.Errorf("payments: webhook: %w", err)
	}
	if cur.Version == updated.Version && ce != nil {
		res.Order = cur
		return e.ignore(ctx, w, res, "recorded already"), nil
	}
	return e.applied(ctx, w, res, cur, nil, "payment and refunds recorded")
}

// applied turns the outcome of a forward write into the result: a refused
// write means the order is there already (or past it), so nothing changed.
func (e *Engine) applied(ctx context.Context, w *Webhook, res WebhookResult, updated *orders.Order, err error, what string) (WebhookResult, error) {
	var ce *orders.ConflictError
	switch {
	case errors.As(err, &ce) && ce.Current != nil:
		res.Order = ce.Current
		return e.ignore(ctx, w, res, "recorded already"), nil
	case err != nil:
		return res, fmt.Errorf("payments: webhook: %s on order %s: %w", what, res.Order.ID, err)
	}
	res.Order, res.Action, res.Reason = updated, WebhookApplied, what
	e.logWebhook(ctx, w, res)
	return res, nil
}

func (e *Engine) ignore(ctx context.Context, w *Webhook, res WebhookResult, reason string) WebhookResult {
	res.Action, res.Reason = WebhookIgnored, reason
	e.logWebhook(ctx, w, res)
	return res
}

func (e *Engine) logWebhook(ctx context.Context, w *Webhook, res WebhookResult) {
	attrs := []any{"eventType", w.EventType, "createdAt", w.CreatedAt, "action", string(res.Action), "reason", res.Reason}
	if w.PaymentKey != "" {
		attrs = append(attrs, "paymentKey", MaskKey(w.PaymentKey), "claimedStatus", w.Status)
	}
	if res.Order != nil {
		attrs = append(attrs, "orderId", res.Order.ID, "status", string(res.Order.Status), "version", res.Order.Version)
	}
	e.log().InfoContext(ctx, "webhook", attrs...)
}
