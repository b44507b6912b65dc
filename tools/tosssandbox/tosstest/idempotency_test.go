package tosstest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/tools/tossrules"
)

// TestIdempotency walks Toss's Idempotency-Key rules
// (docs/toss-api.md#idempotency-key) one scenario at a time; each
// scenario is a sequence of calls against a fresh sandbox with one
// authenticated payment.
func TestIdempotency(t *testing.T) {
	const order, amount = "order-idem-1", int64(12000)
	type env struct {
		s   *Server
		key string // the authenticated payment
	}
	tests := []struct {
		name         string
		run          func(t *testing.T, e env)
		wantExecuted int
	}{
		{"new key executes", func(t *testing.T, e env) {
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-new")))
		}, 1},
		{"replay of success is byte for byte", func(t *testing.T, e env) {
			first := mustSend(t, e.s, confirmCall(e.key, order, amount, "k-replay"))
			wantOK(t, first)
			again := mustSend(t, e.s, confirmCall(e.key, order, amount, "k-replay"))
			wantOK(t, again)
			if !bytes.Equal(first.Body, again.Body) {
				t.Fatalf("replay differs:\n%s\n%s", first.Body, again.Body)
			}
			reqs := e.s.Requests()
			if last := reqs[len(reqs)-1]; !last.Replayed || last.Status != 200 {
				t.Fatalf("last request = %+v, want a recorded replay", last)
			}
		}, 1},
		{"body is not part of the scope", func(t *testing.T, e env) {
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-body")))
			other := e.s.Authorize("order-idem-2", "Other", 999)
			a := mustSend(t, e.s, confirmCall(other, "order-idem-2", 999, "k-body"))
			wantOK(t, a)
			if a.str("paymentKey") != e.key || a.str("orderId") != order {
				t.Fatalf("a reused key must replay the first payment, got %s", a.Body)
			}
			if info, _ := e.s.Payment(other); info.Status != StatusInProgress {
				t.Fatalf("the second payment was executed: %s", info.Status)
			}
		}, 1},
		{"replay of an error", func(t *testing.T, e env) {
			wantError(t, mustSend(t, e.s, confirmCall(e.key, order, amount+1, "k-err")), 400, tossrules.CodeInvalidRequest)
			// The corrected body under the same key still gets the first answer.
			wantError(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-err")), 400, tossrules.CodeInvalidRequest)
			if info, _ := e.s.Payment(e.key); info.Status != StatusInProgress {
				t.Fatalf("status %s", info.Status)
			}
		}, 0},
		{"replay of a test-code answer", func(t *testing.T, e env) {
			c := confirmCall(e.key, order, amount, "k-tc")
			c.Header["TossPayments-Test-Code"] = "REJECT_CARD_COMPANY"
			wantError(t, mustSend(t, e.s, c), 403, "REJECT_CARD_COMPANY")
			wantError(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-tc")), 403, "REJECT_CARD_COMPANY")
		}, 0},
		{"key of 300 characters is accepted", func(t *testing.T, e env) {
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, strings.Repeat("가", 300))))
		}, 1},
		{"key over 300 characters", func(t *testing.T, e env) {
			wantError(t, mustSend(t, e.s, confirmCall(e.key, order, amount, strings.Repeat("k", 301))), 400, tossrules.CodeInvalidIdempotencyKey)
		}, 0},
		{"over-long key ignored on GET", func(t *testing.T, e env) {
			wantOK(t, mustSend(t, e.s, call{Method: http.MethodGet, Path: "/v1/payments/" + e.key,
				Header: map[string]string{"Idempotency-Key": strings.Repeat("k", 301)}}))
		}, 0},
		{"same key on another URL is independent", func(t *testing.T, e env) {
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-url")))
			a := mustSend(t, e.s, call{Method: http.MethodPost, Path: "/v1/payments/" + e.key + "/cancel",
				Body: `{"cancelReason":"test"}`, Header: map[string]string{"Idempotency-Key": "k-url"}})
			wantOK(t, a)
			if a.str("status") != StatusCanceled {
				t.Fatalf("cancel under a key used on confirm: %s", a.Body)
			}
		}, 1},
		{"same key with another method is independent", func(t *testing.T, e env) {
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-method")))
			// GET ignores the key and answers afresh: the payment as it is now.
			a := mustSend(t, e.s, call{Method: http.MethodGet, Path: "/v1/payments/" + e.key, Header: map[string]string{"Idempotency-Key": "k-method"}})
			wantOK(t, a)
			reqs := e.s.Requests()
			if reqs[len(reqs)-1].Replayed {
				t.Fatal("a GET was answered from the idempotency record")
			}
			// The key on confirm under POST is untouched by the GET.
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-method")))
		}, 1},
		{"same key under another API key is independent", func(t *testing.T, e env) {
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-apikey")))
			e.s.RotateSecretKey("test_sk_sandbox_second_2222")
			// Processed afresh, so the already-approved payment is refused rather than replayed.
			wantError(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-apikey")), 400, tossrules.CodeAlreadyProcessedPayment)
		}, 1},
		{"replayed within 15 days", func(t *testing.T, e env) {
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-ttl")))
			e.s.Advance(15*24*time.Hour - time.Second)
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-ttl")))
		}, 1},
		{"forgotten after 15 days", func(t *testing.T, e env) {
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-ttl")))
			e.s.Advance(15 * 24 * time.Hour)
			wantError(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-ttl")), 400, tossrules.CodeAlreadyProcessedPayment)
		}, 1},
		{"no key is processed every time", func(t *testing.T, e env) {
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "")))
			wantError(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "")), 400, tossrules.CodeAlreadyProcessedPayment)
		}, 1},
		{"auth failure is not recorded", func(t *testing.T, e env) {
			c := confirmCall(e.key, order, amount, "k-auth")
			c.Header["Authorization"] = basicAuth("test_sk_sandbox_wrong")
			wantError(t, mustSend(t, e.s, c), 401, tossrules.CodeUnauthorizedKey)
			wantOK(t, mustSend(t, e.s, confirmCall(e.key, order, amount, "k-auth")))
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t, WithClock(fixedClock()))
			tt.run(t, env{s: s, key: s.Authorize(order, "Tea", amount)})
			if n := s.ConfirmsExecuted(order); n != tt.wantExecuted {
				t.Fatalf("ConfirmsExecuted = %d, want %d", n, tt.wantExecuted)
			}
		})
	}
}

