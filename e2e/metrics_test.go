package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tossintl/backend/tools/samlocal/stack"
)

// emfLine is one EMF line a function printed: its metric names and the
// values of the fields beside them.
type emfLine struct {
	function string
	metrics  []string
	fields   map[string]any
}

// emfLines reads the EMF lines out of the stack's logs, each prefixed by
// the function that printed it ("[Name] {...}").
func emfLines(logs string) []emfLine {
	var out []emfLine
	for _, l := range strings.Split(logs, "\n") {
		if !strings.HasPrefix(l, "[") || !strings.Contains(l, `"_aws"`) {
			continue
		}
		name, body, ok := strings.Cut(l[1:], "] ")
		if !ok {
			continue
		}
		var doc map[string]any
		var meta struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Metrics []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if json.Unmarshal([]byte(body), &doc) != nil || json.Unmarshal([]byte(body), &meta) != nil {
			continue
		}
		e := emfLine{function: name, fields: doc}
		for _, d := range meta.AWS.CloudWatchMetrics {
			for _, m := range d.Metrics {
				e.metrics = append(e.metrics, m.Name)
			}
		}
		out = append(out, e)
	}
	return out
}

// TestTheStackPrintsTossAndFailRedirectMetrics: the local stack's functions, built as
// deployed, print each metric the new alarms and runbook read as an EMF
// line: a configuration answer of Toss's (TossConfigurationErrors, by
// Code), a Payment of another API version (TossApiVersionMismatch) and a
// fail redirect (PaymentFailRedirects, by Code).
func TestTheStackPrintsTossAndFailRedirectMetrics(t *testing.T) {
	s, logs := startStack(t, stack.Options{
		Functions: []string{"CreateOrderFunction", "PaymentSuccessFunction", "ConfirmPaymentFunction", "PaymentFailFunction"},
		// The success function's every Toss call answers INVALID_API_KEY,
		// as Toss does for a test key with this header.
		EnvOverrides: stack.EnvFile{"PaymentSuccessFunction": {"TOSS_TEST_CODE": "INVALID_API_KEY"}},
	})
	merchant := map[string]string{"Authorization": basic(stack.DefaultMerchantAPIKey), "Content-Type": "application/json"}
	create := func(name string, amount int64) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"orderName": name, "amount": amount})
		r := do(t, "POST", s.URL+"/orders", merchant, body)
		var env struct{ EntityBody struct{ OrderID string } }
		if r.Status != 200 || json.Unmarshal(r.Body, &env) != nil {
			t.Fatalf("create order: %d %s", r.Status, r.Body)
		}
		return env.EntityBody.OrderID
	}

	refused := create("Refused by configuration", 12000)
	pk := s.Sandbox.Authorize(refused, "Refused by configuration", 12000)
	q := url.Values{"orderId": {refused}, "paymentKey": {pk}, "amount": {"12000"}, "lang": {"en"}}
	if r := do(t, "GET", s.URL+"/payments/success?"+q.Encode(), nil, nil); r.Status != 503 {
		t.Fatalf("success redirect under INVALID_API_KEY: %d %s", r.Status, r.Body)
	}

	older := create("Older API version", 13000)
	s.Sandbox.SetPaymentVersion("1.4")
	pk = s.Sandbox.Authorize(older, "Older API version", 13000)
	body, _ := json.Marshal(map[string]any{"paymentKey": pk, "orderId": older, "amount": 13000})
	if r := do(t, "POST", s.URL+"/payments/confirm", map[string]string{"Content-Type": "application/json"}, body); r.Status != 200 {
		t.Fatalf("confirm answered in version 1.4: %d %s", r.Status, r.Body)
	}

	q = url.Values{"code": {"PAY_PROCESS_ABORTED"}, "message": {"[EXCEPTION] 해외카드 결제가 허용되지 않은 가맹점입니다."}, "orderId": {refused}}
	if r := do(t, "GET", s.URL+"/payments/fail?"+q.Encode(), nil, nil); r.Status != 200 {
		t.Fatalf("fail redirect: %d %s", r.Status, r.Body)
	}
	if err := s.Close(); err != nil { // every function's output flushed
		t.Fatal(err)
	}

	want := []struct {
		function, metric, code string
	}{
		{"PaymentSuccessFunction", "TossConfigurationErrors", "INVALID_API_KEY"},
		{"ConfirmPaymentFunction", "TossApiVersionMismatch", ""},
		{"PaymentFailFunction", "PaymentFailRedirects", "PAY_PROCESS_ABORTED"},
	}
	lines := emfLines(logs.String())
	for _, w := range want {
		found := false
		for _, l := range lines {
			if l.function == w.function && len(l.metrics) == 1 && l.metrics[0] == w.metric && l.fields[w.metric] == float64(1) &&
				(w.code == "" || l.fields["Code"] == w.code) {
				found = true
			}
		}
		if !found {
			t.Errorf("no EMF line of %s from %s (Code %q) among %d", w.metric, w.function, w.code, len(lines))
		}
	}
	if t.Failed() {
		for _, l := range lines {
			t.Log(l.function, l.metrics, fmt.Sprint(l.fields["Code"]))
		}
	}
}
