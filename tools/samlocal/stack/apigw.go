package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// API Gateway HTTP API limits that shape what a client sees.
const (
	MaxRequestBodyBytes = 10 << 20         // HTTP API payload limit
	IntegrationTimeout  = 30 * time.Second // HTTP API's maximum integration timeout
)

// Router matches requests to the template's HttpApi routes with API
// Gateway's precedence: a literal segment beats a {param}, a {param} beats
// a greedy {proxy+}, a method beats ANY, and $default catches the rest.
type Router struct {
	routes []compiledRoute
}

type compiledRoute struct {
	Route
	segs   []string // path segments; "{x}" params, "{x+}" greedy (last only)
	greedy bool
}

// NewRouter compiles routes; two routes with one key are an error, as in
// API Gateway.
func NewRouter(routes []Route) (*Router, error) {
	seen := map[string]string{}
	r := &Router{}
	for _, rt := range routes {
		key := rt.Key()
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("route %q is declared by both %s and %s", key, prev, rt.Function)
		}
		seen[key] = rt.Function
		c := compiledRoute{Route: rt}
		if rt.Path != "$default" {
			if !strings.HasPrefix(rt.Path, "/") {
				return nil, fmt.Errorf("%s route %q: path must start with /", rt.Function, key)
			}
			c.segs = strings.Split(rt.Path[1:], "/")
			for i, s := range c.segs {
				if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}") {
					if i != len(c.segs)-1 {
						return nil, fmt.Errorf("%s route %q: a greedy {…+} must be the last segment", rt.Function, key)
					}
					c.greedy = true
				}
			}
		}
		r.routes = append(r.routes, c)
	}
	sort.SliceStable(r.routes, func(i, j int) bool { return moreSpecific(r.routes[i], r.routes[j]) })
	return r, nil
}

