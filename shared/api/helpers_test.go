package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tossintl/backend/internal/contract"
	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/config"
	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/logsink"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/secrets"
	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// apiContract is docs/openapi.yaml: every answer a handler gives a test
// here is checked against it (harness.call), and TestMain fails when a
// documented answer was never seen.
var apiContract = contract.MustLoadAPI()

// merchantKey is the merchant API key every harness serves.
const merchantKey = "mk_test_7f3c9a1b5e2d8f4a6c0b9e1d"

const apiHost = "api.example.test"

var baseURL = "https://" + apiHost

// orderIDPattern is the shape of the IDs POST /orders hands out.
var orderIDPattern = regexp.MustCompile(`^ord_[0-9A-Za-z]{22}$`)

// ---- secret leak scan -------------------------------------------------------

// exposure collects every response body and header (and every log line) the
// tests produced, and every secret that must never appear in them. TestMain
// checks them all once the tests have run.
var exposure struct {
	mu      sync.Mutex
	secrets map[string]bool
	texts   []exposed
}

// exposed is one response or log, with where it came from.
type exposed struct{ where, text string }

func addSecret(s string) {
	exposure.mu.Lock()
	defer exposure.mu.Unlock()
	if exposure.secrets == nil {
		exposure.secrets = map[string]bool{}
	}
	for _, v := range []string{s, base64.StdEncoding.EncodeToString([]byte(s + ":")), base64.StdEncoding.EncodeToString([]byte(s))} {
		exposure.secrets[v] = true
	}
}

func addExposed(where, text string) {
	exposure.mu.Lock()
	defer exposure.mu.Unlock()
	exposure.texts = append(exposure.texts, exposed{where, text})
}

func responseText(resp apigw.Response) string {
	var b strings.Builder
	for k, v := range resp.Headers {
		fmt.Fprintf(&b, "%s: %s\n", k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ", "))
	}
	for _, c := range resp.Cookies {
		b.WriteString(c + "\n")
	}
	b.WriteString(resp.Body)
	return b.String()
}

// leaks lists the secrets found in the collected texts.
func leaks() (found []string, scanned int) {
	exposure.mu.Lock()
	defer exposure.mu.Unlock()
	for _, e := range exposure.texts {
		for s := range exposure.secrets {
			if strings.Contains(e.text, s) {
				found = append(found, fmt.Sprintf("%s contains a secret (%d characters, starting %q)", e.where, len(s), s[:4]))
			}
		}
	}
	return found, len(exposure.texts)
}

func TestMain(m *testing.M) {
	code := m.Run()
	found, scanned := leaks()
	switch {
	case len(found) > 0:
		fmt.Fprintln(os.Stderr, "FAIL: secrets leaked into responses or logs:")
		for _, f := range found {
			fmt.Fprintln(os.Stderr, "  "+f)
		}
		code = 1
	case code == 0 && scanned < 50 && flagRunAll():
		// The whole package makes hundreds of responses: a scan of a few
		// means the helpers stopped collecting them.
		fmt.Fprintf(os.Stderr, "FAIL: the leak scan saw only %d responses\n", scanned)
		code = 1
	}
	// Every operation of docs/openapi.yaml and every status it documents
	// must have been answered by a handler here: a status no test provokes
	// is a promise nothing holds. The answers only API Gateway gives
	// (contract.GatewayOnly: its throttling, its body limit) no handler can.
	if missing := apiContract.Unexercised(false); code == 0 && flagRunAll() && len(missing) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: docs/openapi.yaml documents answers no test here got:")
		for _, m := range missing {
			fmt.Fprintln(os.Stderr, "  "+m)
		}
		code = 1
	}
	os.Exit(code)
}

// flagRunAll reports whether the whole package ran (no -run filter), so the
// scan's own sanity check applies only then.
func flagRunAll() bool {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.run") {
			return false
		}
	}
	return true
}

// TestLeakScanDetects makes sure the scan is not vacuous: a text carrying
// base64(key + ":") is found.
func TestLeakScanDetects(t *testing.T) {
	const probe = "probe_secret_never_served_0001"
	addSecret(probe)
	text := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(probe+":"))
	exposure.mu.Lock()
	n := 0
	for s := range exposure.secrets {
		if strings.Contains(text, s) {
			n++
		}
	}
	exposure.mu.Unlock()
	if n == 0 {
		t.Fatal("the leak scan does not recognise base64(key + \":\")")
	}
}

