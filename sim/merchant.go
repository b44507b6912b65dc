package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/tossintl/backend/internal/merchantapi"
	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/secrets"
)

// Buyers, merchants and Toss reach the product as in production: through
// the API's own handlers (api.Service: its authentication, its
// Idempotency-Key guard over a stepped idempotency store, its pages and
// answers), called directly rather than through Service.JSON or
// Service.Page, whose panic recovery would swallow an invocation's death.
// Every answer is checked against what Toss holds (check.go).

const merchantKey = "sim_merchant_key_0001"

type merchantKeys struct{}

func (merchantKeys) Keys(context.Context) (secrets.Keys, error) {
	return secrets.Keys{TossSecretKey: tossSecretKey, TossClientKey: "test_ck_sim", MerchantAPIKey: merchantKey}, nil
}

// request is one API Gateway event; merchant requests carry the merchant's
// Basic credentials.
func (s *Sim) request(method, path string, params map[string]string, body, idemKey string, merchant bool) *apigw.Request {
	s.reqSeq++
	r := &apigw.Request{RawPath: path, PathParameters: params, Body: body, Headers: map[string]string{}}
	if body != "" {
		r.Headers["content-type"] = "application/json"
	}
	if merchant {
		r.Headers["authorization"] = merchantapi.Basic(merchantKey)
	}
	if idemKey != "" {
		r.Headers["idempotency-key"] = idemKey
	}
	r.RequestContext.HTTP.Method = method
	r.RequestContext.RequestID = fmt.Sprintf("req-%d", s.reqSeq)
	r.RequestContext.DomainName = "api.sim.example"
	return r
}

// keyedAnswer is an answer as the idempotency layer stores it.
type keyedAnswer struct {
	status int
	body   string
}

// refundOverHTTP is one merchant request for the refund in: POST
// /payments/{paymentKey}/cancel, under the intent's Idempotency-Key if it
// has one. It checks what the merchant is told: a replay is the first
// stored answer, status and body; of the fresh answers about one refund at
// most one says it refunded something new; a 200 means an identical
// request executed at Toss.
func (s *Sim) refundOverHTTP(ctx context.Context, in *intent) string {
	body := fmt.Sprintf(`{"cancelReason":%q}`, in.reason)
	if in.amount > 0 {
		body = fmt.Sprintf(`{"cancelReason":%q,"cancelAmount":%d}`, in.reason, in.amount)
	}
	path := "/payments/" + in.paymentKey + "/cancel"
	resp := s.api.CancelPayment(ctx, s.request(http.MethodPost, path, map[string]string{"paymentKey": in.paymentKey}, body, in.callerKey, true))
	replayed := resp.Headers["Idempotent-Replayed"] == "true"
	what := fmt.Sprintf("refund #%d", in.id)
	s.checkKeyed(what, keyedAnswer{resp.StatusCode, resp.Body}, replayed)
	var entity struct {
		Repeated bool `json:"repeated"`
	}
	answer, err := merchantapi.Decode([]byte(resp.Body))
	if err != nil {
		s.violate("%s: an answer that is not JSON (%d): %q", what, resp.StatusCode, resp.Body)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(answer.EntityBody, &entity); err != nil {
			s.violate("%s: a 200 without its entity: %q", what, resp.Body)
		}
		s.answeredRefunded(in)
		if !replayed && !entity.Repeated {
			in.newAnswers++
			if in.newAnswers > 1 {
				s.violate("%s (key %q): two fresh answers say it refunded something new", what, in.callerKey)
			}
		}
	}
	// A merchant retries what did not get a definitive answer.
	in.failed = resp.StatusCode >= 500 || resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusTooManyRequests
	if resp.StatusCode == http.StatusOK {
		return fmt.Sprintf("200 (repeated %v, replayed %v)", entity.Repeated, replayed)
	}
	return fmt.Sprintf("%d %s (replayed %v)", resp.StatusCode, answer.Error.Code, replayed)
}

// deleteOverHTTP is the merchant deleting an order: DELETE /orders/{id}.
// The store refuses a paid or claimed order; checkStep and checkFinal hold
// that no payment Toss approved is lost to it.
func (s *Sim) deleteOverHTTP(ctx context.Context, o *simOrder) string {
	resp := s.api.DeleteOrder(ctx, s.request(http.MethodDelete, "/orders/"+o.id, map[string]string{"orderId": o.id}, "", "", true))
	return fmt.Sprintf("%d", resp.StatusCode)
}

