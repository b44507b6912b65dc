// Package apigw adapts API Gateway HTTP API (payload format 2.0) events:
// reading headers, query strings and bodies defensively, and building
// responses. It is the only package that knows the event shapes.
package apigw

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Request and Response are the HTTP API payload format 2.0 shapes.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// Limits on what a request may carry; beyond them the request is refused
// with a clear 400 rather than processed.
const (
	MaxBodyBytes   = 16 << 10 // every JSON body this API takes is tiny
	MaxQueryBytes  = 4 << 10
	MaxHeaderBytes = 8 << 10
)

// Errors from reading a request.
var (
	ErrBodyTooLarge  = errors.New("request body too large")
	ErrBadBody       = errors.New("request body is not valid")
	ErrQueryTooLarge = errors.New("query string too large")
	ErrBadQuery      = errors.New("query string is not valid")
)

// Header returns a request header. HTTP API lower-cases names, but events
// written by hand (and other proxies) may not, so the lookup ignores case.
// Values longer than MaxHeaderBytes read as empty.
func Header(r *Request, name string) string {
	v, ok := r.Headers[strings.ToLower(name)]
	if !ok {
		for k, hv := range r.Headers {
			if strings.EqualFold(k, name) {
				v, ok = hv, true
				break
			}
		}
	}
	if !ok || len(v) > MaxHeaderBytes {
		return ""
	}
	return v
}

// TraceID identifies the request: the API Gateway request id.
func TraceID(r *Request) string {
	if id := r.RequestContext.RequestID; id != "" {
		return id
	}
	return "local"
}

// Query parses the raw query string, keeping repeated values apart (the
// pre-parsed queryStringParameters joins them with commas). Values must be
// valid UTF-8.
func Query(r *Request) (url.Values, error) {
	raw := r.RawQueryString
	if raw == "" && len(r.QueryStringParameters) > 0 {
		v := url.Values{}
		for k, val := range r.QueryStringParameters {
			v.Set(k, val)
		}
		return v, checkValues(v)
	}
	if len(raw) > MaxQueryBytes {
		return nil, ErrQueryTooLarge
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	return v, checkValues(v)
}

func checkValues(v url.Values) error {
	for k, vals := range v {
		if !utf8.ValidString(k) {
			return fmt.Errorf("%w: parameter name is not UTF-8", ErrBadQuery)
		}
		for _, s := range vals {
			if !utf8.ValidString(s) {
				return fmt.Errorf("%w: %s is not UTF-8", ErrBadQuery, k)
			}
		}
	}
	return nil
}

// Body returns the request body, decoded from base64 when API Gateway
// encoded it, refusing bodies over MaxBodyBytes and invalid UTF-8.
func Body(r *Request) ([]byte, error) {
	if len(r.Body) > MaxBodyBytes*4/3+4 {
		return nil, ErrBodyTooLarge
	}
	b := []byte(r.Body)
	if r.IsBase64Encoded {
		d, err := base64.StdEncoding.DecodeString(r.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: bad base64: %v", ErrBadBody, err)
		}
		b = d
	}
	if len(b) > MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrBadBody)
	}
	return b, nil
}

// IsJSON reports whether the request says its body is JSON.
func IsJSON(r *Request) bool {
	ct := strings.ToLower(strings.TrimSpace(Header(r, "content-type")))
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// BaseURL is the URL this API is reachable at: API Gateway's domain name
// for the request (never a client-set X-Forwarded-Host, which would let a
// caller point checkout and redirect URLs elsewhere), plus the stage when it
// is not $default. PUBLIC_BASE_URL overrides it for custom domains.
func BaseURL(r *Request) string {
	host := r.RequestContext.DomainName
	if host == "" {
		host = Header(r, "host")
	}
	proto := Header(r, "x-forwarded-proto")
	if proto != "http" {
		proto = "https"
	}
	base := proto + "://" + host
	if st := r.RequestContext.Stage; st != "" && st != "$default" {
		base += "/" + url.PathEscape(st)
	}
	return base
}

// Respond builds a response with the given status, headers and body.
func Respond(status int, headers map[string]string, body string) Response {
	return Response{StatusCode: status, Headers: headers, Body: body}
}
