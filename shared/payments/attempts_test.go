package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/ratelimit"
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
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
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
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
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
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
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
			f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
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
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
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
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
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

// callLog counts the Toss calls (confirms and lookups) an attack made, by
// the minute they were made in.
type callLog struct {
	f       *fixture
	start   time.Time
	minutes map[int64]int
}

func (l *callLog) since(confirms, lookups int) func() {
	return func() {
		c, k := l.f.tossCalls()
		if n := c + k - confirms - lookups; n > 0 {
			l.minutes[int64(l.f.clock.Now().Sub(l.start)/time.Minute)] += n
		}
	}
}

// record runs fn and files the Toss calls it made under the current minute.
func (l *callLog) record(fn func()) {
	c, k := l.f.tossCalls()
	fn()
	l.since(c, k)()
}

// TestSlotRacingAttackerCannotDelayTheTokenHolder: the attack a black-box
// run found. An attacker who knows the orderId takes every slot of the
// order's anonymous budget the moment it frees, for all of Toss's
// 10-minute confirm window. The buyer who came through the checkout URL
// (and so holds the order's checkout token) pays at the first try,
// whenever in the window it comes; a buyer of another order without the
// token is kept waiting all the while (the budget does what it is for),
// and the attacker's Toss calls stay within AttemptLimit a minute per
// order. None of its attempts, all made-up keys, leaves a failure on
// either order.
func TestSlotRacingAttackerCannotDelayTheTokenHolder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	withToken, without := f.newOrder(t, 39000), f.newOrder(t, 52000)
	log := &callLog{f: f, start: f.clock.Now(), minutes: map[int64]int{}}
	forged := 0
	attack := func(o *orders.Order) {
		// One thread per slot, each re-taking its slot as soon as it frees:
		// here, a forged confirm at every step until one is refused.
		for {
			forged++
			key := fmt.Sprintf("tgen_forged_%05d", forged)
			f.forge(key)
			var err error
			log.record(func() { _, err = f.engine.Confirm(ctx, key, o.ID, o.Amount) })
			if err != nil {
				if !errors.Is(err, ErrRateLimited) && !errors.Is(err, ErrNotPayable) {
					t.Fatalf("forged confirm: %v", err)
				}
				return
			}
		}
	}
	const step = 250 * time.Millisecond
	paidAt := time.Duration(-1)
	refusedWithout := 0
	for elapsed := time.Duration(0); elapsed < 10*time.Minute; elapsed += step {
		attack(withToken)
		attack(without)
		if elapsed%(3*time.Second) == 0 && elapsed >= 30*time.Second {
			// The buyers' pages: one with the token (from 30 s into the
			// attack), one without, each asking every 3 s.
			if paidAt < 0 {
				res, err := f.engine.ConfirmWithToken(ctx, withToken.CheckoutToken, "tgen_buyer_with_token", withToken.ID, withToken.Amount)
				if err != nil || res.Outcome != OutcomeDone {
					t.Fatalf("the token holder at %s: %v %+v", elapsed, err, res)
				}
				paidAt = elapsed
			}
			if _, err := f.engine.Confirm(ctx, "tgen_buyer_without_token", without.ID, without.Amount); errors.Is(err, ErrRateLimited) {
				refusedWithout++
			}
		}
		f.clock.Advance(step)
	}
	if paidAt != 30*time.Second {
		t.Fatalf("the token holder paid %s into the attack, want at its first try (30s)", paidAt)
	}
	// The anonymous buyer waited behind the attacker nearly every time: the
	// order's anonymous budget bounded everyone without the token.
	if refusedWithout < 150 {
		t.Errorf("the buyer without the token was refused %d times of 191", refusedWithout)
	}
	for m, n := range log.minutes {
		// Two orders under attack, each AttemptLimit a minute; plus, the
		// minute it paid, the token holder's one confirm.
		if n > 2*orders.AttemptLimit+1 {
			t.Errorf("minute %d: %d Toss calls, want at most %d", m, n, 2*orders.AttemptLimit+1)
		}
	}
	for _, o := range []*orders.Order{withToken, without} {
		if got := f.get(t, o.ID); got.LastFailure != nil || (got.Status != orders.StatusPending && got.Status != orders.StatusDone) {
			t.Errorf("order %s after the attack: %s %+v", o.ID, got.Status, got.LastFailure)
		}
	}
}

