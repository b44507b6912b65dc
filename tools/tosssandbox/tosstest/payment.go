package tosstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/tossintl/backend/tools/tossrules"
)

// orderIDPattern is Toss's orderId rule (the SDK's typings and
// docs/toss-api.md#orderid): 6 to 64 ASCII letters, digits, '-', '_' and
// '='. The stand-in SDK (sdk.js), the window (window.go) and the confirm API
// hold a request to it, so the sandbox opens a window for, and confirms,
// every orderId Toss would.
var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_=-]{6,64}$`)

// Payment statuses the sandbox produces (the rule book's).
const (
	StatusInProgress      = string(tossrules.StatusInProgress)
	StatusDone            = string(tossrules.StatusDone)
	StatusCanceled        = string(tossrules.StatusCanceled)
	StatusPartialCanceled = string(tossrules.StatusPartialCanceled)
	StatusExpired         = string(tossrules.StatusExpired)
)

// CardBrand is a card network the sandbox window offers (Toss's test mode
// offers these three for international cards).
type CardBrand string

// Card brands of the sandbox window.
const (
	Visa   CardBrand = "VISA"
	Master CardBrand = "MASTER"
	JCB    CardBrand = "JCB"
)

// cardProfile is what a Payment's card section says for a brand. The codes
// are Toss's overseas-card company codes; the numbers are masked test cards.
type cardProfile struct {
	code   string
	number string
}

var cardProfiles = map[CardBrand]cardProfile{
	Visa:   {code: "4V", number: "4242424****4242"},
	Master: {code: "4M", number: "5555555****4444"},
	JCB:    {code: "4J", number: "3530111****0000"},
}

// kst is the zone Toss writes timestamps in.
var kst = time.FixedZone("KST", 9*60*60)

// payment is a payment as the rule book holds it, with what the sandbox
// keeps beside: the window's order, buyer and card, and what its confirm
// wrote.
type payment = tossrules.Payment[paymentDetail]

type paymentDetail struct {
	orderName    string
	customerName string
	brand        CardBrand
	approveNo    string
	approvalTx   string // the approval's transaction key
	base         string // base URL of the confirm, for links in webhooks sent without a request
}

// lastTransactionKey is the key of p's latest transaction: its last
// cancel, else its approval ("" before).
func lastTransactionKey(p *payment) string {
	if n := len(p.Cancels); n > 0 {
		return p.Cancels[n-1].TransactionKey
	}
	return p.Extra.approvalTx
}

// AuthorizeOption adjusts a simulated window authentication.
type AuthorizeOption func(*authorizeOptions)

type authorizeOptions struct {
	brand        CardBrand
	customerName string
	paymentKey   string
}

// WithPaymentKey fixes the paymentKey the authentication gets, so recorded
// sample events can refer to it. A key already issued is replaced.
func WithPaymentKey(key string) AuthorizeOption {
	return func(o *authorizeOptions) { o.paymentKey = key }
}

// WithCardBrand picks the card the buyer paid with (Visa by default).
func WithCardBrand(b CardBrand) AuthorizeOption {
	return func(o *authorizeOptions) { o.brand = b }
}

// WithCustomerName sets the buyer's name shown on the receipt.
func WithCustomerName(name string) AuthorizeOption {
	return func(o *authorizeOptions) { o.customerName = name }
}

// Authorize does what a buyer approving the payment window does, without a
// browser: it records an authenticated card payment for orderID and amount
// and returns its paymentKey. The payment reads IN_PROGRESS until confirmed
// and must be confirmed within the session window. Nothing is validated, so
// tests can build states the window would refuse.
func (s *Sandbox) Authorize(orderID, orderName string, amount int64, opts ...AuthorizeOption) string {
	o := authorizeOptions{brand: Visa}
	for _, opt := range opts {
		opt(&o)
	}
	if _, ok := cardProfiles[o.brand]; !ok {
		o.brand = Visa
	}
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	key := o.paymentKey
	if key == "" {
		key = s.newPaymentKeyLocked(now)
	}
	p := s.book.Authenticate(key, orderID, amount, now)
	p.Extra = paymentDetail{orderName: orderName, customerName: o.customerName, brand: o.brand}
	return p.Key
}

// newPaymentKeyLocked makes a key shaped like Toss's test keys
// ("tgen_" + timestamp + random), unique within the sandbox.
func (s *Sandbox) newPaymentKeyLocked(now time.Time) string {
	for {
		k := "tgen_" + now.In(kst).Format("20060102150405") + randomAlnum(10)
		if s.book.Payment(k) == nil {
			return k
		}
	}
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		if err != nil {
			// crypto/rand does not fail on supported platforms.
			panic(fmt.Errorf("tosstest: random: %w", err))
		}
		b[i] = alnum[v.Int64()]
	}
	return string(b)
}

func randomHex(nBytes int) string {
	b := make([]byte, nBytes)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

// newTransactionKey makes a transaction key shaped like Toss's.
func newTransactionKey() string {
	return strings.ToUpper(randomHex(16))
}

func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(fmt.Errorf("tosstest: random: %w", err))
		}
		b[i] = byte('0' + v.Int64())
	}
	return string(b)
}

// PaymentInfo is a snapshot of a payment for assertions.
type PaymentInfo struct {
	PaymentKey    string       `json:"paymentKey"`
	OrderID       string       `json:"orderId"`
	OrderName     string       `json:"orderName"`
	Status        string       `json:"status"` // as the API would answer now (EXPIRED included)
	TotalAmount   int64        `json:"totalAmount"`
	BalanceAmount int64        `json:"balanceAmount"`
	CardBrand     CardBrand    `json:"cardBrand"`
	RequestedAt   time.Time    `json:"requestedAt"`
	ApprovedAt    time.Time    `json:"approvedAt"` // zero until confirmed
	Cancels       []CancelInfo `json:"cancels"`
}

// CancelInfo is one cancel of a payment.
type CancelInfo struct {
	TransactionKey string    `json:"transactionKey"`
	Reason         string    `json:"reason"`
	Amount         int64     `json:"amount"`
	CanceledAt     time.Time `json:"canceledAt"`
}

// Payment returns the payment with paymentKey, if the sandbox issued it.
func (s *Sandbox) Payment(paymentKey string) (PaymentInfo, bool) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.book.Payment(paymentKey)
	if p == nil {
		return PaymentInfo{}, false
	}
	return s.infoLocked(p, now), true
}

// OrderPayments returns every payment authenticated for orderID, oldest first.
func (s *Sandbox) OrderPayments(orderID string) []PaymentInfo {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PaymentInfo
	for _, p := range s.book.Order(orderID) {
		out = append(out, s.infoLocked(p, now))
	}
	return out
}

func (s *Sandbox) infoLocked(p *payment, now time.Time) PaymentInfo {
	info := PaymentInfo{
		PaymentKey:    p.Key,
		OrderID:       p.OrderID,
		OrderName:     p.Extra.orderName,
		Status:        string(s.book.StatusAt(p, now)),
		TotalAmount:   p.Amount,
		BalanceAmount: p.Balance,
		CardBrand:     p.Extra.brand,
		RequestedAt:   p.RequestedAt,
		ApprovedAt:    p.ApprovedAt,
	}
	for _, c := range p.Cancels {
		info.Cancels = append(info.Cancels, CancelInfo{TransactionKey: c.TransactionKey, Reason: c.Reason, Amount: c.Amount, CanceledAt: c.At})
	}
	return info
}

// Wire format of the Payment object, API version 2022-11-16. Field order and
// nulls follow Toss's examples so that clients meet what production sends,
// including the many fields a card payment leaves null.
type wirePayment struct {
	MID                 string       `json:"mId"`
	LastTransactionKey  *string      `json:"lastTransactionKey"`
	PaymentKey          string       `json:"paymentKey"`
	OrderID             string       `json:"orderId"`
	OrderName           string       `json:"orderName"`
	TaxExemptionAmount  int64        `json:"taxExemptionAmount"`
	Status              string       `json:"status"`
	RequestedAt         string       `json:"requestedAt"`
	ApprovedAt          *string      `json:"approvedAt"`
	UseEscrow           bool         `json:"useEscrow"`
	CultureExpense      bool         `json:"cultureExpense"`
	Card                *wireCard    `json:"card"`
	VirtualAccount      any          `json:"virtualAccount"`
	Transfer            any          `json:"transfer"`
	MobilePhone         any          `json:"mobilePhone"`
	GiftCertificate     any          `json:"giftCertificate"`
	CashReceipt         any          `json:"cashReceipt"`
	CashReceipts        any          `json:"cashReceipts"`
	Discount            any          `json:"discount"`
	Cancels             []wireCancel `json:"cancels"`
	Type                string       `json:"type"`
	EasyPay             any          `json:"easyPay"`
	Country             string       `json:"country"`
	Failure             any          `json:"failure"`
	IsPartialCancelable bool         `json:"isPartialCancelable"`
	Receipt             *wireURL     `json:"receipt"`
	Checkout            *wireURL     `json:"checkout"`
	Currency            string       `json:"currency"`
	TotalAmount         int64        `json:"totalAmount"`
	BalanceAmount       int64        `json:"balanceAmount"`
	SuppliedAmount      int64        `json:"suppliedAmount"`
	VAT                 int64        `json:"vat"`
	TaxFreeAmount       int64        `json:"taxFreeAmount"`
	Metadata            any          `json:"metadata"`
	Method              string       `json:"method"`
	Version             string       `json:"version"`
}

type wireCard struct {
	IssuerCode            string `json:"issuerCode"`
	AcquirerCode          string `json:"acquirerCode"`
	Number                string `json:"number"`
	InstallmentPlanMonths int    `json:"installmentPlanMonths"`
	IsInterestFree        bool   `json:"isInterestFree"`
	InterestPayer         any    `json:"interestPayer"`
	ApproveNo             string `json:"approveNo"`
	UseCardPoint          bool   `json:"useCardPoint"`
	CardType              string `json:"cardType"`
	OwnerType             string `json:"ownerType"`
	AcquireStatus         string `json:"acquireStatus"`
	Amount                int64  `json:"amount"`
}

type wireCancel struct {
	TransactionKey         string  `json:"transactionKey"`
	CancelReason           string  `json:"cancelReason"`
	TaxExemptionAmount     int64   `json:"taxExemptionAmount"`
	CanceledAt             string  `json:"canceledAt"`
	TransferDiscountAmount int64   `json:"transferDiscountAmount"`
	EasyPayDiscountAmount  int64   `json:"easyPayDiscountAmount"`
	ReceiptKey             *string `json:"receiptKey"`
	CancelAmount           int64   `json:"cancelAmount"`
	TaxFreeAmount          int64   `json:"taxFreeAmount"`
	RefundableAmount       int64   `json:"refundableAmount"`
	CancelStatus           string  `json:"cancelStatus"`
	CancelRequestID        *string `json:"cancelRequestId"`
}

type wireURL struct {
	URL string `json:"url"`
}

// PaymentVersion is the Payment object version the sandbox speaks.
const PaymentVersion = "2022-11-16"

func tossTime(t time.Time) string {
	return t.In(kst).Format(time.RFC3339)
}

// vatOf splits a KRW amount the way Toss does for a taxable card payment:
// VAT is 1/11 of the amount, rounded half up.
func vatOf(amount int64) int64 {
	return (amount*10/11 + 5) / 10
}

// wireLocked renders p for the API; s.mu is held.
func (s *Sandbox) wireLocked(p *payment, now time.Time, base string, l lang) wirePayment {
	vat := vatOf(p.Balance)
	w := wirePayment{
		MID:                 s.mid,
		PaymentKey:          p.Key,
		OrderID:             p.OrderID,
		OrderName:           p.Extra.orderName,
		Status:              string(s.book.StatusAt(p, now)),
		RequestedAt:         tossTime(p.RequestedAt),
		Type:                "NORMAL",
		Country:             "KR",
		IsPartialCancelable: true,
		Checkout:            &wireURL{URL: base + "/checkout/" + p.Key},
		Currency:            "KRW",
		TotalAmount:         p.Amount,
		BalanceAmount:       p.Balance,
		SuppliedAmount:      p.Balance - vat,
		VAT:                 vat,
		Method:              l.text("카드", "card"),
		Version:             s.paymentVersion,
	}
	if k := lastTransactionKey(p); k != "" {
		w.LastTransactionKey = &k
	}
	if p.Approved() {
		at := tossTime(p.ApprovedAt)
		w.ApprovedAt = &at
		prof := cardProfiles[p.Extra.brand]
		acquire := "READY"
		if p.Status == tossrules.StatusCanceled {
			acquire = "CANCELED"
		}
		w.Card = &wireCard{
			IssuerCode:    prof.code,
			AcquirerCode:  prof.code,
			Number:        prof.number,
			ApproveNo:     p.Extra.approveNo,
			CardType:      l.text("신용", "credit"),
			OwnerType:     l.text("개인", "personal"),
			AcquireStatus: acquire,
			Amount:        p.Amount,
		}
		w.Receipt = &wireURL{URL: base + "/receipt/" + p.Key}
	}
	for _, c := range p.Cancels {
		w.Cancels = append(w.Cancels, wireCancel{
			TransactionKey:   c.TransactionKey,
			CancelReason:     c.Reason,
			CanceledAt:       tossTime(c.At),
			CancelAmount:     c.Amount,
			RefundableAmount: c.Refundable,
			CancelStatus:     "DONE",
		})
	}
	return w
}
