package toss

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"
)

func always500(w http.ResponseWriter, _ *http.Request, _ int) {
	tossError(w, 500, CodeFailedInternalSystem)
}

// The deadline tests assert on attempt counts and error classes only.
func TestRetryStopsAtDeadline(t *testing.T) {
	t.Run("no wait that would cross the deadline", func(t *testing.T) {
		srv, rec := serve(t, always500)
		c := newClient(t, srv, func(o *Options) {
			o.Retry = RetryPolicy{MaxAttempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour}
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := c.Payment(ctx, pk)
		if ctx.Err() != nil {
			t.Error("call ran into its deadline; it should have returned instead of waiting")
		}
		if got := rec.count(); got != 1 {
			t.Errorf("requests = %d, want 1", got)
		}
		var te *Error
		if !errors.As(err, &te) || te.Status != 500 || Classify(err) != ClassRetryable {
			t.Errorf("err = %v (class %v), want the last 500, retryable", err, Classify(err))
		}
	})

	t.Run("short deadline, fast retries, huge budget", func(t *testing.T) {
		srv, rec := serve(t, always500)
		const budget = 1 << 20
		c := newClient(t, srv, func(o *Options) {
			o.Retry = RetryPolicy{MaxAttempts: budget, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := c.Confirm(ctx, ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, "idem-deadline")
		n := rec.count()
		if n < 2 || n >= budget {
			t.Errorf("requests = %d, want retries bounded by the deadline", n)
		}
		var te *Error
		if !errors.As(err, &te) {
			t.Fatalf("err = %#v, want *Error", err)
		}
		// Either the last 500, or the request in flight when the deadline hit.
		switch {
		case te.Status == 500 && Classify(err) == ClassRetryable:
		case te.Status == 0 && Classify(err) == ClassUnknown && errors.Is(err, context.DeadlineExceeded):
		default:
			t.Errorf("err = %v (class %v)", err, Classify(err))
		}
	})

	t.Run("no retry once the caller gave up", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
			cancel()
			always500(w, r, n)
		})
		c := newClient(t, srv, func(o *Options) { o.Retry.MaxAttempts = 10 })
		_, err := c.Payment(ctx, pk)
		if got := rec.count(); got != 1 {
			t.Errorf("requests = %d, want 1", got)
		}
		var te *Error
		if !errors.As(err, &te) {
			t.Fatalf("err = %#v, want *Error", err)
		}
	})

	t.Run("a hung request ends at the deadline as unknown", func(t *testing.T) {
		srv, rec := serve(t, func(_ http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() })
		c := newClient(t, srv, func(o *Options) { o.Retry.MaxAttempts = 10 })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Confirm(ctx, ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, "idem-hung")
		if !errors.Is(err, context.DeadlineExceeded) || Classify(err) != ClassUnknown {
			t.Errorf("err = %v (class %v), want deadline, unknown", err, Classify(err))
		}
		if got := rec.count(); got != 1 {
			t.Errorf("requests = %d, want 1", got)
		}
	})
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		deadline   time.Duration
		wantReqs   int
		wantErr    bool
	}{
		{name: "zero seconds: retried", retryAfter: "0", deadline: time.Minute, wantReqs: 2},
		{name: "past HTTP date: retried", retryAfter: "Mon, 02 Jan 2006 15:04:05 GMT", deadline: time.Minute, wantReqs: 2},
		{name: "garbage: ordinary backoff", retryAfter: "soon", deadline: time.Minute, wantReqs: 2},
		{name: "beyond the cap: returned", retryAfter: "3600", deadline: time.Minute, wantReqs: 1, wantErr: true},
		{name: "past the deadline: returned", retryAfter: "5", deadline: time.Second, wantReqs: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					w.Header().Set("Retry-After", tt.retryAfter)
					tossError(w, 429, CodeTooManyRequests)
					return
				}
				okPayment(w, r, n)
			})
			c := newClient(t, srv, nil)
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			_, err := c.Payment(ctx, pk)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && Classify(err) != ClassRetryable {
				t.Errorf("class = %v, want retryable", Classify(err))
			}
			if got := rec.count(); got != tt.wantReqs {
				t.Errorf("requests = %d, want %d", got, tt.wantReqs)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 2, 13, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"99999999999999", 24 * time.Hour, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"", 0, false},
		{"Tue, 13 Feb 2024 03:00:05 GMT", 5 * time.Second, true},
		{"Tue, 13 Feb 2024 02:59:00 GMT", 0, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		name   string
		policy RetryPolicy
		retry  int
		lo, hi time.Duration
	}{
		{"first retry", RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}, 1, 50 * time.Millisecond, 100 * time.Millisecond},
		{"third retry doubles twice", RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}, 3, 200 * time.Millisecond, 400 * time.Millisecond},
		{"capped", RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}, 30, 500 * time.Millisecond, time.Second},
		{"no overflow near the top", RetryPolicy{BaseDelay: time.Nanosecond, MaxDelay: math.MaxInt64}, 200, math.MaxInt64 / 2, math.MaxInt64},
		{"base equals max", RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}, 5, time.Millisecond / 2, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 200 {
				if d := tt.policy.backoff(tt.retry); d < tt.lo || d > tt.hi {
					t.Fatalf("backoff(%d) = %v, want in [%v, %v]", tt.retry, d, tt.lo, tt.hi)
				}
			}
		})
	}
}

func BenchmarkConfirm(b *testing.B) {
	srv, _ := serve(b, okPayment)
	c, err := New(Options{BaseURL: srv.URL, SecretKey: StaticKey(testKey)})
	if err != nil {
		b.Fatal(err)
	}
	req := ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}
	for b.Loop() {
		if _, err := c.Confirm(context.Background(), req, "idem-bench"); err != nil {
			b.Fatal(err)
		}
	}
}