// TestIdempotencyInFlight holds the first request with latency, so the
// repeat arrives while it is provably still being processed.
func TestIdempotencyInFlight(t *testing.T) {
	s := NewServer(t)
	const order = "order-inflight-1"
	key := s.Authorize(order, "Tea", 8000)
	s.SetLatency(time.Hour) // released below by SetLatency(0), not by waiting

	first := make(chan answer, 1)
	go func() { first <- send(t, s, nil, confirmCall(key, order, 8000, "k-inflight")) }()
	waitFor(t, "the first confirm to be in flight", func() bool { return s.InFlight() == 1 })

	wantError(t, mustSend(t, s, confirmCall(key, order, 8000, "k-inflight")), 409, tossrules.CodeIdempotentRequestProcessing)
	if n := s.ConfirmsExecuted(order); n != 0 {
		t.Fatalf("executed before the latency ended: %d", n)
	}

	s.SetLatency(0)
	a := <-first
	wantOK(t, a)
	replay := mustSend(t, s, confirmCall(key, order, 8000, "k-inflight"))
	wantOK(t, replay)
	if !bytes.Equal(a.Body, replay.Body) {
		t.Fatal("the answer after the in-flight period is not the first answer")
	}
	if n := s.ConfirmsExecuted(order); n != 1 {
		t.Fatalf("ConfirmsExecuted = %d, want 1", n)
	}
}
