package toss

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A paymentKey in a URL path shows up masked in log lines and error
// strings, whether Toss answered or the connection failed (the transport's
// own error names the request URL).
func TestPaymentKeyMaskedInLogsAndErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
	}{
		{"answered", func(w http.ResponseWriter) {
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"code":"NOT_FOUND_PAYMENT","message":"not found"}`))
		}},
		{"no response", hangUp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.answer(w) }))
			defer srv.Close()
			var logs bytes.Buffer
			c, err := New(Options{BaseURL: srv.URL, SecretKey: StaticKey("test_sk_mask_0000"), Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			const pk = "tgen_20261122120000ABCDEFGHIJ"
			_, err = c.Payment(context.Background(), pk)
			if err == nil {
				t.Fatal("want an error")
			}
			for where, text := range map[string]string{"error": err.Error(), "logs": logs.String()} {
				if strings.Contains(text, pk) {
					t.Errorf("%s holds the whole paymentKey: %s", where, text)
				}
				if !strings.Contains(text, "tgen****GHIJ") {
					t.Errorf("%s lacks the masked paymentKey: %s", where, text)
				}
			}
		})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"code":"NOT_FOUND_PAYMENT","message":"not found"}`))
	}))
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, SecretKey: StaticKey("test_sk_mask_0000")})
	if err != nil {
		t.Fatal(err)
	}
	// Order ids are not secret and stay readable.
	_, err = c.PaymentByOrderID(context.Background(), "ord_readable_0001")
	if err == nil || !strings.Contains(err.Error(), "/v1/payments/orders/ord_readable_0001") {
		t.Errorf("orderId path: %v", err)
	}
}
