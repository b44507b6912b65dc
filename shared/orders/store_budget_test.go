package orders_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tossintl/backend/shared/orders"
)

func TestAttemptBudget(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		now := t0
		fail := func(key string) {
			t.Helper()
			if _, err := f.store.Fail(ctx, o.ID, key, orders.Failure{Code: "NOT_FOUND_PAYMENT_SESSION", PaymentKey: key, At: now}, now); err != nil {
				t.Fatalf("fail %s: %v", key, err)
			}
		}
		for i := range orders.AttemptLimit - 1 {
			key := fmt.Sprintf("pk_forged_%d", i)
			mustClaim(t, f.store, o, key, now)
			fail(key)
			now = now.Add(time.Second)
		}
		// The last attempt of the window is a lookup.
		got, err := f.store.AdmitLookup(ctx, o.ID, "", now)
		if err != nil {
			t.Fatalf("lookup within the budget: %v", err)
		}
		if len(got.RecentAttempts) != orders.AttemptLimit || !got.RecentAttempts[0].Equal(ms(now)) || !got.RecentAttempts[orders.AttemptLimit-1].Equal(ms(t0)) {
			t.Fatalf("attempts %v", got.RecentAttempts)
		}
		before := mustGet(t, f.store, o.ID, now)
		if before.Version != got.Version || !before.UpdatedAt.Equal(got.UpdatedAt) || before.Version != 1+2*(orders.AttemptLimit-1) {
			t.Fatalf("AdmitLookup changed version or updatedAt: %d %v", got.Version, got.UpdatedAt)
		}
		equal(t, "get after lookup", before, got)

		// Full: a new key and a lookup are refused, saying until when.
		_, err = f.store.Claim(ctx, claimOf(o, "pk_real", now))
		ce := wantConflict(t, err, orders.StatusFailed)
		until, full := ce.Current.AttemptsFullUntil(now)
		if !full || !until.Equal(ms(t0).Add(orders.AttemptWindow)) {
			t.Fatalf("AttemptsFullUntil = %v %v, want %v", until, full, ms(t0).Add(orders.AttemptWindow))
		}
		_, err = f.store.AdmitLookup(ctx, o.ID, "", now)
		wantConflict(t, err, orders.StatusFailed)
		equal(t, "after refusals", mustGet(t, f.store, o.ID, now), before)

		// One millisecond short of the window: still full. At its end: admitted.
		if _, err := f.store.Claim(ctx, claimOf(o, "pk_real", until.Add(-time.Millisecond))); err == nil {
			t.Fatal("claim admitted before the window rolled")
		}
		now = until
		claimed := mustClaim(t, f.store, o, "pk_real", now)
		if len(claimed.RecentAttempts) != orders.AttemptLimit || !claimed.RecentAttempts[0].Equal(ms(now)) {
			t.Fatalf("attempts after the roll %v", claimed.RecentAttempts)
		}
		// Full again, yet the claim's own resume (lapsed) is never refused.
		now = now.Add(claimFor + time.Second)
		for range orders.AttemptLimit {
			if _, err := f.store.AdmitLookup(ctx, o.ID, "", now); err != nil {
				break
			}
		}
		if _, full := mustGet(t, f.store, o.ID, now).AttemptsFullUntil(now); !full {
			t.Fatal("want the budget spent before the resume")
		}
		resumed := mustClaim(t, f.store, o, "pk_real", now)
		if resumed.Status != orders.StatusConfirming || resumed.PaymentKey != "pk_real" {
			t.Fatalf("resume: %+v", resumed)
		}
		// Paid: a lookup of its own payment is admitted whatever the
		// budget; of another key, refused.
		if _, err := f.store.Complete(ctx, o.ID, "pk_real", orders.Payment{Status: "DONE", TotalAmount: 15000, BalanceAmount: 15000}, now); err != nil {
			t.Fatal(err)
		}
		if _, full := mustGet(t, f.store, o.ID, now).AttemptsFullUntil(now); !full {
			t.Fatal("want the budget spent")
		}
		if _, err := f.store.AdmitLookup(ctx, o.ID, "pk_real", now); err != nil {
			t.Fatalf("lookup of the paid order's own payment: %v", err)
		}
		_, err = f.store.AdmitLookup(ctx, o.ID, "pk_forged_0", now)
		wantConflict(t, err, orders.StatusDone)
		if _, err := f.store.AdmitLookup(ctx, orders.NewID(), "", now); !errors.Is(err, orders.ErrNotFound) {
			t.Fatalf("lookup on no order: %v", err)
		}
		if f.raw != nil {
			it := f.raw(t, o.ID)
			for i := range orders.AttemptLimit {
				if _, ok := it[fmt.Sprintf("attempt%d", i)]; !ok {
					t.Errorf("item lacks attempt%d", i)
				}
			}
		}
	})
}

