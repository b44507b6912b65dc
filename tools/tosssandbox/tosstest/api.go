package tosstest

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tossintl/backend/tools/tossrules"
)

const (
	maxBodyBytes     = 1 << 20
	maxPaymentKeyLen = 200
	maxReasonLen     = 200
	// maxAmount is the largest integer a browser's Number holds exactly; the
	// SDK stand-in enforces the same bound, so both sides agree.
	maxAmount = 1<<53 - 1
)

type apiRoute int

const (
	routeNone apiRoute = iota
	routeConfirm
	routeGetPayment
	routeGetOrder
	routeCancel
)

// matchRoute maps a request to an endpoint. It returns the path parameter
// and, when the path exists under another method, that method for Allow.
func matchRoute(method, path string) (rt apiRoute, param, allow string) {
	rest, ok := strings.CutPrefix(path, "/v1/payments/")
	if !ok {
		return routeNone, "", ""
	}
	parts := strings.Split(rest, "/")
	want := ""
	switch {
	case len(parts) == 1 && parts[0] == "confirm":
		rt, want = routeConfirm, http.MethodPost
	case len(parts) == 1 && parts[0] != "":
		rt, param, want = routeGetPayment, parts[0], http.MethodGet
	case len(parts) == 2 && parts[0] == "orders" && parts[1] != "" && (parts[1] != "cancel" || method != http.MethodPost):
		// "POST /v1/payments/orders/cancel" cancels a payment keyed "orders".
		rt, param, want = routeGetOrder, parts[1], http.MethodGet
	case len(parts) == 2 && parts[0] != "" && parts[1] == "cancel":
		rt, param, want = routeCancel, parts[0], http.MethodPost
	default:
		return routeNone, "", ""
	}
	if method != want {
		return routeNone, "", want
	}
	return rt, param, ""
}

// serveAPI runs one API call through the layers Toss puts in front of its
// endpoints, in this order: injected fault, routing, Basic auth,
// Idempotency-Key (POST only), added latency, TossPayments-Test-Code, the
// endpoint itself, and finally approve-then-drop and cancel-then-drop.
func (s *Sandbox) serveAPI(w http.ResponseWriter, r *http.Request) {
	l := apiLang(r)
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	rec := s.record(r, body)

	if f, ok := s.takeFault(); ok {
		s.update(rec, func(q *Request) { q.Fault = f })
		switch f {
		case FaultDrop:
			s.drop(w, r, rec)
		case Fault429:
			s.answer(w, r, rec, errorResponse(http.StatusTooManyRequests, tossrules.CodeTooManyRequests, l))
		case FaultProviderError:
			s.answer(w, r, rec, errorResponse(http.StatusBadRequest, tossrules.CodeProviderError, l))
		default:
			s.answer(w, r, rec, errorResponse(http.StatusInternalServerError, tossrules.CodeFailedInternalSystem, l))
		}
		return
	}

	rt, param, allow := matchRoute(r.Method, r.URL.Path)
	if rt == routeNone {
		if allow != "" {
			w.Header().Set("Allow", allow)
			s.answer(w, r, rec, errorResponse(http.StatusMethodNotAllowed, tossrules.CodeMethodNotAllowed, l))
			return
		}
		s.answer(w, r, rec, errorResponse(http.StatusNotFound, tossrules.CodeNotFound, l))
		return
	}

	apiKey, authFail := s.authenticate(r, l)
	if authFail != nil {
		s.answer(w, r, rec, *authFail)
		return
	}
	s.update(rec, func(q *Request) { q.AuthOK = true })

	var (
		entry *idemEntry
		scope string
	)
	// Every POST takes an Idempotency-Key; on GET it is ignored
	// (docs/toss-api.md#idempotency-key).
	if k := r.Header.Get("Idempotency-Key"); k != "" && r.Method == http.MethodPost {
		if !validIdempotencyKey(k) {
			s.answer(w, r, rec, errorResponse(http.StatusBadRequest, tossrules.CodeInvalidIdempotencyKey, l))
			return
		}
		scope = idemScope(k, apiKey, r.Method, r.URL.RequestURI())
		e, res := s.claimIdempotency(scope, s.Now())
		switch res {
		case claimInFlight:
			s.answer(w, r, rec, errorResponse(http.StatusConflict, tossrules.CodeIdempotentRequestProcessing, l))
			return
		case claimReplay:
			s.update(rec, func(q *Request) { q.Replayed = true })
			if rt == routeCancel && e.resp.status == http.StatusOK && s.takeCancelThenDrop() {
				s.drop(w, r, rec)
				return
			}
			s.answer(w, r, rec, e.resp)
			return
		}
		entry = e
		defer s.abandonIdempotency(scope, entry) // no-op once the answer is stored
	}

	resp, approved := s.process(r, rt, param, apiKey, body, readErr, l)
	if entry != nil {
		s.finishIdempotency(entry, resp)
	}
	if approved && s.takeApproveThenDrop() {
		s.drop(w, r, rec)
		return
	}
	if rt == routeCancel && resp.status == http.StatusOK && s.takeCancelThenDrop() {
		s.drop(w, r, rec)
		return
	}
	s.answer(w, r, rec, resp)
}

