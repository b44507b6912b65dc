package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/obs"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/pages"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/toss"
)

// PaymentEntity is the result of a confirm (entityType "payment").
type PaymentEntity struct {
	OrderID    string        `json:"orderId"`
	PaymentKey string        `json:"paymentKey"`
	Status     string        `json:"status"` // DONE, PROCESSING, or the order's status
	Amount     int64         `json:"amount"`
	Currency   string        `json:"currency"`
	ApprovedAt *time.Time    `json:"approvedAt"`
	CardNumber string        `json:"cardNumber,omitempty"`
	CardIssuer string        `json:"cardIssuerCode,omitempty"`
	ReceiptURL string        `json:"receiptUrl,omitempty"`
	Order      orders.Status `json:"orderStatus"`
}

// paymentEntity shows the caller's own paymentKey: while another attempt
// holds the order, its key is not the caller's business.
func paymentEntity(o *orders.Order, paymentKey, status string) PaymentEntity {
	e := PaymentEntity{OrderID: o.ID, PaymentKey: paymentKey, Status: status, Amount: o.Amount, Currency: o.Currency, Order: o.Status}
	if p := o.Payment; p != nil && o.PaymentKey == paymentKey {
		e.CardNumber, e.CardIssuer, e.ReceiptURL = p.CardNumber, p.CardIssuerCode, p.ReceiptURL
		if !p.ApprovedAt.IsZero() {
			at := p.ApprovedAt.UTC()
			e.ApprovedAt = &at
		}
	}
	return e
}

type confirmBody struct {
	PaymentKey string          `json:"paymentKey"`
	OrderID    string          `json:"orderId"`
	Amount     json.RawMessage `json:"amount"` // see parseConfirmAmount
	// CheckoutToken is the order's checkout token (POST /orders gives it
	// to the merchant, who gives it to its frontend): the confirm then
	// draws on the order's own budget of Toss calls. Optional.
	CheckoutToken string `json:"checkoutToken"`
}

// idempotencyScope is the Idempotency-Key scope of a confirm by a caller
// nobody authenticated: the payment it confirms (orderId, paymentKey and
// the amount's value), so that a key is only ever met by requests about
// the same payment. Anyone can send any key, and a frontend's keys can be
// guessed (the orderId is a common choice): scoped by caller alone, a
// stranger could store an answer (a refused amount, say) under the key a
// buyer's frontend is about to send, and that buyer's real confirm would
// meet it for 15 days. Scoped by the payment, a request that finds an
// answer stored is about the same payment and gets that payment's answer,
// and since the stored request is then the same one, a key reused with
// another body is another request, never 422. The checkout token is left
// out of both: it changes whose budget a confirm spends, not what it does.
func idempotencyScope(in confirmBody) (caller string, body []byte) {
	amount := string(in.Amount)
	if n, ok := parseConfirmAmount(in.Amount); ok {
		amount = strconv.FormatInt(n, 10)
	}
	caller = fmt.Sprintf("public/%d:%s/%d:%s/%s", len(in.OrderID), in.OrderID, len(in.PaymentKey), in.PaymentKey, amount)
	body, _ = json.Marshal(struct {
		PaymentKey string `json:"paymentKey"`
		OrderID    string `json:"orderId"`
		Amount     string `json:"amount"`
	}{in.PaymentKey, in.OrderID, amount}) // three strings: cannot fail
	return caller, body
}

func withOrder(ctx context.Context, orderID string) context.Context {
	return obs.With(ctx, "orderId", orderID)
}

// ConfirmPayment is POST /payments/confirm: {paymentKey, orderId, amount} →
// the payment. 200 when approved, 202 while processing (ask again), Toss's
// code and status when Toss declined, ours otherwise.
func (s *Service) ConfirmPayment(ctx context.Context, r *apigw.Request) apigw.Response {
	var in confirmBody
	if _, fail := readJSON(r, &in); fail != nil {
		return *fail
	}
	caller, body := idempotencyScope(in)
	return s.idempotent(ctx, r, caller, body, func(ctx context.Context) apigw.Response {
		return s.confirm(ctx, r, in, func(o *orders.Order, status string) any {
			return paymentEntity(o, in.PaymentKey, status)
		})
	})
}

