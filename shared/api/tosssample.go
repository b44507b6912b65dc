package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// Routes of Toss's official sample servers' confirm, answered in their
// shape: POST /confirm is the older samples' (payment-widget-sample), the
// other two the current express-javascript sample's, whose payment window
// page posts to /confirm/payment and whose widget page to /confirm/widget.
// A frontend written after any of them calls this API at its base URL.
const (
	RouteTossSampleConfirm        = "POST /confirm"
	RouteTossSampleConfirmPayment = "POST /confirm/payment"
	RouteTossSampleConfirmWidget  = "POST /confirm/widget"
)

// TossSampleRoutes are the routes ConfirmHandler answers in the shape of
// Toss's sample servers (template.yaml gives each to ConfirmPaymentFunction).
var TossSampleRoutes = []string{RouteTossSampleConfirm, RouteTossSampleConfirmPayment, RouteTossSampleConfirmWidget}

// sampleRetryAfter is the Retry-After of a confirm still processing: the
// engine settles an unknown outcome within a claim (seconds), and a sample
// frontend that asks again sooner is answered the same way, without Toss.
const sampleRetryAfter = "2"

// ConfirmHandler is ConfirmPaymentFunction's handler: TossSampleRoutes in
// the shape of Toss's sample servers, any other route (POST
// /payments/confirm) in this API's shape. One function, because both are the same confirm with
// the same grants; only the answer's shape differs.
func (s *Service) ConfirmHandler() LambdaHandler {
	ours := s.JSON(s.ConfirmPayment)
	sample := s.wrap(s.TossSampleConfirm, func(r *apigw.Request) apigw.Response {
		return tossShaped(r, Error(r, CodeInternal, ""))
	})
	return func(ctx context.Context, r apigw.Request) (apigw.Response, error) {
		if slices.Contains(TossSampleRoutes, r.RouteKey) {
			return sample(ctx, r)
		}
		return ours(ctx, r)
	}
}

// TossSampleConfirm is POST /confirm as Toss's sample servers take it:
// {paymentKey, orderId, amount}, amount a JSON number or the string of
// digits the success URL carried. It is POST /payments/confirm underneath
// (the same engine, amount check against the stored order, attempt budget
// and Idempotency-Key handling); only the answer takes the shape those
// servers forward from Toss, which is what their frontends read:
//
//	200  Toss's Payment object: the very JSON text Toss answered the
//	     confirm with (every field, those the toss client does not model
//	     included), kept on the order; a repeat, and a replay under the
//	     same Idempotency-Key, answer the same bytes without Toss
//	4xx  {code, message} at the top level: Toss's code and status when
//	     Toss declined, Toss's code for the same situation where there is
//	     one (INVALID_REQUEST for a malformed body or an amount that is not
//	     the order's, ALREADY_PROCESSED_PAYMENT for an order paid under
//	     another paymentKey), ours otherwise (NOT_FOUND_ORDER, …)
//	409  IDEMPOTENT_REQUEST_PROCESSING with Retry-After while the confirm's
//	     outcome is not known yet (POST /payments/confirm's 202): Toss's
//	     own answer to a confirm repeated while the first is running. Not a
//	     2xx, because the sample frontends read every 2xx as a paid Payment.
//	429  TOO_MANY_REQUESTS with Retry-After, as POST /payments/confirm
//	5xx  {code, message}, only for our own outage, never for a bad body
//
// Unlike POST /payments/confirm, fields besides the three are ignored, as
// the sample servers ignore them (some sample-based frontends send more).
func (s *Service) TossSampleConfirm(ctx context.Context, r *apigw.Request) apigw.Response {
	var in confirmBody
	if _, fail := readLooseJSON(r, &in); fail != nil {
		return tossShaped(r, *fail)
	}
	// The idempotency layer stores and replays this API's shape, which its
	// rules read (what is remembered, what is transient); the answer is
	// reshaped after it, replays included. Keys are scoped as on POST
	// /payments/confirm (idempotencyScope).
	caller, body := idempotencyScope(in)
	return tossShaped(r, s.idempotent(ctx, r, caller, body, func(ctx context.Context) apigw.Response {
		return s.confirm(ctx, r, in, func(o *orders.Order, status string) any {
			if status != "DONE" {
				return nil // 202: reshaped into a 409 without a body of its own
			}
			return tossPayment(o)
		})
	}))
}

