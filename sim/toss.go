package sim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tossrules"
)

// sessionWindow is Toss's confirm window after the buyer authenticates.
const sessionWindow = 10 * time.Minute

// tossSecretKey is the key the simulated Toss accepts (merchantKeys hands
// the same one to the API).
const tossSecretKey = "test_sk_sim"

// tossPayment is one payment attempt as Toss holds it, by the rule book
// the sandbox follows too.
type tossPayment = tossrules.Payment[struct{}]

// ours reports whether p is an approval the backend must account for: Toss
// approved it for its order's own amount. Another server may approve an
// attempt authenticated at another amount; that payment is not the
// order's, and this backend must never record it (checkStep).
func (s *Sim) ours(p *tossPayment) bool {
	return p.Approved() && p.Amount == s.amounts[p.OrderID]
}

// tossAnswer is one HTTP answer of Toss's, as stored under an
// Idempotency-Key and replayed byte for byte.
type tossAnswer struct {
	status int
	body   []byte
}

// executedRefund is a refund Toss executed for the merchant API: the
// request it executed, for the answer checks (answeredRefunded).
type executedRefund struct {
	in         *intent
	paymentKey string
	requested  int64 // the amount asked for; 0: the whole balance
}

// fakeToss follows Toss's rule book (tools/tossrules), as the sandbox
// does, in process: one approval per order, the confirmed amount must be
// the authenticated one, a 10-minute confirm window, cancels bounded by
// the balance; and keys replay their first processed answer. It speaks Toss's wire
// format over an http.RoundTripper (transport), so the product's real
// toss.Client encodes, retries and decodes every call. It never sleeps,
// and draws at random from the schedule's seeded source only, so a
// schedule stays a function of its seed.
type fakeToss struct {
	s     *Sim
	book  *tossrules.Book[struct{}]
	idem  map[string]tossAnswer
	txSeq int // numbers paymentKeys and cancels' transaction keys
	// confirmKey is the Idempotency-Key each (order, paymentKey) first
	// confirmed with: the engine promises one key for every retry.
	confirmKey map[string]string
	// late are requests Toss received and has not processed yet (their
	// caller timed out): they execute later, as received then, and a
	// repeat under the same key meanwhile is answered 409.
	late     []lateRequest
	inflight map[string]bool
	received time.Time // when the request executing now reached Toss; zero: now
	refunds  []executedRefund
	// anyAttempt: a lookup by orderId answers any unapproved attempt, not
	// the latest (paymentByOrderID).
	anyAttempt bool
	// asked are the paymentKeys our requests asked Toss about (a confirm
	// it received, a lookup it answered); declinedOurs the attempts
	// (orderId, NUL, paymentKey) it declined in answer to a confirm of
	// ours: what the event rule is held to (check.go).
	asked        map[string]bool
	declinedOurs map[string]bool
}

type lateRequest struct {
	what       string
	paymentKey string // the payment a late confirm is for ("" for a refund)
	scope      string
	receivedAt time.Time
	exec       func() tossAnswer
}

// lateLimit is how long Toss may take over a request it received: past
// it, the request failed there and was never executed.
const lateLimit = time.Minute

func newFakeToss(s *Sim) *fakeToss {
	t := &fakeToss{s: s, idem: map[string]tossAnswer{}, inflight: map[string]bool{}, confirmKey: map[string]string{},
		asked: map[string]bool{}, declinedOurs: map[string]bool{}}
	t.book = tossrules.New[struct{}](sessionWindow, func() string {
		t.txSeq++
		return fmt.Sprintf("tx%d", t.txSeq)
	})
	return t
}