// confirm runs the engine on a decoded confirm body and answers in our
// API's shape: entity makes the entityBody of the 200 (status "DONE") and
// of the 202 (status "PROCESSING") from the order as the engine left it.
// Both confirm routes answer through here, so they check the same amount,
// spend the same attempt budget and refuse the same way.
func (s *Service) confirm(ctx context.Context, r *apigw.Request, in confirmBody, entity func(o *orders.Order, status string) any) apigw.Response {
	amount, ok := parseConfirmAmount(in.Amount)
	if !ok {
		return Error(r, CodeInvalidRequest, fieldMessage(LangOf(r), "amount", "must be a positive integer, as a number or a string of digits"))
	}
	if orders.ValidID(in.OrderID) {
		ctx = withOrder(ctx, in.OrderID)
	}
	// The caller's Accept-Language is its page's (a frontend's fetch
	// sends the browser's); without one, the deployment's default.
	if al := apigw.Header(r, "accept-language"); al != "" {
		ctx = forBuyer(ctx, pages.Negotiate(al, ""))
	}
	token := ""
	if orders.ValidToken(in.CheckoutToken) {
		token = in.CheckoutToken
	}
	res, err := s.Engine.ConfirmWithToken(ctx, token, in.PaymentKey, in.OrderID, amount)
	if err != nil {
		return s.confirmError(ctx, r, err)
	}
	switch res.Outcome {
	case payments.OutcomeDone:
		return Entity(r, http.StatusOK, "payment", entity(res.Order, "DONE"))
	case payments.OutcomeDeclined:
		code, msg := toss.CodeRejectCardCompany, ""
		if res.Failure != nil {
			code, msg = res.Failure.Code, res.Failure.Message
		}
		return ErrorStatus(r, toss.StatusOf(code), code, msg)
	default:
		return Entity(r, http.StatusAccepted, "payment", entity(res.Order, "PROCESSING"))
	}
}

// digits is the amount a success URL carries (amount=39000), which Toss's
// sample frontends send on as a JSON string.
var digits = regexp.MustCompile(`^[0-9]{1,18}$`)

// parseConfirmAmount reads a confirm's amount: a JSON number as
// parseAmount takes it, or a JSON string of decimal digits, which is what
// the success URL carried and what Toss's sample frontends send
// (urlParams.get("amount")). Either way it must be a positive integer; the
// engine then checks it against the stored order. No sign, space, fraction
// or exponent inside the string either: "39,000" or " 39000" is a client
// bug to refuse, not an amount to guess at.
func parseConfirmAmount(raw json.RawMessage) (int64, bool) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil || !digits.MatchString(s) {
			return 0, false
		}
		return parseAmount(json.Number(s))
	}
	return parseAmount(json.Number(raw))
}

// confirmError maps the engine's refusals to API errors.
func (s *Service) confirmError(ctx context.Context, r *apigw.Request, err error) apigw.Response {
	var am *payments.AmountMismatchError
	var np *payments.NotPayableError
	switch {
	case errors.Is(err, payments.ErrInvalidRequest):
		return Error(r, CodeInvalidRequest, "")
	case errors.Is(err, payments.ErrOrderNotFound):
		return Error(r, CodeNotFoundOrder, "")
	case errors.As(err, &am):
		return Error(r, CodeAmountMismatch, "")
	case errors.As(err, &np):
		if np.Order.Status.Paid() {
			return Error(r, CodeAlreadyPaidOrder, "")
		}
		return Error(r, CodeOrderExpired, "")
	case errors.Is(err, payments.ErrTossConfiguration):
		// Logged by the engine; the caller hears an outage, never a decline.
		return Error(r, CodePaymentsUnavailable, "")
	}
	if resp, ok := tooManyRequests(r, err); ok {
		return resp
	}
	s.log().ErrorContext(ctx, "confirm", "error", err)
	return Error(r, CodeServiceUnavailable, "")
}

// tooManyRequests answers an order whose budget of Toss calls is spent
// (payments.ErrRateLimited): 429 TOO_MANY_REQUESTS with Retry-After in
// whole seconds, rounded up so that a client waiting that long is admitted.
func tooManyRequests(r *apigw.Request, err error) (apigw.Response, bool) {
	var rl *payments.RateLimitedError
	if !errors.As(err, &rl) {
		return apigw.Response{}, false
	}
	resp := Error(r, CodeTooManyRequests, "")
	resp.Headers["Retry-After"] = strconv.Itoa(retryAfterSeconds(rl.RetryAfter))
	return resp, true
}

func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