// A checkout token that is not the order's grants nothing: the confirm
// runs as one without a token, on the anonymous budget.
func TestWrongCheckoutTokenIsNoToken(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 39000)
	for i := range orders.AttemptLimit {
		key := fmt.Sprintf("tgen_forged_%04d", i)
		f.forge(key)
		if _, err := f.engine.Confirm(ctx, key, o.ID, o.Amount); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range []string{orders.NewToken(), o.CheckoutToken + "x"} {
		if _, err := f.engine.ConfirmWithToken(ctx, tok, "tgen_buyer", o.ID, o.Amount); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("a wrong token: %v, want the anonymous budget's refusal", err)
		}
	}
	if res, err := f.engine.ConfirmWithToken(ctx, o.CheckoutToken, "tgen_buyer", o.ID, o.Amount); err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("the order's token: %v %+v", err, res)
	}
	// Where the anonymous budget has room, a wrong token confirms as one
	// without it would: paid, on the anonymous budget.
	other := f.newOrder(t, 39000)
	if res, err := f.engine.ConfirmWithToken(ctx, orders.NewToken(), "tgen_buyer_2", other.ID, other.Amount); err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("a wrong token with the anonymous budget free: %v %+v", err, res)
	}
	if got := f.get(t, other.ID); len(got.RecentAttempts) != 1 || len(got.TokenAttempts) != 0 {
		t.Fatalf("budgets spent: anonymous %d, token %d; want 1 and 0", len(got.RecentAttempts), len(got.TokenAttempts))
	}
}

// TestCeilingBoundsAnonymousCallsAcrossOrders: an attacker who knows many
// orderIds gets AttemptLimit Toss calls a minute from each, and the ceiling
// across all orders caps the sum: beyond it, confirms and webhook lookups
// are refused with *RateLimitedError (Ceiling) until the next minute, with
// nothing sent to Toss, and the claim taken is given back (the order stays
// PENDING, no failure). Token holders never count and are never refused.
func TestCeilingBoundsAnonymousCallsAcrossOrders(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	const ceiling = 12
	// Shards picked in turn, so the ceiling fills exactly (random picks
	// may leave a call of it unused: a bound, never a promise).
	turn := 0
	f.engine.Ceiling = &ratelimit.Ceiling{Name: "test", PerMinute: ceiling, Counter: &ratelimit.MemoryCounter{},
		Pick: func(n int) int { turn++; return turn % n }}
	f.clock.Advance(time.Second) // not on a minute's turn
	var os []*orders.Order
	for range 10 {
		os = append(os, f.newOrder(t, 39000))
	}
	c0, l0 := f.tossCalls()
	overCeiling, forged := 0, 0
	for _, o := range os {
		for range orders.AttemptLimit {
			forged++
			key := fmt.Sprintf("tgen_forged_%04d", forged)
			f.forge(key)
			_, err := f.engine.Confirm(ctx, key, o.ID, o.Amount)
			var rl *RateLimitedError
			switch {
			case errors.As(err, &rl) && rl.Ceiling:
				overCeiling++
				if rl.RetryAfter <= 0 || rl.RetryAfter > time.Minute {
					t.Fatalf("RetryAfter %s", rl.RetryAfter)
				}
			case err != nil:
				t.Fatalf("forged confirm: %v", err)
			}
		}
		if got := f.get(t, o.ID); got.Status != orders.StatusPending || got.LastFailure != nil || got.PaymentKey != "" {
			t.Fatalf("order after forged confirms: %s %q %+v", got.Status, got.PaymentKey, got.LastFailure)
		}
	}
	c1, l1 := f.tossCalls()
	if n := c1 + l1 - c0 - l0; n != ceiling || overCeiling != 10*orders.AttemptLimit-ceiling {
		t.Fatalf("%d Toss calls and %d refusals by the ceiling, want %d and %d", n, overCeiling, ceiling, 10*orders.AttemptLimit-ceiling)
	}
	// Webhook lookups are anonymous too.
	_, err := f.engine.ApplyWebhook(ctx, statusChanged(t, f.newOrder(t, 39000).ID, "tgen_forged_hook", "DONE", 39000))
	var rl *RateLimitedError
	if !errors.As(err, &rl) || !rl.Ceiling {
		t.Fatalf("webhook over the ceiling: %v", err)
	}
	// The token holder is not counted and not refused.
	o := f.newOrder(t, 39000)
	if res, err := f.engine.ConfirmWithToken(ctx, o.CheckoutToken, "tgen_buyer", o.ID, o.Amount); err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("token holder over the ceiling: %v %+v", err, res)
	}
	// The next minute admits again.
	f.clock.Advance(time.Minute)
	if res, err := f.engine.Confirm(ctx, "tgen_buyer_2", os[0].ID, os[0].Amount); err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("next minute: %v %+v", err, res)
	}
}

