package pages

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestWithCSPReporting(t *testing.T) {
	const endpoint = "https://pay.example.com/csp-reports"
	checkout := SecurityHeaders(NewNonce(), "https://js.tosspayments.com/v2/standard", true)
	policy := checkout["Content-Security-Policy"]
	reporting := policy + "; report-uri " + endpoint + "; report-to csp-endpoint"
	tests := []struct {
		name       string
		endpoint   string
		reportOnly bool
		enforced   string // Content-Security-Policy
		reportOnlyPolicy,
		endpoints string // Content-Security-Policy-Report-Only, Reporting-Endpoints
	}{
		{name: "enforce", endpoint: endpoint, enforced: reporting, endpoints: `csp-endpoint="` + endpoint + `"`},
		{name: "report-only", endpoint: endpoint, reportOnly: true, enforced: "base-uri 'none'; frame-ancestors 'none'",
			reportOnlyPolicy: reporting, endpoints: `csp-endpoint="` + endpoint + `"`},
		{name: "http endpoint with a port: report-uri only", endpoint: "http://127.0.0.1:3000/csp-reports",
			enforced: policy + "; report-uri http://127.0.0.1:3000/csp-reports"}, // Chromium uploads report-to reports to https only
		{name: "stage path kept", endpoint: "https://abc.execute-api.ap-northeast-2.amazonaws.com/prod/csp-reports",
			enforced:  policy + "; report-uri https://abc.execute-api.ap-northeast-2.amazonaws.com/prod/csp-reports; report-to csp-endpoint",
			endpoints: `csp-endpoint="https://abc.execute-api.ap-northeast-2.amazonaws.com/prod/csp-reports"`},
		// What goes into a header is rebuilt from checked parts or left out.
		{name: "separator in the host", endpoint: "https://evil.example;script-src *;/csp-reports", enforced: policy},
		{name: "quote in the path", endpoint: `https://pay.example.com/a"b/csp-reports`, enforced: policy},
		{name: "query", endpoint: endpoint + "?x=1", enforced: policy},
		{name: "credentials", endpoint: "https://u:p@pay.example.com/csp-reports", enforced: policy},
		{name: "not http", endpoint: "javascript:alert(1)", enforced: policy},
		{name: "no endpoint, report-only", endpoint: "", reportOnly: true, enforced: "base-uri 'none'; frame-ancestors 'none'", reportOnlyPolicy: policy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			for k, v := range checkout {
				h[k] = v
			}
			WithCSPReporting(h, tt.endpoint, tt.reportOnly)
			for k, want := range map[string]string{
				"Content-Security-Policy":             tt.enforced,
				"Content-Security-Policy-Report-Only": tt.reportOnlyPolicy,
				"Reporting-Endpoints":                 tt.endpoints,
			} {
				if h[k] != want {
					t.Errorf("%s:\n got %q\nwant %q", k, h[k], want)
				}
			}
		})
	}
}

