package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	sampleevents "github.com/tossintl/backend/events"
	"github.com/tossintl/backend/internal/testenv"
	"github.com/tossintl/backend/shared/awsclient"
	"github.com/tossintl/backend/shared/logsink"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/tools/samlocal/stack"
	"github.com/tossintl/backend/tools/samlocal/tossintl"
)

// The reliability and security campaign: every function's real bootstrap
// under the local stack (DynamoDB Local, moto_server's Secrets Manager, the
// Toss sandbox, the Runtime API emulator), driven through the HTTP API the
// way buyers, merchants and attackers reach it, while faults are injected
// at Toss (the sandbox) and at AWS (chaosAWS, a hook of the stack's AWS
// proxy on each function's calls).
//
//	Storm    ≥ 200 concurrent duplicates on one order: one confirm at Toss
//	Claims   15 orders × 4 attempts × 16 racing requests: one claim and one
//	         confirm per order, paid under the attempt Toss approved
//	Faults   the fault matrix (chaos_faults_test.go), crash recovery included
//	Hostile  markup, header injection, oversized and malformed input, enumeration
//	Journey  a full end-to-end run through every function
//	Secrets  every log line of the campaign searched for the keys and for
//	         every paymentKey the sandbox issued
//
// Every answer is inspected as it arrives (inspect): security headers on
// every page, no key, no stack trace, no injected header.
//
// With RELIABILITY_DOC=path (make chaos) the run writes the fault matrix and
// the campaign's summary to that file (docs/reliability.md); without it the
// campaign only asserts.

// chaosMaxConcurrency is the warm pool of each function during the campaign.
const chaosMaxConcurrency = 8

func TestChaosCampaign(t *testing.T) {
	started := time.Now()
	c := startCampaign(t)
	t.Run("Storm", c.storm)
	t.Run("Claims", c.claimStorm)
	t.Run("Faults", c.faultMatrix)
	t.Run("Hostile", c.hostile)
	t.Run("Journey", c.journey)
	t.Run("Secrets", c.secretsNeverLeak)
	c.finish(t, time.Since(started))
}

// campaign is the state the campaign's parts share.
type campaign struct {
	s      *stack.Stack
	logs   *logsink.Buffer
	aws    *chaosAWS
	client *http.Client
	store  orders.Store // reads the orders table directly, past the proxies

	invariants atomic.Int64 // checks made
	pages      atomic.Int64 // HTML pages whose security headers were checked
	responses  atomic.Int64 // HTTP answers inspected

	mu          sync.Mutex
	secretKeys  []string // every Toss secret key the campaign used (rotation adds one)
	tossFaults  map[string]int
	tossQueued  int         // FailNext faults queued so far
	kills       int         // bootstrap processes killed
	rows        []matrixRow // the fault matrix, for the doc
	stormNote   string      // the storm's outcome, for the doc
	claimsNote  string      // the claim storm's outcome, for the doc
	hostileNote string      // the sweep's outcome, for the doc
	secretsNote string      // the log scan's outcome, for the doc
	scenarios   map[string]int
}

func startCampaign(t *testing.T) *campaign {
	t.Helper()
	testenv.Skip(t, localStack)
	c := &campaign{logs: &logsink.Buffer{}, aws: newChaosAWS(), tossFaults: map[string]int{}, scenarios: map[string]int{}}
	opts := stack.Options{
		Template: realTemplate, BuildDir: t.TempDir(), AWSProxy: c.aws.proxy,
		Logs: c.logs, MaxConcurrency: chaosMaxConcurrency, RedactBusLog: tossintl.MaskPaymentKeys,
	}
	checked := holdToContract(&opts)
	s, err := stack.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, c.logs)
	}
	c.s = s
	guardPaymentKeys(t, s, c.logs)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checked(t, s)
		if t.Failed() {
			t.Logf("logs:\n%s", c.logs)
		}
	})
	c.secretKeys = []string{s.Keys.TossSecretKey}
	c.client = &http.Client{
		Transport: &http.Transport{MaxIdleConns: 300, MaxIdleConnsPerHost: 300, MaxConnsPerHost: 0},
		// A buyer's browser would follow redirects; none of our pages
		// redirects, and the campaign wants to see exactly what was answered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       2 * time.Minute,
	}
	table, err := s.TableName("OrdersTable")
	if err != nil {
		t.Fatal(err)
	}
	c.store = orders.Validated(orders.NewDynamoStore(c.awsEnv().DynamoDB(), table))
	return c
}