// ---- fakes -------------------------------------------------------------------

// testClock is a settable clock shared by the service, the engine and the
// idempotency guard.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeKeys is an api.KeySource whose answer a test can change.
type fakeKeys struct {
	mu   sync.Mutex
	keys secrets.Keys
	err  error
}

func (f *fakeKeys) Keys(context.Context) (secrets.Keys, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys, f.err
}

func (f *fakeKeys) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// ---- harness -----------------------------------------------------------------

// claimDuration is the engine's claim when a request has no deadline.
const claimDuration = 10 * time.Second

type harness struct {
	t     *testing.T
	svc   *api.Service
	store orders.Store
	sb    *tosstest.Server
	clock *testClock
	keys  *fakeKeys
	log   *logsink.Buffer
	seq   int
	mu    sync.Mutex
}

func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	return cfg
}

// harnessOption changes how newHarness builds a harness.
type harnessOption func(*harnessConfig)

type harnessConfig struct {
	tossURL func(sandboxURL string) string
}

// withTossFront points the harness's Toss client at what front returns
// for the sandbox's URL (a server in front of the sandbox) instead.
func withTossFront(front func(sandboxURL string) string) harnessOption {
	return func(c *harnessConfig) { c.tossURL = front }
}

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	cfg := harnessConfig{tossURL: func(u string) string { return u }}
	for _, o := range opts {
		o(&cfg)
	}
	sb := tosstest.NewServer(t)
	clock := &testClock{t: time.Now().UTC().Truncate(time.Millisecond)}
	store := orders.Validated(orders.NewMemoryStore())
	client, err := toss.New(toss.Options{
		BaseURL:   cfg.tossURL(sb.URL),
		SecretKey: toss.StaticKey(sb.SecretKey()),
		Retry:     toss.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	})
	if err != nil {
		t.Fatalf("toss client: %v", err)
	}
	logs := &logsink.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	keys := &fakeKeys{keys: secrets.Keys{TossSecretKey: sb.SecretKey(), TossClientKey: sb.ClientKey(), MerchantAPIKey: merchantKey}}
	addSecret(sb.SecretKey())
	addSecret(merchantKey)
	svc := &api.Service{
		Orders: store,
		Engine: &payments.Engine{Orders: store, Toss: client, Clock: clock.Now, Logger: logger, ClaimDuration: claimDuration},
		Keys:   keys,
		Guard:  idempotency.New(idempotency.NewMemoryStore(), idempotency.Options{Clock: clock.Now}),
		Config: testConfig(t),
		Log:    logger,
		Clock:  clock.Now,
	}
	h := &harness{t: t, svc: svc, store: store, sb: sb, clock: clock, keys: keys, log: logs}
	t.Cleanup(func() { addExposed(t.Name()+" logs", logs.String()) })
	return h
}

// rq describes one request to build.
type rq struct {
	Method  string
	Path    string
	Query   string
	Headers map[string]string
	Params  map[string]string
	Body    string
	Base64  bool
	Auth    string // the Authorization header; "" sends none
}

func authHeader() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(merchantKey+":"))
}

func (h *harness) request(r rq) apigw.Request {
	h.mu.Lock()
	h.seq++
	id := fmt.Sprintf("req-%s-%d", strings.ReplaceAll(h.t.Name(), "/", "-"), h.seq)
	h.mu.Unlock()
	headers := map[string]string{"host": apiHost}
	if r.Auth != "" {
		headers["authorization"] = r.Auth
	}
	for k, v := range r.Headers {
		headers[strings.ToLower(k)] = v
	}
	body := r.Body
	if r.Base64 {
		body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	req := apigw.Request{
		Version:         "2.0",
		RouteKey:        r.Method + " " + r.Path,
		RawPath:         r.Path,
		RawQueryString:  r.Query,
		Headers:         headers,
		PathParameters:  r.Params,
		Body:            body,
		IsBase64Encoded: r.Base64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  id,
			DomainName: apiHost,
			Stage:      "$default",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.Path},
		},
	}
	return req
}