// answer is what a buyer's, Toss's or the attacker's request was told, as
// its sender reads it: the attacker's threads wait out a 429's
// Retry-After, Toss redelivers what was not answered 200.
type answer struct {
	status     int
	retryAfter time.Duration // a 429's Retry-After
	text       string        // for the trace
}

func answerOf(resp apigw.Response, text string) answer {
	a := answer{status: resp.StatusCode, text: text}
	if n, err := strconv.Atoi(resp.Headers["Retry-After"]); err == nil && resp.StatusCode == http.StatusTooManyRequests {
		a.retryAfter = time.Duration(n) * time.Second
	}
	return a
}

// webhookOverHTTP is Toss (or whoever) posting w to POST /webhooks/toss.
func (s *Sim) webhookOverHTTP(ctx context.Context, w webhook) answer {
	body := fmt.Sprintf(`{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":%q,"data":{"paymentKey":%q,"orderId":%q,"status":%q}}`,
		w.at.In(kst).Format("2006-01-02T15:04:05.000000"), w.paymentKey, w.orderID, w.status)
	resp := s.api.TossWebhook(ctx, s.request(http.MethodPost, "/webhooks/toss", nil, body, "", false))
	var entity struct {
		Action string `json:"action"`
		Reason string `json:"reason"`
	}
	answer, err := merchantapi.Decode([]byte(resp.Body))
	if err == nil && len(answer.EntityBody) > 0 {
		err = json.Unmarshal(answer.EntityBody, &entity)
	}
	if err != nil {
		s.violate("webhook %s: an answer that is not JSON (%d): %q", w.paymentKey, resp.StatusCode, resp.Body)
	}
	if resp.StatusCode == http.StatusOK {
		return answerOf(resp, entity.Action+": "+entity.Reason)
	}
	return answerOf(resp, fmt.Sprintf("%d %s", resp.StatusCode, answer.Error.Code))
}

// kst is the zone of Toss's webhook timestamps, which carry no offset.
var kst = time.FixedZone("KST", 9*60*60)

// pageState is the machine-readable state a buyer page carries
// (<main id="status" data-state="…">): done, declined, processing, …
var pageState = regexp.MustCompile(`<main id="status" data-state="([a-z-]+)"`)

// confirmOverHTTP is the buyer's frontend confirming attempt at: the
// success redirect's page, POST /payments/confirm or POST /confirm (each
// under the frontend's Idempotency-Key if it sends one). Every answer is
// held to Toss's record: one that says paid means Toss approved this very
// attempt for the order at its amount; one that says declined means Toss
// never will. And to the abuse limits (checkAbuseAnswer): the amount the
// order asks for is never refused, an Idempotency-Key never answers 422
// here, and a buyer holding the checkout token is refused 429 only for
// its own budget.
func (s *Sim) confirmOverHTTP(ctx context.Context, o *simOrder, at attempt) answer {
	a := s.cur
	ans, code, state := s.confirmRequest(ctx, o, at)
	s.checkAbuseAnswer(a, o, at, ans, code, state)
	return ans
}