// awsEnv reaches the stack's DynamoDB Local and moto_server directly, past
// the proxy's hooks (and their faults), as an operator's own tools would.
func (c *campaign) awsEnv() awsclient.Env {
	return awsclient.Env{Region: stack.Region, AccessKeyID: stack.LocalAccessKeyID, SecretAccessKey: stack.LocalSecretAccessKey,
		DynamoDBEndpoint: c.s.DynamoDBURL, SecretsEndpoint: c.s.MotoURL}
}

// check counts an invariant and reports it when it does not hold.
func (c *campaign) check(t testing.TB, ok bool, format string, args ...any) bool {
	t.Helper()
	c.invariants.Add(1)
	if !ok {
		t.Errorf(format, args...)
	}
	return ok
}

func (c *campaign) scenario(kind string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scenarios[kind] += n
}

func (c *campaign) tossFault(kind string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tossFaults[kind] += n
}

// reply is one HTTP answer of the API.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string { return fmt.Sprintf("%d %.300s", r.status, r.body) }

var stateRE = regexp.MustCompile(`data-state="([a-z-]+)"`)

// state is a page's data-state ("" for anything but one of our pages).
func (r reply) state() string {
	if m := stateRE.FindSubmatch(r.body); m != nil {
		return string(m[1])
	}
	return ""
}

func (r reply) html() bool { return strings.HasPrefix(r.header.Get("Content-Type"), "text/html") }

// code is our JSON error code, or the payment entity's status.
func (r reply) code() string {
	var v struct {
		EntityBody struct{ Status string } `json:"entityBody"`
		Error      struct{ Code string }   `json:"error"`
	}
	if json.Unmarshal(r.body, &v) != nil {
		return ""
	}
	if v.Error.Code != "" {
		return v.Error.Code
	}
	return v.EntityBody.Status
}

// gateway reports an answer of API Gateway itself ({"message": …}): an
// unknown route, a crashed or timed-out function, an oversized request.
func (r reply) gateway() bool {
	var v map[string]any
	if json.Unmarshal(r.body, &v) != nil || len(v) != 1 {
		return false
	}
	_, ok := v["message"]
	return ok
}

// describe is how the doc shows an answer.
func (r reply) describe() string {
	switch {
	case r.html():
		st := r.state()
		if st == "done" {
			st = "receipt"
		}
		return fmt.Sprintf("%d %s page", r.status, st)
	case r.gateway():
		return fmt.Sprintf("%d from API Gateway", r.status)
	default:
		return fmt.Sprintf("%d %s", r.status, r.code())
	}
}

