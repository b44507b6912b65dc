package orders_test

import (
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

func TestSettleFromToss(t *testing.T) {
	const approved = "pk_toss"
	failure := orders.Failure{Code: "REJECT_CARD_COMPANY", Message: "declined", PaymentKey: "pk_1", Amount: 15000, At: t0.Add(time.Second)}
	claimed := func(key string) func(t *testing.T, s orders.Store, o *orders.Order) {
		return func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, key, t0) }
	}
	paid := func(key string) func(t *testing.T, s orders.Store, o *orders.Order) {
		return func(t *testing.T, s orders.Store, o *orders.Order) {
			mustClaim(t, s, o, key, t0)
			if _, err := s.Complete(ctx, o.ID, key, payment, t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	other := payment
	other.TotalAmount, other.BalanceAmount = 14000, 14000
	cases := []struct {
		name    string
		prepare func(t *testing.T, s orders.Store, o *orders.Order)
		at      func(o *orders.Order) time.Time // when to settle; t0+10s (claims live) if nil
		p       orders.Payment                  // payment if zero
		unknown bool                            // settle an ID nobody created
		current orders.Status                   // "" expects success; else the refusal's status, or
		gone    bool                            // ErrNotFound
	}{
		{name: "pending", prepare: nil},
		{name: "claim live under another attempt", prepare: claimed("pk_1")},
		{name: "claim lapsed under another attempt", prepare: claimed("pk_1"), at: func(*orders.Order) time.Time { return t0.Add(time.Minute) }},
		{name: "claim held by the approved attempt", prepare: claimed(approved)},
		{name: "failed under another attempt", prepare: func(t *testing.T, s orders.Store, o *orders.Order) {
			mustClaim(t, s, o, "pk_1", t0)
			if _, err := s.Fail(ctx, o.ID, "pk_1", failure, t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "expired, not yet deleted", prepare: func(t *testing.T, s orders.Store, o *orders.Order) {
			if _, err := s.Expire(ctx, o.ID, o.PayableUntil); err != nil {
				t.Fatal(err)
			}
		}, at: func(o *orders.Order) time.Time { return o.PayableUntil.Add(time.Hour) }},
		{name: "refunded at Toss before it was recorded", prepare: claimed("pk_1"), p: canceled(5000)},
		{name: "paid under the approved attempt", prepare: paid(approved), current: orders.StatusDone},
		{name: "paid under another attempt", prepare: paid("pk_1"), current: orders.StatusDone},
		{name: "partially refunded", prepare: func(t *testing.T, s orders.Store, o *orders.Order) {
			paid(approved)(t, s, o)
			if _, err := s.ApplyCancel(ctx, o.ID, approved, canceled(5000), t0.Add(2*time.Second)); err != nil {
				t.Fatal(err)
			}
		}, current: orders.StatusPartialCanceled},
		{name: "amount differs", prepare: claimed("pk_1"), p: other, current: orders.StatusConfirming},
		{name: "unknown order", unknown: true, gone: true},
		{name: "past TTL", at: func(o *orders.Order) time.Time { return o.ExpiresAt }, gone: true},
		{name: "deleted", prepare: func(t *testing.T, s orders.Store, o *orders.Order) {
			if _, err := s.Delete(ctx, o.ID, o.Version, t0); err != nil {
				t.Fatal(err)
			}
		}, gone: true},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				o := create(t, f.store, 15000, t0)
				if tc.prepare != nil {
					tc.prepare(t, f.store, o)
				}
				at := t0.Add(10 * time.Second)
				if tc.at != nil {
					at = tc.at(o)
				}
				p := tc.p
				if p.Status == "" {
					p = payment
				}
				before, _ := f.store.Get(ctx, o.ID, t0) // nil once deleted
				id := o.ID
				if tc.unknown {
					id = orders.NewID()
				}
				got, err := f.store.SettleFromToss(ctx, id, approved, p, at)
				switch {
				case tc.gone:
					wantNotFound(t, err)
					if before != nil {
						equal(t, "order after refusal", mustGet(t, f.store, o.ID, t0), before)
					}
					return
				case tc.current != "":
					ce := wantConflict(t, err, tc.current)
					equal(t, "conflict's current", ce.Current, before)
					equal(t, "order after refusal", mustGet(t, f.store, o.ID, t0), before)
					return
				case err != nil:
					t.Fatal(err)
				}
				want := *before
				want.Status, want.PaymentKey = orders.StatusDone, approved
				want.ClaimExpiresAt, want.ExpiresAt, want.ClaimedAt = time.Time{}, time.Time{}, time.Time{}
				want.UpdatedAt, want.Version = ms(at), before.Version+1
				wp := summaryAfter(&payment, p)
				wp.ApprovedAt = ms(wp.ApprovedAt)
				want.Payment = wp
				equal(t, tc.name, got, &want)
				// Paid for good: it outlives the unpaid TTL and leaves the
				// reconciler's lists.
				later := at.AddDate(1, 0, 0)
				equal(t, "paid order a year on", mustGet(t, f.store, o.ID, later), got)
				for name, list := range map[string]func(time.Time, int) ([]*orders.Order, error){
					"lapsed claims": func(now time.Time, n int) ([]*orders.Order, error) { return f.store.LapsedClaims(ctx, now, n) },
					"overdue":       func(now time.Time, n int) ([]*orders.Order, error) { return f.store.Overdue(ctx, now, n) },
				} {
					due, err := list(later, orders.MaxLimit)
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range due {
						if d.ID == o.ID {
							t.Errorf("settled order still in %s", name)
						}
					}
				}
				if f.raw != nil {
					for _, a := range []string{orders.TTLAttribute, "unpaidTtl", "dueKind", "dueAt", "claimExpiresAt"} {
						if _, ok := f.raw(t, o.ID)[a]; ok {
							t.Errorf("settled item still has %s", a)
						}
					}
				}
				// The approved attempt owns the order now: its refunds apply,
				// and the attempt that held the claim can do nothing more.
				if _, err := f.store.Complete(ctx, o.ID, "pk_1", payment, at); err == nil {
					t.Error("the claim's attempt completed a settled order")
				}
				if _, err := f.store.ApplyCancel(ctx, o.ID, approved, canceled(5000, 10000), at); err != nil {
					t.Errorf("refund under the approved key: %v", err)
				}
			})
		}
	})
}