// tossPayment is the Payment object Toss answered when the order was
// recorded paid (orders.Payment.Raw), as Toss wrote it; for an order paid
// before that was kept, the same object built from the order's summary.
func tossPayment(o *orders.Order) Verbatim {
	p := o.Payment
	if p == nil {
		p = &orders.Payment{}
	}
	if len(p.Raw) > 0 {
		return Verbatim(p.Raw)
	}
	tp := toss.Payment{
		PaymentKey: o.PaymentKey, Type: "NORMAL", OrderID: o.ID, OrderName: o.Name, Currency: o.Currency,
		Method: p.Method, TotalAmount: p.TotalAmount, BalanceAmount: p.BalanceAmount, Status: toss.PaymentStatus(p.Status),
	}
	if !p.ApprovedAt.IsZero() {
		tp.ApprovedAt = &toss.Time{Time: p.ApprovedAt}
	}
	if p.CardNumber != "" || p.CardIssuerCode != "" {
		tp.Card = &toss.Card{Amount: p.TotalAmount, Number: p.CardNumber, IssuerCode: p.CardIssuerCode, CardType: p.CardType}
	}
	if p.ReceiptURL != "" {
		tp.Receipt = &toss.URLHolder{URL: p.ReceiptURL}
	}
	b, _ := json.Marshal(tp) // plain fields: cannot fail
	return b
}

// sampleCodes are our codes with a Toss code for the same situation: the
// code a frontend written against Toss already knows.
var sampleCodes = map[string]string{
	CodeInvalidJSON:            toss.CodeInvalidRequest,
	CodeUnsupportedContentType: toss.CodeInvalidRequest,
	CodeRequestTooLarge:        toss.CodeInvalidRequest,
	// Toss's documents name no code for a tampered amount; Toss answers a
	// confirm whose amount is not the payment's 400 INVALID_REQUEST.
	CodeAmountMismatch:   toss.CodeInvalidRequest,
	CodeAlreadyPaidOrder: toss.CodeAlreadyProcessedPayment,
}

// tossShaped turns an answer in this API's shape into the shape Toss's
// sample servers forward: a 200's entityBody alone, an error's
// {code, message} at the top level, a 202 into a 409 (see
// TossSampleConfirm). Status and headers (Retry-After, Idempotent-Replayed)
// are kept; X-Trace-Id names the request, since the body no longer does.
func tossShaped(r *apigw.Request, resp apigw.Response) apigw.Response {
	headers := headersWith(resp.Headers)
	if _, ok := headers["X-Trace-Id"]; !ok {
		headers["X-Trace-Id"] = apigw.TraceID(r)
	}
	status := resp.StatusCode
	var body []byte
	switch status {
	case http.StatusOK:
		var e struct {
			EntityBody json.RawMessage `json:"entityBody"`
		}
		if json.Unmarshal([]byte(resp.Body), &e) != nil || len(e.EntityBody) == 0 {
			status, body = http.StatusInternalServerError, sampleError(CodeInternal, Message(CodeInternal, LangOf(r)))
			break
		}
		body = e.EntityBody
	case http.StatusAccepted:
		status = http.StatusConflict
		headers["Retry-After"] = sampleRetryAfter
		body = sampleError(toss.CodeIdempotentRequestProcessing, processingMessage(LangOf(r)))
	default:
		var e errorEnvelope
		if json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error.Code == "" {
			status, body = http.StatusInternalServerError, sampleError(CodeInternal, Message(CodeInternal, LangOf(r)))
			break
		}
		code := e.Error.Code
		if c, ok := sampleCodes[code]; ok {
			code = c
		}
		body = sampleError(code, e.Error.Message)
	}
	return apigw.Respond(status, headers, string(body))
}

// sampleError is Toss's v1 error object.
func sampleError(code, message string) []byte {
	b, _ := json.Marshal(errorBody{Code: code, Message: message}) // two strings: cannot fail
	return b
}

func processingMessage(lang Lang) string {
	if lang == English {
		return "The payment is still being confirmed. Ask again with the same request in a moment; it will not be charged twice."
	}
	return "결제 승인이 아직 처리 중입니다. 잠시 후 같은 요청으로 다시 확인해주세요. 중복 결제되지 않습니다."
}
