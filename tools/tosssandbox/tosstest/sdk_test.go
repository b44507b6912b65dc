package tosstest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// nodePath finds node; the SDK stand-in is JavaScript and these tests are
// its only check before the browser tests, so a missing node fails loudly.
func nodePath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required to check the SDK stand-in (install Node.js): %v", err)
	}
	return p
}

// fetchSDK downloads the script as a browser would and saves it for node.
func fetchSDK(t *testing.T, s *Server) (path, src string, header http.Header) {
	t.Helper()
	resp, err := s.Client().Get(s.URL + "/v2/standard")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/standard: %d", resp.StatusCode)
	}
	path = filepath.Join(t.TempDir(), "standard.js")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, string(b), resp.Header
}

func TestSDKScript(t *testing.T) {
	node := nodePath(t)
	s := NewServer(t)
	path, src, h := fetchSDK(t, s)

	if ct := h.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", h)
	}
	if strings.Contains(src, sdkConfigPlaceholder) || !strings.Contains(src, `"windowUrl":"`+s.URL+`/window"`) {
		t.Error("the sandbox config was not filled in")
	}
	if !strings.Contains(src, s.ClientKey()) || strings.Contains(src, s.SecretKey()) {
		t.Error("the script must carry the client key and never the secret key")
	}
	for _, file := range []string{path, "sdk.js"} {
		if out, err := exec.Command(node, "--check", file).CombinedOutput(); err != nil {
			t.Errorf("node --check %s: %v\n%s", file, err, out)
		}
	}
}

type sdkCase struct {
	Name           string         `json:"name"`
	ClientKey      string         `json:"clientKey"`
	Anonymous      bool           `json:"anonymous,omitempty"`
	PaymentOptions map[string]any `json:"paymentOptions,omitempty"`
	Params         map[string]any `json:"params"`
	Messages       []sdkMessage   `json:"messages,omitempty"`
}

// sdkMessage is a postMessage event the harness delivers to the page after
// requestPayment: from the overlay's iframe (FromFrame) or another frame.
type sdkMessage struct {
	Origin    string `json:"origin"`
	Data      any    `json:"data"`
	FromFrame bool   `json:"fromFrame"`
}

type sdkResult struct {
	Name      string `json:"name"`
	State     string `json:"state"` // see testdata/sdk_harness.js
	Code      string `json:"code"`
	Message   string `json:"message"`
	IsError   bool   `json:"isError"`
	URL       string `json:"url"`
	Overlay   bool   `json:"overlay"`   // the overlay is on the page at the end
	Listeners int    `json:"listeners"` // message listeners left
}

// harnessPage is the origin of the page the harness pretends to be.
const harnessPage = "https://shop.example"

// runSDK runs cases through testdata/sdk_harness.js.
func runSDK(t *testing.T, node, sdkPath string, cases []sdkCase) []sdkResult {
	t.Helper()
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "sdk_harness.js"), sdkPath)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node harness: %v\n%s", err, stderr.String())
	}
	var results []sdkResult
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("harness output: %v: %s", err, out)
	}
	if len(results) != len(cases) {
		t.Fatalf("%d results for %d cases", len(results), len(cases))
	}
	return results
}

func validSDKParams() map[string]any {
	return map[string]any{
		"method":        "CARD",
		"amount":        map[string]any{"currency": "KRW", "value": 15000},
		"orderId":       "order-sdk-0001",
		"orderName":     "Korean tea set",
		"successUrl":    "https://shop.example/pay/success",
		"failUrl":       "https://shop.example/pay/fail",
		"customerEmail": "buyer@example.com",
		"customerName":  "Jane Doe",
		"card":          map[string]any{"useInternationalCardOnly": true, "language": "EN"},
	}
}

