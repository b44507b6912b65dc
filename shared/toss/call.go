package toss

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBodyBytes bounds what is read from any response: a Payment is a few
// KiB, and a misbehaving proxy must not make a Lambda run out of memory.
const maxBodyBytes = 1 << 20

// call is one Client method invocation, retries included.
type call struct {
	method  string
	path    string // may hold one {placeholder}, replaced by the escaped segment
	segment string
	body    any // sent as JSON on POST
	idemKey string
	opts    []CallOption
	out     any          // decoded from a 2xx body
	verify  func() error // checks out is the payment asked about

	// Filled by prepare.
	realPath string
	logPath  string // realPath with a paymentKey masked: what logs and errors show
	payload  []byte
	cfg      callConfig
}

// prepare does every check that can fail without Toss. Its errors are plain
// errors: nothing was sent.
func (c *Client) prepare(ctx context.Context, cl *call) error {
	cl.realPath, cl.logPath = cl.path, cl.path
	if i := strings.IndexByte(cl.path, '{'); i >= 0 {
		seg, err := pathSegment(cl.segment)
		if err != nil {
			return err
		}
		j := strings.IndexByte(cl.path, '}')
		cl.realPath = cl.path[:i] + seg + cl.path[j+1:]
		shown := seg
		if cl.path[i:j+1] == "{paymentKey}" {
			shown = maskPaymentKey(seg)
		}
		cl.logPath = cl.path[:i] + shown + cl.path[j+1:]
	}
	cl.cfg = callConfig{lang: c.acceptLanguage(ctx), testCode: c.testCode}
	for _, o := range cl.opts {
		o(&cl.cfg)
	}
	if err := checkHeaderValue("Accept-Language", cl.cfg.lang); err != nil {
		return err
	}
	if err := checkHeaderValue("TossPayments-Test-Code", cl.cfg.testCode); err != nil {
		return err
	}
	if cl.method == http.MethodPost {
		if err := checkIdempotencyKey(cl.idemKey); err != nil {
			return err
		}
		b, err := json.Marshal(cl.body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		cl.payload = b
	}
	return nil
}

func (c *Client) secret(ctx context.Context, refresh bool) (string, error) {
	k, err := c.key(ctx, refresh)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSecretKey, err)
	}
	k, err = cleanKey(k)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSecretKey, err)
	}
	return k, nil
}

// do runs a call and counts how it ended for an operator: a configuration
// answer is counted once per call, whoever made it (a buyer's confirm, the
// reconciler's lookup, a refund), so the alarm hears of a mis-keyed
// deployment even when no buyer is paying.
func (c *Client) do(ctx context.Context, cl call) error {
	err := c.run(ctx, cl)
	if c.metrics != nil && IsConfiguration(err) {
		c.metrics.TossConfigurationError(CodeOf(err))
	}
	return err
}

// run runs a call with retries and key rotation. Every error it returns
// after the first request went out is an *Error; earlier ones are plain.
func (c *Client) run(ctx context.Context, cl call) error {
	if err := c.prepare(ctx, &cl); err != nil {
		return fmt.Errorf("toss: %s %s: %w", cl.method, cl.path, err)
	}
	key, err := c.secret(ctx, false)
	if err != nil {
		return fmt.Errorf("toss: %s %s: %w", cl.method, cl.path, err)
	}
	refreshed := false
	sent := 0 // requests sent, for the logs
	for tries := 1; ; tries++ {
		sent++
		res := c.send(ctx, &cl, key, sent)
		e := res.err
		if e == nil {
			return nil
		}
		if e.Code == CodeUnauthorizedKey && !refreshed {
			// The key may have been rotated under us: ask the source once.
			// Same Idempotency-Key: the 401 means nothing happened.
			refreshed = true
			fresh, err := c.secret(ctx, true)
			if err != nil {
				e.Err = err
				return e
			}
			if fresh == key {
				return e
			}
			c.log.LogAttrs(ctx, slog.LevelInfo, "toss secret key refreshed after "+CodeUnauthorizedKey,
				slog.String("method", cl.method), slog.String("path", cl.logPath))
			key = fresh
			tries-- // a retry with a new key is not a retry of a failure
			continue
		}
		if tries >= c.retry.MaxAttempts || !shouldRetry(ctx, e) {
			return e
		}
		wait := c.retry.backoff(tries)
		if res.hasRetryAfter {
			if res.retryAfter > maxRetryAfter {
				// Toss asked for a longer pause than a request should be
				// held for; the error is retryable, so the caller decides.
				return e
			}
			wait = res.retryAfter
		}
		if dl, ok := ctx.Deadline(); ok && !time.Now().Add(wait).Before(dl) {
			// Sleeping would end at or after the deadline, where the next
			// request could only fail: give back the error we have.
			return e
		}
		if !sleep(ctx, wait) {
			return e
		}
	}
}

type result struct {
	err           *Error
	retryAfter    time.Duration
	hasRetryAfter bool
}

