package orders

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of an order item, for the table definition and the
// expressions; orderItem's tags spell the same names.
const (
	attrID             = "id"
	attrAmount         = "amount"
	attrStatus         = "status"
	attrPaymentKey     = "paymentKey"
	attrPayment        = "payment"
	attrLastFailure    = "lastFailure"
	attrClaimExpiresAt = "claimExpiresAt"
	attrPayableUntil   = "payableUntil"
	attrTTL            = TTLAttribute
	attrUnpaidTTL      = "unpaidTtl"
	attrCreatedAt      = "createdAt"
	attrUpdatedAt      = "updatedAt"
	attrVersion        = "version"
	attrListShard      = "listShard" // hash key of CreatedIndex: listShardOf(id)
	attrDueShard       = "dueShard"  // hash key of DueIndex: dueShardOf(kind, id), absent when nothing is due
	attrDueAt          = "dueAt"
	attrWriteToken     = "writeToken"
	// attrAttempt is the prefix of the RecentAttempts slots: attempt0
	// (newest) to attempt<AttemptLimit-1>, epoch ms, 0 for an empty slot;
	// attrTokenAttempt the same for TokenAttempts.
	attrAttempt      = "attempt"
	attrTokenAttempt = "tokenAttempt"
	attrToken        = "checkoutToken"
	attrClaimedAt    = "claimedAt"
	// attrClaimedFrom is the status a fresh claim was taken from (PENDING
	// or FAILED), kept across resumes and removed with the claim: what
	// Release goes back to.
	attrClaimedFrom    = "claimedFrom"
	attrRefunds        = "refunds"        // map: refund key → refundItem
	attrRefundReserved = "refundReserved" // sum of the pending refunds' amounts; absent means 0
)

type item = map[string]types.AttributeValue

// orderItem is an order as the table holds it. Times are epoch milliseconds
// except the TTL attributes, which are epoch seconds because DynamoDB's TTL
// reads seconds. Optional attributes are omitempty, so an item only holds
// what the order has: a zero number or an empty string is an absent
// attribute, and absent times read back as the zero time.
type orderItem struct {
	ID             string       `dynamodbav:"id"`
	Name           string       `dynamodbav:"name,omitempty"`
	Amount         int64        `dynamodbav:"amount"`
	Currency       string       `dynamodbav:"currency,omitempty"`
	RefOrderID     string       `dynamodbav:"refOrderId,omitempty"`
	CustomerEmail  string       `dynamodbav:"customerEmail,omitempty"`
	CustomerName   string       `dynamodbav:"customerName,omitempty"`
	Status         Status       `dynamodbav:"status"`
	PaymentKey     string       `dynamodbav:"paymentKey,omitempty"`
	CheckoutToken  string       `dynamodbav:"checkoutToken,omitempty"`
	ClaimedAt      int64        `dynamodbav:"claimedAt,omitempty"`
	Payment        *paymentItem `dynamodbav:"payment,omitempty"`
	LastFailure    *failureItem `dynamodbav:"lastFailure,omitempty"`
	ClaimExpiresAt int64        `dynamodbav:"claimExpiresAt,omitempty"`
	PayableUntil   int64        `dynamodbav:"payableUntil,omitempty"`
	TTL            int64        `dynamodbav:"ttl,omitempty"`
	UnpaidTTL      int64        `dynamodbav:"unpaidTtl,omitempty"` // the TTL an unpaid order carries; Fail restores ttl from it
	CreatedAt      int64        `dynamodbav:"createdAt,omitempty"`
	UpdatedAt      int64        `dynamodbav:"updatedAt,omitempty"`
	Version        int64        `dynamodbav:"version"`
	ListShard      string       `dynamodbav:"listShard"`            // hash key of CreatedIndex, listShardOf(ID)
	DueShard       string       `dynamodbav:"dueShard,omitempty"`   // hash key of DueIndex, absent when nothing is due
	DueAt          int64        `dynamodbav:"dueAt,omitempty"`      // range key of DueIndex
	WriteToken     string       `dynamodbav:"writeToken,omitempty"` // random per write: a retried write recognises itself (wroteIt)
	// Refunds and RefundReserved are written by the refund transitions
	// only: RefundReserved is what ReserveRefund's condition reads, since
	// a condition cannot sum the pending refunds of the map.
	Refunds        map[string]refundItem `dynamodbav:"refunds,omitempty"`
	RefundReserved int64                 `dynamodbav:"refundReserved,omitempty"`
}

