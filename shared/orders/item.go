package orders

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of an order item. Times are epoch milliseconds (N) except
// the TTL attributes, which are epoch seconds because DynamoDB's TTL reads
// seconds.
const (
	attrID             = "id"
	attrName           = "name"
	attrAmount         = "amount"
	attrCurrency       = "currency"
	attrRefOrderID     = "refOrderId"
	attrCustomerEmail  = "customerEmail"
	attrCustomerName   = "customerName"
	attrStatus         = "status"
	attrPaymentKey     = "paymentKey"
	attrPayment        = "payment"
	attrLastFailure    = "lastFailure"
	attrClaimExpiresAt = "claimExpiresAt"
	attrPayableUntil   = "payableUntil"
	attrTTL            = TTLAttribute
	attrUnpaidTTL      = "unpaidTtl" // the TTL an unpaid order carries; Fail restores ttl from it
	attrCreatedAt      = "createdAt"
	attrUpdatedAt      = "updatedAt"
	attrVersion        = "version"
	attrListKey        = "listKey"    // hash key of the created index, listKeyValue on every order
	attrDueKind        = "dueKind"    // hash key of the due index, absent when nothing is due
	attrDueAt          = "dueAt"      // range key of the due index
	attrWriteToken     = "writeToken" // random per write: a retried write recognises itself (writeToken)
)

const (
	listKeyValue = "ORDER"
	dueClaim     = "CLAIM"  // CONFIRMING: due when the claim lapses
	dueUnpaid    = "UNPAID" // PENDING or FAILED: due when the pay window closes
)

type item = map[string]types.AttributeValue

