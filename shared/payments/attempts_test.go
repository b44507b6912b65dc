package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// forge makes key a made-up paymentKey: Toss refuses to confirm it.
func (f *fixture) forge(key string) {
	f.toss.mu.Lock()
	defer f.toss.mu.Unlock()
	f.toss.declines[key] = &toss.Error{Status: 404, Code: toss.CodeNotFoundPaymentSession, Message: "no such session"}
}

func (f *fixture) tossCalls() (confirms, lookups int) {
	f.toss.mu.Lock()
	defer f.toss.mu.Unlock()
	return f.toss.confirms, f.toss.lookups
}

// Made-up paymentKeys (orderId and amount are public) reach Toss at most
// orders.AttemptLimit times a minute per order; the rest are refused with
// *RateLimitedError before any call, and the real buyer's confirm goes
// through once the window rolls, within a minute. Refreshes of the paid
// attempt never count.
func TestConfirmAttemptBudget(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.NewMemoryStore())
	o := f.newOrder(t, 39000)
	start := f.clock.Now()
	var limited *RateLimitedError
	for i := range 20 {
		key := fmt.Sprintf("tgen_forged_%04d", i)
		f.forge(key)
		res, err := f.engine.Confirm(ctx, key, o.ID, o.Amount)
		switch {
		case i < orders.AttemptLimit:
			if err != nil || res.Outcome != OutcomeDeclined {
				t.Fatalf("forged confirm %d: %v %+v, want declined by Toss", i, err, res)
			}
		case !errors.As(err, &limited) || !errors.Is(err, ErrRateLimited):
			t.Fatalf("forged confirm %d: %v %+v, want *RateLimitedError", i, err, res)
		case limited.RetryAfter <= 0 || limited.RetryAfter > orders.AttemptWindow:
			t.Fatalf("RetryAfter %s", limited.RetryAfter)
		}
		f.clock.Advance(100 * time.Millisecond)
	}
	if confirms, lookups := f.tossCalls(); confirms != orders.AttemptLimit || lookups != 0 {
		t.Fatalf("Toss saw %d confirms and %d lookups, want %d and 0", confirms, lookups, orders.AttemptLimit)
	}

	const real = "tgen_real_buyer_0001"
	_, err := f.engine.Confirm(ctx, real, o.ID, o.Amount)
	if !errors.As(err, &limited) {
		t.Fatalf("the real buyer during the burst: %v", err)
	}
	f.clock.Advance(limited.RetryAfter)
	res, err := f.engine.Confirm(ctx, real, o.ID, o.Amount)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("the real buyer once the window rolled: %v %+v", err, res)
	}
	if waited := f.clock.Now().Sub(start); waited > orders.AttemptWindow+5*time.Second {
		t.Fatalf("the real buyer waited %s", waited)
	}
	confirms, _ := f.tossCalls()
	for range 3 * orders.AttemptLimit {
		if res, err := f.engine.Confirm(ctx, real, o.ID, o.Amount); err != nil || res.Outcome != OutcomeDone {
			t.Fatalf("refresh: %v %+v", err, res)
		}
	}
	if now, _ := f.tossCalls(); now != confirms {
		t.Fatalf("refreshes of a paid attempt reached Toss %d times", now-confirms)
	}
}

