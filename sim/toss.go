package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/tossintl/backend/shared/toss"
)

// sessionWindow is Toss's confirm window after the buyer authenticates.
const sessionWindow = 10 * time.Minute

// tossPayment is one payment attempt as Toss holds it.
type tossPayment struct {
	key, orderID string
	amount       int64              // authenticated in the payment window
	status       toss.PaymentStatus // IN_PROGRESS, DONE, PARTIAL_CANCELED, CANCELED, ABORTED
	decline      bool               // the card company refuses it at confirm
	requestedAt  time.Time
	approvedAt   time.Time
	balance      int64
	cancels      []toss.Cancel
	failure      *toss.Failure
	confirming   int // confirms received and not yet processed: the payment reads IN_PROGRESS, not EXPIRED
}

func (p *tossPayment) approved() bool {
	return p.status == toss.StatusDone || p.status == toss.StatusPartialCanceled || p.status == toss.StatusCanceled
}

// answer is what Toss stored under an Idempotency-Key: replayed as it was.
type answer struct {
	p   *toss.Payment
	err *toss.Error
}

// fakeToss follows the sandbox's rules (tools/tosssandbox/tosstest) in
// process: keys replay their first processed answer, one approval per
// order, the confirmed amount must be the authenticated one, a 10-minute
// confirm window, cancels bounded by the balance. It never sleeps and
// draws nothing at random, so a schedule stays a function of its seed.
type fakeToss struct {
	s        *Sim
	payments map[string]*tossPayment
	byOrder  map[string][]*tossPayment
	idem     map[string]answer
	txSeq    int
	// confirmKey is the Idempotency-Key each (order, paymentKey) first
	// confirmed with: the engine promises one key for every retry.
	confirmKey map[string]string
	approvals  map[string]int
	// late are requests Toss received and has not processed yet (their
	// caller timed out): they execute later, as received then, and a
	// repeat under the same key meanwhile is answered 409.
	late     []lateRequest
	inflight map[string]bool
	received time.Time // when the request executing now reached Toss; zero: now
}

type lateRequest struct {
	what       string
	paymentKey string // the payment a late confirm is for ("" for a refund)
	scope      string
	receivedAt time.Time
	exec       func() (*toss.Payment, *toss.Error)
}

// lateLimit is how long Toss may take over a request it received: past
// it, the request failed there and was never executed.
const lateLimit = time.Minute

// runLate processes the i-th late request, as Toss received it, or drops
// it when it has waited past lateLimit.
func (t *fakeToss) runLate(i int) {
	r := t.late[i]
	t.late = append(t.late[:i], t.late[i+1:]...)
	delete(t.inflight, r.scope)
	if p := t.payments[r.paymentKey]; p != nil {
		p.confirming--
	}
	if t.s.now.Sub(r.receivedAt) > lateLimit {
		t.s.record("toss", fmt.Sprintf("drops late %s (received +%s): never executed", r.what, r.receivedAt.Sub(epoch)), faultNone)
		return
	}
	t.received = r.receivedAt
	_, e := r.exec()
	t.received = time.Time{}
	t.s.record("toss", fmt.Sprintf("processes late %s (received +%s): err %v", r.what, r.receivedAt.Sub(epoch), e != nil), faultNone)
}

func (t *fakeToss) receivedAt() time.Time {
	if !t.received.IsZero() {
		return t.received
	}
	return t.s.now
}

func newFakeToss(s *Sim) *fakeToss {
	return &fakeToss{s: s, payments: map[string]*tossPayment{}, byOrder: map[string][]*tossPayment{},
		idem: map[string]answer{}, inflight: map[string]bool{}, confirmKey: map[string]string{}, approvals: map[string]int{}}
}

// authenticate is the buyer finishing the payment window: Toss issues a
// paymentKey for the order and amount, to be confirmed within the window.
func (t *fakeToss) authenticate(orderID string, amount int64, decline bool) string {
	t.txSeq++
	key := fmt.Sprintf("tpk_%s_%d", orderID, t.txSeq)
	p := &tossPayment{key: key, orderID: orderID, amount: amount, status: toss.StatusInProgress, decline: decline, requestedAt: t.s.now}
	t.payments[key] = p
	t.byOrder[orderID] = append(t.byOrder[orderID], p)
	return key
}

