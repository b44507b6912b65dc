package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/config"
	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/obs"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/secrets"
)

// KeySource gives the current keys (a *secrets.Provider).
type KeySource interface {
	Keys(ctx context.Context) (secrets.Keys, error)
}

// Service is what the handlers need. Each function fills only the fields
// its routes use; a nil field a route needs is a wiring bug caught by tests.
type Service struct {
	Orders  orders.Store
	Engine  *payments.Engine
	Keys    KeySource
	Guard   *idempotency.Guard
	Config  config.Config
	Log     *slog.Logger
	Metrics *obs.Metrics
	Clock   func() time.Time
}

// LambdaHandler is the signature lambda.Start takes for HTTP API events.
type LambdaHandler func(ctx context.Context, r apigw.Request) (apigw.Response, error)

// Route is a handler over one request.
type Route func(ctx context.Context, r *apigw.Request) apigw.Response

func (s *Service) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// JSON wraps a JSON API route: request-scoped logging, latency, and a
// recovered panic answered as a JSON error (never a stack trace).
func (s *Service) JSON(route Route) LambdaHandler {
	return s.wrap(route, func(r *apigw.Request) apigw.Response { return Error(r, CodeInternal, "") })
}

// Page wraps a buyer page route: a recovered panic is a friendly page.
func (s *Service) Page(route Route) LambdaHandler {
	return s.wrap(route, func(r *apigw.Request) apigw.Response {
		return s.notice(r, noticeUnavailable, "", http.StatusInternalServerError)
	})
}

func (s *Service) wrap(route Route, onPanic func(*apigw.Request) apigw.Response) LambdaHandler {
	return func(ctx context.Context, r apigw.Request) (resp apigw.Response, err error) {
		start := time.Now()
		ctx = obs.With(ctx, "traceId", apigw.TraceID(&r))
		defer func() {
			if p := recover(); p != nil {
				s.log().ErrorContext(ctx, "handler panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				resp, err = onPanic(&r), nil
			}
			s.log().InfoContext(ctx, "request", "method", r.RequestContext.HTTP.Method, "route", r.RouteKey,
				"status", resp.StatusCode, "durationMs", time.Since(start).Milliseconds())
			s.Metrics.Latency(time.Since(start))
		}()
		return route(ctx, &r), nil
	}
}

// merchant authenticates a merchant request; ok is false with the response to send.
func (s *Service) merchant(ctx context.Context, r *apigw.Request) (apigw.Response, bool) {
	keys, err := s.Keys.Keys(ctx)
	if err != nil {
		s.log().ErrorContext(ctx, "load keys", "error", err)
		return Error(r, CodeServiceUnavailable, ""), false
	}
	if res := CheckMerchantAuth(r, keys.MerchantAPIKey); res != AuthOK {
		s.log().WarnContext(ctx, "merchant auth refused", "result", int(res))
		return authError(r, res), false
	}
	return apigw.Response{}, true
}

// notStored are responses an Idempotency-Key does not remember: the caller
// is expected to fix the request (validation) or ask again (processing, a
// temporary outage) under the same key.
func notStored(resp apigw.Response) bool {
	// 202 (processing) and 429 (over the order's attempt budget) say "ask
	// again later": a replay of them would answer the retry it invites.
	if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return true
	}
	if resp.StatusCode != http.StatusBadRequest {
		return false
	}
	var e errorEnvelope
	if json.Unmarshal([]byte(resp.Body), &e) != nil {
		return true
	}
	switch e.Error.Code {
	case CodeInvalidRequest, CodeInvalidJSON, CodeUnsupportedContentType, CodeRequestTooLarge:
		return true
	}
	return false
}

// idempotent runs fn at most once per Idempotency-Key of the caller. Every
// route that takes an Idempotency-Key goes through here, so a key sent is
// judged by one rule (idempotency.ValidateKey) and answered the same way
// on every route; a request without the header runs fn without a key.
func (s *Service) idempotent(ctx context.Context, r *apigw.Request, caller string, body []byte, fn func(ctx context.Context) apigw.Response) apigw.Response {
	key, sent := idempotencyKey(r)
	if sent {
		if err := idempotency.ValidateKey(key); err != nil {
			return Error(r, CodeInvalidIdempotencyKey, keyMessage(err, LangOf(r)))
		}
	}
	req := idempotency.Request{Caller: caller, Method: r.RequestContext.HTTP.Method, Path: r.RawPath, Key: key, Body: body}
	stored, replayed, err := s.Guard.Do(ctx, req, func(ctx context.Context) (idempotency.Response, error) {
		resp := fn(ctx)
		ir := idempotency.Response{Status: resp.StatusCode, Headers: resp.Headers, Body: []byte(resp.Body)}
		if notStored(resp) {
			ir = idempotency.Transient(ir)
		}
		return ir, nil
	})
	if err != nil {
		if status, code, ok := idempotency.Problem(err); ok {
			return ErrorStatus(r, status, code, keyMessage(err, LangOf(r)))
		}
		if stored.Status != 0 {
			// The handler ran and answered, but its answer could not be
			// remembered: the answer is still the truth, and a retry under
			// the same key runs the handler again, which is idempotent.
			s.log().WarnContext(ctx, "idempotency: response not stored", "error", err)
			return apigw.Respond(stored.Status, stored.Headers, string(stored.Body))
		}
		s.log().ErrorContext(ctx, "idempotency store", "error", err)
		return Error(r, CodeServiceUnavailable, "")
	}
	headers := make(map[string]string, len(stored.Headers)+1)
	for k, v := range stored.Headers {
		headers[k] = v
	}
	if replayed {
		headers["Idempotent-Replayed"] = "true"
		// The stored body carries the first request's traceId; say which
		// request this answer belongs to as well.
		headers["X-Trace-Id"] = apigw.TraceID(r)
	}
	return apigw.Respond(stored.Status, headers, string(stored.Body))
}