// moreSpecific orders routes so that the first match is API Gateway's.
func moreSpecific(a, b compiledRoute) bool {
	if (a.Path == "$default") != (b.Path == "$default") {
		return b.Path == "$default"
	}
	if a.greedy != b.greedy {
		return !a.greedy
	}
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		pa, pb := isParam(a.segs[i]), isParam(b.segs[i])
		if pa != pb {
			return !pa
		}
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	return a.Method != "ANY" && b.Method == "ANY"
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// Match finds the route for method and escaped path, with its path
// parameters (decoded, as API Gateway passes them).
func (r *Router) Match(method, escapedPath string) (Route, map[string]string, bool) {
	if !strings.HasPrefix(escapedPath, "/") {
		return Route{}, nil, false
	}
	parts := strings.Split(escapedPath[1:], "/")
	for _, rt := range r.routes {
		if rt.Method != "ANY" && rt.Method != method {
			continue
		}
		if rt.Path == "$default" {
			return rt.Route, nil, true
		}
		if params, ok := rt.match(parts); ok {
			return rt.Route, params, true
		}
	}
	return Route{}, nil, false
}

func (rt compiledRoute) match(parts []string) (map[string]string, bool) {
	var params map[string]string
	set := func(name, raw string) bool {
		v, err := url.PathUnescape(raw)
		if err != nil {
			return false
		}
		if params == nil {
			params = map[string]string{}
		}
		params[name] = v
		return true
	}
	for i, seg := range rt.segs {
		if rt.greedy && i == len(rt.segs)-1 {
			if i >= len(parts) {
				return nil, false
			}
			rest := strings.Join(parts[i:], "/")
			if rest == "" {
				return nil, false
			}
			return params, set(seg[1:len(seg)-2], rest)
		}
		if i >= len(parts) {
			return nil, false
		}
		if isParam(seg) {
			if parts[i] == "" || !set(seg[1:len(seg)-1], parts[i]) {
				return nil, false
			}
			continue
		}
		lit, err := url.PathUnescape(parts[i])
		if err != nil || lit != seg {
			return nil, false
		}
	}
	if len(parts) != len(rt.segs) {
		return nil, false
	}
	return params, true
}

// NewEvent translates an HTTP request into API Gateway's payload format
// 2.0 for route rt, with the request's body already read.
func NewEvent(r *http.Request, rt Route, params map[string]string, body []byte, now time.Time) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	for name, vals := range r.Header {
		lname := strings.ToLower(name)
		if lname == "cookie" {
			// HTTP API moves cookies out of the headers into their own list.
			for _, v := range vals {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lname] = strings.Join(vals, ",")
	}
	headers["host"] = r.Host
	if len(body) > 0 || r.ContentLength > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	ip := remoteIP(r)
	if prev := headers["x-forwarded-for"]; prev != "" {
		headers["x-forwarded-for"] = prev + ", " + ip
	} else {
		headers["x-forwarded-for"] = ip
	}
	headers["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	}
	headers["x-amzn-trace-id"] = fmt.Sprintf("Root=1-%08x-%s", now.Unix(), randomHex(12))

	var query map[string]string
	if r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery) // keep what parses, as API Gateway does
		if len(q) > 0 {
			query = make(map[string]string, len(q))
			for k, v := range q {
				query[k] = strings.Join(v, ",")
			}
		}
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	prefix, _, _ := strings.Cut(host, ".")

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.Key(),
			AccountID:    AccountID,
			Stage:        "$default",
			RequestID:    newAPIRequestID(),
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: prefix,
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  ip,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isText reports whether a body goes to the function as text; anything
// else is base64-encoded, as HTTP API does for binary media.
func isText(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/x-www-form-urlencoded",
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript":
		return true
	}
	return false
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// newAPIRequestID looks like API Gateway's request ids ("JKJaXmPLvHcESHA=").
func newAPIRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// ErrBadResponse is a function answer API Gateway cannot turn into HTTP.
var ErrBadResponse = errors.New("malformed Lambda proxy response")

// WriteResponse turns a function's payload into the HTTP response, as HTTP
// API does for format 2.0: an object with statusCode is a structured
// response; any other JSON is the body of a 200 application/json answer.
func WriteResponse(w http.ResponseWriter, payload []byte, apiRequestID string) error {
	h := w.Header()
	h.Set("Apigw-Requestid", apiRequestID)
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) != nil || probe["statusCode"] == nil {
		if !json.Valid(payload) {
			return fmt.Errorf("%w: not JSON", ErrBadResponse)
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
		return nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("%w: statusCode %d", ErrBadResponse, resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("%w: isBase64Encoded but the body is not base64: %w", ErrBadResponse, err)
		}
		body = b
	}
	for k, vals := range resp.MultiValueHeaders {
		for _, v := range vals {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		if !containsValue(h.Values(k), v) {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		h["Content-Type"] = nil // API Gateway does not sniff; neither may net/http
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return nil
}

func containsValue(vals []string, v string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

// apiMessage answers like API Gateway's own errors: {"message": "…"}.
func apiMessage(w http.ResponseWriter, status int, msg, apiRequestID string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Apigw-Requestid", apiRequestID)
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"message":%q}`, msg)
}

// Invoker runs one function invocation.
type Invoker func(ctx context.Context, function string, event []byte) (payload []byte, err error)

// APIHandler serves the routes through invoke, translating both ways.
// logf receives one line per failed request (function errors, timeouts).
func APIHandler(router *Router, invoke Invoker, logf func(format string, args ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		rt, params, ok := router.Match(r.Method, r.URL.EscapedPath())
		if !ok {
			apiMessage(w, http.StatusNotFound, "Not Found", newAPIRequestID())
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBodyBytes+1))
		if err != nil {
			apiMessage(w, http.StatusBadRequest, "Bad Request", newAPIRequestID())
			return
		}
		if len(body) > MaxRequestBodyBytes {
			apiMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large", newAPIRequestID())
			return
		}
		ev := NewEvent(r, rt, params, body, now)
		reqID := ev.RequestContext.RequestID
		event, err := json.Marshal(ev)
		if err != nil {
			apiMessage(w, http.StatusInternalServerError, "Internal Server Error", reqID)
			return
		}
		// Failures are logged by route key, not path: a path can hold a
		// paymentKey (/payments/{paymentKey}/cancel).
		// The function runs on even if API Gateway stops waiting, as in AWS,
		// and a client that hangs up (a browser dropping a CSP report as it
		// navigates) does not end the integration either: its answer is
		// the function's, not a 500 of the emulator's.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), IntegrationTimeout)
		defer cancel()
		payload, err := invoke(ctx, rt.Function, event)
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			logf("%s → %s: no answer within %s: 503", rt.Key(), rt.Function, IntegrationTimeout)
			apiMessage(w, http.StatusServiceUnavailable, "Service Unavailable", reqID)
			return
		case err != nil:
			logf("%s → %s: %v: 500", rt.Key(), rt.Function, err)
			apiMessage(w, http.StatusInternalServerError, "Internal Server Error", reqID)
			return
		}
		if err := WriteResponse(w, payload, reqID); err != nil {
			logf("%s → %s: %v: 500", rt.Key(), rt.Function, err)
			apiMessage(w, http.StatusInternalServerError, "Internal Server Error", reqID)
		}
	})
}