func (t *fakeToss) wire(p *tossPayment) *toss.Payment {
	st := p.status
	if st == toss.StatusInProgress && p.confirming == 0 && t.s.now.Sub(p.requestedAt) > sessionWindow {
		st = toss.StatusExpired
	}
	w := &toss.Payment{PaymentKey: p.key, OrderID: p.orderID, TotalAmount: p.amount, Status: st,
		Method: "카드", Currency: "KRW", RequestedAt: &toss.Time{Time: p.requestedAt}, Failure: p.failure}
	if p.approved() {
		w.BalanceAmount = p.balance
		w.ApprovedAt = &toss.Time{Time: p.approvedAt}
		w.Card = &toss.Card{Amount: p.amount, Number: "4330****1234", IssuerCode: "4V", CardType: "신용"}
		w.Cancels = append([]toss.Cancel(nil), p.cancels...)
	}
	return w
}

func terr(method, path string, status int, code string) *toss.Error {
	return &toss.Error{Method: method, Path: path, Status: status, Code: code, Message: code}
}

const confirmPath = "/v1/payments/confirm"

func (t *fakeToss) confirm(req toss.ConfirmRequest, key string) (*toss.Payment, *toss.Error) {
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
	scope := confirmScope(key)
	if t.inflight[scope] {
		return nil, terr("POST", confirmPath, 409, toss.CodeIdempotentRequestProcessing)
	}
	if a, ok := t.idem[scope]; ok {
		return a.p, a.err
	}
	p, e := t.confirmOnce(req)
	t.idem[scope] = answer{p, e}
	return p, e
}

func (t *fakeToss) confirmOnce(req toss.ConfirmRequest) (*toss.Payment, *toss.Error) {
	bad := func(status int, code string) (*toss.Payment, *toss.Error) {
		return nil, terr("POST", confirmPath, status, code)
	}
	p := t.payments[req.PaymentKey]
	switch {
	case p == nil:
		return bad(404, toss.CodeNotFoundPaymentSession)
	case p.orderID != req.OrderID:
		return bad(403, toss.CodeForbiddenRequest)
	case p.approved():
		return bad(400, toss.CodeAlreadyProcessedPayment)
	}
	for _, other := range t.byOrder[p.orderID] {
		if other.approved() {
			return bad(400, toss.CodeAlreadyProcessedPayment)
		}
	}
	switch {
	case t.receivedAt().Sub(p.requestedAt) > sessionWindow:
		return bad(404, toss.CodeNotFoundPaymentSession)
	case req.Amount != p.amount:
		return bad(400, toss.CodeInvalidRequest)
	case p.status == toss.StatusAborted:
		return bad(403, toss.CodeRejectCardCompany)
	case p.decline:
		p.status = toss.StatusAborted
		p.failure = &toss.Failure{Code: toss.CodeRejectCardCompany, Message: "declined"}
		return bad(403, toss.CodeRejectCardCompany)
	}
	p.status, p.approvedAt, p.balance = toss.StatusDone, t.s.now, p.amount
	t.approvals[p.orderID]++
	if t.approvals[p.orderID] > 1 {
		t.s.violate("Toss approved two payments for order %s", p.orderID)
	}
	t.s.queueWebhook(p)
	return t.wire(p), nil
}

func (t *fakeToss) payment(key string) (*toss.Payment, *toss.Error) {
	p := t.payments[key]
	if p == nil {
		return nil, terr("GET", "/v1/payments/{paymentKey}", 404, toss.CodeNotFoundPayment)
	}
	return t.wire(p), nil
}

// paymentByOrderID answers the approved attempt of the order if there is
// one, else its latest attempt, as the sandbox does.
func (t *fakeToss) paymentByOrderID(orderID string) (*toss.Payment, *toss.Error) {
	ps := t.byOrder[orderID]
	for _, p := range ps {
		if p.approved() {
			return t.wire(p), nil
		}
	}
	if len(ps) == 0 {
		return nil, terr("GET", "/v1/payments/orders/{orderId}", 404, toss.CodeNotFoundPayment)
	}
	return t.wire(ps[len(ps)-1]), nil
}

func confirmScope(idemKey string) string { return "POST " + confirmPath + "\x00" + idemKey }

func cancelScope(key, idemKey string) string {
	return "POST /v1/payments/" + key + "/cancel\x00" + idemKey
}

func (t *fakeToss) cancel(key string, req toss.CancelRequest, idemKey string, in *intent) (*toss.Payment, *toss.Error) {
	scope := cancelScope(key, idemKey)
	if t.inflight[scope] {
		return nil, terr("POST", "/v1/payments/{paymentKey}/cancel", 409, toss.CodeIdempotentRequestProcessing)
	}
	if a, ok := t.idem[scope]; ok {
		return a.p, a.err
	}
	p, e := t.cancelOnce(key, req.CancelReason, req.CancelAmount, in)
	t.idem[scope] = answer{p, e}
	return p, e
}

