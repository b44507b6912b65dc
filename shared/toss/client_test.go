package toss

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testKey  = "test_sk_abc"
	testAuth = "Basic dGVzdF9za19hYmM6" // base64("test_sk_abc:"), by hand
	liveKey  = "live_sk_abc"
	liveAuth = "Basic bGl2ZV9za19hYmM6" // base64("live_sk_abc:")

	pk    = "tgen_20240213121757MvuS8"
	order = "order_8f2c1e7a0b"
	amt   = int64(15000)
)

// seen is one request as the server received it.
type seen struct {
	method string
	uri    string
	header http.Header
	body   []byte
}

type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (r *recorder) add(req *http.Request, body []byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, seen{req.Method, req.RequestURI, req.Header.Clone(), body})
	return len(r.reqs)
}

func (r *recorder) all() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func (r *recorder) count() int { return len(r.all()) }

// serve starts a real HTTP server; respond gets the 1-based request number.
func serve(t testing.TB, respond func(w http.ResponseWriter, r *http.Request, n int)) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		respond(w, r, rec.add(r, body))
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// fastRetry keeps the retry tests quick; attempt counts, not time, are asserted.
var fastRetry = RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

func newClient(t *testing.T, srv *httptest.Server, mutate func(*Options)) *Client {
	t.Helper()
	opts := Options{BaseURL: srv.URL, SecretKey: StaticKey(testKey), Retry: fastRetry}
	if mutate != nil {
		mutate(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func paymentJSON(paymentKey, orderID string, amount int64) string {
	return fmt.Sprintf(`{"paymentKey":%q,"orderId":%q,"status":"DONE","totalAmount":%d,"balanceAmount":%d,"approvedAt":"2024-02-13T12:18:14+09:00"}`,
		paymentKey, orderID, amount, amount)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// okPayment answers every request with the payment the tests ask about.
func okPayment(w http.ResponseWriter, _ *http.Request, _ int) {
	writeJSON(w, http.StatusOK, paymentJSON(pk, order, amt))
}

func tossError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, fmt.Sprintf(`{"code":%q,"message":"msg for %s"}`, code, code))
}

// hangUp closes the connection without an answer: a transport failure.
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// calls are the four endpoints, so header rules are checked on each.
var calls = []struct {
	name     string
	method   string
	uri      string
	wantBody string
	do       func(context.Context, *Client, ...CallOption) (*Payment, error)
}{
	{"confirm", http.MethodPost, "/v1/payments/confirm",
		`{"paymentKey":"` + pk + `","orderId":"` + order + `","amount":15000}`,
		func(ctx context.Context, c *Client, o ...CallOption) (*Payment, error) {
			return c.Confirm(ctx, ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, "idem-confirm-1", o...)
		}},
	{"payment", http.MethodGet, "/v1/payments/" + pk, "",
		func(ctx context.Context, c *Client, o ...CallOption) (*Payment, error) {
			return c.Payment(ctx, pk, o...)
		}},
	{"by order", http.MethodGet, "/v1/payments/orders/" + order, "",
		func(ctx context.Context, c *Client, o ...CallOption) (*Payment, error) {
			return c.PaymentByOrderID(ctx, order, o...)
		}},
	{"cancel", http.MethodPost, "/v1/payments/" + pk + "/cancel",
		`{"cancelReason":"Buyer changed plans","cancelAmount":5000}`,
		func(ctx context.Context, c *Client, o ...CallOption) (*Payment, error) {
			return c.Cancel(ctx, pk, CancelRequest{CancelReason: "Buyer changed plans", CancelAmount: 5000}, "idem-cancel-1", o...)
		}},
}

func TestHeaders(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		lang      string
		testCode  string
		callOpts  []CallOption
		wantAuth  string
		wantLang  string
		wantTCode string
	}{
		{name: "test key, no options", key: testKey, wantAuth: testAuth},
		{name: "test key with test code and language", key: testKey, lang: "en-US", testCode: "REJECT_CARD_COMPANY",
			wantAuth: testAuth, wantLang: "en-US", wantTCode: "REJECT_CARD_COMPANY"},
		{name: "live key never sends the test code", key: liveKey, lang: "en-US", testCode: "REJECT_CARD_COMPANY",
			wantAuth: liveAuth, wantLang: "en-US"},
		{name: "per-call overrides", key: testKey, lang: "en-US", testCode: "PROVIDER_ERROR",
			callOpts: []CallOption{WithAcceptLanguage("ja-JP"), WithTestCode("")},
			wantAuth: testAuth, wantLang: "ja-JP"},
		{name: "per-call test code on live key", key: liveKey, callOpts: []CallOption{WithTestCode("PROVIDER_ERROR")},
			wantAuth: liveAuth},
		{name: "key with trailing newline and BOM from a secret store", key: "\uFEFF" + testKey + "\n", wantAuth: testAuth},
	}
	for _, tt := range tests {
		for _, cl := range calls {
			t.Run(tt.name+"/"+cl.name, func(t *testing.T) {
				srv, rec := serve(t, okPayment)
				c := newClient(t, srv, func(o *Options) {
					o.SecretKey = StaticKey(tt.key)
					o.AcceptLanguage = tt.lang
					o.TestCode = tt.testCode
				})
				p, err := cl.do(context.Background(), c, tt.callOpts...)
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				if p.PaymentKey != pk {
					t.Errorf("paymentKey = %q", p.PaymentKey)
				}
				reqs := rec.all()
				if len(reqs) != 1 {
					t.Fatalf("requests = %d, want 1", len(reqs))
				}
				r := reqs[0]
				if r.method != cl.method || r.uri != cl.uri {
					t.Errorf("request = %s %s, want %s %s", r.method, r.uri, cl.method, cl.uri)
				}
				if got := r.header.Values("Authorization"); len(got) != 1 || got[0] != tt.wantAuth {
					t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
				}
				if ua := r.header.Get("User-Agent"); !strings.Contains(ua, "tossintl") {
					t.Errorf("User-Agent = %q", ua)
				}
				checkHeader(t, r.header, "Accept-Language", tt.wantLang)
				checkHeader(t, r.header, "TossPayments-Test-Code", tt.wantTCode)
				if cl.method == http.MethodPost {
					checkHeader(t, r.header, "Content-Type", "application/json")
					if r.header.Get("Idempotency-Key") == "" {
						t.Error("POST without Idempotency-Key")
					}
					if string(r.body) != cl.wantBody {
						t.Errorf("body = %s, want %s", r.body, cl.wantBody)
					}
				} else {
					checkHeader(t, r.header, "Content-Type", "")
					checkHeader(t, r.header, "Idempotency-Key", "")
					if len(r.body) != 0 {
						t.Errorf("GET body = %q", r.body)
					}
				}
			})
		}
	}
}

// checkHeader wants the header absent when want is "".
func checkHeader(t *testing.T, h http.Header, name, want string) {
	t.Helper()
	got, present := h[http.CanonicalHeaderKey(name)]
	switch {
	case want == "" && present:
		t.Errorf("%s = %q, want absent", name, got)
	case want != "" && (len(got) != 1 || got[0] != want):
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

func TestPathEscapingAndBasePrefix(t *testing.T) {
	const odd = "a/b c?d#e%f"
	tests := []struct {
		name    string
		wantURI string
		do      func(*Client) (*Payment, error)
	}{
		{"payment", "/proxy/v1/payments/a%2Fb%20c%3Fd%23e%25f", func(c *Client) (*Payment, error) {
			return c.Payment(context.Background(), odd)
		}},
		{"by order", "/proxy/v1/payments/orders/a%2Fb%20c%3Fd%23e%25f", func(c *Client) (*Payment, error) {
			return c.PaymentByOrderID(context.Background(), odd)
		}},
		{"cancel", "/proxy/v1/payments/a%2Fb%20c%3Fd%23e%25f/cancel", func(c *Client) (*Payment, error) {
			return c.Cancel(context.Background(), odd, CancelRequest{CancelReason: "r"}, "idem-1")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				writeJSON(w, 200, paymentJSON(odd, odd, 1))
			})
			c := newClient(t, srv, func(o *Options) { o.BaseURL = srv.URL + "/proxy/" })
			if _, err := tt.do(c); err != nil {
				t.Fatal(err)
			}
			if got := rec.all()[0].uri; got != tt.wantURI {
				t.Errorf("URI = %s, want %s", got, tt.wantURI)
			}
		})
	}
}

// Calls refused before sending return plain errors and reach no server.
func TestRefusedLocally(t *testing.T) {
	long := strings.Repeat("k", MaxIdempotencyKeyLen+1)
	keyErr := errors.New("secrets manager unreachable")
	tests := []struct {
		name    string
		key     KeyFunc
		do      func(context.Context, *Client) error
		wantErr error
	}{
		{"confirm without idempotency key", nil, func(ctx context.Context, c *Client) error {
			_, err := c.Confirm(ctx, ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, "")
			return err
		}, ErrInvalidIdempotencyKey},
		{"cancel without idempotency key", nil, func(ctx context.Context, c *Client) error {
			_, err := c.Cancel(ctx, pk, CancelRequest{CancelReason: "r"}, "")
			return err
		}, ErrInvalidIdempotencyKey},
		{"idempotency key over 300", nil, func(ctx context.Context, c *Client) error {
			_, err := c.Confirm(ctx, ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, long)
			return err
		}, ErrInvalidIdempotencyKey},
		{"idempotency key with a newline", nil, func(ctx context.Context, c *Client) error {
			_, err := c.Confirm(ctx, ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, "a\nb")
			return err
		}, ErrInvalidIdempotencyKey},
		{"empty paymentKey", nil, func(ctx context.Context, c *Client) error {
			_, err := c.Payment(ctx, "")
			return err
		}, ErrInvalidArgument},
		{"dot-dot paymentKey on cancel", nil, func(ctx context.Context, c *Client) error {
			_, err := c.Cancel(ctx, "..", CancelRequest{CancelReason: "r"}, "idem-1")
			return err
		}, ErrInvalidArgument},
		{"empty orderId", nil, func(ctx context.Context, c *Client) error {
			_, err := c.PaymentByOrderID(ctx, "")
			return err
		}, ErrInvalidArgument},
		{"bad per-call header", nil, func(ctx context.Context, c *Client) error {
			_, err := c.Payment(ctx, pk, WithAcceptLanguage("en\r\nX-Evil: 1"))
			return err
		}, ErrInvalidArgument},
		{"key source fails", func(context.Context, bool) (string, error) { return "", keyErr }, func(ctx context.Context, c *Client) error {
			_, err := c.Payment(ctx, pk)
			return err
		}, keyErr},
		{"key source returns blank", StaticKey("  \n"), func(ctx context.Context, c *Client) error {
			_, err := c.Payment(ctx, pk)
			return err
		}, ErrSecretKey},
		{"key with an inner space", StaticKey("test_sk abc"), func(ctx context.Context, c *Client) error {
			_, err := c.Payment(ctx, pk)
			return err
		}, ErrSecretKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := serve(t, okPayment)
			c := newClient(t, srv, func(o *Options) {
				if tt.key != nil {
					o.SecretKey = tt.key
				}
			})
			err := tt.do(context.Background(), c)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var te *Error
			if errors.As(err, &te) {
				t.Errorf("got *Error %v; a call that was never sent must not look like a Toss answer", err)
			}
			if got := Classify(err); got != ClassDefinitive {
				t.Errorf("class = %v, want definitive", got)
			}
			if n := rec.count(); n != 0 {
				t.Errorf("server saw %d requests, want 0", n)
			}
		})
	}
}

