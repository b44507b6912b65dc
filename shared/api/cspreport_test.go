package api_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/logsink"
	"github.com/tossintl/backend/shared/obs"
)

// The checkout page's policy names the API's report endpoint, and
// CheckoutCspMode chooses whether it is enforced or only reported.
func TestCheckoutPolicyReports(t *testing.T) {
	for _, mode := range []struct {
		name       string
		reportOnly bool
	}{{"enforce", false}, {"report-only", true}} {
		t.Run(mode.name, func(t *testing.T) {
			h := newHarness(t)
			h.svc.Config.CheckoutCSPReportOnly = mode.reportOnly
			o := h.createOrder("Hanbok", 39000)
			resp := h.call(h.svc.CheckoutHandler(), h.request(rq{Method: "GET", Path: "/checkout/" + o.OrderID, Params: map[string]string{"orderId": o.OrderID}}))
			if resp.StatusCode != 200 || pageState(t, resp) != "checkout" {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			endpoint := baseURL + "/csp-reports"
			policy, other := resp.Headers["Content-Security-Policy"], resp.Headers["Content-Security-Policy-Report-Only"]
			if mode.reportOnly {
				policy, other = other, policy
				if other != "base-uri 'none'; frame-ancestors 'none'" {
					t.Errorf("enforced alongside the report-only policy: %q", other)
				}
			} else if other != "" {
				t.Errorf("a report-only policy in enforce mode: %q", other)
			}
			if !strings.Contains(policy, "script-src 'nonce-") || !strings.HasSuffix(policy, "; report-uri "+endpoint+"; report-to csp-endpoint") {
				t.Errorf("policy %q", policy)
			}
			if got := resp.Headers["Reporting-Endpoints"]; got != `csp-endpoint="`+endpoint+`"` {
				t.Errorf("Reporting-Endpoints %q", got)
			}
		})
	}
	// The other pages run no script and keep their enforced policy.
	h := newHarness(t)
	h.svc.Config.CheckoutCSPReportOnly = true
	resp := h.page(h.svc.Checkout, rq{Method: "GET", Path: "/checkout/ord_0000000000000000000000", Params: map[string]string{"orderId": "ord_0000000000000000000000"}})
	if resp.StatusCode != http.StatusNotFound || resp.Headers["Content-Security-Policy-Report-Only"] != "" || !strings.Contains(resp.Headers["Content-Security-Policy"], "default-src 'none'") {
		t.Errorf("not-found page: %d %v", resp.StatusCode, resp.Headers)
	}
}

// cspHarness is a harness whose service writes its logs and metrics where
// the test reads them, as CheckoutFunction's would.
func cspHarness(t *testing.T) (*harness, *logsink.Buffer) {
	h := newHarness(t)
	out := &logsink.Buffer{}
	h.svc.Metrics = obs.NewMetrics(out, "CheckoutFunction")
	return h, out
}

// emfCount sums the values of metric in the EMF lines of out.
func emfCount(t *testing.T, out string, metric string) float64 {
	t.Helper()
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["_aws"] == nil {
			continue
		}
		if v, ok := line[metric].(float64); ok {
			if line["Function"] != "CheckoutFunction" {
				t.Errorf("%s without its Function dimension: %s", metric, sc.Text())
			}
			sum += v
		}
	}
	return sum
}

