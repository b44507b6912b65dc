package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/pages"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/toss"
)

// Buyer pages answer every request with a page: 200 for a receipt, a
// "processing" page or a checkout; 400 for a refused amount or malformed
// parameters; 404 for an unknown order; 429 (a "processing" page that
// refreshes once the order admits another attempt) when the order's budget
// of Toss calls is spent; 503 only when our own storage or secrets are
// unreachable. Nothing a buyer can type into a URL is a 5xx.

const (
	noticeNotFound    = pages.NoticeNotFound
	noticeExpired     = pages.NoticeExpired
	noticePaid        = pages.NoticeAlreadyPaid
	noticeBadRequest  = pages.NoticeBadRequest
	noticeUnavailable = pages.NoticeUnavailable
	// noticeNoPayments: Toss refuses the merchant's configuration.
	noticeNoPayments = pages.NoticePaymentsUnavailable
)

// maxFailMessage bounds what we store of Toss's (attacker-controllable) fail message.
const maxFailMessage = 200

type page struct {
	lang  pages.Lang
	nonce string
	// token is the checkout token the request carried (its "token" query
	// value, if of a token's shape), which every link back to the
	// checkout keeps: the buyer who came with it keeps the order's own
	// budget through a retry. Whether it is the order's is for the
	// order's own writes to decide (orders.Claim); a wrong one only ever
	// goes back to whoever sent it, and grants nothing.
	token string
}

func (s *Service) pageFor(r *apigw.Request, q url.Values) page {
	return page{lang: pages.Negotiate(apigw.Header(r, "accept-language"), q.Get("lang")), nonce: pages.NewNonce(), token: tokenOf(q)}
}

// forBuyer makes every Toss call under ctx ask for Toss's messages in the
// language closest to the buyer's page: Toss writes them in Korean or
// English only, and a decline's reason is shown to the buyer and kept on
// the order. The deployment's TOSS_ACCEPT_LANGUAGE stays the language of
// the calls made for nobody's page (the reconciler's, webhooks').
func forBuyer(ctx context.Context, l pages.Lang) context.Context {
	tag := "en-US"
	if l == pages.Korean {
		tag = "ko-KR"
	}
	return toss.ContextWithAcceptLanguage(ctx, tag)
}

// tokenOf is the checkout token of a query, or "" when it has none of a
// token's shape.
func tokenOf(q url.Values) string {
	if t := q.Get(tokenParam); orders.ValidToken(t) {
		return t
	}
	return ""
}

// html renders a page with the security headers every buyer page carries.
func (s *Service) html(status int, p page, checkout bool, render func(*bytes.Buffer) error) apigw.Response {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		s.log().Error("render page", "error", err)
		buf.Reset()
		buf.WriteString("<!doctype html><meta charset=utf-8><title>Error</title><p>Temporarily unavailable. Please try again shortly.")
		status = http.StatusServiceUnavailable
	}
	resp := apigw.Respond(status, pages.SecurityHeaders(p.nonce, s.Config.TossSDKURL, checkout), buf.String())
	if status == http.StatusServiceUnavailable {
		resp.Headers["Retry-After"] = unavailableRetryAfter // as every JSON 503 (ErrorStatus)
	}
	return resp
}

func (s *Service) notice(r *apigw.Request, kind pages.NoticeKind, orderID string, status int) apigw.Response {
	q, _ := apigw.Query(r)
	return s.noticePage(s.pageFor(r, q), r, kind, orderID, "", status)
}

func (s *Service) noticePage(p page, r *apigw.Request, kind pages.NoticeKind, orderID, receiptURL string, status int) apigw.Response {
	v := pages.NoticeView{Lang: p.lang, Nonce: p.nonce, Kind: kind, OrderID: orderID, ReceiptURL: receiptURL}
	if orderID != "" && kind != noticeNotFound {
		v.CheckoutURL = s.checkoutLink(r, orderID, p)
	}
	return s.html(status, p, false, func(b *bytes.Buffer) error { return pages.Notice(b, v) })
}

// checkoutLink is the way back to the order's checkout, in the page's
// language and with the checkout token the request came with.
func (s *Service) checkoutLink(r *apigw.Request, orderID string, p page) string {
	u := s.CheckoutURL(r, orderID, p.token)
	sep := "?"
	if p.token != "" {
		sep = "&"
	}
	return u + sep + "lang=" + url.QueryEscape(string(p.lang))
}

