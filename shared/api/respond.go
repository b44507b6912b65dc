// Package api holds the HTTP API's handlers and conventions (Toss's request
// and response conventions, docs/toss-api.md#requests-and-responses, applied
// to our own API): JSON both ways; success bodies
// {version, traceId, entityType, entityBody}; error bodies
// {version, traceId, error: {code, message}}; Korean messages unless the
// caller asks for English; merchant endpoints behind Basic auth with the
// merchant API key; buyer pages that always answer with a friendly page.
//
// Handlers see apigw.Request values and return apigw.Response values; the
// domain (orders, payments) knows nothing of either.
package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/tossintl/backend/shared/apigw"
)

// Version is this API's version, in every response body.
const Version = "2026-11-01"

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

// Verbatim is an entityBody given as the JSON text to send as it is:
// encoding/json re-encodes even a json.RawMessage (it compacts it and
// escapes <, > and &), so a body that must reach the caller byte for byte
// (Toss's Payment object on POST /confirm) is spliced in instead.
type Verbatim []byte

// Entity answers status with a resource object.
func Entity(r *apigw.Request, status int, entityType string, body any) apigw.Response {
	if v, ok := body.(Verbatim); ok {
		return verbatimEntity(r, status, entityType, v)
	}
	b, err := json.Marshal(envelope{Version: Version, TraceID: apigw.TraceID(r), EntityType: entityType, EntityBody: body})
	if err != nil {
		return Error(r, CodeInternal, "")
	}
	return apigw.Respond(status, headersWith(nil), string(b))
}

// verbatimEntity is Entity with body's text as the entityBody, refused
// (500, as Entity refuses what it cannot encode) unless it is one JSON value.
func verbatimEntity(r *apigw.Request, status int, entityType string, body Verbatim) apigw.Response {
	body = bytes.TrimSpace(body)
	if !json.Valid(body) {
		return Error(r, CodeInternal, "")
	}
	head, err := json.Marshal(struct {
		Version    string `json:"version"`
		TraceID    string `json:"traceId"`
		EntityType string `json:"entityType"`
	}{Version, apigw.TraceID(r), entityType})
	if err != nil {
		return Error(r, CodeInternal, "")
	}
	b := make([]byte, 0, len(head)+len(body)+16)
	b = append(b, head[:len(head)-1]...) // without its closing brace
	b = append(b, `,"entityBody":`...)
	b = append(b, body...)
	b = append(b, '}')
	return apigw.Respond(status, headersWith(nil), string(b))
}

// Error answers with one of our codes and its status. An empty message uses
// the code's default message in the caller's language.
func Error(r *apigw.Request, code, message string) apigw.Response {
	return ErrorStatus(r, StatusOf(code), code, message)
}

// ErrorStatus answers with an explicit status (Toss's codes carry Toss's
// status). Every 503 carries Retry-After (unavailableRetryAfter).
func ErrorStatus(r *apigw.Request, status int, code, message string) apigw.Response {
	if message == "" {
		message = Message(code, LangOf(r))
	}
	b, _ := json.Marshal(errorEnvelope{Version: Version, TraceID: apigw.TraceID(r), Error: errorBody{Code: code, Message: message}})
	var extra map[string]string
	switch {
	case code == CodePaymentsUnavailable:
		extra = map[string]string{"Retry-After": configurationRetryAfter}
	case status == http.StatusServiceUnavailable:
		extra = map[string]string{"Retry-After": unavailableRetryAfter}
	}
	return apigw.Respond(status, headersWith(extra), string(b))
}

// unavailableRetryAfter is the Retry-After of a 503, in seconds. A 503 is
// our own dependency refusing for now, most often DynamoDB throttling a
// burst beyond what it has scaled to, which the SDK has already retried
// with backoff inside the request; a caller waiting two seconds gives the
// table time to split and spreads a crowd's retries instead of sending
// them straight back. Nothing was lost: a write that did not happen is
// repeated by the retry, one that did is recognised by it.
const unavailableRetryAfter = "2"

// configurationRetryAfter is the Retry-After of PAYMENTS_UNAVAILABLE, in
// seconds: Toss refuses the merchant's configuration, which lasts until an
// operator fixes it, so asking again in two seconds only adds load. A
// minute is still well inside the 10 minutes Toss keeps the buyer's
// authentication.
const configurationRetryAfter = "60"