func TestIdempotencyKeyAtLimitIsSent(t *testing.T) {
	srv, rec := serve(t, okPayment)
	c := newClient(t, srv, nil)
	key := strings.Repeat("k", MaxIdempotencyKeyLen)
	if _, err := c.Confirm(context.Background(), ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, key); err != nil {
		t.Fatal(err)
	}
	if got := rec.all()[0].header.Get("Idempotency-Key"); got != key {
		t.Errorf("Idempotency-Key has %d chars, want %d", len(got), len(key))
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no key", Options{}},
		{"ftp base", Options{SecretKey: StaticKey(testKey), BaseURL: "ftp://api.tosspayments.com"}},
		{"no host", Options{SecretKey: StaticKey(testKey), BaseURL: "https://"}},
		{"user info in base", Options{SecretKey: StaticKey(testKey), BaseURL: "https://u:p@api.tosspayments.com"}},
		{"query in base", Options{SecretKey: StaticKey(testKey), BaseURL: "https://api.tosspayments.com/?x=1"}},
		{"negative attempts", Options{SecretKey: StaticKey(testKey), Retry: RetryPolicy{MaxAttempts: -1}}},
		{"base over max delay", Options{SecretKey: StaticKey(testKey), Retry: RetryPolicy{BaseDelay: time.Second, MaxDelay: time.Millisecond}}},
		{"bad language", Options{SecretKey: StaticKey(testKey), AcceptLanguage: "en\n"}},
		{"bad test code", Options{SecretKey: StaticKey(testKey), TestCode: "\x00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := New(tt.opts); err == nil {
				t.Fatalf("New = %+v, want error", c)
			}
		})
	}
	c, err := New(Options{SecretKey: StaticKey(testKey)})
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL != DefaultBaseURL || c.retry.MaxAttempts != DefaultMaxAttempts || c.hc.Timeout == 0 {
		t.Errorf("defaults not applied: base %q retry %+v timeout %v", c.baseURL, c.retry, c.hc.Timeout)
	}
}