// process is the part of a call that counts as in flight: latency, test
// code and the endpoint. approved is true when a confirm approved a payment.
func (s *Sandbox) process(r *http.Request, rt apiRoute, param, apiKey string, body []byte, readErr error, l lang) (resp apiResponse, approved bool) {
	s.mu.Lock()
	s.inFlight++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	s.sleepLatency()

	// With a test_ key the named error is answered and nothing is executed;
	// live keys ignore the header (docs/toss-api.md#other-request-headers).
	if tc := r.Header.Get("TossPayments-Test-Code"); tc != "" && strings.HasPrefix(apiKey, "test_") {
		return s.testCodeResponse(tc, l), false
	}
	if readErr != nil {
		return errorResponse(http.StatusBadRequest, tossrules.CodeInvalidRequest, l,
			"요청 본문을 읽을 수 없습니다 (최대 1MiB).", "The request body could not be read (1 MiB at most)."), false
	}
	base := s.baseURL(r)
	switch rt {
	case routeConfirm:
		return s.confirm(body, base, l)
	case routeGetPayment, routeGetOrder:
		return s.lookup(param, rt == routeGetOrder, base, l), false
	case routeCancel:
		return s.cancel(param, body, base, l), false
	}
	return errorResponse(http.StatusNotFound, tossrules.CodeNotFound, l), false
}

var testCodePattern = regexp.MustCompile(`^[A-Z0-9_]{1,100}$`)

func (s *Sandbox) testCodeResponse(code string, l lang) apiResponse {
	if !testCodePattern.MatchString(code) {
		return errorResponse(http.StatusBadRequest, tossrules.CodeInvalidRequest, l,
			"TossPayments-Test-Code 값이 올바르지 않습니다.", "The TossPayments-Test-Code value is malformed.")
	}
	return errorResponse(ErrorStatus(code), code, l)
}

func (s *Sandbox) takeApproveThenDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.approveThenDrop == 0 {
		return false
	}
	s.approveThenDrop--
	return true
}

// authenticate checks `Authorization: Basic base64(secretKey + ":")` and
// returns the key. Anything that is not Basic with valid base64 is a wrong
// key (401); a decoded value without the colon is a format error (403).
// The password part after the colon is ignored.
func (s *Sandbox) authenticate(r *http.Request, l lang) (string, *apiResponse) {
	unauthorized := errorResponse(http.StatusUnauthorized, tossrules.CodeUnauthorizedKey, l)
	h := r.Header.Get("Authorization")
	scheme, encoded, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", &unauthorized
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", &unauthorized
	}
	user, _, hasColon := bytes.Cut(decoded, []byte(":"))
	if !hasColon {
		bad := errorResponse(http.StatusForbidden, tossrules.CodeIncorrectBasicAuthFormat, l)
		return "", &bad
	}
	s.mu.Lock()
	current := s.secretKey
	s.mu.Unlock()
	if subtle.ConstantTimeCompare(user, []byte(current)) != 1 {
		return "", &unauthorized
	}
	return current, nil
}