type refundItem struct {
	Amount     int64  `dynamodbav:"amount"`
	Reason     string `dynamodbav:"reason,omitempty"`
	ReservedAt int64  `dynamodbav:"reservedAt,omitempty"`
	SettledAt  int64  `dynamodbav:"settledAt,omitempty"` // absent while pending
}

type paymentItem struct {
	Status         string       `dynamodbav:"status,omitempty"`
	Method         string       `dynamodbav:"method,omitempty"`
	ApprovedAt     int64        `dynamodbav:"approvedAt,omitempty"`
	CardNumber     string       `dynamodbav:"cardNumber,omitempty"`
	CardIssuerCode string       `dynamodbav:"cardIssuerCode,omitempty"`
	CardType       string       `dynamodbav:"cardType,omitempty"`
	ReceiptURL     string       `dynamodbav:"receiptUrl,omitempty"`
	TotalAmount    int64        `dynamodbav:"totalAmount"`
	BalanceAmount  int64        `dynamodbav:"balanceAmount"`
	Cancels        []cancelItem `dynamodbav:"cancels,omitempty"`
	Raw            string       `dynamodbav:"raw,omitempty"` // Payment.Raw, JSON text (S: readable in the console)
}

type cancelItem struct {
	TransactionKey string `dynamodbav:"transactionKey,omitempty"`
	Reason         string `dynamodbav:"reason,omitempty"`
	Amount         int64  `dynamodbav:"amount"`
	CanceledAt     int64  `dynamodbav:"canceledAt,omitempty"`
}

type failureItem struct {
	Code       string `dynamodbav:"code,omitempty"`
	Message    string `dynamodbav:"message,omitempty"`
	PaymentKey string `dynamodbav:"paymentKey,omitempty"`
	Amount     int64  `dynamodbav:"amount"`
	At         int64  `dynamodbav:"at,omitempty"`
}

// Payment fields that writes after Complete change in place.
const (
	attrPaymentStatus  = attrPayment + ".status"
	attrPaymentTotal   = attrPayment + ".totalAmount"
	attrPaymentBalance = attrPayment + ".balanceAmount"
	attrPaymentCancels = attrPayment + ".cancels"
)

// attemptSlot is the attribute of budget b's attempt i (RecentAttempts[i]
// or TokenAttempts[i]).
func attemptSlot(b Budget, i int) string {
	if b == TokenHolder {
		return attrTokenAttempt + strconv.Itoa(i)
	}
	return attrAttempt + strconv.Itoa(i)
}

// decodeAttempts reads budget b's slots, up to the first empty one.
func decodeAttempts(it item, b Budget) ([]time.Time, error) {
	var out []time.Time
	for i := range AttemptLimit {
		av, ok := it[attemptSlot(b, i)]
		if !ok {
			break
		}
		var ms int64
		if err := attributevalue.Unmarshal(av, &ms); err != nil {
			return nil, fmt.Errorf("attribute %q: %w", attemptSlot(b, i), err)
		}
		if ms == 0 {
			break
		}
		out = append(out, fromMillis(ms))
	}
	return out, nil
}

// key is the table key of order id.
func key(id string) item { return item{attrID: &types.AttributeValueMemberS{Value: id}} }

// indexEntry is an entry of either index as a KEYS_ONLY Query returns it
// (and as ExclusiveStartKey takes it back): the table key and the index's
// sort key, createdAt or dueAt.
type indexEntry struct {
	ID        string `dynamodbav:"id"`
	CreatedAt int64  `dynamodbav:"createdAt,omitempty"`
	DueAt     int64  `dynamodbav:"dueAt,omitempty"`
}

