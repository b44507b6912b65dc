package payments

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestParseWebhookBounds: a body of exactly MaxWebhookBytes is a webhook
// and one byte more is not; the claimed balance is kept from 0 to 1e15
// inclusive and dropped outside; the claimed orderId and status are kept
// whole up to their bounds (70 and 40 bytes) and cut there with an
// ellipsis beyond.
func TestParseWebhookBounds(t *testing.T) {
	t.Run("body size", func(t *testing.T) {
		head := `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:18:14","data":{"paymentKey":"tgen_1"},"pad":"`
		tail := `"}`
		atLimit := []byte(head + strings.Repeat("x", MaxWebhookBytes-len(head)-len(tail)) + tail)
		if len(atLimit) != MaxWebhookBytes {
			t.Fatalf("body of %d bytes, want %d", len(atLimit), MaxWebhookBytes)
		}
		if w, err := ParseWebhook(atLimit); err != nil || w.PaymentKey != "tgen_1" {
			t.Fatalf("body of exactly MaxWebhookBytes: %v %+v", err, w)
		}
		over := append(bytes.Clone(atLimit[:len(atLimit)-len(tail)]), 'x')
		over = append(over, tail...)
		if _, err := ParseWebhook(over); !errors.Is(err, ErrMalformedWebhook) {
			t.Fatalf("body one byte over: %v, want a malformed webhook", err)
		}
	})

	t.Run("claimed balance", func(t *testing.T) {
		for _, c := range []struct {
			balance string
			want    *int64
		}{
			{"0", ptr(int64(0))},
			{"1", ptr(int64(1))},
			{"1000000000000000", ptr(int64(1e15))},
			{"1000000000000001", nil},
			{"-1", nil},
			{"1.5", nil},
			{`"5000"`, nil},
		} {
			body := `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:18:14","data":{"paymentKey":"tgen_1","status":"CANCELED","balanceAmount":` + c.balance + `}}`
			w, err := ParseWebhook([]byte(body))
			if err != nil {
				t.Fatalf("balanceAmount %s: %v", c.balance, err)
			}
			switch {
			case c.want == nil && w.Balance != nil:
				t.Errorf("balanceAmount %s: kept as %d, want dropped", c.balance, *w.Balance)
			case c.want != nil && (w.Balance == nil || *w.Balance != *c.want):
				t.Errorf("balanceAmount %s: got %v, want %d", c.balance, w.Balance, *c.want)
			}
		}
	})

	t.Run("claimed orderId and status", func(t *testing.T) {
		for _, c := range []struct {
			orderID, status         string
			wantOrderID, wantStatus string
		}{
			{strings.Repeat("o", 70), strings.Repeat("S", 40), strings.Repeat("o", 70), strings.Repeat("S", 40)},
			{strings.Repeat("o", 71), strings.Repeat("S", 41), strings.Repeat("o", 70) + "…", strings.Repeat("S", 40) + "…"},
			{"ord-1", "DONE", "ord-1", "DONE"},
		} {
			body := `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:18:14","data":{"paymentKey":"tgen_1","orderId":"` +
				c.orderID + `","status":"` + c.status + `"}}`
			w, err := ParseWebhook([]byte(body))
			if err != nil {
				t.Fatalf("orderId of %d bytes: %v", len(c.orderID), err)
			}
			if w.OrderID != c.wantOrderID || w.Status != c.wantStatus {
				t.Errorf("orderId of %d, status of %d bytes: got %q %q, want %q %q",
					len(c.orderID), len(c.status), w.OrderID, w.Status, c.wantOrderID, c.wantStatus)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