// answer writes resp and completes the request's record.
func (s *Sandbox) answer(w http.ResponseWriter, r *http.Request, rec *Request, resp apiResponse) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
	s.update(rec, func(q *Request) { q.Status = resp.status })
	s.logRequest(r, rec)
}

// drop closes the connection without a byte of answer: to the client it is
// indistinguishable from a network failure after the request was sent.
func (s *Sandbox) drop(w http.ResponseWriter, r *http.Request, rec *Request) {
	s.update(rec, func(q *Request) { q.Dropped = true })
	s.logRequest(r, rec)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 cannot hijack; aborting the handler resets the stream instead.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// logRequest writes one line per call. It names no header values but the
// Idempotency-Key and test code, so no key can reach the log.
func (s *Sandbox) logRequest(r *http.Request, rec *Request) {
	s.mu.Lock()
	q := *rec
	s.mu.Unlock()
	s.log.Info("toss sandbox request",
		"method", r.Method, "path", r.URL.Path, "status", q.Status,
		"auth_ok", q.AuthOK, "idempotency_key", q.IdempotencyKey, "test_code", q.TestCode,
		"replayed", q.Replayed, "fault", q.Fault.String(), "dropped", q.Dropped)
}

// parseAmount accepts a JSON integer only: no string, fraction or exponent,
// so a client that sends the amount in another shape is caught here.
func parseAmount(raw json.RawMessage) (int64, bool) {
	v, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil || v <= 0 || v > maxAmount {
		return 0, false
	}
	return v, true
}

// parseConfirmAmount is parseAmount, plus the string of digits Toss's own
// sample frontends send (read from the success URL and forwarded as it is),
// which Toss's confirm accepts.
func parseConfirmAmount(raw json.RawMessage) (int64, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" || strings.Trim(s, "0123456789") != "" {
			return 0, false
		}
		raw = json.RawMessage(s)
	}
	return parseAmount(raw)
}

type confirmBody struct {
	PaymentKey string          `json:"paymentKey"`
	OrderID    string          `json:"orderId"`
	Amount     json.RawMessage `json:"amount"`
}

// confirm reads the body (400 INVALID_REQUEST when malformed) and
// approves the payment by the rule book (tossrules.Book.Confirm).
func (s *Sandbox) confirm(body []byte, base string, l lang) (apiResponse, bool) {
	var req confirmBody
	if err := json.Unmarshal(body, &req); err != nil {
		return errorResponse(http.StatusBadRequest, tossrules.CodeInvalidRequest, l,
			"요청 본문이 올바른 JSON이 아닙니다.", "The body is not valid JSON."), false
	}
	if req.PaymentKey == "" || utf8.RuneCountInString(req.PaymentKey) > maxPaymentKeyLen {
		return errorResponse(http.StatusBadRequest, tossrules.CodeInvalidRequest, l,
			"paymentKey는 1자 이상 200자 이하여야 합니다.", "paymentKey must be 1 to 200 characters."), false
	}
	if !orderIDPattern.MatchString(req.OrderID) {
		return errorResponse(http.StatusBadRequest, tossrules.CodeInvalidRequest, l,
			"orderId는 영문 대소문자, 숫자, -, _, = 로 이루어진 6자 이상 64자 이하 문자열이어야 합니다.",
			"orderId must be 6 to 64 characters of A-Z, a-z, 0-9, -, _ and =."), false
	}
	amount, ok := parseConfirmAmount(req.Amount)
	if !ok {
		return errorResponse(http.StatusBadRequest, tossrules.CodeInvalidRequest, l,
			"amount는 양의 정수여야 합니다.", "amount must be a positive integer."), false
	}

	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, no := s.book.Confirm(req.PaymentKey, req.OrderID, amount, now, now)
	if no != nil {
		return refused(no, l), false
	}
	p.Extra.approveNo = randomDigits(8)
	p.Extra.approvalTx = newTransactionKey()
	p.Extra.base = base
	s.webhookLocked(p, now)
	return jsonResponse(http.StatusOK, s.wireLocked(p, now, base, l)), true
}

