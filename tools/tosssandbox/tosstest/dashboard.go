package tosstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tossintl/backend/tools/tossrules"
)

// dashboardPrefix is where the sandbox's stand-in for Toss's merchant
// dashboard lives. It exists only in the sandbox.
const dashboardPrefix = "/dashboard/"

// APIError is an error answer of the sandbox, as Toss would send it.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("tosstest: %d %s: %s", e.Status, e.Code, e.Message)
}

// DashboardCancel refunds amount (0: the whole balance) of a payment the
// way an operator does in Toss's merchant dashboard: no API key, no
// Idempotency-Key, nothing in Requests, the same checks and error codes as
// the cancel API, and the same webhook. It returns the payment as it then
// stands, or an *APIError (INVALID_REQUEST, NOT_FOUND_PAYMENT,
// ALREADY_CANCELED_PAYMENT, NOT_CANCELABLE_PAYMENT, NOT_CANCELABLE_AMOUNT).
func (s *Sandbox) DashboardCancel(paymentKey, reason string, amount int64) (PaymentInfo, error) {
	if bad := checkCancelReason(reason, langEN); bad != nil {
		return PaymentInfo{}, apiError(*bad)
	}
	if amount < 0 || amount > maxAmount {
		return PaymentInfo{}, &APIError{Status: http.StatusBadRequest, Code: tossrules.CodeInvalidRequest,
			Message: "cancelAmount must be a positive integer, or 0 for the whole balance."}
	}
	resp, ok := s.cancelPayment(paymentKey, reason, amount, s.publicURL, langEN)
	if !ok {
		return PaymentInfo{}, apiError(resp)
	}
	info, _ := s.Payment(paymentKey)
	return info, nil
}

func apiError(r apiResponse) *APIError {
	var w wireError
	_ = json.Unmarshal(r.body, &w) // the sandbox's own error object
	return &APIError{Status: r.status, Code: w.Code, Message: w.Message}
}

// serveDashboard serves POST /dashboard/payments/{paymentKey}/cancel with
// the cancel API's body and answers, without authentication: it stands for
// an operator logged in to the dashboard, for the local stack's drills.
func (s *Sandbox) serveDashboard(w http.ResponseWriter, r *http.Request) {
	l := apiLang(r)
	write := func(resp apiResponse) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(resp.status)
		_, _ = w.Write(resp.body)
	}
	rest, isPayments := strings.CutPrefix(r.URL.Path, dashboardPrefix+"payments/")
	key, isCancel := strings.CutSuffix(rest, "/cancel")
	if !isPayments || !isCancel || key == "" || strings.Contains(key, "/") {
		write(errorResponse(http.StatusNotFound, tossrules.CodeNotFound, l))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		write(errorResponse(http.StatusMethodNotAllowed, tossrules.CodeMethodNotAllowed, l))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		write(errorResponse(http.StatusBadRequest, tossrules.CodeInvalidRequest, l,
			"요청 본문을 읽을 수 없습니다 (최대 1MiB).", "The request body could not be read (1 MiB at most)."))
		return
	}
	resp := s.cancel(key, body, s.baseURL(r), l)
	s.log.Info("toss sandbox dashboard cancel", "status", resp.status)
	write(resp)
}