// call runs a request through a wrapped handler and records the response
// for the leak scan.
func (h *harness) call(handler api.LambdaHandler, req apigw.Request) apigw.Response {
	h.t.Helper()
	resp, err := handler(context.Background(), req)
	if err != nil {
		h.t.Fatalf("%s %s: handler error: %v", req.RequestContext.HTTP.Method, req.RawPath, err)
	}
	if err := apiContract.CheckEvent(req, resp); err != nil {
		h.t.Errorf("contract: %v", err)
	}
	addExposed(fmt.Sprintf("%s: %s %s response", h.t.Name(), req.RequestContext.HTTP.Method, req.RawPath), responseText(resp))
	return resp
}

func (h *harness) json(route api.Route, r rq) apigw.Response {
	h.t.Helper()
	return h.call(h.svc.JSON(route), h.request(r))
}

func (h *harness) page(route api.Route, r rq) apigw.Response {
	h.t.Helper()
	return h.call(h.svc.Page(route), h.request(r))
}

// ---- decoding ----------------------------------------------------------------

type envelope struct {
	Version    string          `json:"version"`
	TraceID    string          `json:"traceId"`
	EntityType string          `json:"entityType"`
	EntityBody json.RawMessage `json:"entityBody"`
	Error      *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeEnvelope(t *testing.T, resp apigw.Response) envelope {
	t.Helper()
	var e envelope
	dec := json.NewDecoder(strings.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("response body is not an envelope: %v\n%s", err, resp.Body)
	}
	return e
}

// wantError checks an error envelope's status and code.
func wantError(t *testing.T, resp apigw.Response, status int, code string) envelope {
	t.Helper()
	e := decodeEnvelope(t, resp)
	if resp.StatusCode != status || e.Error == nil || e.Error.Code != code {
		t.Fatalf("want %d %s, got %d %s", status, code, resp.StatusCode, resp.Body)
	}
	if e.EntityType != "" || e.EntityBody != nil {
		t.Errorf("an error envelope carries an entity: %s", resp.Body)
	}
	if e.Error.Message == "" {
		t.Errorf("error %s has no message", code)
	}
	if ra := resp.Headers["Retry-After"]; status == http.StatusServiceUnavailable && ra != "2" {
		t.Errorf("503 %s with Retry-After %q, want 2 (seconds)", code, ra)
	}
	return e
}

// wantEntity checks a success envelope and decodes its entityBody into v.
func wantEntity(t *testing.T, resp apigw.Response, status int, entityType string, v any) envelope {
	t.Helper()
	e := decodeEnvelope(t, resp)
	if resp.StatusCode != status || e.Error != nil || e.EntityType != entityType {
		t.Fatalf("want %d %s, got %d %s", status, entityType, resp.StatusCode, resp.Body)
	}
	if v != nil {
		if err := json.Unmarshal(e.EntityBody, v); err != nil {
			t.Fatalf("entityBody: %v\n%s", err, e.EntityBody)
		}
	}
	return e
}

// ---- merchant shortcuts --------------------------------------------------------

type orderView struct {
	OrderID       string    `json:"orderId"`
	OrderName     string    `json:"orderName"`
	Amount        int64     `json:"amount"`
	Currency      string    `json:"currency"`
	RefOrderID    string    `json:"refOrderId"`
	Status        string    `json:"status"`
	CheckoutURL   string    `json:"checkoutUrl"`
	CheckoutToken string    `json:"checkoutToken"`
	PaymentKey    string    `json:"paymentKey"`
	PayableUntil  time.Time `json:"payableUntil"`
	CreatedAt     time.Time `json:"createdAt"`
	Payment       *struct {
		Status        string     `json:"status"`
		ApprovedAt    *time.Time `json:"approvedAt"`
		CardNumber    string     `json:"cardNumber"`
		ReceiptURL    string     `json:"receiptUrl"`
		TotalAmount   int64      `json:"totalAmount"`
		BalanceAmount int64      `json:"balanceAmount"`
	} `json:"payment"`
	LastFailure *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"lastFailure"`
}

func createBody(name string, amount int64) string {
	b, _ := json.Marshal(map[string]any{"orderName": name, "amount": amount})
	return string(b)
}

func jsonHeaders(extra ...string) map[string]string {
	h := map[string]string{"content-type": "application/json"}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

// createOrder makes an order through POST /orders.
func (h *harness) createOrder(name string, amount int64) orderView {
	h.t.Helper()
	resp := h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: jsonHeaders(), Body: createBody(name, amount)})
	var o orderView
	wantEntity(h.t, resp, 200, "order", &o)
	return o
}

// getOrder reads an order through GET /orders/{orderId}.
func (h *harness) getOrder(id string) orderView {
	h.t.Helper()
	resp := h.json(h.svc.GetOrder, rq{Method: "GET", Path: "/orders/" + id, Auth: authHeader(), Params: map[string]string{"orderId": id}})
	var o orderView
	wantEntity(h.t, resp, 200, "order", &o)
	return o
}

func confirmBody(paymentKey, orderID string, amount int64) string {
	b, _ := json.Marshal(map[string]any{"paymentKey": paymentKey, "orderId": orderID, "amount": amount})
	return string(b)
}

// confirm calls POST /payments/confirm, under idemKey when set.
func (h *harness) confirm(paymentKey, orderID string, amount int64, idemKey string) apigw.Response {
	h.t.Helper()
	hd := jsonHeaders()
	if idemKey != "" {
		hd["idempotency-key"] = idemKey
	}
	return h.json(h.svc.ConfirmPayment, rq{Method: "POST", Path: "/payments/confirm", Headers: hd, Body: confirmBody(paymentKey, orderID, amount)})
}

// success calls GET /payments/success as Toss's redirect would.
func (h *harness) success(orderID, paymentKey string, amount int64) apigw.Response {
	h.t.Helper()
	q := url.Values{"paymentType": {"NORMAL"}, "orderId": {orderID}, "paymentKey": {paymentKey}, "amount": {fmt.Sprint(amount)}}
	return h.page(h.svc.PaymentSuccess, rq{Method: "GET", Path: "/payments/success", Query: "lang=en&" + q.Encode()})
}

// checkoutPage is the order's checkout page without the token its
// checkoutUrl carries: where a link from a request that came without the
// token leads.
func (o orderView) checkoutPage() string { return baseURL + "/checkout/" + o.OrderID }

// storedOrder reads an order straight from the store, with what the API's
// view leaves out (Version, RecentAttempts).
func (h *harness) storedOrder(id string) *orders.Order {
	h.t.Helper()
	o, err := h.store.Get(context.Background(), id, h.clock.Now())
	if err != nil {
		h.t.Fatalf("get %s: %v", id, err)
	}
	return o
}

// tossRequests counts the requests of every kind that reached the sandbox.
func (h *harness) tossRequests() int { return len(h.sb.Requests()) }

// confirmRequests counts confirm calls that reached the sandbox for orderID.
func (h *harness) confirmRequests(orderID string) int {
	n := 0
	for _, r := range h.sb.Requests() {
		if r.Path == "/v1/payments/confirm" && strings.Contains(r.Body, `"`+orderID+`"`) {
			n++
		}
	}
	return n
}

// ---- pages ---------------------------------------------------------------------

var (
	stateRe    = regexp.MustCompile(`<main id="status" data-state="([^"]*)"`)
	htmlLangRe = regexp.MustCompile(`<html lang="([^"]*)"`)
)