// lookup answers a GET by paymentKey or, byOrder, by orderId: the
// Payment, or 404 NOT_FOUND_PAYMENT.
func (s *Sandbox) lookup(param string, byOrder bool, base string, l lang) apiResponse {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.book.Payment(param)
	if byOrder {
		p = s.book.OrderPayment(param, nil)
	}
	if p == nil {
		return errorResponse(http.StatusNotFound, tossrules.CodeNotFoundPayment, l)
	}
	return jsonResponse(http.StatusOK, s.wireLocked(p, now, base, l))
}

type cancelBody struct {
	CancelReason string          `json:"cancelReason"`
	CancelAmount json.RawMessage `json:"cancelAmount"`
}

// cancel refunds all or part of an approved payment's balance, as the
// cancel API and the dashboard do, from their body.
func (s *Sandbox) cancel(paymentKey string, body []byte, base string, l lang) apiResponse {
	reason, amount, bad := parseCancel(body, l)
	if bad != nil {
		return *bad
	}
	resp, _ := s.cancelPayment(paymentKey, reason, amount, base, l)
	return resp
}

// parseCancel reads {cancelReason, cancelAmount?}; amount 0 means the
// whole balance.
func parseCancel(body []byte, l lang) (reason string, amount int64, bad *apiResponse) {
	var req cancelBody
	if err := json.Unmarshal(body, &req); err != nil {
		r := errorResponse(http.StatusBadRequest, tossrules.CodeInvalidRequest, l,
			"요청 본문이 올바른 JSON이 아닙니다.", "The body is not valid JSON.")
		return "", 0, &r
	}
	if r := checkCancelReason(req.CancelReason, l); r != nil {
		return "", 0, r
	}
	if raw := bytes.TrimSpace(req.CancelAmount); len(raw) > 0 && string(raw) != "null" {
		v, ok := parseAmount(raw)
		if !ok {
			r := errorResponse(http.StatusBadRequest, tossrules.CodeInvalidRequest, l,
				"cancelAmount는 양의 정수여야 합니다.", "cancelAmount must be a positive integer.")
			return "", 0, &r
		}
		amount = v
	}
	return req.CancelReason, amount, nil
}

func checkCancelReason(reason string, l lang) *apiResponse {
	if strings.TrimSpace(reason) == "" || utf8.RuneCountInString(reason) > maxReasonLen {
		r := errorResponse(http.StatusBadRequest, tossrules.CodeInvalidRequest, l,
			"cancelReason은 필수이며 200자 이하여야 합니다.", "cancelReason is required and must be 200 characters or fewer.")
		return &r
	}
	return nil
}

// cancelPayment refunds amount (0: the whole balance) of an approved
// payment by the rule book (tossrules.Book.Cancel), announces it by
// webhook and answers the Payment; ok is false when it refused.
func (s *Sandbox) cancelPayment(paymentKey, reason string, amount int64, base string, l lang) (resp apiResponse, ok bool) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, no := s.book.Cancel(paymentKey, reason, amount, now)
	if no != nil {
		return refused(no, l), false
	}
	s.webhookLocked(p, now)
	return jsonResponse(http.StatusOK, s.wireLocked(p, now, base, l)), true
}
