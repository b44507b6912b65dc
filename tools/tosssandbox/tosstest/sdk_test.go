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
}

type sdkResult struct {
	Name    string `json:"name"`
	State   string `json:"state"`
	Code    string `json:"code"`
	Message string `json:"message"`
	IsError bool   `json:"isError"`
	URL     string `json:"url"`
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
		wantCode  string // empty: navigates to the window
		wantQuery map[string]string
	}{
		{name: "valid", customer: "customer-123", wantQuery: map[string]string{
			"orderId": "order-sdk-0001", "amount": "15000", "currency": "KRW", "language": "EN",
			"customerKey": "customer-123", "customerName": "Jane Doe", "successUrl": "https://shop.example/pay/success",
		}},
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
		{name: "customerKey missing", customer: "", wantCode: "INVALID_CUSTOMER_KEY"},
		{name: "customerKey too short", customer: "a", wantCode: "INVALID_CUSTOMER_KEY"},
		{name: "customerKey with space", customer: "a b c", wantCode: "INVALID_CUSTOMER_KEY"},
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
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "sdk_harness.js"), path)
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
	if len(results) != len(tests) {
		t.Fatalf("%d results for %d cases", len(results), len(tests))
	}

	for i, tt := range tests {
		r := results[i]
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantCode != "" {
				if r.State != "rejected" || r.Code != tt.wantCode || r.Message == "" || !r.IsError {
					t.Fatalf("want rejection %s, got %+v", tt.wantCode, r)
				}
				if r.URL != "" {
					t.Fatalf("navigated despite the rejection: %s", r.URL)
				}
				return
			}
			if r.State != "navigated" {
				t.Fatalf("want navigation, got %+v", r)
			}
			u, err := url.Parse(r.URL)
			if err != nil || !strings.HasPrefix(r.URL, s.URL+windowPath+"?") {
				t.Fatalf("navigated to %s", r.URL)
			}
			q := u.Query()
			for k, want := range tt.wantQuery {
				if want == "" && q.Has(k) {
					t.Errorf("%s present: %q", k, q.Get(k))
				} else if want != "" && q.Get(k) != want {
					t.Errorf("%s = %q, want %q", k, q.Get(k), want)
				}
			}
			// The script and the window agree on the parameters.
			p := getPage(t, s, windowPath, q, "")
			if p.status != http.StatusOK || !strings.Contains(p.body, `id="approve"`) {
				t.Fatalf("window for %s: %d %s", r.URL, p.status, p.body)
			}
		})
	}
}