// PaymentSuccess is GET /payments/success, the successUrl: it checks the
// amount against the order and confirms once, then shows the outcome. A
// refresh is safe: a finished confirm is read back, a running one shows
// "processing", a lapsed one is resumed under the same Idempotency-Key.
func (s *Service) PaymentSuccess(ctx context.Context, r *apigw.Request) apigw.Response {
	q, err := apigw.Query(r)
	if err != nil {
		return s.notice(r, noticeBadRequest, "", http.StatusBadRequest)
	}
	p := s.pageFor(r, q)
	orderID, paymentKey, rawAmount := q.Get("orderId"), q.Get("paymentKey"), q.Get("amount")
	amount, err := strconv.ParseInt(rawAmount, 10, 64)
	if err != nil || amount <= 0 || payments.ValidateConfirm(paymentKey, orderID, amount) != nil {
		return s.noticePage(p, r, noticeBadRequest, "", "", http.StatusBadRequest)
	}
	ctx = withOrder(ctx, orderID)
	ctx = forBuyer(ctx, p.lang)
	// The checkout page put the order's token into the successUrl it gave
	// Toss: this redirect then draws on the order's own budget, which
	// nobody without the checkout URL can spend.
	res, err := s.Engine.ConfirmWithToken(ctx, p.token, paymentKey, orderID, amount)
	var am *payments.AmountMismatchError
	var np *payments.NotPayableError
	var rl *payments.RateLimitedError
	switch {
	case errors.Is(err, payments.ErrOrderNotFound):
		return s.noticePage(p, r, noticeNotFound, "", "", http.StatusNotFound)
	case errors.As(err, &am):
		v := pages.AmountRefusedView{Lang: p.lang, Nonce: p.nonce, OrderID: orderID, CheckoutURL: s.checkoutLink(r, orderID, p)}
		return s.html(http.StatusBadRequest, p, false, func(b *bytes.Buffer) error { return pages.AmountRefused(b, v) })
	case errors.As(err, &np):
		if np.Order.Status.Paid() {
			return s.noticePage(p, r, noticePaid, orderID, receiptOf(np.Order), http.StatusOK)
		}
		return s.noticePage(p, r, noticeExpired, orderID, "", http.StatusOK)
	case errors.Is(err, payments.ErrInvalidRequest):
		return s.noticePage(p, r, noticeBadRequest, "", "", http.StatusBadRequest)
	case errors.As(err, &rl):
		// The caller's budget is spent: without the checkout token, others
		// may have spent the anonymous one; with it, only this buyer could
		// have (card after card). The page asks again by itself once a call
		// is free, which is at most a minute away, inside Toss's confirm
		// window.
		wait := retryAfterSeconds(rl.RetryAfter)
		v := pages.ProcessingView{Lang: p.lang, Nonce: p.nonce, OrderID: orderID, RefreshURL: s.selfURL(r), RefreshSeconds: wait}
		resp := s.html(http.StatusTooManyRequests, p, false, func(b *bytes.Buffer) error { return pages.Processing(b, v) })
		if resp.StatusCode == http.StatusTooManyRequests {
			resp.Headers["Retry-After"] = strconv.Itoa(wait)
		}
		return resp
	case errors.Is(err, payments.ErrTossConfiguration):
		// Logged by the engine. The order is payable: the way back to
		// the checkout is offered, for once the configuration is fixed.
		resp := s.noticePage(p, r, noticeNoPayments, orderID, "", http.StatusServiceUnavailable)
		if resp.StatusCode == http.StatusServiceUnavailable {
			resp.Headers["Retry-After"] = configurationRetryAfter
		}
		return resp
	case err != nil:
		s.log().ErrorContext(ctx, "confirm", "error", err)
		return s.noticePage(p, r, noticeUnavailable, "", "", http.StatusServiceUnavailable)
	}
	switch res.Outcome {
	case payments.OutcomeDone:
		o := res.Order
		v := pages.ReceiptView{Lang: p.lang, Nonce: p.nonce, OrderID: o.ID, OrderName: o.Name, Amount: o.Amount, Currency: o.Currency}
		if pay := o.Payment; pay != nil {
			v.CardNumber, v.CardIssuer, v.ApprovedAt, v.ReceiptURL = pay.CardNumber, pay.CardIssuerCode, pay.ApprovedAt, pay.ReceiptURL
		}
		return s.html(http.StatusOK, p, false, func(b *bytes.Buffer) error { return pages.Receipt(b, v) })
	case payments.OutcomeDeclined:
		v := pages.DeclinedView{Lang: p.lang, Nonce: p.nonce, OrderID: orderID, RetryURL: s.checkoutLink(r, orderID, p)}
		if f := res.Failure; f != nil {
			v.Code, v.Message = f.Code, f.Message
		}
		return s.html(http.StatusOK, p, false, func(b *bytes.Buffer) error { return pages.Declined(b, v) })
	default:
		v := pages.ProcessingView{Lang: p.lang, Nonce: p.nonce, OrderID: orderID, RefreshURL: s.selfURL(r), RefreshSeconds: 3}
		return s.html(http.StatusOK, p, false, func(b *bytes.Buffer) error { return pages.Processing(b, v) })
	}
}