func TestSameIdempotencyKeyOnEveryRetry(t *testing.T) {
	tests := []struct {
		name    string
		answers []func(http.ResponseWriter) // then success
	}{
		{"every retryable answer", []func(http.ResponseWriter){
			func(w http.ResponseWriter) { tossError(w, 409, CodeIdempotentRequestProcessing) },
			func(w http.ResponseWriter) { tossError(w, 500, CodeFailedInternalSystem) },
			func(w http.ResponseWriter) { tossError(w, 400, CodeProviderError) },
			func(w http.ResponseWriter) { tossError(w, 429, CodeTooManyRequests) },
		}},
		{"transport failure", []func(http.ResponseWriter){hangUp}},
	}
	for _, tt := range tests {
		for _, cl := range calls {
			if cl.method != http.MethodPost {
				continue
			}
			t.Run(tt.name+"/"+cl.name, func(t *testing.T) {
				srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
					if n <= len(tt.answers) {
						tt.answers[n-1](w)
						return
					}
					okPayment(w, r, n)
				})
				c := newClient(t, srv, func(o *Options) { o.Retry.MaxAttempts = len(tt.answers) + 1 })
				if _, err := cl.do(context.Background(), c); err != nil {
					t.Fatalf("call: %v", err)
				}
				reqs := rec.all()
				if len(reqs) != len(tt.answers)+1 {
					t.Fatalf("requests = %d, want %d", len(reqs), len(tt.answers)+1)
				}
				first := reqs[0].header.Get("Idempotency-Key")
				for i, r := range reqs {
					if got := r.header.Get("Idempotency-Key"); got != first || got == "" {
						t.Errorf("try %d: Idempotency-Key %q, first was %q", i+1, got, first)
					}
					if string(r.body) != string(reqs[0].body) {
						t.Errorf("try %d: body changed", i+1)
					}
				}
			})
		}
	}
}

