package tosstest

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Option adjusts the Config of a test server.
type Option func(*Config)

// WithKeys sets the secret and client keys (test_sk_… and test_ck_…).
func WithKeys(secretKey, clientKey string) Option {
	return func(c *Config) { c.SecretKey, c.ClientKey = secretKey, clientKey }
}

// WithClock sets the sandbox's time source.
func WithClock(clock func() time.Time) Option {
	return func(c *Config) { c.Clock = clock }
}

// WithSessionTTL changes the confirm window (10 minutes by default).
func WithSessionTTL(d time.Duration) Option {
	return func(c *Config) { c.SessionTTL = d }
}

// WithIdempotencyTTL changes how long an Idempotency-Key is kept (15 days by default).
func WithIdempotencyTTL(d time.Duration) Option {
	return func(c *Config) { c.IdempotencyTTL = d }
}

// WithLatency adds a delay to every API call from the start.
func WithLatency(d time.Duration) Option {
	return func(c *Config) { c.Latency = d }
}

// WithWebhookURL sends PAYMENT_STATUS_CHANGED webhooks to url.
func WithWebhookURL(url string) Option {
	return func(c *Config) { c.WebhookURL = url }
}

// WithWebhookRetryUnit scales Toss's webhook retry schedule (minutes) so a
// test can run it: WithWebhookRetryUnit(time.Millisecond) retries after
// 1, 4, 16, … milliseconds.
func WithWebhookRetryUnit(d time.Duration) Option {
	return func(c *Config) { c.WebhookRetryUnit = d }
}

// WithLogger logs one line per request.
func WithLogger(l *slog.Logger) Option {
	return func(c *Config) { c.Logger = l }
}

// Server is a Sandbox listening on a loopback port, for tests. Its methods
// are the Sandbox's; URL is the base URL for both the API and the window.
type Server struct {
	*Sandbox
	URL string
	ts  *httptest.Server
}

// NewServer starts a sandbox on a loopback port and closes it when the test
// ends:
//
//	sb := tosstest.NewServer(t)
//	// point the Toss client at sb.URL with sb.SecretKey()
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var cfg Config
	for _, o := range opts {
		o(&cfg)
	}
	sb := New(cfg)
	ts := httptest.NewServer(sb)
	s := &Server{Sandbox: sb, URL: ts.URL, ts: ts}
	t.Cleanup(s.Close)
	return s
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Close releases requests held by latency, then stops the server.
func (s *Server) Close() {
	s.Sandbox.Close()
	s.ts.Close()
}