// runLate processes the i-th late request, as Toss received it, or drops
// it when it has waited past lateLimit.
func (t *fakeToss) runLate(i int) {
	r := t.late[i]
	t.late = append(t.late[:i], t.late[i+1:]...)
	delete(t.inflight, r.scope)
	if p := t.book.Payment(r.paymentKey); p != nil {
		p.Confirming--
	}
	if t.s.now.Sub(r.receivedAt) > lateLimit {
		t.s.record("toss", fmt.Sprintf("drops late %s (received +%s): never executed", r.what, r.receivedAt.Sub(epoch)), faultNone)
		return
	}
	t.received = r.receivedAt
	a := r.exec()
	t.received = time.Time{}
	t.s.record("toss", fmt.Sprintf("processes late %s (received +%s): %d", r.what, r.receivedAt.Sub(epoch), a.status), faultNone)
}

func (t *fakeToss) receivedAt() time.Time {
	if !t.received.IsZero() {
		return t.received
	}
	return t.s.now
}

// authenticate is the buyer finishing the payment window at at: Toss
// issues a paymentKey for the order and amount, to be confirmed within the
// window; decline: the card company will refuse it.
func (t *fakeToss) authenticate(orderID string, amount int64, decline bool, at time.Time) string {
	t.txSeq++
	p := t.book.Authenticate(fmt.Sprintf("tpk_%s_%d", orderID, t.txSeq), orderID, amount, at)
	p.Decline = decline
	return p.Key
}

func (t *fakeToss) wire(p *tossPayment) *toss.Payment {
	w := &toss.Payment{Version: toss.APIVersion, PaymentKey: p.Key, OrderID: p.OrderID, TotalAmount: p.Amount,
		Status: toss.PaymentStatus(t.book.StatusAt(p, t.s.now)), Type: "NORMAL", Method: "카드", Currency: "KRW",
		RequestedAt: &toss.Time{Time: p.RequestedAt}}
	if p.Failure != nil {
		w.Failure = &toss.Failure{Code: p.Failure.Code, Message: tossMessagePrefix + "declined"}
	}
	if p.Approved() {
		w.BalanceAmount = p.Balance
		w.ApprovedAt = &toss.Time{Time: p.ApprovedAt}
		w.Card = &toss.Card{Amount: p.Amount, Number: "4330****1234", IssuerCode: "4V", CardType: "신용"}
		for _, c := range p.Cancels {
			w.Cancels = append(w.Cancels, toss.Cancel{TransactionKey: c.TransactionKey, CancelReason: c.Reason,
				CancelAmount: c.Amount, RefundableAmount: c.Refundable, CanceledAt: &toss.Time{Time: c.At}, CancelStatus: "DONE"})
		}
	}
	return w
}

// ok is a 200 with the payment as Toss writes it.
func (t *fakeToss) ok(p *tossPayment) tossAnswer {
	b, err := json.Marshal(t.wire(p))
	if err != nil {
		panic(fmt.Sprintf("sim: encode payment: %v", err)) // plain fields: cannot fail
	}
	return tossAnswer{status: http.StatusOK, body: b}
}

// tossMessagePrefix starts every message the simulated Toss writes, so an
// answer of ours that passes Toss's message on (a decline) can be told
// from one we wrote ourselves (merchant.go).
const tossMessagePrefix = "[toss] "

// refuse is Toss's v1 error object.
func refuse(status int, code string) tossAnswer {
	b, _ := json.Marshal(map[string]string{"code": code, "message": tossMessagePrefix + code}) // two strings: cannot fail
	return tossAnswer{status: status, body: b}
}

// refused is the rule book's refusal r as Toss writes it.
func refused(r *tossrules.Refusal) tossAnswer { return refuse(r.Status, r.Code) }

// tossRequest is one HTTP request as the fake reads it off the wire.
type tossRequest struct {
	method, route string // route: "confirm", "payment", "byOrder", "cancel"
	segment       string // the paymentKey or orderId in the path
	idemKey       string
	confirm       toss.ConfirmRequest
	cancel        toss.CancelRequest
	authorized    bool
}

func (r tossRequest) String() string {
	switch r.route {
	case "confirm":
		return "Toss POST confirm " + r.confirm.PaymentKey
	case "cancel":
		return fmt.Sprintf("Toss POST cancel %s %d", r.segment, r.cancel.CancelAmount)
	case "byOrder":
		return "Toss GET payments/orders/" + r.segment
	}
	return "Toss GET payments/" + r.segment
}