func TestParseCSPReports(t *testing.T) {
	legacy := `{"csp-report":{"document-uri":"https://pay.example.com/checkout/ord_1?token=secret-token#x",` +
		`"referrer":"","violated-directive":"script-src-elem","effective-directive":"script-src-elem",` +
		`"original-policy":"default-src 'none'","disposition":"enforce",` +
		`"blocked-uri":"https://cdn.evil.example/x.js?paymentKey=tgen_1&k=v#frag","status-code":200,` +
		`"source-file":"https://u:p@js.tosspayments.com/v2/standard?v=1","line-number":1}}`
	cspViolation := func(directive, blocked string) string {
		return fmt.Sprintf(`{"type":"csp-violation","age":10,"url":"https://pay.example.com/checkout/ord_1?token=t","user_agent":"x",`+
			`"body":{"documentURL":"https://pay.example.com/checkout/ord_1?token=t","effectiveDirective":%q,"blockedURL":%q,"disposition":"report","statusCode":200}}`, directive, blocked)
	}
	var many []string
	for range MaxCSPReports + 3 {
		many = append(many, cspViolation("frame-src", "https://frame.example/"))
	}
	tests := []struct {
		name    string
		body    string
		want    []CSPViolation
		dropped int
		err     bool
	}{
		{name: "report-uri", body: legacy, want: []CSPViolation{{
			Directive: "script-src-elem", BlockedURI: "https://cdn.evil.example/x.js", DocumentPath: "/checkout/ord_1",
			SourceFile: "https://js.tosspayments.com/v2/standard", Disposition: "enforce",
		}}},
		{name: "report-uri, CSP 2 names", body: `{"csp-report":{"violated-directive":"frame-src https://*.tosspayments.com","blocked-uri":"inline"}}`,
			want: []CSPViolation{{Directive: "frame-src", BlockedURI: "inline"}}},
		{name: "reporting API batch, other types skipped", body: "[" + cspViolation("connect-src", "https://log.tosspayments.kr/v1") + `,{"type":"deprecation","body":{}},` + cspViolation("img-src", "data") + "]",
			want: []CSPViolation{
				{Directive: "connect-src", BlockedURI: "https://log.tosspayments.kr/v1", DocumentPath: "/checkout/ord_1", Disposition: "report"},
				{Directive: "img-src", BlockedURI: "data", DocumentPath: "/checkout/ord_1", Disposition: "report"},
			}},
		{name: "reporting API, no CSP entry", body: `[{"type":"intervention","body":{}}]`},
		{name: "reporting API, a malformed entry", body: `[{"type":"csp-violation","body":"x"},` + cspViolation("frame-src", "https://f.example/") + "]",
			want: []CSPViolation{{Directive: "frame-src", BlockedURI: "https://f.example/", DocumentPath: "/checkout/ord_1", Disposition: "report"}}, dropped: 1},
		{name: "control characters escaped", body: `{"csp-report":{"effective-directive":"script-src\u001b[31m","blocked-uri":"inline\u202e\n\"x"}}`,
			want: []CSPViolation{{Directive: `script-src\x1b[31m`, BlockedURI: `inline\u202e\n\"x`}}},
		{name: "long values cut", body: `{"csp-report":{"effective-directive":"x","blocked-uri":"https://a.example/` + strings.Repeat("p", 500) + `"}}`,
			want: []CSPViolation{{Directive: "x", BlockedURI: "https://a.example/" + strings.Repeat("p", maxReportField-len("https://a.example/")) + "…"}}},
		{name: "empty", body: ``, err: true},
		{name: "not JSON", body: `{"csp-report":`, err: true},
		{name: "an object without a report", body: `{"report":{}}`, err: true},
		{name: "report null", body: `{"csp-report":null}`, err: true},
		{name: "report of another type", body: `{"csp-report":"x"}`, err: true},
		{name: "a bare value", body: `42`, err: true},
		{name: "an array of values", body: `[1,2]`, err: true},
	}
	tests = append(tests, struct {
		name    string
		body    string
		want    []CSPViolation
		dropped int
		err     bool
	}{name: "more than a batch", body: "[" + strings.Join(many, ",") + "]", dropped: 3})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped, err := ParseCSPReports([]byte(tt.body))
			if tt.err {
				if !errors.Is(err, ErrCSPReportBody) {
					t.Fatalf("err %v, want ErrCSPReportBody", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "more than a batch" {
				if len(got) != MaxCSPReports || dropped != tt.dropped {
					t.Fatalf("%d reports, %d dropped", len(got), dropped)
				}
				return
			}
			if dropped != tt.dropped || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %+v (%d dropped)\nwant %+v (%d)", got, dropped, tt.want, tt.dropped)
			}
		})
	}
}

func TestCSPReportContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/csp-report": true, "application/reports+json": true, "application/json; charset=utf-8": true,
		"Application/CSP-Report": true, "text/plain": false, "": false, "application/x-www-form-urlencoded": false,
	} {
		if got := CSPReportContentType(ct); got != want {
			t.Errorf("%q: %v", ct, got)
		}
	}
}
