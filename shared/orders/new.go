package orders

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// IDPrefix starts every order ID NewID makes, so an ID read in a log or a
// Toss dashboard is recognisably one of ours.
const IDPrefix = "ord_"

const (
	idRandLen = 22 // 22 base62 characters carry 130.9 bits
	base62    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// NewID returns a fresh, unguessable order ID ("ord_" and 22 base62
// characters from crypto/rand, about 131 bits). Order IDs travel in checkout
// URLs, so knowing one order's ID must not reveal another's.
func NewID() string { return randomName(IDPrefix) }

// TokenPrefix starts every checkout token NewToken makes.
const TokenPrefix = "ct_"

// NewToken returns a fresh checkout token (Order.CheckoutToken): "ct_" and
// 22 base62 characters from crypto/rand, about 131 bits, so that nobody
// who knows an orderId (every checkout URL and success redirect shows
// one) can guess the order's token.
func NewToken() string { return randomName(TokenPrefix) }

// maxTokenLen bounds a checkout token a caller presents: a token NewToken
// made is 25 characters; anything much longer is not one.
const maxTokenLen = 64

// ValidToken reports whether s has the shape of a checkout token: 16 to 64
// of A-Z a-z 0-9 - _ (what a URL's query carries without escaping). What
// is not of that shape is not looked at, as if no token had been sent.
func ValidToken(s string) bool {
	return len(s) >= 16 && len(s) <= maxTokenLen && idChars.MatchString(s)
}

// randomName is prefix and idRandLen base62 characters from crypto/rand.
func randomName(prefix string) string {
	b := make([]byte, 0, len(prefix)+idRandLen)
	b = append(b, prefix...)
	// 248 is the largest multiple of 62 that fits in a byte: rejecting bytes
	// at or above it keeps every character equally likely.
	var buf [32]byte
	for len(b) < cap(b) {
		// crypto/rand.Read never fails (it aborts the program instead), so
		// there is no error to hand back.
		_, _ = rand.Read(buf[:])
		for _, c := range buf {
			if c >= 248 || len(b) == cap(b) {
				continue
			}
			b = append(b, base62[c%62])
		}
	}
	return string(b)
}

// Limits on what a buyer-facing order may carry. Toss accepts at most 100
// characters for orderName, customerEmail and customerName.
const (
	MaxNameLen         = 100
	MaxEmailLen        = 100
	MaxCustomerNameLen = 100
	MaxRefLen          = 64
)

// MinAmount is the smallest amount an order may ask for: Toss takes no card
// payment under 100 KRW (BELOW_MINIMUM_AMOUNT, docs/toss-api.md), so a
// smaller order could never be paid, and its buyer would only find out at
// the confirm.
const MinAmount = 100

// CurrencyKRW is the only currency orders take for now: Toss settles
// international card payments to the merchant in won.
const CurrencyKRW = "KRW"

// ValidationError says a field of a requested order (or a store argument the
// caller took from a request, such as a list cursor) is unacceptable. The API
// layer answers it with a 400 naming Field.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("orders: invalid %s: %s", e.Field, e.Reason)
}

// IsValidation reports whether err is (or wraps) a *ValidationError.
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// Draft is what a merchant asks for when creating an order.
type Draft struct {
	Name          string
	Amount        int64
	Currency      string // "" means KRW
	RefOrderID    string
	CustomerEmail string
	CustomerName  string
}

// Policy is the merchant's configuration for new orders.
type Policy struct {
	MaxAmount int64         // the largest amount one order may ask for
	PayWindow time.Duration // how long a new order accepts payment
	Retention time.Duration // how long an unpaid order is kept after its window closes
}