// scope is the request's idempotency scope at Toss ("" for a GET): key,
// URL and method, never the body (docs/toss-api.md#headers).
func (r tossRequest) scope() string {
	switch r.route {
	case "confirm":
		return "POST /v1/payments/confirm\x00" + r.idemKey
	case "cancel":
		return "POST /v1/payments/" + r.segment + "/cancel\x00" + r.idemKey
	}
	return ""
}

// parse reads what the client sent. Anything the product's client should
// never send is an error, reported as a violation by the caller.
func parseTossRequest(req *http.Request) (tossRequest, error) {
	r := tossRequest{method: req.Method, idemKey: req.Header.Get("Idempotency-Key")}
	r.authorized = req.Header.Get("Authorization") == "Basic "+base64.StdEncoding.EncodeToString([]byte(tossSecretKey+":"))
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return r, fmt.Errorf("read body: %w", err)
		}
		body = b
	}
	path, err := url.PathUnescape(req.URL.EscapedPath())
	if err != nil {
		return r, fmt.Errorf("path %q: %w", req.URL.EscapedPath(), err)
	}
	rest, ok := strings.CutPrefix(path, "/v1/payments/")
	if !ok {
		return r, fmt.Errorf("unknown path %q", path)
	}
	switch {
	case req.Method == http.MethodPost && rest == "confirm":
		r.route = "confirm"
		err = json.Unmarshal(body, &r.confirm)
	case req.Method == http.MethodPost && strings.HasSuffix(rest, "/cancel"):
		r.route, r.segment = "cancel", strings.TrimSuffix(rest, "/cancel")
		err = json.Unmarshal(body, &r.cancel)
	case req.Method == http.MethodGet && strings.HasPrefix(rest, "orders/"):
		r.route, r.segment = "byOrder", strings.TrimPrefix(rest, "orders/")
	case req.Method == http.MethodGet && !strings.Contains(rest, "/"):
		r.route, r.segment = "payment", rest
	default:
		return r, fmt.Errorf("unknown request %s %q", req.Method, path)
	}
	if err != nil {
		return r, fmt.Errorf("%s body: %w", r.route, err)
	}
	if req.Method == http.MethodPost && r.idemKey == "" {
		return r, fmt.Errorf("%s sent without an Idempotency-Key", r.route)
	}
	return r, nil
}

// execute answers r as Toss does, once per idempotency scope; in is the
// merchant's refund request the running invocation makes (nil otherwise).
func (t *fakeToss) execute(r tossRequest, in *intent) tossAnswer {
	if !r.authorized {
		return refuse(http.StatusUnauthorized, toss.CodeUnauthorizedKey)
	}
	switch r.route {
	case "payment":
		t.asked[r.segment] = true
		p := t.book.Payment(r.segment)
		if p == nil {
			return refuse(http.StatusNotFound, toss.CodeNotFoundPayment)
		}
		return t.ok(p)
	case "byOrder":
		return t.paymentByOrderID(r.segment)
	}
	scope := r.scope()
	if r.route == "confirm" {
		t.checkConfirm(r.confirm, r.idemKey)
	}
	if t.inflight[scope] {
		return refuse(http.StatusConflict, toss.CodeIdempotentRequestProcessing)
	}
	if a, ok := t.idem[scope]; ok {
		return a
	}
	var a tossAnswer
	if r.route == "confirm" {
		t.asked[r.confirm.PaymentKey] = true
		a = t.confirmOnce(r.confirm)
		// 403 for an attempt of this very order is the card's refusal
		// (FORBIDDEN_REQUEST is for another order's).
		if p := t.book.Payment(r.confirm.PaymentKey); p != nil && p.OrderID == r.confirm.OrderID && p.Status == tossrules.StatusAborted && a.status == http.StatusForbidden {
			t.declinedOurs[p.OrderID+"\x00"+p.Key] = true
		}
	} else {
		a = t.cancelOnce(r.segment, r.cancel.CancelReason, r.cancel.CancelAmount, in)
	}
	t.idem[scope] = a
	return a
}

