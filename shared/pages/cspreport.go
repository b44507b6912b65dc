package pages

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CSPReportPath is where the checkout page's policy sends its violation
// reports (report-uri and report-to), on the API's own origin.
const CSPReportPath = "/csp-reports"

// cspEndpointName is the Reporting-Endpoints name report-to refers to.
const cspEndpointName = "csp-endpoint"

// MaxCSPReports bounds the reports read from one request: a browser batches
// a few (Reporting API), and a body of thousands of made-up ones must cost
// no more than a batch.
const MaxCSPReports = 20

// maxReportField bounds what is kept of any one value of a report, in
// characters: a blocked URL is attacker-controlled text headed for the logs.
const maxReportField = 200

// WithCSPReporting makes the checkout page's policy (h as SecurityHeaders
// made it) report what it blocks to endpoint, an absolute URL of the API's
// CSPReportPath: report-uri for browsers that know only it (Firefox, older
// Safari), and with an https endpoint report-to and Reporting-Endpoints
// for those that prefer it (Chromium). An endpoint that is not a plain
// http(s) URL is left out, since it goes into headers.
//
// reportOnly sends the policy as Content-Security-Policy-Report-Only: the
// browser blocks nothing of it and reports what it would have blocked, so
// a deployer can watch the real SDK on the first real payments before
// enforcing (CheckoutCspMode). The directives that cannot stop the payment
// window from opening (base-uri, frame-ancestors, which a report-only
// policy ignores anyway) stay enforced.
func WithCSPReporting(h map[string]string, endpoint string, reportOnly bool) {
	policy := h["Content-Security-Policy"]
	if policy == "" {
		return
	}
	if e := reportEndpoint(endpoint); e != "" {
		policy += "; report-uri " + e
		// Chromium takes report-to over report-uri, but uploads Reporting
		// API reports to https endpoints only: over http (the local stack)
		// report-to would silence the report-uri it can send.
		if strings.HasPrefix(e, "https://") {
			policy += "; report-to " + cspEndpointName
			h["Reporting-Endpoints"] = cspEndpointName + `="` + e + `"`
		}
	}
	if reportOnly {
		h["Content-Security-Policy-Report-Only"] = policy
		h["Content-Security-Policy"] = "base-uri 'none'; frame-ancestors 'none'"
		return
	}
	h["Content-Security-Policy"] = policy
}

// endpointPath is what a report endpoint's path may hold: nothing a header
// value or a CSP source list would read as a separator.
var endpointPath = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)*/?$`)

// reportEndpoint is endpoint rebuilt from checked parts, or "".
func reportEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || !endpointPath.MatchString(u.EscapedPath()) {
		return ""
	}
	origin := sdkOrigin(u.Scheme + "://" + u.Host)
	if origin == "" {
		return ""
	}
	return origin + u.EscapedPath()
}

// CSPViolation is one violation report as it may be logged: every value
// cut to maxReportField characters and escaped (no control characters, no
// invalid UTF-8), URLs without their query, fragment or credentials (a
// page URL's query holds the checkout token).
type CSPViolation struct {
	Directive    string // the effective directive, e.g. script-src-elem
	BlockedURI   string // what was blocked: a URL, or inline, eval, data, …
	DocumentPath string // the page's path
	SourceFile   string // where the blocked code was, if the browser says
	Disposition  string // enforce or report
}

// Errors of ParseCSPReports.
var (
	ErrCSPReportType = errors.New("not a CSP report content type")
	ErrCSPReportBody = errors.New("not a CSP report")
)

// CSPReportContentType reports whether a Content-Type is one browsers
// send CSP reports with: application/csp-report (report-uri),
// application/reports+json (report-to), or plain application/json.
func CSPReportContentType(contentType string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	switch strings.TrimSpace(mt) {
	case "application/csp-report", "application/reports+json", "application/json":
		return true
	}
	return false
}

// ParseCSPReports reads the violations of a report body in either of the
// browsers' formats: report-uri's {"csp-report": {...}} or the Reporting
// API's [{"type": "csp-violation", "body": {...}}, ...] (entries of other
// types are skipped). At most MaxCSPReports are read; dropped says how many
// more the body held.
func ParseCSPReports(body []byte) (reports []CSPViolation, dropped int, err error) {
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0:
		return nil, 0, ErrCSPReportBody
	case body[0] == '[':
		var batch []struct {
			Type string          `json:"type"`
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(body, &batch); err != nil {
			return nil, 0, errors.Join(ErrCSPReportBody, err)
		}
		for _, e := range batch {
			if e.Type != "csp-violation" {
				continue
			}
			if len(reports) == MaxCSPReports {
				dropped++
				continue
			}
			var b reportingBody
			if json.Unmarshal(e.Body, &b) != nil {
				dropped++ // one malformed entry does not spoil the batch
				continue
			}
			reports = append(reports, b.violation())
		}
		return reports, dropped, nil
	case body[0] == '{':
		var doc struct {
			Report *legacyReport `json:"csp-report"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, 0, errors.Join(ErrCSPReportBody, err)
		}
		if doc.Report == nil {
			return nil, 0, ErrCSPReportBody
		}
		return []CSPViolation{doc.Report.violation()}, 0, nil
	}
	return nil, 0, ErrCSPReportBody
}