// millis and seconds store the zero time as 0, which omitempty leaves out.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func seconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ttlSeconds(t)
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func fromSeconds(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// dueKey is where an order sits in the due index, if anywhere.
func dueKey(o *Order) (kind string, at time.Time, ok bool) {
	switch {
	case o.Status == StatusConfirming:
		return dueClaim, o.ClaimExpiresAt, true
	case o.Status.Payable():
		return dueUnpaid, o.PayableUntil, true
	case !o.RecheckAt.IsZero():
		return dueRecheck, o.RecheckAt, true
	}
	return "", time.Time{}, false
}

// encodeOrder is the full item for a new order, stamped with a write token.
func encodeOrder(o *Order, token string) (item, error) {
	it := orderItem{
		ID:             o.ID,
		Name:           o.Name,
		Amount:         o.Amount,
		Currency:       o.Currency,
		RefOrderID:     o.RefOrderID,
		CustomerEmail:  o.CustomerEmail,
		CustomerName:   o.CustomerName,
		Status:         o.Status,
		PaymentKey:     o.PaymentKey,
		CheckoutToken:  o.CheckoutToken,
		ClaimExpiresAt: millis(o.ClaimExpiresAt),
		PayableUntil:   millis(o.PayableUntil),
		TTL:            seconds(o.ExpiresAt),
		UnpaidTTL:      seconds(o.ExpiresAt),
		CreatedAt:      millis(o.CreatedAt),
		UpdatedAt:      millis(o.UpdatedAt),
		Version:        o.Version,
		ListShard:      listShardOf(o.ID),
		WriteToken:     token,
	}
	if o.Payment != nil {
		it.Payment = newPaymentItem(o.Payment)
	}
	if o.LastFailure != nil {
		it.LastFailure = newFailureItem(o.LastFailure)
	}
	if kind, at, ok := dueKey(o); ok && !at.IsZero() {
		it.DueShard, it.DueAt = dueShardOf(kind, o.ID), millis(at)
	}
	m, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("encode order: %w", err)
	}
	return m, nil
}

func newPaymentItem(p *Payment) *paymentItem {
	return &paymentItem{
		Status:         p.Status,
		Method:         p.Method,
		ApprovedAt:     millis(p.ApprovedAt),
		CardNumber:     p.CardNumber,
		CardIssuerCode: p.CardIssuerCode,
		CardType:       p.CardType,
		ReceiptURL:     p.ReceiptURL,
		TotalAmount:    p.TotalAmount,
		BalanceAmount:  p.BalanceAmount,
		Cancels:        newCancelItems(p.Cancels),
		Raw:            string(p.Raw),
	}
}

// newCancelItems is nil for no cancels, so the payment item leaves the
// list out rather than storing an empty one.
func newCancelItems(cs []Cancel) []cancelItem {
	if len(cs) == 0 {
		return nil
	}
	l := make([]cancelItem, len(cs))
	for i, c := range cs {
		l[i] = cancelItem{TransactionKey: c.TransactionKey, Reason: c.Reason, Amount: c.Amount, CanceledAt: millis(c.CanceledAt)}
	}
	return l
}

func newFailureItem(f *Failure) *failureItem {
	return &failureItem{Code: f.Code, Message: f.Message, PaymentKey: f.PaymentKey, Amount: f.Amount, At: millis(f.At)}
}

var knownStatus = map[Status]bool{
	StatusPending: true, StatusConfirming: true, StatusDone: true, StatusFailed: true,
	StatusCanceled: true, StatusPartialCanceled: true, StatusExpired: true,
}

