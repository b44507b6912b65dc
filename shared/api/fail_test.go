package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/obs"
)

// failLine is the log line of one fail redirect.
func (h *harness) failLine() map[string]any {
	h.t.Helper()
	sc := bufio.NewScanner(strings.NewReader(h.log.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var found map[string]any
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasPrefix(line["msg"].(string), "payment window failed") {
			found = line
		}
	}
	if found == nil {
		h.t.Fatalf("no fail redirect line in:\n%s", h.log.String())
	}
	return found
}

// TestFailRedirectsCounted: every arrival on the failUrl is counted by its
// code (PaymentFailRedirects, dimension Code), which an alarm watches for
// PAY_PROCESS_ABORTED (seed 002: a contract problem looks so). The code is
// the buyer's browser's word: anything but a code Toss documents counts as
// OTHER, so nobody can make CloudWatch bill a metric per made-up code.
// Toss's message is logged, escaped and cut to 200 characters.
func TestFailRedirectsCounted(t *testing.T) {
	tests := []struct {
		name       string
		code       string
		message    string
		wantCode   string
		wantLogged string
	}{
		{"aborted", "PAY_PROCESS_ABORTED", "[EXCEPTION] 해외카드 결제가 허용되지 않은 가맹점입니다.", "PAY_PROCESS_ABORTED", "[EXCEPTION] 해외카드 결제가 허용되지 않은 가맹점입니다."},
		{"the buyer closed the window", "PAY_PROCESS_CANCELED", "사용자에 의해 결제가 취소되었습니다.", "PAY_PROCESS_CANCELED", "사용자에 의해 결제가 취소되었습니다."},
		{"card company", "REJECT_CARD_COMPANY", "Declined", "REJECT_CARD_COMPANY", "Declined"},
		{"a confirm code", "INVALID_CARD_NUMBER", "m", "INVALID_CARD_NUMBER", "m"},
		{"a made-up code", "FORGED_0001", "x", "OTHER", "x"},
		{"markup for a code", "<b>", "x", "OTHER", "x"},
		{"no code", "", "", "OTHER", ""},
		{"a forged log line", "PAY_PROCESS_ABORTED", "ok\n{\"level\":\"ERROR\",\"msg\":\"forged\"}\u202eevil",
			"PAY_PROCESS_ABORTED", `ok\n{\"level\":\"ERROR\",\"msg\":\"forged\"}\u202eevil`},
		{"a long message", "PAY_PROCESS_ABORTED", strings.Repeat("가", 250), "PAY_PROCESS_ABORTED", strings.Repeat("가", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var emf bytes.Buffer
			h.svc.Metrics = obs.NewMetrics(&emf, "PaymentFailFunction")
			o := h.createOrder("Hanbok", 39000)
			emf.Reset()
			q := url.Values{"code": {tt.code}, "message": {tt.message}, "orderId": {o.OrderID}}
			wantPage(t, h.page(h.svc.PaymentFail, rq{Method: "GET", Path: "/payments/fail", Query: q.Encode()}), 200, "fail")

			var counted []string
			for _, l := range strings.Split(strings.TrimSpace(emf.String()), "\n") {
				var doc map[string]any
				if json.Unmarshal([]byte(l), &doc) == nil && doc["PaymentFailRedirects"] == float64(1) {
					counted = append(counted, doc["Code"].(string))
				}
			}
			if len(counted) != 1 || counted[0] != tt.wantCode {
				t.Errorf("PaymentFailRedirects counted by Code %q, want [%s]:\n%s", counted, tt.wantCode, emf.String())
			}
			line := h.failLine()
			if line["message"] != tt.wantLogged {
				t.Errorf("logged message %q, want %q", line["message"], tt.wantLogged)
			}
		})
	}
}
