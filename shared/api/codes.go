package api

import "net/http"

// Our own error codes. Toss's codes are passed through unchanged when an
// error came from Toss (a declined confirm: REJECT_CARD_COMPANY, …); the
// authentication and idempotency codes reuse Toss's names for the same
// situations (docs/toss-api.md#errors), so a client written for Toss reads ours.
const (
	CodeInvalidRequest           = "INVALID_REQUEST"
	CodeInvalidJSON              = "INVALID_JSON"
	CodeUnsupportedContentType   = "UNSUPPORTED_CONTENT_TYPE"
	CodeRequestTooLarge          = "REQUEST_TOO_LARGE"
	CodeInvalidCursor            = "INVALID_CURSOR"
	CodeAmountMismatch           = "AMOUNT_MISMATCH"
	CodeNotFoundOrder            = "NOT_FOUND_ORDER"
	CodeOrderExpired             = "ORDER_EXPIRED"
	CodeAlreadyPaidOrder         = "ALREADY_PAID_ORDER"
	CodeNotDeletableOrder        = "NOT_DELETABLE_ORDER"
	CodeNotCancelableOrder       = "NOT_CANCELABLE_ORDER"
	CodeExceedCancelAmount       = "EXCEED_CANCEL_AMOUNT"
	CodeCancelOutcomeUnknown     = "CANCEL_OUTCOME_UNKNOWN"
	CodeMalformedWebhook         = "INVALID_WEBHOOK"
	CodeUnauthorizedKey          = "UNAUTHORIZED_KEY"
	CodeIncorrectBasicAuthFormat = "INCORRECT_BASIC_AUTH_FORMAT"
	CodeInvalidIdempotencyKey    = "INVALID_IDEMPOTENCY_KEY"
	CodeIdempotentProcessing     = "IDEMPOTENT_REQUEST_PROCESSING"
	CodeIdempotencyKeyReused     = "IDEMPOTENCY_KEY_REUSED"
	CodeTooManyRequests          = "TOO_MANY_REQUESTS"
	CodeServiceUnavailable       = "SERVICE_UNAVAILABLE"
	CodePaymentsUnavailable      = "PAYMENTS_UNAVAILABLE"
	CodeInternal                 = "INTERNAL_ERROR"
)

// codeInfo is what an answer with one of our codes carries: its HTTP status
// and its default message in each Lang.
type codeInfo struct {
	status int
	ko, en string
}

// codes holds every one of our codes. A code missing here would answer 400
// with an empty message, so the table is the whole list, kept in one place.
var codes = map[string]codeInfo{
	CodeInvalidRequest:           {http.StatusBadRequest, "요청 값이 올바르지 않습니다.", "The request has invalid values."},
	CodeInvalidJSON:              {http.StatusBadRequest, "요청 본문이 올바른 JSON이 아닙니다.", "The request body is not valid JSON."},
	CodeUnsupportedContentType:   {http.StatusBadRequest, "Content-Type은 application/json이어야 합니다.", "Content-Type must be application/json."},
	CodeRequestTooLarge:          {http.StatusBadRequest, "요청이 너무 큽니다.", "The request is too large."},
	CodeInvalidCursor:            {http.StatusBadRequest, "cursor 값이 올바르지 않습니다.", "The cursor is not valid."},
	CodeAmountMismatch:           {http.StatusBadRequest, "결제 금액이 주문 금액과 다릅니다. 결제가 승인되지 않았습니다.", "The amount does not match the order. Nothing was charged."},
	CodeNotFoundOrder:            {http.StatusNotFound, "주문을 찾을 수 없습니다.", "The order was not found."},
	CodeOrderExpired:             {http.StatusBadRequest, "결제 가능 기간이 지난 주문입니다.", "The order can no longer be paid."},
	CodeAlreadyPaidOrder:         {http.StatusBadRequest, "이미 결제된 주문입니다.", "The order has already been paid."},
	CodeNotDeletableOrder:        {http.StatusBadRequest, "결제되었거나 결제가 진행 중일 수 있는 주문은 삭제할 수 없습니다.", "A paid order, or one whose payment may still be in progress at Toss, cannot be deleted (an attempt is decided within 15 minutes)."},
	CodeNotCancelableOrder:       {http.StatusBadRequest, "취소할 수 있는 결제가 없는 주문입니다.", "The order has no payment left to refund."},
	CodeExceedCancelAmount:       {http.StatusBadRequest, "취소 금액이 남은 결제 금액보다 큽니다.", "The refund exceeds the payment's remaining balance."},
	CodeCancelOutcomeUnknown:     {http.StatusServiceUnavailable, "환불 결과를 아직 알 수 없습니다. 같은 요청으로 다시 시도하세요.", "The refund's outcome is not known yet. Retry the same request."},
	CodeMalformedWebhook:         {http.StatusBadRequest, "웹훅 본문이 올바르지 않습니다.", "The webhook body is not valid."},
	CodeUnauthorizedKey:          {http.StatusUnauthorized, "인증되지 않은 API 키입니다.", "The API key is not authorized."},
	CodeIncorrectBasicAuthFormat: {http.StatusForbidden, "Basic 인증 형식이 올바르지 않습니다. API 키 뒤에 콜론(:)을 붙여 인코딩하세요.", "Incorrect Basic auth format: encode the API key followed by a colon (:)."},
	CodeInvalidIdempotencyKey:    {http.StatusBadRequest, "멱등키는 공백이 아닌 1~300자의 값이어야 하며 제어 문자를 쓸 수 없습니다.", "The Idempotency-Key must be 1 to 300 characters, not blank, with no control characters."},
	CodeIdempotentProcessing:     {http.StatusConflict, "이전 멱등 요청이 처리중입니다.", "A request with this Idempotency-Key is still being processed."},
	CodeIdempotencyKeyReused:     {http.StatusUnprocessableEntity, "같은 멱등키가 다른 요청 본문에 사용되었습니다.", "The Idempotency-Key was already used with a different request body."},
	CodeTooManyRequests:          {http.StatusTooManyRequests, "이 주문에 대한 결제 시도가 너무 많습니다. Retry-After 헤더의 시간(초)이 지난 후 다시 시도해주세요.", "Too many payment attempts for this order. Retry after the number of seconds in the Retry-After header."},
	CodeServiceUnavailable:       {http.StatusServiceUnavailable, "일시적으로 처리할 수 없습니다. 잠시 후 다시 시도해주세요.", "Temporarily unavailable. Please try again shortly."},
	CodePaymentsUnavailable:      {http.StatusServiceUnavailable, "지금은 결제할 수 없습니다. 결제되지 않았습니다. 잠시 후 다시 시도해주세요.", "Payments are unavailable right now. Nothing was charged. Please try again later."},
	CodeInternal:                 {http.StatusInternalServerError, "내부 오류가 발생했습니다.", "An internal error occurred."},
}

// Message is the default message for code in lang ("" for a code not ours).
func Message(code string, lang Lang) string {
	c, ok := codes[code]
	switch {
	case !ok:
		return ""
	case lang == English:
		return c.en
	}
	return c.ko
}

// StatusOf is the HTTP status of one of our codes (400 for unknown ones).
func StatusOf(code string) int {
	if c, ok := codes[code]; ok {
		return c.status
	}
	return http.StatusBadRequest
}