func TestCSPReportsLoggedAndCounted(t *testing.T) {
	const legacy = `{"csp-report":{"document-uri":"https://api.example.test/checkout/ord_1?token=tok_abcdef#f",` +
		`"violated-directive":"script-src-elem","effective-directive":"script-src-elem","disposition":"enforce",` +
		`"blocked-uri":"https://cdn.example/x.js?paymentKey=tgen_20240213121757MvuS8","original-policy":"default-src 'none'"}}`
	const batch = `[{"type":"csp-violation","body":{"documentURL":"https://api.example.test/checkout/ord_1","effectiveDirective":"frame-src","blockedURL":"https://pay.toss.im/x","disposition":"report"}},` +
		`{"type":"csp-violation","body":{"effectiveDirective":"connect-src","blockedURL":"https://log.tosspayments.kr/\u001b[2J","disposition":"report"}}]`
	h, metrics := cspHarness(t)
	for _, tc := range []struct{ ctype, body string }{{"application/csp-report", legacy}, {"application/reports+json", batch}} {
		resp := h.call(h.svc.CheckoutHandler(), h.request(rq{Method: "POST", Path: "/csp-reports", Headers: map[string]string{"content-type": tc.ctype}, Body: tc.body}))
		if resp.StatusCode != http.StatusNoContent || resp.Body != "" {
			t.Fatalf("%s: %d %s", tc.ctype, resp.StatusCode, resp.Body)
		}
	}
	if n := emfCount(t, metrics.String(), api.MetricCSPViolations); n != 3 {
		t.Errorf("CspViolations %v, want 3", n)
	}
	var got []map[string]any
	for _, line := range strings.Split(h.log.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "csp violation" {
			got = append(got, rec)
		}
	}
	if len(got) != 3 {
		t.Fatalf("%d violations logged:\n%s", len(got), h.log.String())
	}
	want := []struct{ directive, blocked string }{
		{"script-src-elem", "https://cdn.example/x.js"}, {"frame-src", "https://pay.toss.im/x"}, {"connect-src", `https://log.tosspayments.kr/\x1b[2J`},
	}
	for i, w := range want {
		if got[i]["directive"] != w.directive || got[i]["blockedUri"] != w.blocked || got[i]["level"] != "WARN" {
			t.Errorf("log %d: %v, want %+v", i, got[i], w)
		}
	}
	if got[0]["documentPath"] != "/checkout/ord_1" {
		t.Errorf("documentPath %v", got[0]["documentPath"])
	}
	for _, leaked := range []string{"tok_abcdef", "tgen_20240213121757MvuS8", "\x1b"} {
		if strings.Contains(h.log.String(), leaked) {
			t.Errorf("the logs hold %q", leaked)
		}
	}
}

// The endpoint is anonymous: whatever is posted, the answer is a 2xx or a
// 4xx in the API's error format, never a 5xx, and nothing is counted that
// is no report.
func TestCSPReportsRefuseGarbage(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		base64            bool
		status            int
		code              string
	}{
		{name: "not JSON", ctype: "application/csp-report", body: `{"csp-report":`, status: 400, code: api.CodeInvalidRequest},
		{name: "empty", ctype: "application/csp-report", body: ``, status: 400, code: api.CodeInvalidRequest},
		{name: "no report", ctype: "application/json", body: `{"hello":1}`, status: 400, code: api.CodeInvalidRequest},
		{name: "a string", ctype: "application/reports+json", body: `"x"`, status: 400, code: api.CodeInvalidRequest},
		{name: "array of numbers", ctype: "application/reports+json", body: `[1,2,3]`, status: 400, code: api.CodeInvalidRequest},
		{name: "invalid UTF-8", ctype: "application/csp-report", body: "{\"csp-report\":{\"blocked-uri\":\"\xff\"}}", status: 400, code: api.CodeInvalidJSON},
		{name: "not base64", ctype: "application/csp-report", body: "!!!", base64: true, status: 400, code: api.CodeInvalidJSON},
		{name: "too large", ctype: "application/csp-report", body: `{"csp-report":{"blocked-uri":"` + strings.Repeat("a", 1<<20) + `"}}`, status: 400, code: api.CodeRequestTooLarge},
		{name: "form", ctype: "application/x-www-form-urlencoded", body: "a=b", status: 400, code: api.CodeUnsupportedContentType},
		{name: "no content type", ctype: "", body: `{"csp-report":{}}`, status: 400, code: api.CodeUnsupportedContentType},
		{name: "only other report types", ctype: "application/reports+json", body: `[{"type":"deprecation","body":{}}]`, status: 204},
	}
	h, metrics := cspHarness(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hd := map[string]string{}
			if tc.ctype != "" {
				hd["content-type"] = tc.ctype
			}
			req := h.request(rq{Method: "POST", Path: "/csp-reports", Headers: hd, Body: tc.body})
			req.IsBase64Encoded = tc.base64
			resp := h.call(h.svc.CheckoutHandler(), req)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, resp.Body, tc.status)
			}
			if tc.code != "" {
				wantError(t, resp, tc.status, tc.code)
			}
		})
	}
	if n := emfCount(t, metrics.String(), api.MetricCSPViolations); n != 0 {
		t.Errorf("CspViolations %v for no report", n)
	}
}
