package check

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{Name: "API", Status: Pass, Detail: "answers"}, "✓ API: answers"},
		{Result{Name: "orders table TTL", Status: Fail, Detail: "TTL is off", Fix: "turn it on"}, "✗ orders table TTL: TTL is off — turn it on"},
		{Result{Name: "webhook route", Status: Fail, Detail: "answers 502"}, "✗ webhook route: answers 502"},
		{Result{Name: "reconciler schedule", Status: Skip, Detail: "not checked", Fix: "ignored when skipped"}, "- reconciler schedule: not checked"},
	} {
		if got := Line(tc.r); got != tc.want {
			t.Errorf("Line(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestPrintCountsAndVerdict(t *testing.T) {
	for _, tc := range []struct {
		name    string
		results []Result
		failed  bool
		last    string
	}{
		{"all pass", []Result{{Name: "a", Status: Pass}, {Name: "b", Status: Skip}}, false, "1 passed, 0 failed, 1 not checked: ready to take a payment"},
		{"one fails", []Result{{Name: "a", Status: Pass}, {Name: "b", Status: Fail}}, true, "1 passed, 1 failed, 0 not checked: not ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			Print(&b, tc.results)
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			if len(lines) != len(tc.results)+1 || !strings.HasPrefix(lines[len(lines)-1], tc.last) {
				t.Errorf("printed:\n%s\nwant a last line starting %q", b.String(), tc.last)
			}
			if Failed(tc.results) != tc.failed {
				t.Errorf("Failed = %v, want %v", !tc.failed, tc.failed)
			}
		})
	}
}

func TestFromFlagsNamesFollowTheTemplate(t *testing.T) {
	cfg := aws.Config{Region: "ap-northeast-2"}
	got, err := FromFlags(cfg, "https://abc.execute-api.ap-northeast-2.amazonaws.com/", Names{Stage: "prod", PaymentMode: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if got.APIURL != "https://abc.execute-api.ap-northeast-2.amazonaws.com" || got.OrdersTable != "tossintl-prod-orders" ||
		got.IdempotencyTable != "tossintl-prod-idempotency" || got.KeysSecret != "tossintl/prod/keys" ||
		got.PaymentMode != "live" || got.TossAPIBaseURL != "https://api.tosspayments.com" || got.Events != nil {
		t.Errorf("FromFlags = %+v", got)
	}
	if got, _ := FromFlags(cfg, "https://x", Names{ScheduleRule: "tossintl-dev-ReconcileFunctionEvery5Minutes-1"}); got.Events == nil || got.OrdersTable != "tossintl-dev-orders" {
		t.Errorf("with a rule: %+v", got)
	}
	for _, bad := range []struct {
		api string
		n   Names
	}{{"abc.execute-api", Names{}}, {"https://x", Names{PaymentMode: "prod"}}} {
		if _, err := FromFlags(cfg, bad.api, bad.n); err == nil {
			t.Errorf("FromFlags(%q, %+v) accepted", bad.api, bad.n)
		}
	}
}
