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

// Class classifies the error by its code first (the table in codes.go) and
// by its status only for a code the table does not list.
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
	if c, ok := codes[e.Code]; ok {
		return c.cause.class()
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