// TestWebhooksAboutASettledOrderCostNoLookups: the amplification a
// black-box run found (300 forged webhooks naming a paid order's own
// paymentKey, which every buyer's success URL shows, made 300 Toss
// lookups). A hint whose claimed status cannot be news for the order as it
// stands costs no lookup at all; the rest, own key or not, are bounded per
// order per minute (the order's own budget for its own payment, the
// anonymous one for other keys), then refused with 429 for Toss to
// deliver again; the real refund's webhook gets through once a slot frees.
func TestWebhooksAboutASettledOrderCostNoLookups(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 39000)
	const key = "tgen_paid_0001"
	if res, err := f.engine.ConfirmWithToken(ctx, o.CheckoutToken, key, o.ID, o.Amount); err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	f.clock.Advance(orders.AttemptWindow) // the confirm's own call out of the window
	_, before := f.tossCalls()
	// Nothing new to learn: no lookup, however many.
	for i := range 300 {
		hint := []struct {
			status  string
			balance int64
		}{{"DONE", 39000}, {"ABORTED", 0}, {"PARTIAL_CANCELED", 39000}, {"IN_PROGRESS", 0}}[i%4]
		res, err := f.engine.ApplyWebhook(ctx, statusChanged(t, o.ID, key, hint.status, hint.balance))
		if err != nil || res.Action != WebhookIgnored {
			t.Fatalf("hint %d (%s): %v %+v", i, hint.status, err, res)
		}
	}
	if _, lookups := f.tossCalls(); lookups != before {
		t.Fatalf("%d lookups for hints about a settled order", lookups-before)
	}
	// Hints that could be news (a refund of its own payment, an approval
	// of another key) are bounded: AttemptLimit a minute each.
	limited := 0
	for i := range 300 {
		body := statusChanged(t, o.ID, key, "CANCELED", 0)
		if i%2 == 1 {
			body = statusChanged(t, o.ID, fmt.Sprintf("tgen_forged_%04d", i), "DONE", 39000)
		}
		_, err := f.engine.ApplyWebhook(ctx, body)
		switch {
		case errors.Is(err, ErrRateLimited):
			limited++
		case err != nil:
			t.Fatalf("webhook %d: %v", i, err)
		}
	}
	if _, lookups := f.tossCalls(); lookups-before != 2*orders.AttemptLimit || limited != 300-2*orders.AttemptLimit {
		t.Fatalf("%d lookups and %d refusals, want %d and %d", lookups-before, limited, 2*orders.AttemptLimit, 300-2*orders.AttemptLimit)
	}
	// The merchant refunds in Toss's dashboard; Toss's webhook, refused
	// while the budget was spent, gets through when Toss delivers it again
	// a minute later.
	if _, err := f.toss.Cancel(ctx, key, toss.CancelRequest{CancelReason: "dashboard"}, "dashboard-1"); err != nil {
		t.Fatal(err)
	}
	real := statusChanged(t, o.ID, key, "CANCELED", 0)
	if _, err := f.engine.ApplyWebhook(ctx, real); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("the real webhook during the flood: %v", err)
	}
	f.clock.Advance(orders.AttemptWindow)
	if res, err := f.engine.ApplyWebhook(ctx, real); err != nil || res.Action != WebhookApplied || res.Order.Status != orders.StatusCanceled {
		t.Fatalf("the real webhook redelivered: %v %+v", err, res)
	}
	// Wholly refunded: nothing can follow, no lookup.
	_, l := f.tossCalls()
	if res, err := f.engine.ApplyWebhook(ctx, real); err != nil || res.Action != WebhookIgnored {
		t.Fatalf("repeat: %v %+v", err, res)
	}
	if _, l2 := f.tossCalls(); l2 != l {
		t.Fatal("a hint about a wholly refunded order was looked up")
	}
}