// confirmRequest is confirmOverHTTP's request and the answer checks about
// money; code is the error code of a JSON route's answer, state the page's.
func (s *Sim) confirmRequest(ctx context.Context, o *simOrder, at attempt) (ans answer, code, state string) {
	if at.route == routePage {
		q := url.Values{"orderId": {o.id}, "paymentKey": {at.paymentKey}, "amount": {strconv.FormatInt(at.redirect, 10)}}
		if at.token != "" {
			q.Set("token", at.token)
		}
		r := s.request(http.MethodGet, "/payments/success", nil, "", "", false)
		r.RawQueryString = q.Encode()
		resp := s.api.PaymentSuccess(ctx, r)
		state = "?"
		if m := pageState.FindStringSubmatch(resp.Body); m != nil {
			state = m[1]
		}
		switch state {
		case "done":
			s.answeredPaid(o, at.paymentKey, "the receipt page")
		case "declined":
			s.answeredDeclined(o, at.paymentKey, "the declined page")
		}
		return answerOf(resp, fmt.Sprintf("%d page %s", resp.StatusCode, state)), "", state
	}
	amount := strconv.FormatInt(at.redirect, 10)
	if at.route == routeSample && at.redirect%2 == 0 {
		amount = strconv.Quote(amount) // as the sample frontends send it
	}
	body := fmt.Sprintf(`{"paymentKey":%q,"orderId":%q,"amount":%s}`, at.paymentKey, o.id, amount)
	if at.token != "" {
		body = fmt.Sprintf(`{"paymentKey":%q,"orderId":%q,"amount":%s,"checkoutToken":%q}`, at.paymentKey, o.id, amount, at.token)
	}
	what := fmt.Sprintf("confirm of %s (%s)", at.paymentKey, routeNames[at.route])
	var resp apigw.Response
	if at.route == routeJSON {
		resp = s.api.ConfirmPayment(ctx, s.request(http.MethodPost, "/payments/confirm", nil, body, at.idemKey, false))
	} else {
		r := s.request(http.MethodPost, "/confirm", nil, body, at.idemKey, false)
		r.RouteKey = api.RouteTossSampleConfirm
		resp = s.api.TossSampleConfirm(ctx, r)
	}
	replayed := resp.Headers["Idempotent-Replayed"] == "true"
	if at.route == routeJSON {
		s.checkKeyed(what, keyedAnswer{resp.StatusCode, resp.Body}, replayed)
	} else {
		s.checkSampleKeyed(what, keyedAnswer{resp.StatusCode, resp.Body}, replayed)
	}
	e, err := merchantapi.Decode([]byte(resp.Body))
	if err != nil {
		s.violate("%s: an answer that is not JSON (%d): %q", what, resp.StatusCode, resp.Body)
	}
	code, msg := e.Error.Code, e.Error.Message
	if at.route == routeSample {
		// Toss's shape: a Payment, or {code, message} at the top level.
		var toss merchantapi.ErrorBody
		_ = json.Unmarshal([]byte(resp.Body), &toss)
		code, msg = toss.Code, toss.Message
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		var p struct {
			PaymentKey  string `json:"paymentKey"`
			OrderID     string `json:"orderId"`
			Status      string `json:"status"`
			TotalAmount int64  `json:"totalAmount"`
			Amount      int64  `json:"amount"`
		}
		raw := []byte(resp.Body)
		if at.route == routeJSON {
			raw = e.EntityBody
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			s.violate("%s: a 200 that is not a payment: %q", what, resp.Body)
		}
		paid := p.Amount
		if at.route == routeSample {
			paid = p.TotalAmount
		}
		if p.PaymentKey != at.paymentKey || p.OrderID != o.id || paid != o.amount || (at.route == routeJSON && p.Status != "DONE") {
			s.violate("%s: a 200 about another payment: %s", what, resp.Body)
		}
		s.answeredPaid(o, at.paymentKey, what+" answering 200")
		return answerOf(resp, fmt.Sprintf("200 %s (replayed %v)", p.Status, replayed)), "", ""
	case isDecline(resp.StatusCode, code, msg):
		s.answeredDeclined(o, at.paymentKey, fmt.Sprintf("%s answering %d %s", what, resp.StatusCode, code))
		return answerOf(resp, fmt.Sprintf("%d %s: declined (replayed %v)", resp.StatusCode, code, replayed)), code, ""
	}
	return answerOf(resp, fmt.Sprintf("%d %s (replayed %v)", resp.StatusCode, code, replayed)), code, ""
}

// isDecline reports whether an error answer of a JSON confirm route says
// the payment was declined: a 4xx passing on Toss's (or the engine's)
// failure, whose message is not one of the API's own. Those are what the
// API answers for its own refusals (a tampered amount, an expired order,
// a key in use), none of which says anything about the card.
func isDecline(status int, code, msg string) bool {
	if status < 400 || status >= 500 || status == http.StatusConflict || status == http.StatusTooManyRequests {
		return false
	}
	return !ourMessages[msg]
}

// ourMessages are the API's default messages for its own codes, in both
// languages.
var ourMessages = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range []string{api.CodeInvalidRequest, api.CodeInvalidJSON, api.CodeUnsupportedContentType, api.CodeRequestTooLarge,
		api.CodeInvalidCursor, api.CodeAmountMismatch, api.CodeNotFoundOrder, api.CodeOrderExpired, api.CodeAlreadyPaidOrder,
		api.CodeNotDeletableOrder, api.CodeNotCancelableOrder, api.CodeExceedCancelAmount, api.CodeCancelOutcomeUnknown,
		api.CodeMalformedWebhook, api.CodeUnauthorizedKey, api.CodeIncorrectBasicAuthFormat, api.CodeInvalidIdempotencyKey,
		api.CodeIdempotentProcessing, api.CodeIdempotencyKeyReused, api.CodeTooManyRequests, api.CodeServiceUnavailable,
		api.CodeInternal} {
		m[api.Message(c, api.Korean)] = true
		m[api.Message(c, api.English)] = true
	}
	return m
}()