func avS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func avN(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func avMillis(t time.Time) types.AttributeValue {
	return avN(t.UnixMilli())
}

// putS, putN and putMillis leave optional attributes out rather than
// storing empty values, so an item only holds what the order has.
func putS(it item, k, v string) {
	if v != "" {
		it[k] = avS(v)
	}
}

func putMillis(it item, k string, t time.Time) {
	if !t.IsZero() {
		it[k] = avMillis(t)
	}
}

// dueKey is where an order sits in the due index, if anywhere.
func dueKey(o *Order) (kind string, at time.Time, ok bool) {
	switch {
	case o.Status == StatusConfirming:
		return dueClaim, o.ClaimExpiresAt, true
	case o.Status.Payable():
		return dueUnpaid, o.PayableUntil, true
	}
	return "", time.Time{}, false
}

// encodeOrder is the full item for a new order.
func encodeOrder(o *Order) item {
	it := item{
		attrID:      avS(o.ID),
		attrAmount:  avN(o.Amount),
		attrStatus:  avS(string(o.Status)),
		attrVersion: avN(o.Version),
		attrListKey: avS(listKeyValue),
	}
	putS(it, attrCurrency, o.Currency)
	putS(it, attrName, o.Name)
	putS(it, attrRefOrderID, o.RefOrderID)
	putS(it, attrCustomerEmail, o.CustomerEmail)
	putS(it, attrCustomerName, o.CustomerName)
	putS(it, attrPaymentKey, o.PaymentKey)
	if o.Payment != nil {
		it[attrPayment] = encodePayment(o.Payment)
	}
	if o.LastFailure != nil {
		it[attrLastFailure] = encodeFailure(o.LastFailure)
	}
	putMillis(it, attrClaimExpiresAt, o.ClaimExpiresAt)
	putMillis(it, attrPayableUntil, o.PayableUntil)
	if !o.ExpiresAt.IsZero() {
		it[attrTTL] = avN(ttlSeconds(o.ExpiresAt))
		it[attrUnpaidTTL] = avN(ttlSeconds(o.ExpiresAt))
	}
	putMillis(it, attrCreatedAt, o.CreatedAt)
	putMillis(it, attrUpdatedAt, o.UpdatedAt)
	if kind, at, ok := dueKey(o); ok && !at.IsZero() {
		it[attrDueKind] = avS(kind)
		it[attrDueAt] = avMillis(at)
	}
	return it
}

func encodePayment(p *Payment) types.AttributeValue {
	m := item{
		"totalAmount":   avN(p.TotalAmount),
		"balanceAmount": avN(p.BalanceAmount),
	}
	putS(m, "status", p.Status)
	putS(m, "method", p.Method)
	putMillis(m, "approvedAt", p.ApprovedAt)
	putS(m, "cardNumber", p.CardNumber)
	putS(m, "cardIssuerCode", p.CardIssuerCode)
	putS(m, "cardType", p.CardType)
	putS(m, "receiptUrl", p.ReceiptURL)
	if len(p.Cancels) > 0 {
		m["cancels"] = encodeCancels(p.Cancels)
	}
	return &types.AttributeValueMemberM{Value: m}
}

// encodeCancels is the payment's "cancels" list, also written on its own
// by ApplyCancel.
func encodeCancels(cs []Cancel) types.AttributeValue {
	l := make([]types.AttributeValue, len(cs))
	for i, c := range cs {
		cm := item{"amount": avN(c.Amount)}
		putS(cm, "transactionKey", c.TransactionKey)
		putS(cm, "reason", c.Reason)
		putMillis(cm, "canceledAt", c.CanceledAt)
		l[i] = &types.AttributeValueMemberM{Value: cm}
	}
	return &types.AttributeValueMemberL{Value: l}
}

func encodeFailure(f *Failure) types.AttributeValue {
	m := item{"amount": avN(f.Amount)}
	putS(m, "code", f.Code)
	putS(m, "message", f.Message)
	putS(m, "paymentKey", f.PaymentKey)
	putMillis(m, "at", f.At)
	return &types.AttributeValueMemberM{Value: m}
}

// decoder reads attributes from one item and remembers the first problem,
// so decodeOrder reads as a list of fields and still never panics on a
// malformed item.
type decoder struct {
	it  item
	err error
}

func (d *decoder) fail(k, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %q: %s", k, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) s(k string) string {
	v, ok := d.it[k]
	if !ok {
		return ""
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		d.fail(k, "want S, got %T", v)
		return ""
	}
	return s.Value
}

func (d *decoder) n(k string) int64 {
	v, ok := d.it[k]
	if !ok {
		return 0
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		d.fail(k, "want N, got %T", v)
		return 0
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		d.fail(k, "not an integer: %q", n.Value)
		return 0
	}
	return i
}

func (d *decoder) millis(k string) time.Time {
	if _, ok := d.it[k]; !ok {
		return time.Time{}
	}
	return time.UnixMilli(d.n(k)).UTC()
}

func (d *decoder) seconds(k string) time.Time {
	if _, ok := d.it[k]; !ok {
		return time.Time{}
	}
	return time.Unix(d.n(k), 0).UTC()
}

func (d *decoder) m(k string) (item, bool) {
	v, ok := d.it[k]
	if !ok {
		return nil, false
	}
	m, ok := v.(*types.AttributeValueMemberM)
	if !ok || m.Value == nil {
		d.fail(k, "want M, got %T", v)
		return nil, false
	}
	return m.Value, true
}

func (d *decoder) require(keys ...string) {
	for _, k := range keys {
		if _, ok := d.it[k]; !ok {
			d.fail(k, "missing")
		}
	}
}

// sub decodes a nested map, reporting its problems under the parent's name.
func (d *decoder) sub(k string, m item, f func(*decoder)) {
	sd := &decoder{it: m}
	f(sd)
	if sd.err != nil && d.err == nil {
		d.err = fmt.Errorf("attribute %q: %w", k, sd.err)
	}
}

var knownStatus = map[Status]bool{
	StatusPending: true, StatusConfirming: true, StatusDone: true, StatusFailed: true,
	StatusCanceled: true, StatusPartialCanceled: true, StatusExpired: true,
}

// decodeOrder turns an item back into an Order. Optional attributes may be
// missing; a missing key field, a wrong type or an unknown status is an
// error, because acting on a misread order could move money wrongly.
func decodeOrder(it item) (*Order, error) {
	d := &decoder{it: it}
	d.require(attrID, attrStatus, attrAmount)
	o := &Order{
		ID:             d.s(attrID),
		Name:           d.s(attrName),
		Amount:         d.n(attrAmount),
		Currency:       d.s(attrCurrency),
		RefOrderID:     d.s(attrRefOrderID),
		CustomerEmail:  d.s(attrCustomerEmail),
		CustomerName:   d.s(attrCustomerName),
		Status:         Status(d.s(attrStatus)),
		PaymentKey:     d.s(attrPaymentKey),
		ClaimExpiresAt: d.millis(attrClaimExpiresAt),
		PayableUntil:   d.millis(attrPayableUntil),
		ExpiresAt:      d.seconds(attrTTL),
		CreatedAt:      d.millis(attrCreatedAt),
		UpdatedAt:      d.millis(attrUpdatedAt),
		Version:        d.n(attrVersion),
	}
	if d.err == nil && !knownStatus[o.Status] {
		d.fail(attrStatus, "unknown status %q", o.Status)
	}
	if m, ok := d.m(attrPayment); ok {
		o.Payment = &Payment{}
		d.sub(attrPayment, m, func(pd *decoder) { decodePayment(pd, o.Payment) })
	}
	if m, ok := d.m(attrLastFailure); ok {
		f := &Failure{}
		d.sub(attrLastFailure, m, func(fd *decoder) {
			*f = Failure{
				Code:       fd.s("code"),
				Message:    fd.s("message"),
				PaymentKey: fd.s("paymentKey"),
				Amount:     fd.n("amount"),
				At:         fd.millis("at"),
			}
		})
		o.LastFailure = f
	}
	if d.err != nil {
		return nil, fmt.Errorf("orders: decode order %q: %w", o.ID, d.err)
	}
	return o, nil
}

func decodePayment(d *decoder, p *Payment) {
	*p = Payment{
		Status:         d.s("status"),
		Method:         d.s("method"),
		ApprovedAt:     d.millis("approvedAt"),
		CardNumber:     d.s("cardNumber"),
		CardIssuerCode: d.s("cardIssuerCode"),
		CardType:       d.s("cardType"),
		ReceiptURL:     d.s("receiptUrl"),
		TotalAmount:    d.n("totalAmount"),
		BalanceAmount:  d.n("balanceAmount"),
	}
	v, ok := d.it["cancels"]
	if !ok {
		return
	}
	l, ok := v.(*types.AttributeValueMemberL)
	if !ok {
		d.fail("cancels", "want L, got %T", v)
		return
	}
	for i, cv := range l.Value {
		cm, ok := cv.(*types.AttributeValueMemberM)
		if !ok || cm.Value == nil {
			d.fail("cancels", "element %d: want M, got %T", i, cv)
			return
		}
		cd := &decoder{it: cm.Value}
		c := Cancel{
			TransactionKey: cd.s("transactionKey"),
			Reason:         cd.s("reason"),
			Amount:         cd.n("amount"),
			CanceledAt:     cd.millis("canceledAt"),
		}
		if cd.err != nil {
			d.fail("cancels", "element %d: %v", i, cd.err)
			return
		}
		p.Cancels = append(p.Cancels, c)
	}
}
