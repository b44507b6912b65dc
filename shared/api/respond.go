// Package api holds the HTTP API's handlers and conventions (Toss's seed 001
// applied to our own API): JSON both ways; success bodies
// {version, traceId, entityType, entityBody}; error bodies
// {version, traceId, error: {code, message}}; Korean messages unless the
// caller asks for English; merchant endpoints behind Basic auth with the
// merchant API key; buyer pages that always answer with a friendly page.
//
// Handlers see apigw.Request values and return apigw.Response values; the
// domain (orders, payments) knows nothing of either.
package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/tossintl/backend/shared/apigw"
)

// Version is this API's version, in every response body.
const Version = "2026-11-01"

// Our own error codes. Toss's codes are passed through unchanged when an
// error came from Toss (a declined confirm: REJECT_CARD_COMPANY, …).
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
	CodeUnauthorizedKey          = "UNAUTHORIZED_KEY"
	CodeIncorrectBasicAuthFormat = "INCORRECT_BASIC_AUTH_FORMAT"
	CodeInvalidIdempotencyKey    = "INVALID_IDEMPOTENCY_KEY"
	CodeIdempotentProcessing     = "IDEMPOTENT_REQUEST_PROCESSING"
	CodeIdempotencyKeyReused     = "IDEMPOTENCY_KEY_REUSED"
	CodeServiceUnavailable       = "SERVICE_UNAVAILABLE"
	CodeInternal                 = "INTERNAL_ERROR"
)

// messages are the default messages per code: Korean and English.
var messages = map[string][2]string{
	CodeInvalidRequest:           {"요청 값이 올바르지 않습니다.", "The request has invalid values."},
	CodeInvalidJSON:              {"요청 본문이 올바른 JSON이 아닙니다.", "The request body is not valid JSON."},
	CodeUnsupportedContentType:   {"Content-Type은 application/json이어야 합니다.", "Content-Type must be application/json."},
	CodeRequestTooLarge:          {"요청이 너무 큽니다.", "The request is too large."},
	CodeInvalidCursor:            {"cursor 값이 올바르지 않습니다.", "The cursor is not valid."},
	CodeAmountMismatch:           {"결제 금액이 주문 금액과 다릅니다. 결제가 승인되지 않았습니다.", "The amount does not match the order. Nothing was charged."},
	CodeNotFoundOrder:            {"주문을 찾을 수 없습니다.", "The order was not found."},
	CodeOrderExpired:             {"결제 가능 기간이 지난 주문입니다.", "The order can no longer be paid."},
	CodeAlreadyPaidOrder:         {"이미 결제된 주문입니다.", "The order has already been paid."},
	CodeNotDeletableOrder:        {"결제된 주문은 삭제할 수 없습니다.", "A paid order cannot be deleted."},
	CodeUnauthorizedKey:          {"인증되지 않은 API 키입니다.", "The API key is not authorized."},
	CodeIncorrectBasicAuthFormat: {"Basic 인증 형식이 올바르지 않습니다. API 키 뒤에 콜론(:)을 붙여 인코딩하세요.", "Incorrect Basic auth format: encode the API key followed by a colon (:)."},
	CodeInvalidIdempotencyKey:    {"멱등키는 300자 이하여야 합니다.", "The Idempotency-Key must be at most 300 characters."},
	CodeIdempotentProcessing:     {"이전 멱등 요청이 처리중입니다.", "A request with this Idempotency-Key is still being processed."},
	CodeIdempotencyKeyReused:     {"같은 멱등키가 다른 요청 본문에 사용되었습니다.", "The Idempotency-Key was already used with a different request body."},
	CodeServiceUnavailable:       {"일시적으로 처리할 수 없습니다. 잠시 후 다시 시도해주세요.", "Temporarily unavailable. Please try again shortly."},
	CodeInternal:                 {"내부 오류가 발생했습니다.", "An internal error occurred."},
}

