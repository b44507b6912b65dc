package tosstest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// The Toss client against the sandbox, over real HTTP: what passes here is
// what the product relies on at Toss.

func newClient(t *testing.T, sb *tosstest.Server, key toss.KeyFunc, logs *bytes.Buffer) *toss.Client {
	t.Helper()
	opts := toss.Options{BaseURL: sb.URL, SecretKey: key,
		// No keep-alive: a dropped connection must reach the client as such
		// (net/http silently resends idempotent requests on reused connections).
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second},
		Retry:      toss.RetryPolicy{MaxAttempts: 3, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}}
	if logs != nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := toss.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func confirmReqs(sb *tosstest.Server) []tosstest.Request {
	var out []tosstest.Request
	for _, r := range sb.Requests() {
		if r.Path == "/v1/payments/confirm" {
			out = append(out, r)
		}
	}
	return out
}

func TestClientAgainstSandboxConfirmAndLookups(t *testing.T) {
	sb := tosstest.NewServer(t)
	c := newClient(t, sb, toss.StaticKey(sb.SecretKey()), nil)
	pk := sb.Authorize("order-client-001", "Hanbok", 39000)
	p, err := c.Confirm(t.Context(), toss.ConfirmRequest{PaymentKey: pk, OrderID: "order-client-001", Amount: 39000}, "idem-client-001")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != toss.StatusDone || p.TotalAmount != 39000 || p.Card == nil || p.ApprovedAt == nil || p.Receipt == nil {
		t.Fatalf("payment %+v", p)
	}
	if r := confirmReqs(sb); len(r) != 1 || !r[0].AuthOK || r[0].IdempotencyKey != "idem-client-001" {
		t.Fatalf("requests %+v", r)
	}
	for _, get := range []func() (*toss.Payment, error){
		func() (*toss.Payment, error) { return c.Payment(t.Context(), pk) },
		func() (*toss.Payment, error) { return c.PaymentByOrderID(t.Context(), "order-client-001") },
	} {
		if got, err := get(); err != nil || got.PaymentKey != pk || got.Status != toss.StatusDone {
			t.Fatalf("lookup: %v %+v", err, got)
		}
	}
	// The same Idempotency-Key replays; another key is refused as already processed.
	if again, err := c.Confirm(t.Context(), toss.ConfirmRequest{PaymentKey: pk, OrderID: "order-client-001", Amount: 39000}, "idem-client-001"); err != nil || again.PaymentKey != pk {
		t.Fatalf("replay: %v", err)
	}
	_, err = c.Confirm(t.Context(), toss.ConfirmRequest{PaymentKey: pk, OrderID: "order-client-001", Amount: 39000}, "idem-client-002")
	if toss.CodeOf(err) != toss.CodeAlreadyProcessedPayment || toss.Classify(err) != toss.ClassUnknown {
		t.Fatalf("second key: %v (%v)", err, toss.Classify(err))
	}
	if n := sb.ConfirmsExecuted("order-client-001"); n != 1 {
		t.Fatalf("executed %d", n)
	}
	// Refunds: partial then the rest.
	if p, err := c.Cancel(t.Context(), pk, toss.CancelRequest{CancelReason: "partial", CancelAmount: 9000}, "refund-1"); err != nil || p.BalanceAmount != 30000 || p.Status != toss.StatusPartialCanceled {
		t.Fatalf("partial refund: %v %+v", err, p)
	}
	if p, err := c.Cancel(t.Context(), pk, toss.CancelRequest{CancelReason: "rest"}, "refund-2"); err != nil || p.BalanceAmount != 0 || p.Status != toss.StatusCanceled {
		t.Fatalf("rest: %v %+v", err, p)
	}
	_, err = c.Cancel(t.Context(), pk, toss.CancelRequest{CancelReason: "again"}, "refund-3")
	if toss.CodeOf(err) != toss.CodeAlreadyCanceledPayment || toss.Classify(err) != toss.ClassDefinitive {
		t.Fatalf("third refund: %v", err)
	}
}

func TestClientAgainstSandboxRetriesUnderOneKey(t *testing.T) {
	for _, f := range []tosstest.Fault{tosstest.Fault5xx, tosstest.Fault429, tosstest.FaultProviderError, tosstest.FaultDrop} {
		t.Run(f.String(), func(t *testing.T) {
			sb := tosstest.NewServer(t)
			c := newClient(t, sb, toss.StaticKey(sb.SecretKey()), nil)
			pk := sb.Authorize("order-retry-0001", "Tea", 5000)
			sb.FailNext(2, f)
			p, err := c.Confirm(t.Context(), toss.ConfirmRequest{PaymentKey: pk, OrderID: "order-retry-0001", Amount: 5000}, "idem-retry-1")
			if err != nil || p.Status != toss.StatusDone {
				t.Fatalf("confirm after two %s: %v", f, err)
			}
			reqs := confirmReqs(sb)
			if len(reqs) != 3 {
				t.Fatalf("%d attempts, want 3", len(reqs))
			}
			for _, r := range reqs {
				if r.IdempotencyKey != "idem-retry-1" {
					t.Fatalf("attempt with key %q", r.IdempotencyKey)
				}
			}
			if n := sb.ConfirmsExecuted("order-retry-0001"); n != 1 {
				t.Fatalf("executed %d", n)
			}
		})
	}
}

