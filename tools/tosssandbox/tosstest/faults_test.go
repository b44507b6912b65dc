package tosstest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/tools/tossrules"
)

func TestFailNext(t *testing.T) {
	tests := []struct {
		fault      Fault
		wantStatus int
		wantCode   string // empty: the connection is dropped
	}{
		{Fault5xx, 500, tossrules.CodeFailedInternalSystem},
		{Fault429, 429, tossrules.CodeTooManyRequests},
		{FaultProviderError, 400, tossrules.CodeProviderError},
		{FaultDrop, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			s := NewServer(t)
			const order = "order-fault-1"
			key := s.Authorize(order, "Tea", 4000)
			s.FailNext(1, tt.fault)

			a := send(t, s, noKeepAlive(), confirmCall(key, order, 4000, "k-fault"))
			if tt.wantCode == "" {
				if a.Err == nil {
					t.Fatalf("want a dropped connection, got %d %s", a.Status, a.Body)
				}
			} else {
				wantError(t, a, tt.wantStatus, tt.wantCode)
			}
			if n := s.ConfirmsExecuted(order); n != 0 {
				t.Fatalf("a faulted call executed the confirm")
			}
			reqs := s.Requests()
			if got := reqs[len(reqs)-1]; got.Fault != tt.fault || got.Dropped != (tt.wantCode == "") {
				t.Fatalf("recorded %+v", got)
			}

			// The fault sat in front of the idempotency layer: a retry under
			// the same key is processed, not replayed.
			wantOK(t, send(t, s, noKeepAlive(), confirmCall(key, order, 4000, "k-fault")))
			if n := s.ConfirmsExecuted(order); n != 1 {
				t.Fatalf("ConfirmsExecuted = %d, want 1", n)
			}
		})
	}
}

func TestFailNextQueues(t *testing.T) {
	s := NewServer(t)
	s.FailNext(2, Fault5xx)
	s.FailNext(1, Fault429)
	get := call{Method: http.MethodGet, Path: "/v1/payments/tgen_nope", Header: map[string]string{"Accept-Language": "en-US"}}
	for i, want := range []struct {
		status int
		code   string
	}{{500, tossrules.CodeFailedInternalSystem}, {500, tossrules.CodeFailedInternalSystem}, {429, tossrules.CodeTooManyRequests}, {404, tossrules.CodeNotFoundPayment}} {
		a := mustSend(t, s, get)
		if a.Status != want.status || a.code() != want.code {
			t.Fatalf("call %d: %d %s, want %d %s", i, a.Status, a.code(), want.status, want.code)
		}
	}
	// Faults come before authentication: a gateway fails whoever calls.
	s.FailNext(1, Fault5xx)
	wantError(t, mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/x", Header: map[string]string{"Authorization": ""}}), 500, tossrules.CodeFailedInternalSystem)
}

func TestApproveThenDrop(t *testing.T) {
	tests := []struct {
		name      string
		retryKey  string // Idempotency-Key of the retry
		wantRetry int
		wantCode  string
	}{
		{"retry under the same key replays the approval", "k-drop", 200, ""},
		{"retry under a new key is refused", "k-drop-2", 400, tossrules.CodeAlreadyProcessedPayment},
		{"retry without a key is refused", "", 400, tossrules.CodeAlreadyProcessedPayment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t)
			const order = "order-drop-1"
			key := s.Authorize(order, "Tea", 6000)
			s.ApproveThenDrop(1)

			// A failing confirm does not use up the drop: it is answered.
			wantError(t, send(t, s, noKeepAlive(), confirmCall(key, order, 5999, "k-wrong")), 400, tossrules.CodeInvalidRequest)

			a := send(t, s, noKeepAlive(), confirmCall(key, order, 6000, "k-drop"))
			if a.Err == nil {
				t.Fatalf("want a dropped connection, got %d %s", a.Status, a.Body)
			}
			info, _ := s.Payment(key)
			if info.Status != StatusDone || s.ConfirmsExecuted(order) != 1 {
				t.Fatalf("the dropped confirm was not executed: %+v", info)
			}

			r := send(t, s, noKeepAlive(), confirmCall(key, order, 6000, tt.retryKey))
			if tt.wantCode == "" {
				wantOK(t, r)
				if r.str("status") != StatusDone || r.str("paymentKey") != key {
					t.Fatalf("replay: %s", r.Body)
				}
			} else {
				wantError(t, r, tt.wantRetry, tt.wantCode)
			}
			// The merchant's way out: read the payment.
			g := mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/orders/" + order})
			if g.str("status") != StatusDone || g.num("totalAmount") != 6000 {
				t.Fatalf("lookup after the drop: %s", g.Body)
			}
			if n := s.ConfirmsExecuted(order); n != 1 {
				t.Fatalf("ConfirmsExecuted = %d, want exactly 1", n)
			}
		})
	}
}

// TestLatencyOutlivesTheClient shows what timeout handling must cope with:
// the client gives up, Toss carries on and approves.
func TestLatencyOutlivesTheClient(t *testing.T) {
	s := NewServer(t, WithLatency(time.Hour))
	const order = "order-slow-1"
	key := s.Authorize(order, "Tea", 3000)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/payments/confirm", strings.NewReader(confirmJSON(key, order, 3000)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", basicAuth(s.SecretKey()))
	req.Header.Set("Idempotency-Key", "k-slow")
	if resp, err := s.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("want a client timeout, got %d", resp.StatusCode)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a deadline error, got %v", err)
	}
	waitFor(t, "the confirm to be held by latency", func() bool { return s.InFlight() == 1 })
	if s.ConfirmsExecuted(order) != 0 {
		t.Fatal("executed before the latency passed")
	}

	s.SetLatency(0)
	waitFor(t, "the abandoned confirm to execute", func() bool { return s.ConfirmsExecuted(order) == 1 })
	wantOK(t, mustSend(t, s, confirmCall(key, order, 3000, "k-slow")))
	if n := s.ConfirmsExecuted(order); n != 1 {
		t.Fatalf("ConfirmsExecuted = %d", n)
	}
}

func TestReset(t *testing.T) {
	s := NewServer(t, WithClock(fixedClock()))
	key := s.Authorize("order-reset-1", "Tea", 1000)
	wantOK(t, mustSend(t, s, confirmCall(key, "order-reset-1", 1000, "k-reset")))
	s.FailNext(3, Fault5xx)
	s.ApproveThenDrop(2)
	s.SetLatency(time.Hour)
	s.Reset()

	if _, ok := s.Payment(key); ok || s.ConfirmsExecuted("order-reset-1") != 0 || len(s.Requests()) != 0 {
		t.Fatal("state survived Reset")
	}
	key2 := s.Authorize("order-reset-1", "Tea", 1000)
	// No latency, no fault, no drop, and the old key's record is gone.
	a := mustSend(t, s, confirmCall(key2, "order-reset-1", 1000, "k-reset"))
	wantOK(t, a)
	if a.str("paymentKey") != key2 {
		t.Fatal("an idempotency record survived Reset")
	}
}
