package tosstest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDrillsOverHTTP drives the drills the way a black-box test of the local
// stack does: over HTTP, with nothing but the sandbox's URL.
func TestDrillsOverHTTP(t *testing.T) {
	s := NewServer(t)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	confirm := func(key, orderID string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/v1/payments/confirm",
			strings.NewReader(`{"paymentKey":"`+key+`","orderId":"`+orderID+`","amount":10000}`))
		req.SetBasicAuth(s.SecretKey(), "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.Client().Do(req)
		if err != nil {
			return 0 // dropped
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	status, body := call("POST", "/sandbox/authorize", `{"orderId":"order-drill-1","orderName":"Tea","amount":10000}`)
	var auth struct{ PaymentKey string }
	if status != 200 || json.Unmarshal([]byte(body), &auth) != nil || auth.PaymentKey == "" {
		t.Fatalf("authorize: %d %s", status, body)
	}

	if status, body := call("POST", "/sandbox/faults", `{"fault":"429","count":1}`); status != 200 {
		t.Fatalf("faults: %d %s", status, body)
	}
	if got := confirm(auth.PaymentKey, "order-drill-1"); got != 429 {
		t.Errorf("confirm after a queued 429: %d, want 429", got)
	}
	if status, _ := call("POST", "/sandbox/approve-then-drop", `{"count":1}`); status != 200 {
		t.Fatalf("approve-then-drop: %d", status)
	}
	if got := confirm(auth.PaymentKey, "order-drill-1"); got != 0 {
		t.Errorf("confirm under approve-then-drop answered %d, want a dropped connection", got)
	}

	status, body = call("GET", "/sandbox/orders/order-drill-1", "")
	var rep struct {
		ConfirmsExecuted int
		Payments         []struct{ PaymentKey, Status string }
	}
	if status != 200 || json.Unmarshal([]byte(body), &rep) != nil {
		t.Fatalf("orders: %d %s", status, body)
	}
	if rep.ConfirmsExecuted != 1 || len(rep.Payments) != 1 || rep.Payments[0].Status != "DONE" || rep.Payments[0].PaymentKey != auth.PaymentKey {
		t.Errorf("order report = %+v, want one DONE payment, one confirm executed", rep)
	}

	status, body = call("GET", "/sandbox/requests", "")
	var reqs []struct {
		Path    string
		Fault   string
		Dropped bool
	}
	if status != 200 || json.Unmarshal([]byte(body), &reqs) != nil || len(reqs) != 2 {
		t.Fatalf("requests: %d %s", status, body)
	}
	if reqs[0].Fault != "429" || !reqs[1].Dropped {
		t.Errorf("requests = %+v, want the 429 then the dropped confirm", reqs)
	}
	if strings.Contains(body, s.SecretKey()) {
		t.Error("the request log shows the secret key")
	}

	if status, _ := call("POST", "/sandbox/reset", ""); status != 200 {
		t.Fatalf("reset: %d", status)
	}
	if _, body := call("GET", "/sandbox/orders/order-drill-1", ""); !strings.Contains(body, `"payments":[]`) {
		t.Errorf("after reset: %s", body)
	}
}

func TestDrillsRefuseBadRequests(t *testing.T) {
	s := NewServer(t)
	tests := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/sandbox/faults", `{"fault":"teapot","count":1}`, 400},
		{"POST", "/sandbox/faults", `{"fault":"5xx","count":-1}`, 400},
		{"POST", "/sandbox/faults", `{"fault":"5xx","count":10001}`, 400},
		{"POST", "/sandbox/faults", `not json`, 400},
		{"POST", "/sandbox/latency", `{"ms":600000}`, 400},
		{"POST", "/sandbox/authorize", `{"orderId":"x"}`, 400},
		{"GET", "/sandbox/faults", ``, 405},
		{"POST", "/sandbox/orders/x", ``, 405},
		{"POST", "/sandbox/nothing", `{}`, 404},
		{"GET", "/sandbox/orders/a/b", ``, 404},
	}
	for _, tt := range tests {
		req, _ := http.NewRequestWithContext(t.Context(), tt.method, s.URL+tt.path, strings.NewReader(tt.body))
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), `"message"`) {
			t.Errorf("%s %s %s: %d %s, want %d with a message", tt.method, tt.path, tt.body, resp.StatusCode, b, tt.status)
		}
	}
}