// tokenClaim is claimOf by a caller presenting token.
func tokenClaim(o *orders.Order, key, token string, now time.Time) orders.Claim {
	c := claimOf(o, key, now)
	c.Token = token
	return c
}

// TestTokenBudget: the order's own budget (TokenHolder) is spent only by
// callers presenting its checkout token and by lookups of a paid order's
// own payment. A caller who took every slot of the anonymous budget leaves
// it whole; a wrong token claims and looks up nothing; the own budget is
// bounded as the anonymous one is, own-payment lookups included (they were
// admitted without bound before). Both stores agree, and the DynamoDB item
// keeps the two budgets in slots of their own.
func TestTokenBudget(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		if !orders.ValidToken(o.CheckoutToken) {
			t.Fatalf("order created without a checkout token: %q", o.CheckoutToken)
		}
		now := t0
		// An attacker spends the anonymous budget with made-up keys.
		for i := range orders.AttemptLimit {
			if _, err := f.store.AdmitLookup(ctx, o.ID, "", now); err != nil {
				t.Fatalf("anonymous lookup %d: %v", i, err)
			}
		}
		_, err := f.store.Claim(ctx, claimOf(o, "pk_anon", now))
		if ce := wantConflict(t, err, orders.StatusPending); func() bool { _, full := ce.Current.AttemptsFullUntil(now); return !full }() {
			t.Fatal("want the anonymous budget spent")
		}
		// A wrong token claims nothing, and says the order as it stands.
		for _, wrong := range []string{orders.NewToken(), o.CheckoutToken[:len(o.CheckoutToken)-1] + "x"} {
			_, err = f.store.Claim(ctx, tokenClaim(o, "pk_real", wrong, now))
			if ce := wantConflict(t, err, orders.StatusPending); ce.Current.TokenMatches(wrong) {
				t.Fatal("TokenMatches a wrong token")
			}
			_, err = f.store.AdmitTokenLookup(ctx, o.ID, wrong, now)
			wantConflict(t, err, orders.StatusPending)
		}
		// The token's holder is admitted on the order's own budget.
		got := mustClaimWith(t, f.store, tokenClaim(o, "pk_real", o.CheckoutToken, now))
		if got.Status != orders.StatusConfirming || len(got.TokenAttempts) != 1 || !got.TokenAttempts[0].Equal(ms(now)) ||
			len(got.RecentAttempts) != orders.AttemptLimit || !got.ClaimedAt.Equal(ms(now)) {
			t.Fatalf("token claim: %+v", got)
		}
		if _, err := f.store.Release(ctx, o.ID, "pk_real", now); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < orders.AttemptLimit; i++ {
			if _, err := f.store.AdmitTokenLookup(ctx, o.ID, o.CheckoutToken, now); err != nil {
				t.Fatalf("token lookup %d: %v", i, err)
			}
		}
		// Its own budget is bounded too, and says until when.
		_, err = f.store.Claim(ctx, tokenClaim(o, "pk_real", o.CheckoutToken, now))
		ce := wantConflict(t, err, orders.StatusPending)
		if until, full := ce.Current.FullUntil(orders.TokenHolder, now); !full || !until.Equal(ms(now).Add(orders.AttemptWindow)) {
			t.Fatalf("FullUntil(TokenHolder) = %v %v", until, full)
		}
		_, err = f.store.AdmitTokenLookup(ctx, o.ID, o.CheckoutToken, now)
		wantConflict(t, err, orders.StatusPending)
		if _, err := f.store.AdmitTokenLookup(ctx, o.ID, "", now); err == nil || !orders.IsValidation(err) {
			t.Fatalf("token lookup without a token: %v", err)
		}
		if _, err := f.store.AdmitTokenLookup(ctx, orders.NewID(), o.CheckoutToken, now); !errors.Is(err, orders.ErrNotFound) {
			t.Fatalf("token lookup on no order: %v", err)
		}

		// A minute on: paid by the token's holder. Lookups of its own
		// payment draw on its own budget, AttemptLimit a minute, whatever
		// the anonymous budget holds; of another key, never.
		now = now.Add(orders.AttemptWindow)
		mustClaimWith(t, f.store, tokenClaim(o, "pk_real", o.CheckoutToken, now))
		if _, err := f.store.Complete(ctx, o.ID, "pk_real", orders.Payment{Status: "DONE", TotalAmount: 15000, BalanceAmount: 15000}, now); err != nil {
			t.Fatal(err)
		}
		for range orders.AttemptLimit {
			if _, err := f.store.AdmitLookup(ctx, o.ID, "", now); err != nil {
				break
			}
		}
		for i := 1; i < orders.AttemptLimit; i++ {
			if _, err := f.store.AdmitLookup(ctx, o.ID, "pk_real", now); err != nil {
				t.Fatalf("own-payment lookup %d: %v", i, err)
			}
		}
		_, err = f.store.AdmitLookup(ctx, o.ID, "pk_real", now)
		ce = wantConflict(t, err, orders.StatusDone)
		if _, full := ce.Current.FullUntil(orders.TokenHolder, now); !full {
			t.Fatal("own-payment lookups beyond the order's own budget were admitted")
		}
		_, err = f.store.AdmitLookup(ctx, o.ID, "pk_forged", now.Add(orders.AttemptWindow))
		wantConflict(t, err, orders.StatusDone)
		if _, err := f.store.AdmitLookup(ctx, o.ID, "pk_real", now.Add(orders.AttemptWindow)); err != nil {
			t.Fatalf("own-payment lookup once the window rolled: %v", err)
		}
		if f.raw != nil {
			it := f.raw(t, o.ID)
			for i := range orders.AttemptLimit {
				for _, slot := range []string{fmt.Sprintf("attempt%d", i), fmt.Sprintf("tokenAttempt%d", i)} {
					if _, ok := it[slot]; !ok {
						t.Errorf("item lacks %s", slot)
					}
				}
			}
			if tok, ok := it["checkoutToken"].(*types.AttributeValueMemberS); !ok || tok.Value != o.CheckoutToken {
				t.Errorf("item's checkoutToken %v", it["checkoutToken"])
			}
		}
	})
}

func mustClaimWith(t *testing.T, s orders.Store, c orders.Claim) *orders.Order {
	t.Helper()
	got, err := s.Claim(ctx, c)
	if err != nil {
		t.Fatalf("claim %s with %s: %v", c.OrderID, c.PaymentKey, err)
	}
	return got
}

// TestRelease: a claim whose attempt Toss never issued goes back to what
// the order was before it, in both stores: from PENDING, PENDING without a
// paymentKey; from FAILED, FAILED under the attempt that failed, its
// failure as it was (so no new failure to tell the merchant of); with the
// TTL, pay window and due index of an unpaid order, and payable again by
// the same new key. A resume keeps where the claim was taken from. Only the
// claim's own paymentKey releases it.