// statuses are the HTTP statuses of our own codes.
var statuses = map[string]int{
	CodeInvalidRequest:           http.StatusBadRequest,
	CodeInvalidJSON:              http.StatusBadRequest,
	CodeUnsupportedContentType:   http.StatusBadRequest,
	CodeRequestTooLarge:          http.StatusBadRequest,
	CodeInvalidCursor:            http.StatusBadRequest,
	CodeAmountMismatch:           http.StatusBadRequest,
	CodeNotFoundOrder:            http.StatusNotFound,
	CodeOrderExpired:             http.StatusBadRequest,
	CodeAlreadyPaidOrder:         http.StatusBadRequest,
	CodeNotDeletableOrder:        http.StatusBadRequest,
	CodeUnauthorizedKey:          http.StatusUnauthorized,
	CodeIncorrectBasicAuthFormat: http.StatusForbidden,
	CodeInvalidIdempotencyKey:    http.StatusBadRequest,
	CodeIdempotentProcessing:     http.StatusConflict,
	CodeIdempotencyKeyReused:     http.StatusUnprocessableEntity,
	CodeServiceUnavailable:       http.StatusServiceUnavailable,
	CodeInternal:                 http.StatusInternalServerError,
}

// Lang is the language of API messages: Korean unless the caller asks for English.
type Lang int

// API message languages.
const (
	Korean Lang = iota
	English
)

// LangOf reads Accept-Language the way Toss does: en-US (any en) gives English.
func LangOf(r *apigw.Request) Lang {
	for _, part := range strings.Split(apigw.Header(r, "accept-language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if w, err := strconv.ParseFloat(q, 64); err == nil && w <= 0 {
				continue // q=0 means "not acceptable"
			}
		}
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "en" || strings.HasPrefix(tag, "en-") {
			return English
		}
		if tag == "ko" || strings.HasPrefix(tag, "ko-") {
			return Korean
		}
	}
	return Korean
}

// Message is the default message for code in lang.
func Message(code string, lang Lang) string {
	m, ok := messages[code]
	if !ok {
		return ""
	}
	return m[lang]
}

// StatusOf is the HTTP status of one of our codes (400 for unknown ones).
func StatusOf(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusBadRequest
}

type envelope struct {
	Version    string `json:"version"`
	TraceID    string `json:"traceId"`
	EntityType string `json:"entityType"`
	EntityBody any    `json:"entityBody"`
}

type errorEnvelope struct {
	Version string    `json:"version"`
	TraceID string    `json:"traceId"`
	Error   errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

var jsonHeaders = map[string]string{
	"Content-Type":           "application/json; charset=utf-8",
	"Cache-Control":          "no-store",
	"X-Content-Type-Options": "nosniff",
}

func headersWith(extra map[string]string) map[string]string {
	h := make(map[string]string, len(jsonHeaders)+len(extra))
	for k, v := range jsonHeaders {
		h[k] = v
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// Entity answers status with a resource object.
func Entity(r *apigw.Request, status int, entityType string, body any) apigw.Response {
	b, err := json.Marshal(envelope{Version: Version, TraceID: apigw.TraceID(r), EntityType: entityType, EntityBody: body})
	if err != nil {
		return Error(r, CodeInternal, "")
	}
	return apigw.Respond(status, headersWith(nil), string(b))
}

// Error answers with one of our codes and its status. An empty message uses
// the code's default message in the caller's language.
func Error(r *apigw.Request, code, message string) apigw.Response {
	return ErrorStatus(r, StatusOf(code), code, message)
}

// ErrorStatus answers with an explicit status (Toss's codes carry Toss's status).
func ErrorStatus(r *apigw.Request, status int, code, message string) apigw.Response {
	if message == "" {
		message = Message(code, LangOf(r))
	}
	b, _ := json.Marshal(errorEnvelope{Version: Version, TraceID: apigw.TraceID(r), Error: errorBody{Code: code, Message: message}})
	return apigw.Respond(status, headersWith(nil), string(b))
}