func TestClientAgainstSandboxStopsAtDeadline(t *testing.T) {
	sb := tosstest.NewServer(t)
	c := newClient(t, sb, toss.StaticKey(sb.SecretKey()), nil)
	pk := sb.Authorize("order-deadline01", "Tea", 5000)
	sb.FailNext(1000, tosstest.Fault5xx)
	sb.SetLatency(40 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Confirm(ctx, toss.ConfirmRequest{PaymentKey: pk, OrderID: "order-deadline01", Amount: 5000}, "idem-deadline")
	if err == nil || toss.Classify(err) == toss.ClassDefinitive || toss.Classify(err) == toss.ClassNone {
		t.Fatalf("err %v class %v", err, toss.Classify(err))
	}
	if n := len(confirmReqs(sb)); n < 1 || n > 3 {
		t.Fatalf("%d attempts within the deadline", n)
	}
}

func TestClientAgainstSandboxKeyRotation(t *testing.T) {
	sb := tosstest.NewServer(t)
	current := sb.SecretKey()
	var refreshes atomic.Int32
	newKey := "test_sk_sandbox_rotated_000000001"
	key := func(_ context.Context, refresh bool) (string, error) {
		if refresh {
			refreshes.Add(1)
			return newKey, nil
		}
		return current, nil
	}
	c := newClient(t, sb, key, nil)
	sb.RotateSecretKey(newKey)
	pk := sb.Authorize("order-rotate-001", "Tea", 5000)
	if _, err := c.Confirm(t.Context(), toss.ConfirmRequest{PaymentKey: pk, OrderID: "order-rotate-001", Amount: 5000}, "idem-rotate"); err != nil {
		t.Fatalf("confirm across a rotation: %v", err)
	}
	if refreshes.Load() != 1 {
		t.Fatalf("refreshed %d times", refreshes.Load())
	}
	reqs := confirmReqs(sb)
	if len(reqs) != 2 || reqs[0].AuthOK || !reqs[1].AuthOK || reqs[0].IdempotencyKey != reqs[1].IdempotencyKey {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestClientAgainstSandboxErrorClassesAndNoKeyInLogs(t *testing.T) {
	sb := tosstest.NewServer(t)
	var logs bytes.Buffer
	c := newClient(t, sb, toss.StaticKey(sb.SecretKey()), &logs)
	pk := sb.Authorize("order-classes01", "Tea", 5000)
	req := toss.ConfirmRequest{PaymentKey: pk, OrderID: "order-classes01", Amount: 5000}
	var errs []error
	for _, tc := range []struct {
		code  string
		class toss.Class
	}{
		{toss.CodeRejectCardCompany, toss.ClassDefinitive},
		{toss.CodeNotFoundPaymentSession, toss.ClassDefinitive},
		{toss.CodeProviderError, toss.ClassRetryable},
		{toss.CodeFailedInternalSystem, toss.ClassRetryable},
		{toss.CodeAlreadyProcessedPayment, toss.ClassUnknown},
	} {
		_, err := c.Confirm(t.Context(), req, "idem-class-"+tc.code, toss.WithTestCode(tc.code))
		var te *toss.Error
		if !errors.As(err, &te) || te.Code != tc.code || toss.Classify(err) != tc.class {
			t.Errorf("%s: %v class %v", tc.code, err, toss.Classify(err))
		}
		errs = append(errs, err)
	}
	// English messages on request.
	_, err := c.Confirm(t.Context(), req, "idem-class-en", toss.WithTestCode(toss.CodeRejectCardCompany), toss.WithAcceptLanguage("en-US"))
	var te *toss.Error
	if !errors.As(err, &te) || strings.ContainsFunc(te.Message, func(r rune) bool { return r >= 0xAC00 && r <= 0xD7A3 }) {
		t.Errorf("English message: %v", err)
	}
	// A wrong key: 401, never the key in logs or errors.
	bad := newClient(t, sb, toss.StaticKey("test_sk_wrong_key_for_the_sandbox_0001"), &logs)
	_, err = bad.Payment(t.Context(), pk)
	if toss.CodeOf(err) != toss.CodeUnauthorizedKey {
		t.Fatalf("wrong key: %v", err)
	}
	errs = append(errs, err)
	var all strings.Builder
	all.WriteString(logs.String())
	for _, e := range errs {
		all.WriteString(e.Error())
	}
	for _, secret := range []string{sb.SecretKey(), "test_sk_wrong_key_for_the_sandbox_0001"} {
		for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret + ":"))} {
			if strings.Contains(all.String(), form) {
				t.Fatalf("a key appears in logs or errors")
			}
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no log lines captured")
	}
}