// legacyReport is report-uri's report (CSP level 2 names).
type legacyReport struct {
	DocumentURI        string `json:"document-uri"`
	ViolatedDirective  string `json:"violated-directive"`
	EffectiveDirective string `json:"effective-directive"`
	BlockedURI         string `json:"blocked-uri"`
	SourceFile         string `json:"source-file"`
	Disposition        string `json:"disposition"`
}

func (r legacyReport) violation() CSPViolation {
	d := r.EffectiveDirective
	if d == "" {
		// CSP 2 browsers name the directive with its sources.
		d, _, _ = strings.Cut(strings.TrimSpace(r.ViolatedDirective), " ")
	}
	return newViolation(d, r.BlockedURI, r.DocumentURI, r.SourceFile, r.Disposition)
}

// reportingBody is a Reporting API csp-violation body (CSP level 3 names).
type reportingBody struct {
	DocumentURL        string `json:"documentURL"`
	EffectiveDirective string `json:"effectiveDirective"`
	BlockedURL         string `json:"blockedURL"`
	SourceFile         string `json:"sourceFile"`
	Disposition        string `json:"disposition"`
}

func (b reportingBody) violation() CSPViolation {
	return newViolation(b.EffectiveDirective, b.BlockedURL, b.DocumentURL, b.SourceFile, b.Disposition)
}

func newViolation(directive, blocked, document, source, disposition string) CSPViolation {
	doc := ""
	if u, err := url.Parse(document); err == nil {
		doc = u.EscapedPath()
	}
	return CSPViolation{
		Directive:    cut(directive),
		BlockedURI:   cut(stripURL(blocked)),
		DocumentPath: cut(doc),
		SourceFile:   cut(stripURL(source)),
		Disposition:  cut(disposition),
	}
}

// stripURL drops what a URL may carry that is nobody's business in a log:
// credentials, query and fragment. A value that is no absolute URL
// (inline, eval, data, a bare scheme) is kept as it is.
func stripURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i]
		}
		return s
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// cut keeps the first maxReportField characters of s and escapes what a
// log reader's terminal must not receive raw: control characters,
// invalid UTF-8 and non-graphic runes come out as Go escapes (\x1b,
// \u202e), and so do the quotes and backslashes that would make those
// ambiguous.
func cut(s string) string {
	if utf8.RuneCountInString(s) > maxReportField {
		n := 0
		for i := range s {
			if n == maxReportField {
				s = s[:i] + "…"
				break
			}
			n++
		}
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}