// idempotencyKey returns the Idempotency-Key header as sent, and whether it
// was sent at all: a header sent empty is a client bug to refuse, not the
// same as no header. Unlike apigw.Header, it does not read an oversized
// value as empty, so a huge key is refused as too long, not as empty.
func idempotencyKey(r *apigw.Request) (key string, sent bool) {
	if v, ok := r.Headers[strings.ToLower(idempotency.HeaderKey)]; ok {
		return v, true
	}
	// Events written by hand (and other proxies) may not lower-case names.
	for k, v := range r.Headers {
		if strings.EqualFold(k, idempotency.HeaderKey) {
			return v, true
		}
	}
	return "", false
}

// keyMessage says which part of the key rule err broke, in lang ("" for an
// error that is not about the key, which then gets its code's default
// message). Each message is wholly in one language, like every message of
// ours: no English reason spliced into a Korean sentence.
func keyMessage(err error, lang Lang) string {
	var ko, en string
	switch {
	case errors.Is(err, idempotency.ErrKeyEmpty):
		ko, en = "멱등키가 비어 있습니다. 값을 보내거나 헤더를 빼세요.",
			"The Idempotency-Key is empty: send a value or leave the header out."
	case errors.Is(err, idempotency.ErrKeyCharacters):
		ko, en = "멱등키에는 제어 문자나 깨진 문자를 쓸 수 없습니다.",
			"The Idempotency-Key must not contain control characters or invalid UTF-8."
	case errors.Is(err, idempotency.ErrKeyTooLong):
		ko, en = fmt.Sprintf("멱등키는 %d자 이하여야 합니다.", idempotency.MaxKeyLength),
			fmt.Sprintf("The Idempotency-Key must be at most %d characters.", idempotency.MaxKeyLength)
	default:
		return ""
	}
	if lang == English {
		return en
	}
	return ko
}

// readJSON reads a JSON object body into v, strictly: application/json,
// bounded, valid UTF-8, no unknown fields, no trailing data.
func readJSON(r *apigw.Request, v any) (body []byte, fail *apigw.Response) {
	return decodeJSON(r, v, true)
}

// readLooseJSON reads a JSON object body into v as readJSON does, except
// that fields v does not name are ignored (as Toss's sample server ignores
// them) and anything but an object is refused outright.
func readLooseJSON(r *apigw.Request, v any) (body []byte, fail *apigw.Response) {
	return decodeJSON(r, v, false)
}

func decodeJSON(r *apigw.Request, v any, strict bool) (body []byte, fail *apigw.Response) {
	bad := func(code, msg string) (body []byte, fail *apigw.Response) {
		resp := Error(r, code, msg)
		return nil, &resp
	}
	if !apigw.IsJSON(r) {
		return bad(CodeUnsupportedContentType, "")
	}
	b, err := apigw.Body(r)
	switch {
	case errors.Is(err, apigw.ErrBodyTooLarge):
		return bad(CodeRequestTooLarge, "")
	case err != nil:
		return bad(CodeInvalidJSON, "")
	}
	if t := bytes.TrimSpace(b); !strict && (len(t) == 0 || t[0] != '{') {
		return bad(CodeInvalidJSON, "") // null, an array, a bare value: not a confirm
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return bad(CodeInvalidRequest, fieldMessage(LangOf(r), strings.Trim(field, `"`), "unknown field"))
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return bad(CodeInvalidRequest, fieldMessage(LangOf(r), te.Field, "wrong type"))
		}
		return bad(CodeInvalidJSON, "")
	}
	if dec.More() {
		return bad(CodeInvalidJSON, "")
	}
	return b, nil
}

// fieldMessage names the offending field in the caller's language.
func fieldMessage(lang Lang, field, reason string) string {
	if lang == English {
		return fmt.Sprintf("Invalid value for %s: %s.", field, reason)
	}
	return fmt.Sprintf("%s 값이 올바르지 않습니다: %s", field, reason)
}

// parseAmount reads a JSON number that must be a positive integer (KRW has
// no minor unit): 1000 is fine, 1000.0, 1e3, -5 and "1000" are not. Bodies
// keep the amount as json.RawMessage and pass its literal here: decoding
// into a json.Number would accept the string "1000" as a number, while the
// raw literal keeps its quotes (and null stays "null") and is refused.
func parseAmount(n json.Number) (int64, bool) {
	s := n.String()
	if s == "" || strings.ContainsAny(s, ".eE+-") {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v > 0
}