// TestAttemptsTossNeverIssuedLeaveTheOrderAsItWas: a made-up paymentKey is
// answered as Toss answers it (declined, NOT_FOUND_PAYMENT_SESSION), but
// the order is left as it was before the claim: PENDING stays PENDING
// with no failure; FAILED stays FAILED under the attempt Toss did decline,
// with that failure, whose refresh is still answered without Toss. So it
// writes no new failure, and the order events make nothing of it.
func TestAttemptsTossNeverIssuedLeaveTheOrderAsItWas(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 39000)
	f.forge("tgen_forged_0001")
	res, err := f.engine.Confirm(ctx, "tgen_forged_0001", o.ID, o.Amount)
	if err != nil || res.Outcome != OutcomeDeclined || res.Failure == nil || res.Failure.Code != toss.CodeNotFoundPaymentSession {
		t.Fatalf("forged confirm: %v %+v", err, res)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusPending || got.LastFailure != nil || got.PaymentKey != "" {
		t.Fatalf("order after a forged confirm: %s %q %+v", got.Status, got.PaymentKey, got.LastFailure)
	}

	f.toss.mu.Lock()
	f.toss.declines["tgen_declined_0001"] = &toss.Error{Status: 403, Code: toss.CodeRejectCardCompany, Message: "declined"}
	f.toss.mu.Unlock()
	if res, err := f.engine.Confirm(ctx, "tgen_declined_0001", o.ID, o.Amount); err != nil || res.Outcome != OutcomeDeclined {
		t.Fatalf("declined: %v %+v", err, res)
	}
	declined := f.get(t, o.ID)
	f.forge("tgen_forged_0002")
	if res, err := f.engine.Confirm(ctx, "tgen_forged_0002", o.ID, o.Amount); err != nil || res.Outcome != OutcomeDeclined {
		t.Fatalf("forged confirm on a declined order: %v %+v", err, res)
	}
	got := f.get(t, o.ID)
	if got.Status != orders.StatusFailed || got.PaymentKey != "tgen_declined_0001" || *got.LastFailure != *declined.LastFailure {
		t.Fatalf("order after a forged confirm: %s %q %+v, want as declined: %+v", got.Status, got.PaymentKey, got.LastFailure, declined.LastFailure)
	}
	confirms, _ := f.tossCalls()
	if res, err := f.engine.Confirm(ctx, "tgen_declined_0001", o.ID, o.Amount); err != nil || res.Outcome != OutcomeDeclined {
		t.Fatalf("refresh of the declined attempt: %v %+v", err, res)
	}
	if now, _ := f.tossCalls(); now != confirms {
		t.Fatal("the refresh of a declined attempt reached Toss")
	}
}