func TestSettleFromTossRefusesNonApprovals(t *testing.T) {
	with := func(change func(p *orders.Payment)) orders.Payment {
		p := payment
		change(&p)
		return p
	}
	cases := []paymentRefusal{
		{"no payment key", "", payment, "paymentKey"},
		{"payment key too long", string(make([]byte, orders.MaxPaymentKeyLen+1)), payment, "paymentKey"},
		{"no total", "pk_1", with(func(p *orders.Payment) { p.TotalAmount = 0 }), "payment.totalAmount"},
		{"balance above total", "pk_1", with(func(p *orders.Payment) { p.BalanceAmount = 20000 }), "payment.balanceAmount"},
		{"negative balance", "pk_1", with(func(p *orders.Payment) { p.BalanceAmount = -1 }), "payment.balanceAmount"},
		{"aborted", "pk_1", with(func(p *orders.Payment) { p.Status = "ABORTED" }), "payment.status"},
		{"in progress", "pk_1", with(func(p *orders.Payment) { p.Status = "IN_PROGRESS" }), "payment.status"},
		{"no status", "pk_1", with(func(p *orders.Payment) { p.Status = "" }), "payment.status"},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		refusedBeforeIO(t, f, o, cases, f.store.SettleFromToss)
	})
}

// TestAttemptBudget: both stores admit at most AttemptLimit Toss-reaching
// attempts (claims of a new paymentKey, and AdmitLookup) in any
// AttemptWindow, refuse the next with the order as it stood (whose
// AttemptsFullUntil says when to come back), admit again once the window
// rolls, never refuse a resume of the attempt holding a lapsed claim, and
// admit a lookup of a paid order's own payment on the order's own budget
// (TestTokenBudget bounds those). AdmitLookup leaves Version and UpdatedAt
// alone.