func receiptOf(o *orders.Order) string {
	if o.Payment != nil {
		return o.Payment.ReceiptURL
	}
	return ""
}

// selfURL is the URL of this request (for a "processing" page to refresh).
func (s *Service) selfURL(r *apigw.Request) string {
	u := s.baseURL(r) + r.RawPath
	if r.RawQueryString != "" {
		u += "?" + r.RawQueryString
	}
	return u
}

// PaymentFail is GET /payments/fail, the failUrl: it shows guidance, with a
// way back to the checkout when the order is known. Toss's message is
// attacker-controllable: it is shown bounded and only as escaped text.
//
// It records nothing on the order. Toss does not sign the fail redirect:
// its code, message and orderId are the buyer's browser's word, and anyone
// who knows an orderId (it is on the public checkout page) can send any of
// them, as often as they like. Recorded, they would stand beside (or
// replace) what Toss itself reported, in what the merchant reads from
// GET /orders, and cost a write per request. What the order shows comes
// from Toss (a declined confirm, Toss's record of a payment) or from our
// own checks; the fail redirect goes to the log and a metric only, and the
// order is read, never written, so a paid order is untouched by
// construction.
func (s *Service) PaymentFail(ctx context.Context, r *apigw.Request) apigw.Response {
	q, err := apigw.Query(r)
	if err != nil {
		return s.notice(r, noticeBadRequest, "", http.StatusBadRequest)
	}
	p := s.pageFor(r, q)
	code := sanitizeCode(q.Get("code"))
	message := truncateRunes(q.Get("message"), maxFailMessage)
	// Toss adds orderId except for PAY_PROCESS_CANCELED; our failUrl carries it too.
	var orderID string
	for _, id := range q["orderId"] {
		if orders.ValidID(id) {
			orderID = id
			break
		}
	}
	v := pages.FailView{Lang: p.lang, Nonce: p.nonce, Code: code, Message: message}
	if orderID != "" {
		ctx = withOrder(ctx, orderID)
		o, err := s.Orders.Get(ctx, orderID, s.now())
		switch {
		case err == nil:
			// Whatever its state: the checkout page shows a paid or
			// expired order as such. The token goes back only if it is
			// the order's (the failUrl the checkout page made carries it).
			if !o.TokenMatches(p.token) {
				p.token = ""
			}
			v.CheckoutURL = s.checkoutLink(r, orderID, p)
		case errors.Is(err, orders.ErrNotFound):
			// Unknown order: no way back to offer.
		default:
			s.log().ErrorContext(ctx, "read order for fail redirect", "error", err)
			v.CheckoutURL = s.checkoutLink(r, orderID, p)
		}
	}
	// The buyer's word, counted and logged for operators: a rise in
	// PAY_PROCESS_ABORTED may be a contract problem (seed 002), which only
	// Toss's message says. The code is reduced to Toss's alphabet, and
	// counted only if Toss documents it; the message is cut to what the
	// page shows and escaped, so it cannot forge or hide log lines.
	s.Metrics.PaymentFailRedirect(failMetricCode(code))
	s.log().InfoContext(ctx, "payment window failed (reported by the buyer's browser)", "code", code, "message", escapeForLog(message))
	return s.html(http.StatusOK, p, false, func(b *bytes.Buffer) error { return pages.Fail(b, v) })
}

// windowFailCodes are the codes Toss's payment window sends to the
// failUrl itself (docs/toss-api.md#the-international-card-window); the
// failUrl may also carry any of the API's (toss.Known).
var windowFailCodes = map[string]bool{"PAY_PROCESS_CANCELED": true, "PAY_PROCESS_ABORTED": true, toss.CodeRejectCardCompany: true}

// failMetricCode is the Code a fail redirect is counted under: the code
// if Toss documents it, else OTHER. Anyone can write the redirect's URL,
// and every distinct value of a dimension is a metric CloudWatch bills for.
func failMetricCode(code string) string {
	if windowFailCodes[code] || toss.Known(code) {
		return code
	}
	return "OTHER"
}

