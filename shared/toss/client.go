package toss

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is the Toss Payments API origin.
const DefaultBaseURL = "https://api.tosspayments.com"

// MaxIdempotencyKeyLen is the longest Idempotency-Key Toss accepts; a longer
// one would come back as 400 INVALID_IDEMPOTENCY_KEY, so it is refused
// before anything is sent.
const MaxIdempotencyKeyLen = 300

// userAgent names this project so Toss support can find its requests.
const userAgent = "tossintl-backend-toss/1 (+https://github.com/tossintl/backend)"

// Errors for calls refused before anything was sent. They are plain errors,
// never *Error: a caller can rely on "not an *Error" meaning "Toss never saw
// this request" (Classify reports them as ClassDefinitive).
var (
	// ErrInvalidIdempotencyKey: empty, longer than MaxIdempotencyKeyLen, or
	// not visible ASCII. POST calls need one derived by the caller from what
	// it is doing (e.g. the order), so a retry after a crash reuses it.
	ErrInvalidIdempotencyKey = errors.New("invalid idempotency key")
	// ErrInvalidArgument: a path value (paymentKey, orderId) that is empty
	// or would change which endpoint is called, or a header value that
	// cannot be sent.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrSecretKey: the KeyFunc failed or returned an unusable key.
	ErrSecretKey = errors.New("secret key unavailable")
	// ErrResponseMismatch is carried (as Err of an *Error with the 2xx
	// status, so ClassUnknown) when Toss answered with a Payment other than
	// the one asked about, e.g. an Idempotency-Key reused for another order
	// replaying that order's answer.
	ErrResponseMismatch = errors.New("response is about another payment")
)

// KeyFunc returns the current Toss secret key. refresh=true asks the source
// to fetch it again (called once after UNAUTHORIZED_KEY, for key rotation).
// The source is expected to cache: it is called on every Client call.
// Surrounding whitespace and a UTF-8 BOM are trimmed from what it returns.
type KeyFunc func(ctx context.Context, refresh bool) (string, error)

// StaticKey is a KeyFunc for a key that never changes (tests, local runs).
func StaticKey(key string) KeyFunc {
	return func(context.Context, bool) (string, error) { return key, nil }
}

// Options configure a Client. Only SecretKey is required.
type Options struct {
	BaseURL    string       // default DefaultBaseURL; a path prefix is kept
	HTTPClient *http.Client // default: see defaultHTTPClient
	SecretKey  KeyFunc      // required
	Retry      RetryPolicy  // zero fields take the defaults documented on RetryPolicy
	// AcceptLanguage is sent unless the call's context or options say
	// otherwise (ContextWithAcceptLanguage, WithAcceptLanguage): e.g.
	// "en-US"; empty = Toss's default (Korean).
	AcceptLanguage string
	// TestCode is sent as TossPayments-Test-Code, and only while the key
	// starts with "test_": Toss ignores it in live, and a live request
	// carrying a forced error code would only confuse whoever reads the logs.
	TestCode string
	// Logger gets one line per attempt (Info on success, Warn on failure).
	// It never receives the key, the Authorization header or a body.
	Logger *slog.Logger
	// Metrics, if set, is told what an operator should count (*obs.Metrics).
	Metrics Metrics
}

// Metrics is told of the answers an operator should hear about.
type Metrics interface {
	// TossConfigurationError: a call ended refused with a code of
	// CauseConfiguration (after the one key reload UNAUTHORIZED_KEY gets).
	TossConfigurationError(code string)
	// TossAPIVersionMismatch: Toss answered a Payment whose version is not
	// APIVersion ("" when it named none). It was used all the same.
	TossAPIVersionMismatch(version string)
}

// Client calls the Toss Payments API. It is safe for concurrent use and holds
// no copy of the secret key between calls.
type Client struct {
	baseURL  string // scheme://host[/prefix], no trailing slash
	hc       *http.Client
	key      KeyFunc
	retry    RetryPolicy
	lang     string
	testCode string
	log      *slog.Logger
	metrics  Metrics
}