// decodeOrder turns an item back into an Order. Optional attributes may be
// missing; a missing key field, a wrong type or an unknown status is an
// error, because acting on a misread order could move money wrongly.
// UnmarshalMap checks the types; what it reads as zero without complaint
// (an absent attribute, NULL, an M without a map) is checked first.
func decodeOrder(it item) (*Order, error) {
	for _, k := range []string{attrID, attrStatus, attrAmount} {
		if _, ok := it[k]; !ok {
			return nil, fmt.Errorf("decode order: attribute %q missing", k)
		}
	}
	if err := checkShape(it); err != nil {
		return nil, fmt.Errorf("decode order: %w", err)
	}
	var oi orderItem
	if err := attributevalue.UnmarshalMap(it, &oi); err != nil {
		return nil, fmt.Errorf("decode order: %w", err)
	}
	if !knownStatus[oi.Status] {
		return nil, fmt.Errorf("decode order %q: unknown status %q", oi.ID, oi.Status)
	}
	o := &Order{
		ID:             oi.ID,
		Name:           oi.Name,
		Amount:         oi.Amount,
		Currency:       oi.Currency,
		RefOrderID:     oi.RefOrderID,
		CustomerEmail:  oi.CustomerEmail,
		CustomerName:   oi.CustomerName,
		Status:         oi.Status,
		PaymentKey:     oi.PaymentKey,
		CheckoutToken:  oi.CheckoutToken,
		ClaimedAt:      fromMillis(oi.ClaimedAt),
		ClaimExpiresAt: fromMillis(oi.ClaimExpiresAt),
		PayableUntil:   fromMillis(oi.PayableUntil),
		ExpiresAt:      fromSeconds(oi.TTL),
		CreatedAt:      fromMillis(oi.CreatedAt),
		UpdatedAt:      fromMillis(oi.UpdatedAt),
		Version:        oi.Version,
	}
	if strings.HasPrefix(oi.DueShard, dueRecheck+"#") {
		o.RecheckAt = fromMillis(oi.DueAt)
	}
	if p := oi.Payment; p != nil {
		o.Payment = &Payment{
			Status:         p.Status,
			Method:         p.Method,
			ApprovedAt:     fromMillis(p.ApprovedAt),
			CardNumber:     p.CardNumber,
			CardIssuerCode: p.CardIssuerCode,
			CardType:       p.CardType,
			ReceiptURL:     p.ReceiptURL,
			TotalAmount:    p.TotalAmount,
			BalanceAmount:  p.BalanceAmount,
		}
		if p.Raw != "" {
			o.Payment.Raw = []byte(p.Raw)
		}
		for _, c := range p.Cancels {
			o.Payment.Cancels = append(o.Payment.Cancels, Cancel{
				TransactionKey: c.TransactionKey, Reason: c.Reason, Amount: c.Amount, CanceledAt: fromMillis(c.CanceledAt),
			})
		}
	}
	if f := oi.LastFailure; f != nil {
		o.LastFailure = &Failure{Code: f.Code, Message: f.Message, PaymentKey: f.PaymentKey, Amount: f.Amount, At: fromMillis(f.At)}
	}
	for _, b := range []Budget{Anonymous, TokenHolder} {
		attempts, err := decodeAttempts(it, b)
		if err != nil {
			return nil, fmt.Errorf("decode order %q: %w", oi.ID, err)
		}
		*o.attempts(b) = attempts
	}
	if len(oi.Refunds) > 0 {
		o.Refunds = make(map[string]Refund, len(oi.Refunds))
		for k, r := range oi.Refunds {
			o.Refunds[k] = Refund{Amount: r.Amount, Reason: r.Reason, ReservedAt: fromMillis(r.ReservedAt), SettledAt: fromMillis(r.SettledAt)}
		}
	}
	return o, nil
}

// checkShape refuses what UnmarshalMap would read as zero values without
// complaint: NULL, and an M without a map, at any depth. This package writes
// neither, so an item holding one is malformed, and a ttl read as absent or
// a payment read as all zeros could move money wrongly.
func checkShape(it item) error {
	for k, v := range it {
		var err error
		switch v := v.(type) {
		case *types.AttributeValueMemberNULL:
			err = errors.New("NULL")
		case *types.AttributeValueMemberM:
			if v.Value == nil {
				err = errors.New("M without a map")
			} else {
				err = checkShape(v.Value)
			}
		case *types.AttributeValueMemberL:
			for i, e := range v.Value {
				if err = checkShape(item{strconv.Itoa(i): e}); err != nil {
					break
				}
			}
		}
		if err != nil {
			return fmt.Errorf("attribute %q: %w", k, err)
		}
	}
	return nil
}