func pageState(t *testing.T, resp apigw.Response) string {
	t.Helper()
	m := stateRe.FindStringSubmatch(resp.Body)
	if m == nil {
		t.Fatalf("page has no #status element (status %d):\n%s", resp.StatusCode, resp.Body)
	}
	return m[1]
}

// wantPage checks a page's status, state and the headers every page carries.
func wantPage(t *testing.T, resp apigw.Response, status int, state string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d", resp.StatusCode, status)
	}
	if got := pageState(t, resp); got != state {
		t.Errorf("data-state %q, want %q", got, state)
	}
	checkPageHeaders(t, resp)
}

func checkPageHeaders(t *testing.T, resp apigw.Response) {
	t.Helper()
	h := resp.Headers
	if !strings.HasPrefix(h["Content-Type"], "text/html") {
		t.Errorf("Content-Type %q", h["Content-Type"])
	}
	if csp := h["Content-Security-Policy"]; !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for k, want := range map[string]string{"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if h[k] != want {
			t.Errorf("%s %q, want %q", k, h[k], want)
		}
	}
}

// linkHref returns the href of the element with id, or "".
func linkHref(body, id string) string {
	re := regexp.MustCompile(`<a id="` + regexp.QuoteMeta(id) + `"[^>]*href="([^"]*)"`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return htmlUnescape(m[1])
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'").Replace(s)
}

func hasID(body, id string) bool { return strings.Contains(body, `id="`+id+`"`) }

// contains reports whether s holds every one of subs.
func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