// New builds a Client.
func New(opts Options) (*Client, error) {
	if opts.SecretKey == nil {
		return nil, errors.New("toss: Options.SecretKey is required")
	}
	base, err := parseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	retry, err := opts.Retry.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkHeaderValue("AcceptLanguage", opts.AcceptLanguage); err != nil {
		return nil, fmt.Errorf("toss: Options: %w", err)
	}
	if err := checkHeaderValue("TestCode", opts.TestCode); err != nil {
		return nil, fmt.Errorf("toss: Options: %w", err)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{
		baseURL:  base,
		hc:       hc,
		key:      opts.SecretKey,
		retry:    retry,
		lang:     opts.AcceptLanguage,
		testCode: opts.TestCode,
		log:      log,
		metrics:  opts.Metrics,
	}, nil
}

func parseBaseURL(s string) (string, error) {
	if s == "" {
		s = DefaultBaseURL
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("toss: Options.BaseURL: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("toss: Options.BaseURL %q: scheme must be https or http", s)
	case u.Host == "":
		return "", fmt.Errorf("toss: Options.BaseURL %q: no host", s)
	case u.User != nil:
		// Credentials in the URL would end up in every transport error string.
		return "", errors.New("toss: Options.BaseURL must not carry user info")
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("toss: Options.BaseURL %q: no query or fragment allowed", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// defaultHTTPClient bounds every phase of a call, which the official samples
// do not: a confirm that hangs forever holds a Lambda until it is killed and
// leaves the order in doubt. Redirects are not followed: the API never
// redirects, and following one would resend the Authorization header.
func defaultHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second, // confirm waits on the card company
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   8,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   35 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// CallOption overrides a Client setting for one call.
type CallOption func(*callConfig)

type callConfig struct {
	lang     string
	testCode string
}

// WithAcceptLanguage sets Accept-Language for one call; "" sends none.
func WithAcceptLanguage(lang string) CallOption {
	return func(c *callConfig) { c.lang = lang }
}

type acceptLanguageKey struct{}

// ContextWithAcceptLanguage returns ctx under which every call sends
// Accept-Language: lang instead of Options.AcceptLanguage ("" sends none),
// unless a call's own WithAcceptLanguage says otherwise. It is for the one
// who knows whom the calls are made for: a buyer's request carries the
// buyer's language through the engine, which does not care, to every Toss
// call made for it (Toss answers Korean, its default, or English).
func ContextWithAcceptLanguage(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, acceptLanguageKey{}, lang)
}

// acceptLanguage is the Accept-Language a call under ctx sends before its
// own options: ctx's, else the client's.
func (c *Client) acceptLanguage(ctx context.Context) string {
	if l, ok := ctx.Value(acceptLanguageKey{}).(string); ok {
		return l
	}
	return c.lang
}

// WithTestCode sets TossPayments-Test-Code for one call (still only with a
// test_ key); "" sends none.
func WithTestCode(code string) CallOption {
	return func(c *callConfig) { c.testCode = code }
}

// Confirm approves an authenticated payment: POST /v1/payments/confirm.
// The caller must already have checked req.Amount against its own record of
// the order. idempotencyKey is required and must be the same on every try of
// the same confirm, across processes: derive it from the order.
//
// A Payment whose paymentKey, orderId or totalAmount differ from req is not
// returned: the error carries ErrResponseMismatch and is ClassUnknown.
func (c *Client) Confirm(ctx context.Context, req ConfirmRequest, idempotencyKey string, opts ...CallOption) (*Payment, error) {
	var p Payment
	err := c.do(ctx, call{
		method:  http.MethodPost,
		path:    "/v1/payments/confirm",
		body:    req,
		idemKey: idempotencyKey,
		opts:    opts,
		out:     &p,
		verify: func() error {
			if p.PaymentKey != req.PaymentKey || p.OrderID != req.OrderID || p.TotalAmount != req.Amount {
				return fmt.Errorf("%w: sent paymentKey %q orderId %q amount %d, got paymentKey %q orderId %q totalAmount %d",
					ErrResponseMismatch, req.PaymentKey, req.OrderID, req.Amount, p.PaymentKey, p.OrderID, p.TotalAmount)
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Payment fetches a payment by its paymentKey: GET /v1/payments/{paymentKey}.
// It is the source of truth when a confirm's outcome is unknown.
func (c *Client) Payment(ctx context.Context, paymentKey string, opts ...CallOption) (*Payment, error) {
	var p Payment
	err := c.do(ctx, call{
		method:  http.MethodGet,
		path:    "/v1/payments/{paymentKey}",
		segment: paymentKey,
		opts:    opts,
		out:     &p,
		verify:  func() error { return samePayment("paymentKey", paymentKey, p.PaymentKey) },
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// PaymentByOrderID fetches a payment by the merchant's order id:
// GET /v1/payments/orders/{orderId}.
func (c *Client) PaymentByOrderID(ctx context.Context, orderID string, opts ...CallOption) (*Payment, error) {
	var p Payment
	err := c.do(ctx, call{
		method:  http.MethodGet,
		path:    "/v1/payments/orders/{orderId}",
		segment: orderID,
		opts:    opts,
		out:     &p,
		verify:  func() error { return samePayment("orderId", orderID, p.OrderID) },
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Cancel cancels a payment in full (req.CancelAmount 0) or in part:
// POST /v1/payments/{paymentKey}/cancel. idempotencyKey is required; a
// partial cancel retried under a new key would refund twice.
func (c *Client) Cancel(ctx context.Context, paymentKey string, req CancelRequest, idempotencyKey string, opts ...CallOption) (*Payment, error) {
	var p Payment
	err := c.do(ctx, call{
		method:  http.MethodPost,
		path:    "/v1/payments/{paymentKey}/cancel",
		segment: paymentKey,
		body:    req,
		idemKey: idempotencyKey,
		opts:    opts,
		out:     &p,
		verify:  func() error { return samePayment("paymentKey", paymentKey, p.PaymentKey) },
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func samePayment(field, want, got string) error {
	if want != got {
		return fmt.Errorf("%w: asked for %s %q, got %q", ErrResponseMismatch, field, want, got)
	}
	return nil
}

// basicAuth is Toss's scheme: the secret key as user name, no password, so
// the colon is part of what is encoded.
func basicAuth(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// cleanKey trims what a secret store or a file commonly adds around a key
// and refuses anything else that is not visible ASCII. The error never
// quotes the key.
func cleanKey(key string) (string, error) {
	key = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(key), "\uFEFF"))
	if key == "" {
		return "", errors.New("empty key")
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] > '~' {
			return "", fmt.Errorf("key has a non-printable or non-ASCII byte at offset %d", i)
		}
	}
	return key, nil
}

func checkIdempotencyKey(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("%w: empty; derive one from the operation so retries reuse it", ErrInvalidIdempotencyKey)
	case len(k) > MaxIdempotencyKeyLen:
		return fmt.Errorf("%w: %d characters, Toss allows %d", ErrInvalidIdempotencyKey, len(k), MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			// net/http would refuse it at send time, which would look like
			// a transport failure and be retried.
			return fmt.Errorf("%w: byte %d is not visible ASCII", ErrInvalidIdempotencyKey, i)
		}
	}
	return nil
}

// checkHeaderValue refuses values net/http would refuse at send time.
func checkHeaderValue(name, v string) error {
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] > '~' {
			return fmt.Errorf("%w: %s: byte %d is not printable ASCII", ErrInvalidArgument, name, i)
		}
	}
	return nil
}

// pathSegment escapes one path value. "." and ".." are refused because a
// proxy normalising the path would turn a cancel into another endpoint.
func pathSegment(v string) (string, error) {
	switch v {
	case "":
		return "", fmt.Errorf("%w: empty path value", ErrInvalidArgument)
	case ".", "..":
		return "", fmt.Errorf("%w: path value %q", ErrInvalidArgument, v)
	}
	return url.PathEscape(v), nil
}
