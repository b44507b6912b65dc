package toss

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzDecodePayment: whatever Toss (or a proxy in front of it) sends, the
// decoder returns a value or an error, never a panic, and a decoded payment
// encodes again.
func FuzzDecodePayment(f *testing.F) {
	sample, err := os.ReadFile("testdata/payment_card_done.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte(`{"paymentKey":"k","orderId":"o","status":"NEW_STATUS","easyPay":"토스페이","card":null,"approvedAt":null}`))
	f.Add([]byte(`{"totalAmount":1e3}`))
	f.Add([]byte(`{"approvedAt":"2024-02-13T12:18:14.123456"}`))
	f.Add([]byte(`{"cancels":[{"canceledAt":"bad"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Payment
		if err := json.Unmarshal(b, &p); err != nil {
			return
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("decoded payment does not encode: %v", err)
		}
	})
}

// FuzzParseError: both error shapes and anything else map to an *Error with
// the status kept, never a panic, and its class is always defined.
func FuzzParseError(f *testing.F) {
	f.Add(400, []byte(`{"code":"PROVIDER_ERROR","message":"일시적인 오류"}`))
	f.Add(403, []byte(`{"version":"2022-11-16","traceId":"t","error":{"code":"REJECT_CARD_COMPANY","message":"m"}}`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Add(400, []byte(`{"code":1,"error":"x"}`))
	f.Add(500, []byte{})
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		e := parseError("POST", "/v1/payments/confirm", status, body, nil)
		if e == nil || e.Status != status {
			t.Fatalf("parseError lost the status: %+v", e)
		}
		if c := e.Class(); c != ClassDefinitive && c != ClassRetryable && c != ClassUnknown {
			t.Fatalf("undefined class %v", c)
		}
		_ = e.Error()
	})
}

// FuzzParseTime: any string is parsed or refused, never a panic.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-02-13T12:18:14+09:00", "2024-02-13T12:18:14.123456", "2024-02-13T12:18:14", "", "garbage"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseTime(s)
	})
}