func TestKeyRotation(t *testing.T) {
	const oldKey, newKey = "test_sk_old", "test_sk_new"
	refreshErr := errors.New("secret store down")
	tests := []struct {
		name         string
		refreshTo    string // key returned on refresh
		refreshErr   error
		newKeyAnswer func(w http.ResponseWriter, n int) // what the server does for the new key
		wantErr      bool
		wantReqs     int
		wantAuths    []string
	}{
		{name: "rotated key succeeds", refreshTo: newKey,
			newKeyAnswer: func(w http.ResponseWriter, _ int) { writeJSON(w, 200, paymentJSON(pk, order, amt)) },
			wantReqs:     2, wantAuths: []string{basicAuth(oldKey), basicAuth(newKey)}},
		{name: "rotated key then a retryable error", refreshTo: newKey,
			newKeyAnswer: func(w http.ResponseWriter, n int) {
				if n == 2 {
					tossError(w, 500, CodeFailedInternalSystem)
					return
				}
				writeJSON(w, 200, paymentJSON(pk, order, amt))
			},
			wantReqs: 3, wantAuths: []string{basicAuth(oldKey), basicAuth(newKey), basicAuth(newKey)}},
		{name: "second 401 is returned, not looped", refreshTo: newKey,
			newKeyAnswer: func(w http.ResponseWriter, _ int) { tossError(w, 401, CodeUnauthorizedKey) },
			wantErr:      true, wantReqs: 2, wantAuths: []string{basicAuth(oldKey), basicAuth(newKey)}},
		{name: "refresh returns the same key", refreshTo: oldKey,
			wantErr: true, wantReqs: 1, wantAuths: []string{basicAuth(oldKey)}},
		{name: "refresh fails", refreshErr: refreshErr,
			wantErr: true, wantReqs: 1, wantAuths: []string{basicAuth(oldKey)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var plain, refreshes atomic.Int32
			keys := func(_ context.Context, refresh bool) (string, error) {
				if !refresh {
					plain.Add(1)
					return oldKey, nil
				}
				refreshes.Add(1)
				return tt.refreshTo, tt.refreshErr
			}
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if r.Header.Get("Authorization") != basicAuth(newKey) {
					tossError(w, 401, CodeUnauthorizedKey)
					return
				}
				tt.newKeyAnswer(w, n)
			})
			c := newClient(t, srv, func(o *Options) { o.SecretKey = keys })
			_, err := c.Confirm(context.Background(), ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, "idem-rot")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if CodeOf(err) != CodeUnauthorizedKey || Classify(err) != ClassDefinitive {
					t.Errorf("err = %v (class %v), want definitive %s", err, Classify(err), CodeUnauthorizedKey)
				}
				if tt.refreshErr != nil && (!errors.Is(err, tt.refreshErr) || !errors.Is(err, ErrSecretKey)) {
					t.Errorf("err = %v, want it to wrap the refresh failure", err)
				}
			}
			if got := refreshes.Load(); got != 1 {
				t.Errorf("refreshes = %d, want 1", got)
			}
			if got := plain.Load(); got != 1 {
				t.Errorf("plain key lookups = %d, want 1", got)
			}
			reqs := rec.all()
			if len(reqs) != tt.wantReqs {
				t.Fatalf("requests = %d, want %d", len(reqs), tt.wantReqs)
			}
			for i, r := range reqs {
				if got := r.header.Get("Authorization"); got != tt.wantAuths[i] {
					t.Errorf("request %d: Authorization %q, want %q", i+1, got, tt.wantAuths[i])
				}
				if got := r.header.Get("Idempotency-Key"); got != "idem-rot" {
					t.Errorf("request %d: Idempotency-Key %q", i+1, got)
				}
			}
		})
	}
}

func TestConcurrentCalls(t *testing.T) {
	srv, rec := serve(t, okPayment)
	c := newClient(t, srv, nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if _, err := calls[i%len(calls)].do(context.Background(), c); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := rec.count(); n != 16 {
		t.Errorf("requests = %d, want 16", n)
	}
}

// A confirm body is exactly the three documented fields; an amount must
// never be dropped by omitempty.
func TestConfirmRequestJSON(t *testing.T) {
	b, err := json.Marshal(ConfirmRequest{PaymentKey: "k", OrderID: "o", Amount: 0})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"paymentKey":"k","orderId":"o","amount":0}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