// send makes one HTTP request and logs it.
func (c *Client) send(ctx context.Context, cl *call, key string, attempt int) (res result) {
	start := time.Now()
	status := 0
	defer func() {
		c.logAttempt(ctx, cl, attempt, status, time.Since(start), res.err)
	}()
	fail := func(err error) result {
		// The transport's error names the request URL, whose path may hold
		// a paymentKey: it names the URL as the logs do, masked.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			ue.URL = c.baseURL + cl.logPath
		}
		return result{err: &Error{Method: cl.method, Path: cl.logPath, Status: status, Err: err}}
	}

	var body io.Reader
	if cl.payload != nil {
		body = bytes.NewReader(cl.payload)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.baseURL+cl.realPath, body)
	if err != nil {
		return fail(fmt.Errorf("build request: %w", err))
	}
	token := basicAuth(key)
	req.Header.Set("Authorization", token)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if cl.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", cl.idemKey)
	}
	if cl.cfg.lang != "" {
		req.Header.Set("Accept-Language", cl.cfg.lang)
	}
	if cl.cfg.testCode != "" && strings.HasPrefix(key, "test_") {
		req.Header.Set("TossPayments-Test-Code", cl.cfg.testCode)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error: its text is the method, the URL and the cause, none
		// of which holds the key.
		return fail(err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	data, readErr := readBody(resp.Body)

	if status >= 200 && status < 300 {
		switch {
		case readErr != nil:
			return fail(readErr)
		case len(bytes.TrimSpace(data)) == 0:
			return fail(errors.New("empty response body"))
		}
		if err := json.Unmarshal(data, cl.out); err != nil {
			return fail(fmt.Errorf("decode response: %w", err))
		}
		if p, ok := cl.out.(*Payment); ok {
			p.Raw = data // read for this response alone: nothing else holds it
		}
		if cl.verify != nil {
			if err := cl.verify(); err != nil {
				return fail(err)
			}
		}
		if p, ok := cl.out.(*Payment); ok && p.Version != APIVersion {
			c.versionMismatch(ctx, cl, p.Version)
		}
		return result{}
	}

	e := parseError(cl.method, cl.logPath, status, data, readErr)
	// Toss never echoes credentials, but a proxy or a fake in front of it
	// might; error strings end up in logs and responses.
	e.Code = redact(e.Code, key, token)
	e.Message = redact(e.Message, key, token)
	e.TraceID = redact(e.TraceID, key, token)
	res = result{err: e}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		res.retryAfter, res.hasRetryAfter = parseRetryAfter(ra, time.Now())
	}
	return res
}

func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxBodyBytes {
		return nil, fmt.Errorf("body larger than %d bytes", maxBodyBytes)
	}
	return b, nil
}

// parseError reads both error shapes: v1 {code, message} and v2
// {version, traceId, error: {code, message}}. Anything else keeps the status
// (which still classifies it) and says why in Err.
func parseError(method, path string, status int, body []byte, readErr error) *Error {
	e := &Error{Method: method, Path: path, Status: status}
	if readErr != nil {
		e.Err = readErr
		return e
	}
	if len(bytes.TrimSpace(body)) == 0 {
		e.Err = errors.New("empty error body")
		return e
	}
	var v struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		TraceID string          `json:"traceId"`
		Error   json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			// The error text names at most one offending character, never
			// the body, which may be a proxy's HTML page.
			e.Err = fmt.Errorf("error body is not JSON (%d bytes): %w", len(body), err)
			return e
		}
		// A field of an unexpected type: json filled the others.
	}
	e.Code, e.Message, e.TraceID = v.Code, v.Message, v.TraceID
	if inner := bytes.TrimSpace(v.Error); len(inner) > 0 && inner[0] == '{' {
		var in struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(inner, &in) == nil && in.Code != "" {
			e.Code, e.Message = in.Code, in.Message
		}
	}
	if e.Code == "" {
		e.Err = errors.New("error body has no code")
	}
	return e
}

func redact(s, key, token string) string {
	if s == "" {
		return s
	}
	encoded := strings.TrimPrefix(token, "Basic ")
	for _, secret := range []string{encoded, key} {
		if secret != "" && strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// logAttempt writes the one line per request. It gets the path, never the
// URL's credentials (there are none), the headers or a body.
func (c *Client) logAttempt(ctx context.Context, cl *call, attempt, status int, d time.Duration, e *Error) {
	level := slog.LevelInfo
	if e != nil {
		level = slog.LevelWarn
	}
	if !c.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", cl.method),
		slog.String("path", cl.logPath),
		slog.Int("status", status),
		slog.Int("attempt", attempt),
		slog.Duration("duration", d),
	}
	if cl.idemKey != "" && cl.method == http.MethodPost {
		attrs = append(attrs, slog.String("idempotency_key", cl.idemKey))
	}
	if e != nil {
		attrs = append(attrs,
			slog.String("code", e.Code),
			slog.String("class", e.Class().String()),
			slog.String("error", e.Error()))
		if e.TraceID != "" {
			attrs = append(attrs, slog.String("trace_id", e.TraceID))
		}
	}
	c.log.LogAttrs(ctx, level, "toss call", attrs...)
}

// versionMismatch reports a Payment of another API version than the one
// Payment models. It is used all the same: Toss answered, and refusing a
// paid Payment for its shape would lose the payment; what an older version
// lacks (card issuer, receipt URL) is simply absent. An operator hears of
// it to set the MID's version in Toss's developer center (README, runbook).
// The version is Toss's text: cut and escaped before it is logged.
func (c *Client) versionMismatch(ctx context.Context, cl *call, version string) {
	if c.metrics != nil {
		c.metrics.TossAPIVersionMismatch(version)
	}
	if r := []rune(version); len(r) > maxLoggedVersion {
		version = string(r[:maxLoggedVersion])
	}
	q := strconv.QuoteToGraphic(version)
	c.log.LogAttrs(ctx, slog.LevelWarn, "Toss answered a Payment of another API version than the client models; used as it is",
		slog.String("method", cl.method), slog.String("path", cl.logPath),
		slog.String("version", q[1:len(q)-1]), slog.String("modelled", APIVersion))
}

// maxLoggedVersion bounds the version logged: Toss's are ten characters.
const maxLoggedVersion = 32

// maskPaymentKey keeps enough of a paymentKey to correlate log lines, not to
// use it.
func maskPaymentKey(k string) string {
	if len(k) <= 8 {
		return "****"
	}
	return k[:4] + "****" + k[len(k)-4:]
}