// checkConfirm holds the engine's promises about the confirms it sends:
// only the stored amount, and one Idempotency-Key per (order, paymentKey).
func (t *fakeToss) checkConfirm(req toss.ConfirmRequest, key string) {
	s := t.s
	if want, ok := s.amounts[req.OrderID]; ok && req.Amount != want {
		s.violate("an amount other than the stored one reached Toss's confirm: order %s stored %d, sent %d", req.OrderID, want, req.Amount)
	}
	ck := req.OrderID + "\x00" + req.PaymentKey
	if first, ok := t.confirmKey[ck]; !ok {
		t.confirmKey[ck] = key
	} else if first != key {
		s.violate("confirm of %s for order %s sent under two Idempotency-Keys: a retry could execute anew", req.PaymentKey, req.OrderID)
	}
}

// confirmOnce executes a confirm, the product's or another server's.
func (t *fakeToss) confirmOnce(req toss.ConfirmRequest) tossAnswer {
	p, no := t.book.Confirm(req.PaymentKey, req.OrderID, req.Amount, t.receivedAt(), t.s.now)
	if no != nil {
		return refused(no)
	}
	if t.book.Approvals(p.OrderID) > 1 {
		t.s.violate("Toss approved two payments for order %s", p.OrderID)
	}
	t.s.approvedNow(p)
	t.s.queueWebhook(p)
	return t.ok(p)
}

// paymentByOrderID answers what the rule book does: the approved attempt
// of the order if there is one, else one of its attempts. Which one Toss
// documents nowhere: the sandbox answers the latest, and so does this fake
// in half the schedules; in the others it answers any attempt, drawn per
// lookup, so that nothing may rest on the choice.
func (t *fakeToss) paymentByOrderID(orderID string) tossAnswer {
	var pick func(int) int
	if t.anyAttempt {
		pick = t.s.rng.IntN
	}
	p := t.book.OrderPayment(orderID, pick)
	if p == nil {
		return refuse(http.StatusNotFound, toss.CodeNotFoundPayment)
	}
	t.asked[p.Key] = true
	return t.ok(p)
}

// cancelOnce executes a refund: in is the merchant API's refund request
// it executes, nil for a refund made in Toss's dashboard.
func (t *fakeToss) cancelOnce(key, reason string, amount int64, in *intent) tossAnswer {
	p, no := t.book.Cancel(key, reason, amount, t.s.now)
	if no != nil {
		return refused(no)
	}
	if in != nil {
		t.s.refundExecuted(in)
		t.refunds = append(t.refunds, executedRefund{in: in, paymentKey: key, requested: amount})
	}
	t.s.queueWebhook(p)
	return t.ok(p)
}

// transport is the product's toss.Client's http.RoundTripper: every HTTP
// request it sends (each retry its own) is a scheduled step of the calling
// invocation, and the fault drawn for the step decides what the request
// does at Toss and what comes back.
type transport struct{ s *Sim }

// netError is a request that got no answer: a timeout, a dropped
// connection. The client reports it with Status 0 (ClassUnknown).
type netError struct{ msg string }

func (e netError) Error() string   { return e.msg }
func (e netError) Timeout() bool   { return strings.Contains(e.msg, "timeout") }
func (e netError) Temporary() bool { return true }

var (
	errNoAnswer    = netError{"sim: Toss did not answer in time (timeout)"}
	errConnDropped = netError{"sim: connection dropped after Toss executed the request"}
)

