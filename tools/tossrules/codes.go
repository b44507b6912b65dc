package tossrules

import "fmt"

// Error codes the fakes answer with on their own, Toss's where Toss has
// one (Toss's error codes page, https://docs.tosspayments.com/reference/error-codes).
const (
	CodeUnauthorizedKey             = "UNAUTHORIZED_KEY"
	CodeIncorrectBasicAuthFormat    = "INCORRECT_BASIC_AUTH_FORMAT"
	CodeInvalidRequest              = "INVALID_REQUEST"
	CodeNotFoundPayment             = "NOT_FOUND_PAYMENT"
	CodeNotFoundPaymentSession      = "NOT_FOUND_PAYMENT_SESSION"
	CodeForbiddenRequest            = "FORBIDDEN_REQUEST"
	CodeAlreadyProcessedPayment     = "ALREADY_PROCESSED_PAYMENT"
	CodeAlreadyCanceledPayment      = "ALREADY_CANCELED_PAYMENT"
	CodeNotCancelableAmount         = "NOT_CANCELABLE_AMOUNT"
	CodeNotCancelablePayment        = "NOT_CANCELABLE_PAYMENT"
	CodeInvalidIdempotencyKey       = "INVALID_IDEMPOTENCY_KEY"
	CodeIdempotentRequestProcessing = "IDEMPOTENT_REQUEST_PROCESSING"
	CodeTooManyRequests             = "TOO_MANY_REQUESTS"
	CodeFailedInternalSystem        = "FAILED_INTERNAL_SYSTEM_PROCESSING"
	CodeProviderError               = "PROVIDER_ERROR"
	CodeRejectCardCompany           = "REJECT_CARD_COMPANY"
	CodePayProcessCanceled          = "PAY_PROCESS_CANCELED"
	CodeNotFound                    = "NOT_FOUND"          // the sandbox's, for a path Toss does not serve
	CodeMethodNotAllowed            = "METHOD_NOT_ALLOWED" // the sandbox's, for a method a path does not take
)

// messages holds {Korean, English} messages: Toss's own wording where its
// documents give it, plain descriptions otherwise.
var messages = map[string][2]string{
	CodeUnauthorizedKey:             {"인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.", "Unauthorized secret key or client key."},
	CodeIncorrectBasicAuthFormat:    {"잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.", "Incorrect basic auth format. Encode the secret key followed by ':'."},
	CodeInvalidRequest:              {"잘못된 요청입니다.", "Invalid request."},
	CodeNotFoundPayment:             {"존재하지 않는 결제 정보 입니다.", "Payment not found."},
	CodeNotFoundPaymentSession:      {"결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.", "The payment session has expired or does not exist."},
	CodeForbiddenRequest:            {"허용되지 않은 요청입니다.", "Forbidden request."},
	CodeAlreadyProcessedPayment:     {"이미 처리된 결제 입니다.", "The payment has already been processed."},
	CodeAlreadyCanceledPayment:      {"이미 취소된 결제 입니다.", "The payment has already been canceled."},
	CodeNotCancelableAmount:         {"취소 할 수 없는 금액 입니다.", "The amount cannot be canceled."},
	CodeNotCancelablePayment:        {"취소 할 수 없는 결제 입니다.", "The payment cannot be canceled."},
	CodeInvalidIdempotencyKey:       {"멱등키는 300자 이하여야 합니다.", "The idempotency key must be 300 characters or fewer."},
	CodeIdempotentRequestProcessing: {"이전 멱등 요청이 처리중입니다.", "The previous idempotent request is still being processed."},
	CodeTooManyRequests:             {"요청량이 많아 처리할 수 없습니다. 잠시 후 다시 시도해주세요.", "Too many requests. Try again later."},
	CodeFailedInternalSystem:        {"내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.", "Internal system processing failed. Try again later."},
	CodeProviderError:               {"일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.", "A temporary error occurred. Try again later."},
	CodeRejectCardCompany:           {"결제 승인이 거절되었습니다.", "The card company rejected the payment."},
	CodeNotFound:                    {"존재하지 않는 API 입니다.", "No such API."},
	CodeMethodNotAllowed:            {"허용되지 않은 HTTP 메서드입니다.", "HTTP method not allowed."},
}

// Message is code's message in Korean, or in English; ok is false for a
// code this package has no message for.
func Message(code string, english bool) (msg string, ok bool) {
	m, ok := messages[code]
	if english {
		return m[1], ok
	}
	return m[0], ok
}

// Refusal is an answer of Toss's other than the payment: the HTTP status
// and the error code it comes with.
type Refusal struct {
	Status int
	Code   string
	// Detail, {Korean, English}, says which check failed, after the
	// code's message; empty when the code says it all.
	Detail [2]string
}

func refusal(status int, code string, detail ...string) *Refusal {
	r := &Refusal{Status: status, Code: code}
	copy(r.Detail[:], detail)
	return r
}

func (r *Refusal) Error() string { return fmt.Sprintf("%d %s", r.Status, r.Code) }
