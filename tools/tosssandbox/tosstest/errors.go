package tosstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tossintl/backend/tools/tossrules"
)

// Fault is a failure injected with FailNext.
type Fault int

// Faults the sandbox can inject.
const (
	// Fault5xx answers 500 FAILED_INTERNAL_SYSTEM_PROCESSING.
	Fault5xx Fault = iota + 1
	// Fault429 answers 429 TOO_MANY_REQUESTS.
	Fault429
	// FaultProviderError answers 400 PROVIDER_ERROR (a 400 that is transient).
	FaultProviderError
	// FaultDrop closes the connection without answering.
	FaultDrop
)

func (f Fault) String() string {
	switch f {
	case 0:
		return "none"
	case Fault5xx:
		return "5xx"
	case Fault429:
		return "429"
	case FaultProviderError:
		return "provider_error"
	case FaultDrop:
		return "drop"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// lang is the language of API answers: Korean unless Accept-Language asks
// for English (docs/toss-api.md#other-request-headers).
type lang int

const (
	langKO lang = iota
	langEN
)

func apiLang(r *http.Request) lang {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(r.Header.Get("Accept-Language"))), "en") {
		return langEN
	}
	return langKO
}

func (l lang) text(ko, en string) string {
	if l == langEN {
		return en
	}
	return ko
}

// testCodeStatus is the HTTP status of each documented error code
// (Toss's error codes page, https://docs.tosspayments.com/reference/error-codes:
// the confirm table, plus the cancel and header codes).
// TossPayments-Test-Code answers an unlisted code with 400.
var testCodeStatus = map[string]int{
	// 400
	"ALREADY_PROCESSED_PAYMENT":                       400,
	"PROVIDER_ERROR":                                  400,
	"EXCEED_MAX_CARD_INSTALLMENT_PLAN":                400,
	"INVALID_REQUEST":                                 400,
	"NOT_ALLOWED_POINT_USE":                           400,
	"INVALID_API_KEY":                                 400,
	"INVALID_REJECT_CARD":                             400,
	"BELOW_MINIMUM_AMOUNT":                            400,
	"INVALID_CARD_EXPIRATION":                         400,
	"INVALID_STOPPED_CARD":                            400,
	"EXCEED_MAX_DAILY_PAYMENT_COUNT":                  400,
	"NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT": 400,
	"INVALID_CARD_INSTALLMENT_PLAN":                   400,
	"NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN":          400,
	"EXCEED_MAX_PAYMENT_AMOUNT":                       400,
	"NOT_FOUND_TERMINAL_ID":                           400,
	"INVALID_AUTHORIZE_AUTH":                          400,
	"INVALID_CARD_LOST_OR_STOLEN":                     400,
	"RESTRICTED_TRANSFER_ACCOUNT":                     400,
	"INVALID_CARD_NUMBER":                             400,
	"INVALID_UNREGISTERED_SUBMALL":                    400,
	"NOT_REGISTERED_BUSINESS":                         400,
	"EXCEED_MAX_ONE_DAY_WITHDRAW_AMOUNT":              400,
	"EXCEED_MAX_ONE_TIME_WITHDRAW_AMOUNT":             400,
	"CARD_PROCESSING_ERROR":                           400,
	"EXCEED_MAX_AMOUNT":                               400,
	"INVALID_ACCOUNT_INFO_RE_REGISTER":                400,
	"NOT_AVAILABLE_PAYMENT":                           400,
	"UNAPPROVED_ORDER_ID":                             400,
	"ALREADY_CANCELED_PAYMENT":                        400,
	"INVALID_IDEMPOTENCY_KEY":                         400,

	// 401
	"UNAUTHORIZED_KEY": 401,

	// 403
	"REJECT_ACCOUNT_PAYMENT":         403,
	"REJECT_CARD_PAYMENT":            403,
	"REJECT_CARD_COMPANY":            403,
	"FORBIDDEN_REQUEST":              403,
	"REJECT_TOSSPAY_INVALID_ACCOUNT": 403,
	"EXCEED_MAX_AUTH_COUNT":          403,
	"EXCEED_MAX_ONE_DAY_AMOUNT":      403,
	"NOT_AVAILABLE_BANK":             403,
	"INVALID_PASSWORD":               403,
	"INCORRECT_BASIC_AUTH_FORMAT":    403,
	"FDS_ERROR":                      403,
	"NOT_CANCELABLE_AMOUNT":          403,
	"NOT_CANCELABLE_PAYMENT":         403,

	// 404
	"NOT_FOUND_PAYMENT":         404,
	"NOT_FOUND_PAYMENT_SESSION": 404,

	// 409
	"IDEMPOTENT_REQUEST_PROCESSING": 409,

	// 429
	"TOO_MANY_REQUESTS": 429,

	// 500
	"FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING": 500,
	"FAILED_INTERNAL_SYSTEM_PROCESSING":         500,
	"UNKNOWN_PAYMENT_ERROR":                     500,
}

// ErrorStatus returns the HTTP status the sandbox answers for a
// TossPayments-Test-Code value: the documented status, or 400 for codes it
// does not know.
func ErrorStatus(code string) int {
	if st, ok := testCodeStatus[code]; ok {
		return st
	}
	return http.StatusBadRequest
}

// apiResponse is an answer computed before it is written, so it can be
// stored under an Idempotency-Key, replayed or dropped.
type apiResponse struct {
	status int
	body   []byte
}

type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorResponse renders a v1 error object. detail, when given as
// {Korean, English}, is appended to the code's message to say which check failed.
func errorResponse(status int, code string, l lang, detail ...string) apiResponse {
	m, ok := tossrules.Message(code, l == langEN)
	if !ok {
		m = l.text("테스트 코드로 재현한 에러입니다: ", "Error reproduced with TossPayments-Test-Code: ") + code
	}
	if len(detail) == 2 && detail[0] != "" {
		m += " " + l.text(detail[0], detail[1])
	}
	return jsonResponse(status, wireError{Code: code, Message: m})
}

// refused renders a refusal of the rule book.
func refused(r *tossrules.Refusal, l lang) apiResponse {
	return errorResponse(r.Status, r.Code, l, r.Detail[:]...)
}

func jsonResponse(status int, v any) apiResponse {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the sandbox's own structs are marshalled; this cannot happen.
		panic(fmt.Errorf("tosstest: encode response: %w", err))
	}
	return apiResponse{status: status, body: b}
}
