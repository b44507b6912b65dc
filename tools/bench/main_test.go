package main

import (
	"path/filepath"
	"testing"
	"time"
)

func TestParseBench(t *testing.T) {
	out := []byte("goos: linux\nBenchmarkConfirm/first-2   \t    2000\t     33301 ns/op\t    9444 B/op\t     109 allocs/op\n" +
		"BenchmarkCheckout \t 100\t 45972.5 ns/op\t 29284 B/op\t 214 allocs/op\nPASS\n")
	got := parseBench(out)
	if len(got) != 2 {
		t.Fatalf("parsed %d results: %+v", len(got), got)
	}
	if r := got[0]; r.Name != "Confirm/first" || r.NsPerOp != 33301 || r.BytesPerOp != 9444 || r.Allocs != 109 || r.Iterations != 2000 {
		t.Errorf("first: %+v", r)
	}
	if r := got[1]; r.Name != "Checkout" || r.NsPerOp != 45972.5 {
		t.Errorf("second: %+v", r)
	}
}

func TestParseRoundTrips(t *testing.T) {
	out := []byte("    roundtrips_test.go:242: roundtrips\tfirst confirm (POST /payments/confirm)\tdynamodb=2\tsecretsmanager=1\n" +
		"    roundtrips_test.go:242: roundtrips\tfail page\tdynamodb=1\tsecretsmanager=0\n")
	got := parseRoundTrips(out)
	want := []roundTrip{{"first confirm (POST /payments/confirm)", 2, 1}, {"fail page", 1, 0}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestEventFile(t *testing.T) {
	for fn, want := range map[string]string{
		"ConfirmPaymentFunction": "confirm-payment.json",
		"CheckoutFunction":       "checkout.json",
		"TossWebhookFunction":    "toss-webhook.json",
	} {
		if got := eventFile(fn); got != filepath.Join("events", want) {
			t.Errorf("eventFile(%s) = %s, want events/%s", fn, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	if p := percentile(d, 50); p != 50 {
		t.Errorf("p50 = %d", p)
	}
	if p := percentile(d, 99); p != 99 {
		t.Errorf("p99 = %d", p)
	}
	if p := percentile(d[:9], 50); p != 5 {
		t.Errorf("p50 of 9 = %d", p)
	}
}

func TestRefsOf(t *testing.T) {
	for _, c := range []struct {
		event string
		want  refs
	}{
		{`{"pathParameters":{"orderId":"ord_a"}}`, refs{orderID: "ord_a"}},
		{`{"pathParameters":{"paymentKey":"tgen_k"},"body":"{\"cancelAmount\": 10000}"}`, refs{paymentKey: "tgen_k"}},
		{`{"queryStringParameters":{"orderId":"ord_b","paymentKey":"tgen_b","amount":"39000"}}`, refs{"ord_b", "tgen_b", 39000}},
		{`{"body":"{\"paymentKey\": \"tgen_c\", \"orderId\": \"ord_c\", \"amount\": 52000}"}`, refs{"ord_c", "tgen_c", 52000}},
		{`{"body":"{\"data\": {\"paymentKey\": \"tgen_d\", \"orderId\": \"ord_d\", \"totalAmount\": 39000}}"}`, refs{"ord_d", "tgen_d", 39000}},
	} {
		if got := refsOf(c.event); got != c.want {
			t.Errorf("refsOf(%s) = %+v, want %+v", c.event, got, c.want)
		}
	}
}
