package tosstest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tossintl/backend/tools/tossrules"
)

func TestDashboardCancel(t *testing.T) {
	type step struct {
		reason      string
		amount      int64
		wantCode    string // "" expects success
		wantStatus  int    // of a refusal
		wantBalance int64
	}
	tests := []struct {
		name    string
		confirm bool
		key     string // "" is the authorized payment
		steps   []step
	}{
		{"partial then the rest", true, "", []step{
			{"damaged", 2500, "", 0, 7500},
			{"too much", 7501, tossrules.CodeNotCancelableAmount, 403, 7500},
			{"returned", 0, "", 0, 0},
			{"again", 0, tossrules.CodeAlreadyCanceledPayment, 400, 0},
		}},
		{"not approved", false, "", []step{{"r", 0, tossrules.CodeNotCancelablePayment, 403, 10000}}},
		{"unknown payment", true, "tgen_nope", []step{{"r", 0, tossrules.CodeNotFoundPayment, 404, 10000}}},
		{"bad requests", true, "", []step{
			{"  ", 0, tossrules.CodeInvalidRequest, 400, 10000},
			{strings.Repeat("이", 201), 0, tossrules.CodeInvalidRequest, 400, 10000},
			{"r", -1, tossrules.CodeInvalidRequest, 400, 10000},
		}},
	}
	for _, via := range []string{"method", "http"} {
		for _, tt := range tests {
			t.Run(via+"/"+tt.name, func(t *testing.T) {
				r := newReceiver(t, always(http.StatusOK))
				s := NewServer(t, WithWebhookURL(r.URL))
				key := s.Authorize("order-dash-1", "Tea", 10000)
				if tt.confirm {
					wantOK(t, mustSend(t, s, confirmCall(key, "order-dash-1", 10000, "")))
				}
				target := key
				if tt.key != "" {
					target = tt.key
				}
				events := len(s.WebhookEvents())
				requests := len(s.Requests())
				for i, st := range tt.steps {
					var code string
					var status int
					switch via {
					case "method":
						_, err := s.DashboardCancel(target, st.reason, st.amount)
						var ae *APIError
						if errors.As(err, &ae) {
							code, status = ae.Code, ae.Status
						} else if err != nil {
							t.Fatalf("step %d: %v", i, err)
						}
					case "http":
						body := fmt.Sprintf(`{"cancelReason":%q}`, st.reason)
						if st.amount != 0 {
							body = fmt.Sprintf(`{"cancelReason":%q,"cancelAmount":%d}`, st.reason, st.amount)
						}
						// No Authorization: the dashboard is the operator's, not the API's.
						a := mustSend(t, s, call{Method: http.MethodPost, Path: "/dashboard/payments/" + target + "/cancel", Body: body,
							Header: map[string]string{"Authorization": ""}})
						if a.Status != http.StatusOK {
							code, status = a.code(), a.Status
						} else if a.num("balanceAmount") != st.wantBalance || a.str("paymentKey") != target {
							t.Fatalf("step %d: answered %s", i, a.Body)
						}
					}
					if code != st.wantCode || status != st.wantStatus {
						t.Fatalf("step %d: %d %q, want %d %q", i, status, code, st.wantStatus, st.wantCode)
					}
					if st.wantCode == "" {
						events++
					}
					info, _ := s.Payment(key)
					if info.BalanceAmount != st.wantBalance {
						t.Fatalf("step %d: balance %d, want %d", i, info.BalanceAmount, st.wantBalance)
					}
				}
				waitWebhooks(t, s)
				if n := len(s.WebhookEvents()); n != events {
					t.Fatalf("%d webhook events, want %d", n, events)
				}
				if n := len(s.Requests()); n != requests {
					t.Fatalf("dashboard cancels recorded as API requests")
				}
			})
		}
	}
}

func TestDashboardRoutes(t *testing.T) {
	s := NewServer(t)
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/dashboard/payments/tgen_x/cancel", http.StatusMethodNotAllowed},
		{http.MethodPost, "/dashboard/payments//cancel", http.StatusNotFound},
		{http.MethodPost, "/dashboard/payments/a/b/cancel", http.StatusNotFound},
		{http.MethodPost, "/dashboard/other", http.StatusNotFound},
		{http.MethodPost, "/dashboard/payments/tgen_x", http.StatusNotFound},
	} {
		a := mustSend(t, s, call{Method: c.method, Path: c.path, Body: `{"cancelReason":"r"}`})
		if a.Status != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, a.Status, c.status)
		}
	}
}