// TestSDKValidation runs the stand-in in node against the checks the real
// SDK makes, then opens every window it navigated to.
func TestSDKValidation(t *testing.T) {
	node := nodePath(t)
	s := NewServer(t)
	path, _, _ := fetchSDK(t, s)

	set := func(k string, v any) func(map[string]any) { return func(p map[string]any) { p[k] = v } }
	del := func(k string) func(map[string]any) { return func(p map[string]any) { delete(p, k) } }
	card := func(c map[string]any) func(map[string]any) { return set("card", c) }
	amount := func(currency string, v any) func(map[string]any) {
		return set("amount", map[string]any{"currency": currency, "value": v})
	}
	tests := []struct {
		name      string
		clientKey string // the sandbox's when empty
		customer  any    // customerKey; nil means TossPayments.ANONYMOUS
		mod       func(map[string]any)
		wantCode  string // requestPayment rejects with it
		wantThrow string // payment() throws with it
		wantState string // with neither code: opened (the default) or navigated
		wantQuery map[string]string
	}{
		{name: "valid", customer: "customer-123", wantQuery: map[string]string{
			"orderId": "order-sdk-0001", "amount": "15000", "currency": "KRW", "language": "EN",
			"customerKey": "customer-123", "customerName": "Jane Doe", "successUrl": "https://shop.example/pay/success",
			"windowTarget": "iframe", "parentOrigin": harnessPage,
		}},
		{name: "framed on request", mod: set("windowTarget", "iframe"),
			wantQuery: map[string]string{"windowTarget": "iframe", "parentOrigin": harnessPage}},
		{name: "in the page itself", mod: set("windowTarget", "self"), wantState: "navigated",
			wantQuery: map[string]string{"windowTarget": "self", "parentOrigin": "", "orderId": "order-sdk-0001"}},
		{name: "windowTarget unknown", mod: set("windowTarget", "popup"), wantCode: "INVALID_PARAMETERS"},
		{name: "orderId with =", mod: set("orderId", "order=sdk=0001"), wantQuery: map[string]string{"orderId": "order=sdk=0001"}},
		{name: "orderId of = only", mod: set("orderId", "======"), wantQuery: map[string]string{"orderId": "======"}},
		{name: "successUrl with its own query", mod: set("successUrl", "https://shop.example/pay/success?lang=ko&orderId=mine"),
			wantQuery: map[string]string{"successUrl": "https://shop.example/pay/success?lang=ko&orderId=mine"}},
		{name: "valid anonymous without language", mod: card(map[string]any{"useInternationalCardOnly": true}), wantQuery: map[string]string{
			"customerKey": "@@ANONYMOUS", "language": "",
		}},
		{name: "estimate asked for", mod: card(map[string]any{"useInternationalCardOnly": true, "showEstimatedAmount": true}),
			wantQuery: map[string]string{"showEstimatedAmount": "true"}},
		{name: "estimate declined", mod: card(map[string]any{"useInternationalCardOnly": true, "showEstimatedAmount": false}),
			wantQuery: map[string]string{"showEstimatedAmount": ""}},
		{name: "estimate not mentioned", wantQuery: map[string]string{"showEstimatedAmount": ""}},
		{name: "estimate flag as string", mod: card(map[string]any{"useInternationalCardOnly": true, "showEstimatedAmount": "true"}),
			wantCode: "INVALID_CARD_OPTION"},
		{name: "client key of another format", clientKey: "abc", wantCode: "INVALID_CLIENT_KEY"},
		{name: "widget client key", clientKey: "test_gck_sandbox_0000", wantCode: "INVALID_CLIENT_KEY"},
		{name: "another merchant's client key", clientKey: "test_ck_someone_else", wantCode: "INVALID_CLIENT_KEY"},
		{name: "live client key not configured", clientKey: "live_ck_sandbox_0000", wantCode: "INVALID_CLIENT_KEY"},
		// payment() checks customerKey itself, before any request.
		{name: "customerKey missing", customer: "", wantThrow: "INVALID_CUSTOMER_KEY"},
		{name: "customerKey too short", customer: "a", wantThrow: "INVALID_CUSTOMER_KEY"},
		{name: "customerKey with space", customer: "a b c", wantThrow: "INVALID_CUSTOMER_KEY"},
		{name: "customerKey not a string", customer: 42, wantThrow: "INVALID_CUSTOMER_KEY"},
		{name: "customerKey with every allowed sign", customer: "a-_=.@Z9", wantQuery: map[string]string{"customerKey": "a-_=.@Z9"}},
		// ...and before the request's own checks: a bad customerKey with a
		// bad request is payment()'s error.
		{name: "customerKey and orderId both bad", customer: "a", mod: set("orderId", "x"), wantThrow: "INVALID_CUSTOMER_KEY"},
		{name: "method lower case", mod: set("method", "card"), wantCode: "INVALID_METHOD"},
		{name: "method transfer", mod: set("method", "TRANSFER"), wantCode: "INVALID_METHOD"},
		{name: "amount as a number", mod: set("amount", 15000), wantCode: "INVALID_AMOUNT"},
		{name: "amount in USD", mod: amount("USD", 10), wantCode: "INVALID_AMOUNT"},
		{name: "amount zero", mod: amount("KRW", 0), wantCode: "INVALID_AMOUNT"},
		{name: "amount negative", mod: amount("KRW", -100), wantCode: "INVALID_AMOUNT"},
		{name: "amount fractional", mod: amount("KRW", 1.5), wantCode: "INVALID_AMOUNT"},
		{name: "amount as string", mod: amount("KRW", "15000"), wantCode: "INVALID_AMOUNT"},
		{name: "amount beyond safe integers", mod: amount("KRW", 1e16), wantCode: "INVALID_AMOUNT"},
		{name: "orderId too short", mod: set("orderId", "abc12"), wantCode: "INVALID_ORDER_ID"},
		{name: "orderId too long", mod: set("orderId", strings.Repeat("a", 65)), wantCode: "INVALID_ORDER_ID"},
		{name: "orderId not ascii", mod: set("orderId", "주문-000001"), wantCode: "INVALID_ORDER_ID"},
		{name: "orderId with +", mod: set("orderId", "order+sdk+0001"), wantCode: "INVALID_ORDER_ID"},
		{name: "orderName missing", mod: del("orderName"), wantCode: "INVALID_ORDER_NAME"},
		{name: "orderName blank", mod: set("orderName", "  "), wantCode: "INVALID_ORDER_NAME"},
		{name: "successUrl relative", mod: set("successUrl", "/pay/success"), wantCode: "INVALID_SUCCESS_URL"},
		{name: "successUrl javascript", mod: set("successUrl", "javascript:alert(1)"), wantCode: "INVALID_SUCCESS_URL"},
		{name: "failUrl missing", mod: del("failUrl"), wantCode: "INVALID_FAIL_URL"},
		{name: "failUrl ftp", mod: set("failUrl", "ftp://shop.example/fail"), wantCode: "INVALID_FAIL_URL"},
		{name: "card missing", mod: del("card"), wantCode: "INVALID_CARD_OPTION"},
		{name: "domestic window", mod: card(map[string]any{"useInternationalCardOnly": false}), wantCode: "INVALID_CARD_OPTION"},
		{name: "international flag as string", mod: card(map[string]any{"useInternationalCardOnly": "true"}), wantCode: "INVALID_CARD_OPTION"},
		{name: "language FR", mod: card(map[string]any{"useInternationalCardOnly": true, "language": "FR"}), wantCode: "INVALID_CARD_LANGUAGE"},
		{name: "language lower case", mod: card(map[string]any{"useInternationalCardOnly": true, "language": "en"}), wantCode: "INVALID_CARD_LANGUAGE"},
		{name: "customerName not a string", mod: set("customerName", 42), wantCode: "INVALID_PARAMETERS"},
	}

	var cases []sdkCase
	for _, tt := range tests {
		c := sdkCase{Name: tt.name, ClientKey: tt.clientKey, Params: validSDKParams()}
		if c.ClientKey == "" {
			c.ClientKey = s.ClientKey()
		}
		if tt.customer == nil {
			c.Anonymous = true
		} else {
			c.PaymentOptions = map[string]any{"customerKey": tt.customer}
			if tt.customer == "" {
				c.PaymentOptions = map[string]any{}
			}
		}
		if tt.mod != nil {
			tt.mod(c.Params)
		}
		cases = append(cases, c)
	}
	results := runSDK(t, node, path, cases)

	for i, tt := range tests {
		r := results[i]
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantCode != "" || tt.wantThrow != "" {
				state, code := "rejected", tt.wantCode
				if tt.wantThrow != "" {
					state, code = "threw", tt.wantThrow
				}
				if r.State != state || r.Code != code || r.Message == "" || !r.IsError {
					t.Fatalf("want %s %s, got %+v", state, code, r)
				}
				if r.URL != "" || r.Overlay {
					t.Fatalf("opened a window despite the error: %+v", r)
				}
				return
			}
			want := tt.wantState
			if want == "" {
				want = "opened"
			}
			if r.State != want || r.Overlay != (want == "opened") {
				t.Fatalf("want %s, got %+v", want, r)
			}
			u, err := url.Parse(r.URL)
			if err != nil || !strings.HasPrefix(r.URL, s.URL+windowPath+"?") {
				t.Fatalf("window at %s", r.URL)
			}
			q := u.Query()
			for k, want := range tt.wantQuery {
				if want == "" && q.Has(k) {
					t.Errorf("%s present: %q", k, q.Get(k))
				} else if want != "" && q.Get(k) != want {
					t.Errorf("%s = %q, want %q", k, q.Get(k), want)
				}
			}
			// The script and the window agree on the parameters, and on
			// where paying leads: the whole page, out of the overlay.
			p := getPage(t, s, windowPath, q, "")
			if p.status != http.StatusOK || !strings.Contains(p.body, `id="approve"`) {
				t.Fatalf("window for %s: %d %s", r.URL, p.status, p.body)
			}
			if framed := strings.Contains(p.body, `target="_top"`); framed != (want == "opened") {
				t.Errorf("window framed = %v for a page that %s", framed, want)
			}
		})
	}
}

