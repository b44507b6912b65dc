// Package toss is a client for the Toss Payments core API (payment confirm,
// lookup and cancel) as used by the international card payment window.
//
// Decoding is deliberately loose: Toss adds fields, enum values and error
// codes without a version bump, so unknown fields are ignored, unknown enum
// values are kept as they are, null objects decode to nil and fields seen
// with more than one JSON type (easyPay) are kept raw.
//
// Errors from a Client method tell the caller what happened to the money:
// an *Error means a request went out (Classify it, and query the payment
// when the class is ClassUnknown); any other error means nothing was sent.
package toss

import (
	"bytes"
	"encoding/json"
	"time"
)

// PaymentStatus is a Payment's status. Unknown values are kept verbatim.
type PaymentStatus string

// Payment statuses documented by Toss.
const (
	StatusReady             PaymentStatus = "READY"
	StatusInProgress        PaymentStatus = "IN_PROGRESS"
	StatusWaitingForDeposit PaymentStatus = "WAITING_FOR_DEPOSIT"
	StatusDone              PaymentStatus = "DONE"
	StatusCanceled          PaymentStatus = "CANCELED"
	StatusPartialCanceled   PaymentStatus = "PARTIAL_CANCELED"
	StatusAborted           PaymentStatus = "ABORTED"
	StatusExpired           PaymentStatus = "EXPIRED"
)

// APIVersion is the version of Toss's API that Payment models. Toss answers
// in the version the MID is set to in its developer center; a Payment of
// another version is still decoded and used, but an older one lacks fields
// such as the card issuer and the receipt URL, so the client logs and
// counts it (Metrics.TossAPIVersionMismatch).
const APIVersion = "2022-11-16"

// Payment is the Toss Payment object (API version APIVersion), restricted
// to the fields this product reads. Amounts are KRW integers.
type Payment struct {
	Version             string          `json:"version,omitempty"`
	PaymentKey          string          `json:"paymentKey"`
	Type                string          `json:"type,omitempty"`
	OrderID             string          `json:"orderId"`
	OrderName           string          `json:"orderName,omitempty"`
	MID                 string          `json:"mId,omitempty"`
	Currency            string          `json:"currency,omitempty"`
	Method              string          `json:"method,omitempty"` // localized text: never branch on it
	TotalAmount         int64           `json:"totalAmount"`
	BalanceAmount       int64           `json:"balanceAmount"`
	SuppliedAmount      int64           `json:"suppliedAmount,omitempty"`
	VAT                 int64           `json:"vat,omitempty"`
	Status              PaymentStatus   `json:"status"`
	RequestedAt         *Time           `json:"requestedAt,omitempty"`
	ApprovedAt          *Time           `json:"approvedAt,omitempty"`
	Card                *Card           `json:"card,omitempty"`
	EasyPay             json.RawMessage `json:"easyPay,omitempty"` // object or string
	Cancels             []Cancel        `json:"cancels,omitempty"`
	Receipt             *URLHolder      `json:"receipt,omitempty"`
	Checkout            *URLHolder      `json:"checkout,omitempty"`
	Failure             *Failure        `json:"failure,omitempty"`
	Country             string          `json:"country,omitempty"`
	LastTransactionKey  string          `json:"lastTransactionKey,omitempty"`
	IsPartialCancelable bool            `json:"isPartialCancelable,omitempty"`
	// Metadata is the merchant's key-value object, kept raw so that a value
	// of an unexpected type cannot make a paid Payment undecodable.
	Metadata json.RawMessage `json:"metadata,omitempty"`

	// Raw is the response body this Payment was decoded from, byte for
	// byte, when a Client method returned it (nil for a Payment built or
	// decoded any other way). The struct models only the fields this
	// product reads; Toss's answer has about 36, and code written after
	// Toss's samples reads those it needs from the object Toss sent, so an
	// answer passed on to such code is Raw, never this struct re-encoded.
	// It holds the paymentKey: never log it.
	Raw json.RawMessage `json:"-"`
}

// EasyPayProvider returns the easy-pay provider whether Toss sent easyPay as
// a string or as an object {provider, amount, discountAmount}; "" when it is
// absent, null or of another shape.
func (p *Payment) EasyPayProvider() string {
	raw := bytes.TrimSpace(p.EasyPay)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Provider string `json:"provider"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.Provider
	}
	return ""
}

// Card is the card section of a Payment. Number is already masked by Toss.
type Card struct {
	Amount                int64  `json:"amount"`
	IssuerCode            string `json:"issuerCode,omitempty"`
	AcquirerCode          string `json:"acquirerCode,omitempty"`
	Number                string `json:"number,omitempty"`
	InstallmentPlanMonths int    `json:"installmentPlanMonths"`
	ApproveNo             string `json:"approveNo,omitempty"`
	CardType              string `json:"cardType,omitempty"`
	OwnerType             string `json:"ownerType,omitempty"`
	AcquireStatus         string `json:"acquireStatus,omitempty"`
}

// Cancel is one entry of a Payment's cancel history.
type Cancel struct {
	TransactionKey         string `json:"transactionKey,omitempty"`
	CancelReason           string `json:"cancelReason,omitempty"`
	CancelAmount           int64  `json:"cancelAmount"`
	RefundableAmount       int64  `json:"refundableAmount"`
	CanceledAt             *Time  `json:"canceledAt,omitempty"`
	CancelStatus           string `json:"cancelStatus,omitempty"`
	CancelRequestID        string `json:"cancelRequestId,omitempty"`
	TaxFreeAmount          int64  `json:"taxFreeAmount,omitempty"`
	TransferDiscountAmount int64  `json:"transferDiscountAmount,omitempty"`
}

// URLHolder is Toss's `{url}` object (receipt, checkout).
type URLHolder struct {
	URL string `json:"url"`
}

// Failure is the failure section of a Payment.
type Failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ConfirmRequest is the body of POST /v1/payments/confirm.
type ConfirmRequest struct {
	PaymentKey string `json:"paymentKey"`
	OrderID    string `json:"orderId"`
	Amount     int64  `json:"amount"`
}

// CancelRequest is the body of POST /v1/payments/{paymentKey}/cancel.
// CancelAmount zero means a full cancel.
type CancelRequest struct {
	CancelReason string `json:"cancelReason"`
	CancelAmount int64  `json:"cancelAmount,omitempty"`
}

// Time is a timestamp as Toss writes it: ISO 8601 with an offset
// (2024-02-13T12:18:14+09:00), or, in webhooks, without one
// (2024-02-13T12:18:14.123456), which is read as Korea Standard Time.
type Time struct{ time.Time }

// KST is Korea Standard Time, the zone Toss uses for timestamps without an offset.
var KST = time.FixedZone("KST", 9*60*60)

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05",
}

// UnmarshalJSON accepts RFC 3339 and zone-less timestamps; null and "" leave the zero time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// MarshalJSON writes RFC 3339 in KST, as Toss does.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.In(KST).Format(time.RFC3339))
}

// ParseTime parses a Toss timestamp, with or without a zone offset.
func ParseTime(s string) (time.Time, error) {
	var firstErr error
	for i, layout := range timeLayouts {
		loc := time.UTC
		if i > 0 {
			loc = KST
		}
		v, err := time.ParseInLocation(layout, s, loc)
		if err == nil {
			return v, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return time.Time{}, firstErr
}