// escapeForLog writes what is not printable (newlines, control and
// direction-changing characters) as Go escapes, leaving readable text,
// Korean included, as it is: text anyone can send stays one visible value
// in whatever shows the log.
func escapeForLog(s string) string {
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// sanitizeCode keeps a Toss error code to its alphabet; anything else is dropped.
func sanitizeCode(c string) string {
	if len(c) > 64 {
		return ""
	}
	for _, r := range c {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return ""
		}
	}
	return c
}

func truncateRunes(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Checkout is GET /checkout/{orderId}: the buyer's checkout page, which
// opens Toss's international card window for the stored amount.
func (s *Service) Checkout(ctx context.Context, r *apigw.Request) apigw.Response {
	q, err := apigw.Query(r)
	if err != nil {
		return s.notice(r, noticeBadRequest, "", http.StatusBadRequest)
	}
	p := s.pageFor(r, q)
	id, ok := orderIDParam(r)
	if !ok {
		return s.noticePage(p, r, noticeNotFound, "", "", http.StatusNotFound)
	}
	ctx = withOrder(ctx, id)
	o, err := s.Orders.Get(ctx, id, s.now())
	switch {
	case errors.Is(err, orders.ErrNotFound):
		return s.noticePage(p, r, noticeNotFound, "", "", http.StatusNotFound)
	case err != nil:
		s.log().ErrorContext(ctx, "get order", "error", err)
		return s.noticePage(p, r, noticeUnavailable, "", "", http.StatusServiceUnavailable)
	}
	// The checkout URL the merchant gave the buyer carries the order's
	// token, which this page passes on (below, and in its links). A token
	// that is not the order's goes nowhere: the page works as without one.
	if !o.TokenMatches(p.token) {
		p.token = ""
	}
	switch {
	case o.Status.Paid():
		return s.noticePage(p, r, noticePaid, o.ID, receiptOf(o), http.StatusOK)
	case o.Status == orders.StatusConfirming:
		v := pages.ProcessingView{Lang: p.lang, Nonce: p.nonce, OrderID: o.ID, RefreshURL: s.selfURL(r), RefreshSeconds: 3}
		return s.html(http.StatusOK, p, false, func(b *bytes.Buffer) error { return pages.Processing(b, v) })
	case !o.Status.Payable() || !s.now().Before(o.PayableUntil):
		return s.noticePage(p, r, noticeExpired, o.ID, "", http.StatusOK)
	}
	keys, err := s.Keys.Keys(ctx)
	if err != nil {
		s.log().ErrorContext(ctx, "load keys", "error", err)
		return s.noticePage(p, r, noticeUnavailable, "", "", http.StatusServiceUnavailable)
	}
	base := s.baseURL(r)
	lang := url.QueryEscape(string(p.lang))
	// The successUrl handed to Toss carries the token on, so that the
	// buyer's redirect draws on the order's own budget.
	tok := ""
	if p.token != "" {
		tok = "&" + tokenParam + "=" + url.QueryEscape(p.token)
	}
	v := pages.CheckoutView{
		Lang: p.lang, Nonce: p.nonce, OrderID: o.ID, OrderName: o.Name, Amount: o.Amount, Currency: o.Currency,
		ClientKey: keys.TossClientKey, CustomerKey: customerKey(o.ID),
		CustomerEmail: o.CustomerEmail, CustomerName: o.CustomerName,
		SuccessURL: base + "/payments/success?lang=" + lang + tok,
		FailURL:    base + "/payments/fail?lang=" + lang + "&orderId=" + url.QueryEscape(o.ID) + tok,
		SDKURL:     s.Config.TossSDKURL,
	}
	resp := s.html(http.StatusOK, p, true, func(b *bytes.Buffer) error { return pages.Checkout(b, v) })
	// The page that opens Toss's window is the one whose policy can break
	// it: it says what it blocks, and enforces only once the deployer says
	// so (CheckoutCspMode).
	pages.WithCSPReporting(resp.Headers, base+pages.CSPReportPath, s.Config.CheckoutCSPReportOnly)
	return resp
}

// customerKey identifies the (anonymous) buyer to the SDK: stable per order,
// revealing nothing about it.
func customerKey(orderID string) string {
	h := sha256.Sum256([]byte("customer\x00" + orderID))
	return "guest_" + hex.EncodeToString(h[:12])
}