// New validates d and returns a PENDING order with a fresh ID and checkout
// token, payable for p.PayWindow from now and carrying a TTL p.Retention
// after that. A bad draft yields a *ValidationError; a bad policy is a
// configuration mistake and yields a plain error. Times are already at the
// store's precision (milliseconds, the TTL rounded up to a whole second),
// so the order equals what a Store returns for it.
func New(d Draft, now time.Time, p Policy) (*Order, error) {
	if p.MaxAmount <= 0 || p.PayWindow <= 0 || p.Retention < 0 {
		return nil, fmt.Errorf("orders: bad policy (max amount %d, window %s, retention %s)", p.MaxAmount, p.PayWindow, p.Retention)
	}
	if now.IsZero() {
		return nil, errors.New("orders: new order: zero time")
	}
	name := strings.TrimSpace(d.Name)
	if err := checkText("name", name, MaxNameLen, true); err != nil {
		return nil, err
	}
	switch {
	case d.Amount <= 0:
		return nil, &ValidationError{Field: "amount", Reason: "must be positive"}
	case d.Amount < MinAmount:
		return nil, &ValidationError{Field: "amount", Reason: fmt.Sprintf("must be at least %d, Toss's smallest card payment", MinAmount)}
	case d.Amount > p.MaxAmount:
		return nil, &ValidationError{Field: "amount", Reason: fmt.Sprintf("must be at most %d", p.MaxAmount)}
	}
	currency := strings.TrimSpace(d.Currency)
	if currency == "" {
		currency = CurrencyKRW
	}
	if currency != CurrencyKRW {
		return nil, &ValidationError{Field: "currency", Reason: "only KRW is accepted"}
	}
	ref := strings.TrimSpace(d.RefOrderID)
	if err := checkText("refOrderId", ref, MaxRefLen, false); err != nil {
		return nil, err
	}
	email := strings.TrimSpace(d.CustomerEmail)
	if err := checkEmail(email); err != nil {
		return nil, err
	}
	customer := strings.TrimSpace(d.CustomerName)
	if err := checkText("customerName", customer, MaxCustomerNameLen, false); err != nil {
		return nil, err
	}

	created := toMillis(now)
	payableUntil := created.Add(p.PayWindow)
	return &Order{
		ID:            NewID(),
		CheckoutToken: NewToken(),
		Name:          name,
		Amount:        d.Amount,
		Currency:      currency,
		RefOrderID:    ref,
		CustomerEmail: email,
		CustomerName:  customer,
		Status:        StatusPending,
		PayableUntil:  toMillis(payableUntil),
		ExpiresAt:     toTTL(payableUntil.Add(p.Retention)),
		CreatedAt:     created,
		UpdatedAt:     created,
	}, nil
}

// checkText refuses invalid UTF-8 and control characters (they end up in
// Toss requests, receipts and logs) and enforces a length in characters.
func checkText(field, s string, maxRunes int, required bool) error {
	if s == "" {
		if required {
			return &ValidationError{Field: field, Reason: "required"}
		}
		return nil
	}
	if !utf8.ValidString(s) {
		return &ValidationError{Field: field, Reason: "not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("longer than %d characters", maxRunes)}
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return &ValidationError{Field: field, Reason: "contains control characters"}
	}
	return nil
}

// checkEmail is deliberately loose (one '@', something on each side, no
// spaces): the address is only passed on to Toss for the receipt, and Toss
// has the final word.
func checkEmail(s string) error {
	if err := checkText("customerEmail", s, MaxEmailLen, false); err != nil || s == "" {
		return err
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 || strings.ContainsFunc(s, unicode.IsSpace) {
		return &ValidationError{Field: "customerEmail", Reason: "not an email address"}
	}
	return nil
}

// toMillis drops what the store cannot keep: below a millisecond, the
// monotonic reading and the location. The zero time stays zero (absent).
func toMillis(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// toTTL rounds up to the whole second DynamoDB's TTL attribute holds: up,
// so an order never becomes deletable before the moment asked for.
func toTTL(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(ttlSeconds(t), 0).UTC()
}

func ttlSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// live reports whether an order with TTL expiresAt still exists at now.
// DynamoDB's condition is `ttl > :nowSeconds` with now truncated to the
// second; for a whole-second TTL that is exactly expiresAt > now.
func live(expiresAt, now time.Time) bool {
	return expiresAt.IsZero() || expiresAt.Unix() > now.Unix()
}