func (tr transport) RoundTrip(req *http.Request) (*http.Response, error) {
	s := tr.s
	r, err := parseTossRequest(req)
	if err != nil {
		s.violate("the toss client sent a request Toss cannot read: %v", err)
		return respond(req, refuse(http.StatusBadRequest, toss.CodeInvalidRequest)), nil
	}
	in := s.cur.intent // a late refund still executes this request
	s.sendsToss(s.cur, r.String())
	f := s.step(stepToss, r.String(), false)
	t := s.toss
	scope := r.scope()
	switch {
	case f == faultLate && scope != "" && !t.inflight[scope]:
		// Received, not processed before the caller gave up: Toss
		// processes it later, as of now.
		t.inflight[scope] = true
		pk := ""
		if r.route == "confirm" {
			pk = r.confirm.PaymentKey
			if p := t.book.Payment(pk); p != nil {
				p.Confirming++
			}
		}
		t.late = append(t.late, lateRequest{what: r.String(), paymentKey: pk, scope: scope, receivedAt: s.now,
			exec: func() tossAnswer { return t.execute(r, in) }})
		return nil, errNoAnswer
	case f == faultTimeout, f == faultLate:
		return nil, errNoAnswer // never reached Toss
	case f == fault5xx:
		return respond(req, refuse(http.StatusInternalServerError, toss.CodeFailedInternalSystem)), nil
	case f == fault429:
		return respond(req, refuse(http.StatusTooManyRequests, toss.CodeTooManyRequests)), nil
	case f == faultProvider:
		return respond(req, refuse(http.StatusBadRequest, toss.CodeProviderError)), nil
	}
	a := t.execute(r, in)
	switch f {
	case faultLost:
		return nil, errConnDropped // executed (an approval, a refund), the answer dropped
	case faultDieAfter:
		s.die()
	case fault5xxAfter:
		// Executed, and its answer stored under the key, then Toss failed
		// before answering: a retry under the key gets the stored answer.
		return respond(req, refuse(http.StatusInternalServerError, toss.CodeFailedInternalSystem)), nil
	}
	return respond(req, a), nil
}

func respond(req *http.Request, a tossAnswer) *http.Response {
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", a.status, http.StatusText(a.status)),
		StatusCode:    a.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(a.body)),
		ContentLength: int64(len(a.body)),
		Request:       req,
	}
}

// newTossClient is the product's Toss client over the in-process fake.
// Its retry pauses are a nanosecond: the simulated invocation's time moves
// only with the world's clock, and a real pause would make a schedule
// slow without making it any different.
func (s *Sim) newTossClient() *toss.Client {
	c, err := toss.New(toss.Options{
		BaseURL:    "https://api.tosspayments.com",
		HTTPClient: &http.Client{Transport: transport{s: s}},
		SecretKey:  toss.StaticKey(tossSecretKey),
		Retry:      toss.RetryPolicy{MaxAttempts: toss.DefaultMaxAttempts, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond},
	})
	if err != nil {
		panic(fmt.Sprintf("sim: toss client: %v", err)) // static options
	}
	return c
}

// gateway is the engine's payments.Gateway: the real toss.Client, called
// with the invocation's context stripped of its deadline. That deadline is
// on the simulated clock, which starts in the real past, and the client
// compares it with the real one: it would never retry. The scheduler stops
// an invocation at its deadline instead (pickFault).
type gateway struct{ c *toss.Client }

func (g gateway) Confirm(ctx context.Context, req toss.ConfirmRequest, key string, opts ...toss.CallOption) (*toss.Payment, error) {
	return g.c.Confirm(context.WithoutCancel(ctx), req, key, opts...)
}

func (g gateway) Payment(ctx context.Context, key string, opts ...toss.CallOption) (*toss.Payment, error) {
	return g.c.Payment(context.WithoutCancel(ctx), key, opts...)
}

func (g gateway) PaymentByOrderID(ctx context.Context, orderID string, opts ...toss.CallOption) (*toss.Payment, error) {
	return g.c.PaymentByOrderID(context.WithoutCancel(ctx), orderID, opts...)
}

func (g gateway) Cancel(ctx context.Context, key string, req toss.CancelRequest, idemKey string, opts ...toss.CallOption) (*toss.Payment, error) {
	return g.c.Cancel(context.WithoutCancel(ctx), key, req, idemKey, opts...)
}