// cancelOnce executes a refund: in is the merchant API's refund request
// it executes, nil for a refund made in Toss's dashboard.
func (t *fakeToss) cancelOnce(key, reason string, amount int64, in *intent) (*toss.Payment, *toss.Error) {
	const path = "/v1/payments/{paymentKey}/cancel"
	p := t.payments[key]
	switch {
	case p == nil:
		return nil, terr("POST", path, 404, toss.CodeNotFoundPayment)
	case p.status == toss.StatusCanceled:
		return nil, terr("POST", path, 400, toss.CodeAlreadyCanceledPayment)
	case !p.approved():
		return nil, terr("POST", path, 403, toss.CodeNotCancelablePayment)
	}
	if amount == 0 {
		amount = p.balance
	}
	if amount > p.balance {
		return nil, terr("POST", path, 403, toss.CodeNotCancelableAmount)
	}
	if in != nil {
		t.s.refundExecuted(in, p, amount)
	}
	p.balance -= amount
	p.status = toss.StatusPartialCanceled
	if p.balance == 0 {
		p.status = toss.StatusCanceled
	}
	t.txSeq++
	p.cancels = append(p.cancels, toss.Cancel{TransactionKey: fmt.Sprintf("tx%d", t.txSeq), CancelReason: reason,
		CancelAmount: amount, RefundableAmount: p.balance, CanceledAt: &toss.Time{Time: t.s.now}, CancelStatus: "DONE"})
	t.s.queueWebhook(p)
	return t.wire(p), nil
}

// gateway is the engine's payments.Gateway: every call is a scheduled
// step, and the fault drawn for it decides what the call does.
type gateway struct{ s *Sim }

// call runs one Toss call as a step; scope is its idempotency scope ("" for
// a GET), confirming the paymentKey a confirm is for ("" otherwise).
func (g gateway) call(op, method, path, scope, confirming string, exec func() (*toss.Payment, *toss.Error)) (*toss.Payment, error) {
	f := g.s.step(stepToss, op)
	lost := &toss.Error{Method: method, Path: path, Err: context.DeadlineExceeded}
	switch {
	case f == faultLate && scope != "" && !g.s.toss.inflight[scope]:
		// Received, not processed before the caller gave up: Toss
		// processes it later, as of now.
		t := g.s.toss
		t.inflight[scope] = true
		if p := t.payments[confirming]; p != nil {
			p.confirming++
		}
		t.late = append(t.late, lateRequest{what: op, paymentKey: confirming, scope: scope, receivedAt: g.s.now, exec: exec})
		return nil, lost
	case f == faultTimeout, f == faultLate:
		return nil, lost // never reached Toss
	}
	switch f {
	case fault5xx:
		return nil, terr(method, path, 500, toss.CodeFailedInternalSystem)
	case fault429:
		return nil, terr(method, path, 429, toss.CodeTooManyRequests)
	case faultProvider:
		return nil, terr(method, path, 400, toss.CodeProviderError)
	}
	p, e := exec()
	switch f {
	case faultLost:
		return nil, lost // executed (an approval, a refund), the answer dropped
	case faultDieAfter:
		g.s.die()
	}
	if e != nil {
		return nil, e
	}
	return p, nil
}

func (g gateway) Confirm(ctx context.Context, req toss.ConfirmRequest, key string, _ ...toss.CallOption) (*toss.Payment, error) {
	return g.call("Toss.Confirm "+req.PaymentKey, "POST", confirmPath, confirmScope(key), req.PaymentKey, func() (*toss.Payment, *toss.Error) {
		return g.s.toss.confirm(req, key)
	})
}

func (g gateway) Payment(ctx context.Context, key string, _ ...toss.CallOption) (*toss.Payment, error) {
	return g.call("Toss.Payment "+key, "GET", "/v1/payments/{paymentKey}", "", "", func() (*toss.Payment, *toss.Error) {
		return g.s.toss.payment(key)
	})
}

func (g gateway) PaymentByOrderID(ctx context.Context, orderID string, _ ...toss.CallOption) (*toss.Payment, error) {
	return g.call("Toss.PaymentByOrderID "+orderID, "GET", "/v1/payments/orders/{orderId}", "", "", func() (*toss.Payment, *toss.Error) {
		return g.s.toss.paymentByOrderID(orderID)
	})
}

func (g gateway) Cancel(ctx context.Context, key string, req toss.CancelRequest, idemKey string, _ ...toss.CallOption) (*toss.Payment, error) {
	in := g.s.cur.intent // a late refund still executes this request
	return g.call(fmt.Sprintf("Toss.Cancel %s %d", key, req.CancelAmount), "POST", "/v1/payments/{paymentKey}/cancel", cancelScope(key, idemKey), "", func() (*toss.Payment, *toss.Error) {
		return g.s.toss.cancel(key, req, idemKey, in)
	})
}
