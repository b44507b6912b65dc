package tosstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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

// Error codes the sandbox answers with on its own (test codes can name any other).
const (
	codeUnauthorizedKey             = "UNAUTHORIZED_KEY"
	codeIncorrectBasicAuthFormat    = "INCORRECT_BASIC_AUTH_FORMAT"
	codeInvalidRequest              = "INVALID_REQUEST"
	codeNotFoundPayment             = "NOT_FOUND_PAYMENT"
	codeNotFoundPaymentSession      = "NOT_FOUND_PAYMENT_SESSION"
	codeForbiddenRequest            = "FORBIDDEN_REQUEST"
	codeAlreadyProcessedPayment     = "ALREADY_PROCESSED_PAYMENT"
	codeAlreadyCanceledPayment      = "ALREADY_CANCELED_PAYMENT"
	codeNotCancelableAmount         = "NOT_CANCELABLE_AMOUNT"
	codeNotCancelablePayment        = "NOT_CANCELABLE_PAYMENT"
	codeInvalidIdempotencyKey       = "INVALID_IDEMPOTENCY_KEY"
	codeIdempotentRequestProcessing = "IDEMPOTENT_REQUEST_PROCESSING"
	codeTooManyRequests             = "TOO_MANY_REQUESTS"
	codeFailedInternalSystem        = "FAILED_INTERNAL_SYSTEM_PROCESSING"
	codeProviderError               = "PROVIDER_ERROR"
	codeRejectCardCompany           = "REJECT_CARD_COMPANY"
	codePayProcessCanceled          = "PAY_PROCESS_CANCELED"
	codeNotFound                    = "NOT_FOUND"
	codeMethodNotAllowed            = "METHOD_NOT_ALLOWED"
)

// messages holds {Korean, English} messages. Toss's own wording where its
// documents give it; plain descriptions otherwise.
var messages = map[string][2]string{
	codeUnauthorizedKey:             {"인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.", "Unauthorized secret key or client key."},
	codeIncorrectBasicAuthFormat:    {"잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.", "Incorrect basic auth format. Encode the secret key followed by ':'."},
	codeInvalidRequest:              {"잘못된 요청입니다.", "Invalid request."},
	codeNotFoundPayment:             {"존재하지 않는 결제 정보 입니다.", "Payment not found."},
	codeNotFoundPaymentSession:      {"결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.", "The payment session has expired or does not exist."},
	codeForbiddenRequest:            {"허용되지 않은 요청입니다.", "Forbidden request."},
	codeAlreadyProcessedPayment:     {"이미 처리된 결제 입니다.", "The payment has already been processed."},
	codeAlreadyCanceledPayment:      {"이미 취소된 결제 입니다.", "The payment has already been canceled."},
	codeNotCancelableAmount:         {"취소 할 수 없는 금액 입니다.", "The amount cannot be canceled."},
	codeNotCancelablePayment:        {"취소 할 수 없는 결제 입니다.", "The payment cannot be canceled."},
	codeInvalidIdempotencyKey:       {"멱등키는 300자 이하여야 합니다.", "The idempotency key must be 300 characters or fewer."},
	codeIdempotentRequestProcessing: {"이전 멱등 요청이 처리중입니다.", "The previous idempotent request is still being processed."},
	codeTooManyRequests:             {"요청량이 많아 처리할 수 없습니다. 잠시 후 다시 시도해주세요.", "Too many requests. Try again later."},
	codeFailedInternalSystem:        {"내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.", "Internal system processing failed. Try again later."},
	codeProviderError:               {"일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.", "A temporary error occurred. Try again later."},
	codeRejectCardCompany:           {"결제 승인이 거절되었습니다.", "The card company rejected the payment."},
	codeNotFound:                    {"존재하지 않는 API 입니다.", "No such API."},
	codeMethodNotAllowed:            {"허용되지 않은 HTTP 메서드입니다.", "HTTP method not allowed."},
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
	msg, ok := messages[code]
	var m string
	if ok {
		m = l.text(msg[0], msg[1])
	} else {
		m = l.text("테스트 코드로 재현한 에러입니다: ", "Error reproduced with TossPayments-Test-Code: ") + code
	}
	if len(detail) == 2 {
		m += " " + l.text(detail[0], detail[1])
	}
	return jsonResponse(status, wireError{Code: code, Message: m})
}

func jsonResponse(status int, v any) apiResponse {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the sandbox's own structs are marshalled; this cannot happen.
		panic(fmt.Errorf("tosstest: encode response: %w", err))
	}
	return apiResponse{status: status, body: b}
}