// send makes one request to the API and inspects the answer (inspect).
func (c *campaign) send(t testing.TB, method, path string, header map[string]string, body []byte) (reply, error) {
	req, err := http.NewRequest(method, c.s.URL+path, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	r := reply{resp.StatusCode, resp.Header, b}
	c.inspect(t, method+" "+path, r)
	return r, nil
}

// call is send for the test's own goroutine.
func (c *campaign) call(t testing.TB, method, path string, header map[string]string, body []byte) reply {
	t.Helper()
	r, err := c.send(t, method, path, header, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var stackTraceRE = regexp.MustCompile(`goroutine \d+|\.go:\d+|panic\(|runtime/debug`)

// inspect checks what every answer of the campaign must satisfy: no stack
// trace, no key, the security headers on every page, no-store and nosniff
// on every JSON answer of ours, and no header a request could have injected.
func (c *campaign) inspect(t testing.TB, what string, r reply) {
	t.Helper()
	c.responses.Add(1)
	var all strings.Builder
	all.Write(r.body)
	for k, vs := range r.header {
		for _, v := range vs {
			all.WriteString("\n" + k + ": " + v)
			c.check(t, !strings.ContainsAny(v, "\r\n") && !strings.Contains(strings.ToLower(v), "injected"),
				"%s: header %s carries injected content: %q", what, k, v)
		}
	}
	c.check(t, r.header.Get("X-Injected") == "" && r.header.Get("Set-Cookie") == "", "%s: an injected header came back: %v", what, r.header)
	c.check(t, !stackTraceRE.Match(r.body), "%s: the answer shows a stack trace: %.400s", what, r.body)
	for _, f := range c.secretForms() {
		c.check(t, !strings.Contains(all.String(), f), "%s: the answer carries a key (or its Basic form)", what)
	}
	switch {
	case r.html():
		c.pages.Add(1)
		h := r.header
		csp := h.Get("Content-Security-Policy")
		c.check(t, strings.Contains(csp, "default-src 'none'") && strings.Contains(csp, "frame-ancestors 'none'") && strings.Contains(csp, "base-uri 'none'"),
			"%s: Content-Security-Policy %q", what, csp)
		c.check(t, strings.HasPrefix(h.Get("Cross-Origin-Opener-Policy"), "same-origin"), "%s: Cross-Origin-Opener-Policy %q", what, h.Get("Cross-Origin-Opener-Policy"))
		c.check(t, h.Get("Referrer-Policy") == "no-referrer", "%s: Referrer-Policy %q", what, h.Get("Referrer-Policy"))
		c.check(t, h.Get("X-Content-Type-Options") == "nosniff", "%s: X-Content-Type-Options %q", what, h.Get("X-Content-Type-Options"))
		c.check(t, h.Get("Cache-Control") == "no-store", "%s: Cache-Control %q", what, h.Get("Cache-Control"))
		c.check(t, h.Get("X-Frame-Options") == "DENY", "%s: X-Frame-Options %q", what, h.Get("X-Frame-Options"))
	case r.gateway():
		// API Gateway's own answer: no function ran, or it crashed.
	default:
		c.check(t, strings.HasPrefix(r.header.Get("Content-Type"), "application/json"), "%s: Content-Type %q", what, r.header.Get("Content-Type"))
		c.check(t, r.header.Get("Cache-Control") == "no-store", "%s: JSON Cache-Control %q", what, r.header.Get("Cache-Control"))
		c.check(t, r.header.Get("X-Content-Type-Options") == "nosniff", "%s: JSON X-Content-Type-Options %q", what, r.header.Get("X-Content-Type-Options"))
	}
}

// secretForms are the keys that must never leave the backend, each raw and
// in the Basic forms a careless log line would show.
func (c *campaign) secretForms() []string {
	c.mu.Lock()
	keys := append([]string{c.s.Keys.MerchantAPIKey}, c.secretKeys...)
	c.mu.Unlock()
	var forms []string
	for _, k := range keys {
		forms = append(forms, k,
			base64.StdEncoding.EncodeToString([]byte(k+":")),
			base64.StdEncoding.EncodeToString([]byte(k)),
			base64.RawStdEncoding.EncodeToString([]byte(k)),
			base64.URLEncoding.EncodeToString([]byte(k+":")))
	}
	return forms
}

func (c *campaign) merchant() map[string]string {
	return map[string]string{"Authorization": basic(c.s.Keys.MerchantAPIKey), "Content-Type": "application/json"}
}

func chaosHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newOrder creates an order through the merchant API and returns its id.
func (c *campaign) newOrder(t testing.TB, name string, amount int64) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"orderName": name, "amount": amount, "customerEmail": "buyer@example.com"})
	h := c.merchant()
	h["Idempotency-Key"] = "chaos-" + chaosHex(8)
	r := c.call(t, "POST", "/orders", h, body)
	var v struct {
		EntityBody struct {
			OrderID string `json:"orderId"`
		} `json:"entityBody"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &v) != nil || v.EntityBody.OrderID == "" {
		t.Fatalf("create order: %s", r)
	}
	return v.EntityBody.OrderID
}

// paid is an order the buyer authenticated in the payment window.
type paid struct {
	id, name, key string
	amount        int64
}

// newPaid creates an order and authenticates its payment at the sandbox,
// as a buyer approving the window does.
func (c *campaign) newPaid(t testing.TB, name string, amount int64) paid {
	t.Helper()
	id := c.newOrder(t, name, amount)
	return paid{id: id, name: name, amount: amount, key: c.s.Sandbox.Authorize(id, name, amount)}
}

// successPath is where Toss sends the buyer back after the window.
func (p paid) successPath(lang string) string {
	return fmt.Sprintf("/payments/success?lang=%s&paymentKey=%s&orderId=%s&amount=%d", lang, p.key, p.id, p.amount)
}

func (p paid) confirmBody() []byte {
	return fmt.Appendf(nil, `{"paymentKey":%q,"orderId":%q,"amount":%d}`, p.key, p.id, p.amount)
}

// order reads an order straight from the table.
func (c *campaign) order(t testing.TB, id string) *orders.Order {
	t.Helper()
	o, err := c.store.Get(context.Background(), id, time.Now())
	if err != nil {
		t.Fatalf("read order %s: %v", id, err)
	}
	return o
}

// reconcile runs one pass of the ReconcileFunction's real bootstrap, as
// its EventBridge schedule would.
func (c *campaign) reconcile(t testing.TB) payments.ReconcileReport {
	t.Helper()
	event, err := sampleevents.Read("reconcile.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.s.Invoke(context.Background(), "ReconcileFunction", event)
	if err != nil || res.Error != nil {
		t.Fatalf("reconcile: %v %v", err, res.Error)
	}
	var rep payments.ReconcileReport
	if err := json.Unmarshal(res.Payload, &rep); err != nil {
		t.Fatalf("reconcile report %s: %v", res.Payload, err)
	}
	return rep
}

// newSecretKey makes a new Toss test secret key, remembered so that the
// leak checks look for it too.
func (c *campaign) newSecretKey() string {
	key := "test_sk_rotated_" + chaosHex(12)
	c.mu.Lock()
	c.secretKeys = append(c.secretKeys, key)
	c.mu.Unlock()
	return key
}

// putSecretKey writes key into the keys secret, as an operator finishing a
// rotation does (Toss's developer center re-issued it: RotateSecretKey).
func (c *campaign) putSecretKey(t testing.TB, key string) {
	t.Helper()
	secretID := c.s.Env("PaymentSuccessFunction")["TOSS_SECRET_ID"]
	value, err := json.Marshal(stack.Keys{TossSecretKey: key, TossClientKey: c.s.Keys.TossClientKey, MerchantAPIKey: c.s.Keys.MerchantAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.awsEnv().SecretsManager().PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(secretID), SecretString: aws.String(string(value))}); err != nil {
		t.Fatalf("put the rotated secret: %v", err)
	}
}

// killAll kills every process of fn (a cold start follows) and counts them.
func (c *campaign) killAll(fn string) int {
	n := c.s.Function(fn).KillAll()
	c.mu.Lock()
	c.kills += n
	c.mu.Unlock()
	return n
}

// drainTossFaults consumes whatever FailNext faults a cell left queued
// (the client may have given up before using them all), so none leaks into
// the next cell: each request the sandbox receives takes one.
func (c *campaign) drainTossFaults(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	queued := c.tossQueued
	c.mu.Unlock()
	consumed := func() int {
		n := 0
		for _, r := range c.s.Sandbox.Requests() {
			if r.Fault != 0 {
				n++
			}
		}
		return n
	}
	for range 4 * queued {
		if consumed() >= queued {
			return
		}
		resp, err := http.Get(c.s.SandboxURL + drainPath)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	t.Fatalf("sandbox faults still queued: %d of %d consumed", consumed(), queued)
}

// drainPath is where drainTossFaults sends the requests that use up faults.
const drainPath = "/v1/payments/chaos-drain"

// tossConfirms counts the confirm requests Toss received for orderID, and
// how many of them it executed.
func (c *campaign) tossConfirms(orderID string) (requests, executed int) {
	for _, r := range c.s.Sandbox.Requests() {
		if r.Path == "/v1/payments/confirm" && strings.Contains(r.Body, `"`+orderID+`"`) {
			requests++
		}
	}
	return requests, c.s.Sandbox.ConfirmsExecuted(orderID)
}

// finish prints the campaign's summary and, with RELIABILITY_DOC set,
// writes docs/reliability.md.
func (c *campaign) finish(t *testing.T, took time.Duration) {
	for _, r := range c.s.Sandbox.Requests() {
		if r.Fault != 0 && r.Path != drainPath {
			c.tossFault(r.Fault.String(), 1)
		}
	}
	summary := c.summary(!t.Failed())
	t.Logf("%s\n(run time %s)", summary, took.Round(time.Second))
	path := os.Getenv("RELIABILITY_DOC")
	if path == "" {
		return
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	tmpl, err := stack.LoadTemplate(realTemplate)
	if err != nil {
		t.Fatal(err)
	}
	limits, err := abuseLimits(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(c.doc(summary, limits)), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	t.Logf("wrote %s", path)
}

func (c *campaign) summary(held bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	scen := 0
	var kinds []string
	for k, n := range c.scenarios {
		scen += n
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	awsFired := c.aws.firedCounts()
	faults := c.kills
	var fk []string
	for k, n := range awsFired {
		faults += n
		fk = append(fk, fmt.Sprintf("AWS %s %d", k, n))
	}
	for k, n := range c.tossFaults {
		faults += n
		fk = append(fk, fmt.Sprintf("Toss %s %d", k, n))
	}
	sort.Strings(fk)
	if c.kills > 0 {
		fk = append(fk, fmt.Sprintf("bootstrap processes killed %d", c.kills))
	}
	verdict := "all held"
	if !held {
		verdict = "NOT ALL HELD (see the test output)"
	}
	fmt.Fprintf(&b, "Chaos campaign: %d scenarios run (%s); %d faults injected (%s); %d invariants checked over %d answers (%d pages with their security headers); %s.",
		scen, strings.Join(kinds, ", "), faults, strings.Join(fk, ", "), c.invariants.Load(), c.responses.Load(), c.pages.Load(), verdict)
	return b.String()
}