// While another attempt holds the order's claim, each new paymentKey is
// looked up at Toss (approvedAttempt): those lookups spend the same budget,
// so made-up keys cannot make more than orders.AttemptLimit Toss calls a
// minute this way either.
func TestApprovedAttemptLookupsAreBudgeted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.NewMemoryStore())
	o := f.newOrder(t, 39000)
	now := f.clock.Now()
	if _, err := f.store.Claim(ctx, orders.Claim{OrderID: o.ID, PaymentKey: "tgen_holder_0001", Amount: o.Amount, Now: now, Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	processing, limited := 0, 0
	for i := range 20 {
		res, err := f.engine.Confirm(ctx, fmt.Sprintf("tgen_forged_%04d", i), o.ID, o.Amount)
		switch {
		case err == nil && res.Outcome == OutcomeProcessing:
			processing++
		case errors.Is(err, ErrRateLimited):
			limited++
		default:
			t.Fatalf("confirm %d: %v %+v", i, err, res)
		}
	}
	// The holder's claim spent one attempt; the lookups get the rest.
	if _, lookups := f.tossCalls(); lookups != orders.AttemptLimit-1 || processing != orders.AttemptLimit-1 || limited != 20-(orders.AttemptLimit-1) {
		t.Fatalf("%d lookups, %d processing, %d limited", lookups, processing, limited)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusConfirming || got.PaymentKey != "tgen_holder_0001" || got.Version != 2 {
		t.Fatalf("the lookups changed the order: %+v", got)
	}
}

// Forged webhooks naming an order cost it at most orders.AttemptLimit
// lookups a minute; naming no order of ours, none.
func TestWebhookLookupsAreBudgeted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.NewMemoryStore())
	o := f.newOrder(t, 39000)
	limited := 0
	for i := range 20 {
		res, err := f.engine.ApplyWebhook(ctx, statusChanged(t, o.ID, fmt.Sprintf("tgen_forged_%04d", i), "DONE", 39000))
		switch {
		case err == nil && res.Action == WebhookIgnored:
		case errors.Is(err, ErrRateLimited):
			limited++
		default:
			t.Fatalf("webhook %d: %v %+v", i, err, res)
		}
	}
	for _, id := range []string{"", "a/b", orders.NewID()} {
		if res, err := f.engine.ApplyWebhook(ctx, statusChanged(t, id, "tgen_forged_x", "DONE", 39000)); err != nil || res.Action != WebhookIgnored {
			t.Fatalf("webhook naming %q: %v %+v", id, err, res)
		}
	}
	if _, lookups := f.tossCalls(); lookups != orders.AttemptLimit || limited != 20-orders.AttemptLimit {
		t.Fatalf("%d lookups, %d limited", lookups, limited)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusPending || got.Version != 1 {
		t.Fatalf("forged webhooks changed the order: %+v", got)
	}
}

// A paymentKey that is not Toss's shape is a malformed webhook: refused
// before any lookup, with a reason that does not quote it.
func TestWebhookRefusesMalformedPaymentKeys(t *testing.T) {
	real := "tgen_20261122120000AbCdEfGh12"
	for name, key := range map[string]string{
		"slash": real + "/cancel", "question mark": real + "?a=b", "hash": real + "#x", "space": real + " x",
		"300 characters": real + strings.Repeat("k", 300-len(real)), "non-UTF-8": real + "\xff", "empty": "",
		"dot-dot": "..", "percent": real + "%2F", "newline": real + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, orders.NewMemoryStore())
			o := f.newOrder(t, 39000)
			_, err := f.engine.ApplyWebhook(context.Background(), statusChanged(t, o.ID, key, "DONE", 39000))
			if !errors.Is(err, ErrMalformedWebhook) {
				t.Fatalf("err %v, want malformed", err)
			}
			if strings.Contains(err.Error(), real) {
				t.Errorf("the reason quotes the key: %v", err)
			}
			if _, lookups := f.tossCalls(); lookups != 0 {
				t.Errorf("%d lookups", lookups)
			}
		})
	}
}

// keyInPathToss fails lookups as the Toss client does, with the request
// path (and so the paymentKey) in the error.
type keyInPathToss struct{ *fakeToss }

func (k keyInPathToss) Payment(_ context.Context, paymentKey string, _ ...toss.CallOption) (*toss.Payment, error) {
	return nil, &toss.Error{Method: "GET", Path: "/v1/payments/" + paymentKey, Status: 500, Code: toss.CodeFailedInternalSystem}
}

// A failed lookup is an error (Toss retries the delivery), whose message
// names the paymentKey masked only, and which still matches Toss's error.
func TestWebhookLookupErrorMasksTheKey(t *testing.T) {
	f := newFixture(t, orders.NewMemoryStore())
	f.engine.Toss = keyInPathToss{f.toss}
	o := f.newOrder(t, 39000)
	const key = "tgen_20261122120000AbCdEfGh12"
	_, err := f.engine.ApplyWebhook(context.Background(), statusChanged(t, o.ID, key, "DONE", 39000))
	var te *toss.Error
	if err == nil || errors.Is(err, ErrMalformedWebhook) || !errors.As(err, &te) || te.Code != toss.CodeFailedInternalSystem {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), MaskKey(key)) {
		t.Fatalf("error %q carries the key unmasked", err)
	}
}

// mismatchToss answers a lookup with another payment than asked, as the
// Toss client reports it: an error quoting both keys.
type mismatchToss struct{ *fakeToss }

func (m mismatchToss) Payment(_ context.Context, paymentKey string, _ ...toss.CallOption) (*toss.Payment, error) {
	return nil, &toss.Error{Method: "GET", Path: "/v1/payments/" + MaskKey(paymentKey), Status: 200,
		Err: fmt.Errorf("%w: asked for paymentKey %q, got %q", toss.ErrResponseMismatch, paymentKey, "tgen_20261122120000OtherKey99")}
}

// Neither the key asked about nor the one Toss answered with reaches the
// error (and so the log line), whole.
func TestWebhookMismatchErrorWithholdsBothKeys(t *testing.T) {
	f := newFixture(t, orders.NewMemoryStore())
	f.engine.Toss = mismatchToss{f.toss}
	o := f.newOrder(t, 39000)
	const key = "tgen_20261122120000AbCdEfGh12"
	_, err := f.engine.ApplyWebhook(context.Background(), statusChanged(t, o.ID, key, "DONE", 39000))
	if err == nil || !errors.Is(err, toss.ErrResponseMismatch) {
		t.Fatalf("err %v", err)
	}
	for _, k := range []string{key, "tgen_20261122120000OtherKey99"} {
		if strings.Contains(err.Error(), k) {
			t.Errorf("error %q carries %s", err, k)
		}
	}
}