var cancelPostJSON = regexp.MustCompile(`<script type="application/json" id="sandbox-message">([^<]*)</script>`)

// TestSDKUserCancel closes a framed window the way the buyer does (the
// window's close button) and hands what the window posts to the SDK
// stand-in: requestPayment rejects with USER_CANCEL, the overlay goes, and
// nothing was sent to failUrl. Posts the SDK must not believe change
// nothing.
func TestSDKUserCancel(t *testing.T) {
	node := nodePath(t)
	s := NewServer(t)
	path, _, _ := fetchSDK(t, s)
	base := sdkCase{Name: "open", ClientKey: s.ClientKey(), Anonymous: true, Params: validSDKParams()}
	opened := runSDK(t, node, path, []sdkCase{base})[0]
	if opened.State != "opened" {
		t.Fatalf("want the framed window, got %+v", opened)
	}
	u, err := url.Parse(opened.URL)
	if err != nil {
		t.Fatal(err)
	}

	// The buyer closes the window the SDK opened.
	session := openWindow(t, s, u.Query())
	resp, err := noRedirect(s).PostForm(s.URL+windowPath, url.Values{"session": {session}, "action": {"close"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
		t.Fatalf("close of a framed window: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	m := cancelPostJSON.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no message in %s", body)
	}
	var post struct {
		Data         map[string]any `json:"data"`
		TargetOrigin string         `json:"targetOrigin"`
	}
	if err := json.Unmarshal(m[1], &post); err != nil {
		t.Fatalf("message %s: %v", m[1], err)
	}
	if post.TargetOrigin != harnessPage || post.Data["code"] != "USER_CANCEL" {
		t.Fatalf("message %s", m[1])
	}

	other := func(mod func(*sdkMessage)) []sdkMessage {
		msg := sdkMessage{Origin: s.URL, Data: post.Data, FromFrame: true}
		mod(&msg)
		return []sdkMessage{msg}
	}
	tests := []struct {
		name     string
		messages []sdkMessage
		canceled bool
	}{
		{"the window's message", other(func(*sdkMessage) {}), true},
		{"from another origin", other(func(m *sdkMessage) { m.Origin = "https://evil.example" }), false},
		{"from another frame", other(func(m *sdkMessage) { m.FromFrame = false }), false},
		{"of another type", other(func(m *sdkMessage) { m.Data = map[string]any{"type": "something-else", "code": "USER_CANCEL"} }), false},
		{"not an object", other(func(m *sdkMessage) { m.Data = "USER_CANCEL" }), false},
		{"ignored ones first", append(other(func(m *sdkMessage) { m.FromFrame = false }), other(func(*sdkMessage) {})...), true},
	}
	var cases []sdkCase
	for _, tt := range tests {
		c := base
		c.Name, c.Params, c.Messages = tt.name, validSDKParams(), tt.messages
		cases = append(cases, c)
	}
	results := runSDK(t, node, path, cases)
	for i, tt := range tests {
		r := results[i]
		t.Run(tt.name, func(t *testing.T) {
			if !tt.canceled {
				if r.State != "opened" || !r.Overlay || r.Listeners != 1 {
					t.Fatalf("want the window still open, got %+v", r)
				}
				return
			}
			if r.State != "rejected" || r.Code != "USER_CANCEL" || !r.IsError || r.Message != post.Data["message"] {
				t.Fatalf("want USER_CANCEL, got %+v", r)
			}
			if r.Overlay || r.Listeners != 0 {
				t.Fatalf("the overlay outlived the cancel: %+v", r)
			}
		})
	}
	if n := len(s.OrderPayments("order-sdk-0001")); n != 0 {
		t.Fatalf("%d payments after a cancel", n)
	}
}
