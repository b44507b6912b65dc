package toss

import (
	"errors"
	"fmt"
)

// Class tells a caller what a failed call means for the money.
type Class uint8

const (
	// ClassNone is the class of a nil error.
	ClassNone Class = iota
	// ClassDefinitive: Toss refused the request; the same request will fail
	// again and nothing was charged by it.
	ClassDefinitive
	// ClassRetryable: a transient failure; the same request, under the same
	// Idempotency-Key, is safe to send again.
	ClassRetryable
	// ClassUnknown: the request may or may not have taken effect at Toss.
	// Query the payment before concluding anything.
	ClassUnknown
)

func (c Class) String() string {
	switch c {
	case ClassNone:
		return "none"
	case ClassDefinitive:
		return "definitive"
	case ClassRetryable:
		return "retryable"
	case ClassUnknown:
		return "unknown"
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// Error codes this product branches on.
const (
	CodeAlreadyProcessedPayment     = "ALREADY_PROCESSED_PAYMENT"
	CodeProviderError               = "PROVIDER_ERROR"
	CodeUnauthorizedKey             = "UNAUTHORIZED_KEY"
	CodeIncorrectBasicAuthFormat    = "INCORRECT_BASIC_AUTH_FORMAT"
	CodeInvalidIdempotencyKey       = "INVALID_IDEMPOTENCY_KEY"
	CodeIdempotentRequestProcessing = "IDEMPOTENT_REQUEST_PROCESSING"
	CodeNotFoundPayment             = "NOT_FOUND_PAYMENT"
	CodeNotFoundPaymentSession      = "NOT_FOUND_PAYMENT_SESSION"
	CodeForbiddenRequest            = "FORBIDDEN_REQUEST"
	CodeRejectCardCompany           = "REJECT_CARD_COMPANY"
	CodeInvalidRequest              = "INVALID_REQUEST"
	CodeAlreadyCanceledPayment      = "ALREADY_CANCELED_PAYMENT"
	CodeNotCancelableAmount         = "NOT_CANCELABLE_AMOUNT"
	CodeNotCancelablePayment        = "NOT_CANCELABLE_PAYMENT"
	CodeTooManyRequests             = "TOO_MANY_REQUESTS"
	CodeFailedInternalSystem        = "FAILED_INTERNAL_SYSTEM_PROCESSING"
	CodeFailedPaymentInternalSystem = "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING"
	CodeUnknownPaymentError         = "UNKNOWN_PAYMENT_ERROR"
)

// retryableCodes are transient whatever their HTTP status (PROVIDER_ERROR is a 400).
var retryableCodes = map[string]bool{
	CodeProviderError:               true,
	CodeIdempotentRequestProcessing: true,
	CodeTooManyRequests:             true,
	CodeFailedInternalSystem:        true,
	CodeFailedPaymentInternalSystem: true,
	CodeUnknownPaymentError:         true,
}

// unknownCodes say the payment may already exist: query it.
var unknownCodes = map[string]bool{
	CodeAlreadyProcessedPayment: true,
}

// Error is the one error type for everything that goes wrong talking to Toss:
// an error object in a response (v1 `{code, message}` or v2
// `{version, traceId, error: {code, message}}`), or no usable response at all
// (Status 0, Err set). It never carries the secret key.
type Error struct {
	Method  string // HTTP method of the call
	Path    string // path of the call, without query
	Status  int    // HTTP status; 0 when no response was received
	Code    string // Toss's error code; empty when no response was received
	Message string // Toss's message (Korean unless Accept-Language asked otherwise)
	TraceID string // v2 traceId, when Toss sent one
	Err     error  // transport or decoding failure, when there was no usable error object
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("toss: %s %s: no response: %v", e.Method, e.Path, e.Err)
	}
	// Empty parts are left out: a non-JSON error body has no code or message,
	// and a 2xx that could not be used has neither.
	s := fmt.Sprintf("toss: %s %s: %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.TraceID != "" {
		s += " (traceId " + e.TraceID + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Class classifies the error by its code first and by its status only when
// the code is not one Toss documents as special.
func (e *Error) Class() Class {
	if e.Status == 0 {
		// No answer: the request may have reached Toss.
		return ClassUnknown
	}
	if e.Status >= 200 && e.Status < 300 {
		// Toss accepted the request but its answer could not be used
		// (truncated, undecodable, or about another payment): a confirm may
		// have charged the card, so this must never read as a refusal.
		return ClassUnknown
	}
	if unknownCodes[e.Code] {
		return ClassUnknown
	}
	if retryableCodes[e.Code] {
		return ClassRetryable
	}
	switch {
	case e.Status == 429, e.Status >= 500:
		return ClassRetryable
	case e.Status == 409:
		return ClassRetryable
	}
	return ClassDefinitive
}

// Classify returns the class of any error a Client method returned.
//
// Only Toss's own answers (an *Error) and the Client's refusals of a call
// it never sent (ErrInvalidIdempotencyKey, ErrInvalidArgument,
// ErrSecretKey) can be definitive. Every other error says nothing about
// what Toss did, so it is ClassUnknown: context cancellation and deadlines
// and network errors (the request may have been sent), and errors from
// elsewhere that a caller let reach this function, such as a storage
// failure after a successful lookup. Reading those as definitive once
// expired an order Toss had approved, because DynamoDB throttled the write
// that would have recorded it.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	var te *Error
	if errors.As(err, &te) {
		return te.Class()
	}
	if errors.Is(err, ErrInvalidIdempotencyKey) || errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrSecretKey) {
		return ClassDefinitive
	}
	return ClassUnknown
}

// CodeOf returns Toss's error code carried by err, or "".
func CodeOf(err error) string {
	var te *Error
	if errors.As(err, &te) {
		return te.Code
	}
	return ""
}

// statusByCode is the HTTP status Toss documents for its confirm error codes
// other than 400 (the status of every code not listed here).
var statusByCode = map[string]int{
	CodeUnauthorizedKey:              401,
	"REJECT_ACCOUNT_PAYMENT":         403,
	"REJECT_CARD_PAYMENT":            403,
	CodeRejectCardCompany:            403,
	CodeForbiddenRequest:             403,
	"REJECT_TOSSPAY_INVALID_ACCOUNT": 403,
	"EXCEED_MAX_AUTH_COUNT":          403,
	"EXCEED_MAX_ONE_DAY_AMOUNT":      403,
	"NOT_AVAILABLE_BANK":             403,
	"INVALID_PASSWORD":               403,
	CodeIncorrectBasicAuthFormat:     403,
	"FDS_ERROR":                      403,
	CodeNotCancelableAmount:          403,
	CodeNotCancelablePayment:         403,
	CodeNotFoundPayment:              404,
	CodeNotFoundPaymentSession:       404,
	CodeIdempotentRequestProcessing:  409,
	CodeTooManyRequests:              429,
	CodeFailedPaymentInternalSystem:  500,
	CodeFailedInternalSystem:         500,
	CodeUnknownPaymentError:          500,
}

// StatusOf is the HTTP status Toss answers code with (400 when not listed),
// for passing a recorded Toss failure on with the status Toss gave it.
func StatusOf(code string) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return 400
}
