package measure

import (
	"strings"
	"testing"
)

func TestTossRouteHidesKeysAndIDs(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/payments/confirm":                     "/v1/payments/confirm",
		"/v1/payments/orders/ord_abc":              "/v1/payments/orders/{orderId}",
		"/v1/payments/tgen_2026113006513/cancel":   "/v1/payments/{paymentKey}/cancel",
		"/v1/payments/tgen_20261130065133Hngyz6d0": "/v1/payments/{paymentKey}",
	} {
		if got := tossRoute(path); got != want {
			t.Errorf("tossRoute(%q) = %q, want %q", path, got, want)
		}
		if strings.Contains(tossRoute(path), "tgen_") {
			t.Errorf("%q kept its paymentKey", path)
		}
	}
}

func TestCPUReadings(t *testing.T) {
	busy, total := machineCPU()
	if total <= 0 || busy < 0 || busy > total {
		t.Errorf("machine CPU busy %g of %g ticks", busy, total)
	}
}