// The simulator's seed 722: a made-up paymentKey held the order's claim
// when another server holding the secret key confirmed the buyer's real
// attempt at Toss, and Toss's webhook of it was lost. The claim, given back
// (Release), leaves the order PENDING; an order Toss calls were made for is
// still looked up at Toss before it expires, and the payment is recorded,
// never lost to the TTL.
func TestReleasedOrderIsLookedUpBeforeItExpires(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 32000)
	f.forge("tpk_forged_1")
	if res, err := f.engine.Confirm(ctx, "tpk_forged_1", o.ID, o.Amount); err != nil || res.Outcome != OutcomeDeclined {
		t.Fatalf("forged confirm: %v %+v", err, res)
	}
	// Another server confirms the buyer's attempt at Toss; no webhook comes.
	if _, err := f.toss.Confirm(ctx, toss.ConfirmRequest{PaymentKey: "tpk_real_1", OrderID: o.ID, Amount: o.Amount}, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusPending || !got.TossAttempted() {
		t.Fatalf("order before its window closes: %s", got.Status)
	}
	f.clock.Advance(testPolicy.PayWindow + time.Minute)
	rep, err := f.engine.Reconcile(ctx)
	if err != nil || rep.Done != 1 || rep.Expired != 0 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusDone || got.PaymentKey != "tpk_real_1" {
		t.Fatalf("order after its window: %s %q", got.Status, got.PaymentKey)
	}
}

// A hint that claims a status which moves no order (only an approval
// moves an unpaid one) costs no lookup and spends no budget, whatever the
// order: a real buyer's confirm right after a flood of them is not held
// back.
func TestWebhookHintsThatMoveNoOrderCostNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 39000)
	_, before := f.tossCalls()
	for i := range 60 {
		status := []string{"ABORTED", "EXPIRED", "IN_PROGRESS", "READY", "WAITING_FOR_DEPOSIT"}[i%5]
		res, err := f.engine.ApplyWebhook(ctx, statusChanged(t, o.ID, fmt.Sprintf("tgen_forged_%04d", i), status, 39000))
		if err != nil || res.Action != WebhookIgnored {
			t.Fatalf("hint %d (%s): %v %+v", i, status, err, res)
		}
	}
	if _, lookups := f.tossCalls(); lookups != before {
		t.Fatalf("%d lookups for hints that move no order", lookups-before)
	}
	if got := f.get(t, o.ID); got.TossAttempted() {
		t.Fatalf("the hints spent the order's budget: %v", got.RecentAttempts)
	}
	if res, err := f.engine.Confirm(ctx, "tgen_buyer", o.ID, o.Amount); err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("the buyer after the flood: %v %+v", err, res)
	}
}

// brokenCeiling is a ceiling whose count cannot be kept (its table down).
type brokenCeiling struct{}

func (brokenCeiling) Admit(context.Context, time.Time) (time.Duration, error) {
	return 0, errors.New("limits table unavailable")
}

// The ceiling is a backstop above the orders' own budgets: when its count
// cannot be kept, calls the order's budget admitted go on (logged), rather
// than a storage fault becoming a payment outage; the order's budget
// still bounds them.
func TestCeilingThatCannotCountAdmits(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	f.engine.Ceiling = brokenCeiling{}
	o := f.newOrder(t, 39000)
	if res, err := f.engine.Confirm(ctx, "tgen_buyer", o.ID, o.Amount); err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("confirm with the ceiling's table down: %v %+v", err, res)
	}
	other := f.newOrder(t, 39000)
	for i := range orders.AttemptLimit {
		key := fmt.Sprintf("tgen_forged_%04d", i)
		f.forge(key)
		if _, err := f.engine.Confirm(ctx, key, other.ID, other.Amount); err != nil {
			t.Fatalf("forged confirm %d: %v", i, err)
		}
	}
	f.forge("tgen_forged_more")
	if _, err := f.engine.Confirm(ctx, "tgen_forged_more", other.ID, other.Amount); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("beyond the order's budget: %v", err)
	}
}
