package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/obs"
	"github.com/tossintl/backend/shared/pages"
)

// RouteCSPReports is where the checkout page's policy reports what it
// blocks (pages.CSPReportPath), served by CheckoutFunction: the function
// whose page sets the policy, and which needs nothing more for it.
const RouteCSPReports = "POST " + pages.CSPReportPath

// MetricCSPViolations counts the violation reports browsers sent: on a
// checkout page, a blocked script, frame or connection is a payment window
// that may never open.
const MetricCSPViolations = "CspViolations"

// CheckoutHandler is CheckoutFunction's handler: the checkout page, and
// the reports of its policy on RouteCSPReports.
func (s *Service) CheckoutHandler() LambdaHandler {
	page := s.Page(s.Checkout)
	reports := s.JSON(s.CSPReports)
	return func(ctx context.Context, r apigw.Request) (apigw.Response, error) {
		if r.RouteKey == RouteCSPReports {
			return reports(ctx, r)
		}
		return page(ctx, r)
	}
}

// CSPReports is POST /csp-reports: the browser's report of what the
// checkout page's policy blocked (or, in report-only mode, would have
// blocked). Each report is logged (directive, blocked URL, the page's
// path; cut and escaped) and counted as CspViolations; the answer is 204.
//
// Anyone can post here, so nothing posted is trusted: the body is bounded
// (apigw.MaxBodyBytes) and so is the number of reports read from it; a
// body that is no report is 400 in the API's error format, never a 5xx;
// nothing is stored.
func (s *Service) CSPReports(ctx context.Context, r *apigw.Request) apigw.Response {
	if !pages.CSPReportContentType(apigw.Header(r, "content-type")) {
		return Error(r, CodeUnsupportedContentType, cspTypeMessage(LangOf(r)))
	}
	body, err := apigw.Body(r)
	switch {
	case errors.Is(err, apigw.ErrBodyTooLarge):
		return Error(r, CodeRequestTooLarge, "")
	case err != nil:
		return Error(r, CodeInvalidJSON, "")
	}
	reports, dropped, err := pages.ParseCSPReports(body)
	if err != nil {
		return Error(r, CodeInvalidRequest, fieldMessage(LangOf(r), "body", "is not a CSP violation report"))
	}
	for _, v := range reports {
		s.log().WarnContext(ctx, "csp violation",
			"directive", v.Directive, "blockedUri", v.BlockedURI, "documentPath", v.DocumentPath,
			"sourceFile", v.SourceFile, "disposition", v.Disposition)
	}
	if dropped > 0 {
		s.log().WarnContext(ctx, "csp reports not read", "count", dropped, "limit", pages.MaxCSPReports)
	}
	if len(reports) > 0 {
		s.Metrics.Put(MetricCSPViolations, float64(len(reports)), obs.Count, nil)
	}
	return apigw.Respond(http.StatusNoContent, headersWith(nil), "")
}

func cspTypeMessage(lang Lang) string {
	if lang == English {
		return "Content-Type must be application/csp-report, application/reports+json or application/json."
	}
	return "Content-Type은 application/csp-report, application/reports+json 또는 application/json이어야 합니다."
}
