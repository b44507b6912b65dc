package orders_test

import (
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// failedOrder is an order whose one attempt, pk_1, Toss declined.
func failedOrder(t *testing.T, s orders.Store) *orders.Order {
	t.Helper()
	o := create(t, s, 15000, t0)
	mustClaim(t, s, o, "pk_1", t0)
	failed, err := s.Fail(ctx, o.ID, "pk_1", orders.Failure{Code: "REJECT_CARD_COMPANY", Message: "declined", PaymentKey: "pk_1", Amount: 15000, At: t0}, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return failed
}

func wantRechecks(t *testing.T, s orders.Store, now time.Time, want ...string) {
	t.Helper()
	got, err := s.Rechecks(ctx, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); len(g) != len(want) || (len(want) > 0 && g[0] != want[0]) {
		t.Fatalf("rechecks at %s: %v, want %v", now.Sub(t0), g, want)
	}
}

// An order that expires FAILED had attempts at Toss, one of which Toss may
// still approve: it is due for one recheck ExpiredRecheckAfter later; an
// order that expires PENDING never had one and is never rechecked.
func TestExpireSchedulesARecheckOfFailedOrders(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		s := f.store
		pending := create(t, s, 15000, t0)
		failed := failedOrder(t, s)
		at := failed.PayableUntil
		for _, o := range []*orders.Order{pending, failed} {
			if _, err := s.Expire(ctx, o.ID, at); err != nil {
				t.Fatal(err)
			}
		}
		if got := mustGet(t, s, pending.ID, at); !got.RecheckAt.IsZero() {
			t.Errorf("expired PENDING order has a recheck at %v", got.RecheckAt)
		}
		expired := mustGet(t, s, failed.ID, at)
		if expired.Status != orders.StatusExpired || !expired.RecheckAt.Equal(ms(at.Add(orders.ExpiredRecheckAfter))) {
			t.Fatalf("expired FAILED order: %s, recheck at %v, want EXPIRED at %v", expired.Status, expired.RecheckAt, at.Add(orders.ExpiredRecheckAfter))
		}
		wantRechecks(t, s, at.Add(orders.ExpiredRecheckAfter-time.Millisecond))
		wantRechecks(t, s, at.Add(orders.ExpiredRecheckAfter), failed.ID)

		// A version that no longer stands is refused; the recheck done, the
		// order is due no more.
		_, err := s.Rechecked(ctx, failed.ID, expired.Version-1, time.Time{}, at)
		wantConflict(t, err, orders.StatusExpired)
		done, err := s.Rechecked(ctx, failed.ID, expired.Version, time.Time{}, at)
		if err != nil {
			t.Fatal(err)
		}
		if !done.RecheckAt.IsZero() || done.Version != expired.Version+1 {
			t.Errorf("rechecked: recheck at %v version %d, want none and version %d", done.RecheckAt, done.Version, expired.Version+1)
		}
		wantRechecks(t, s, at.Add(time.Hour))

		// A recheck is only for orders no claim or pay window makes due.
		unpaid := create(t, s, 15000, t0)
		_, err = s.Rechecked(ctx, unpaid.ID, unpaid.Version, at, at)
		wantConflict(t, err, orders.StatusPending)
		_, err = s.Rechecked(ctx, orders.NewID(), 1, at, at)
		wantNotFound(t, err)
	})
}

// An approval Toss made after the order expired is recorded from the
// expired order itself, and recording it ends the recheck.
func TestSettleFromTossEndsTheRecheck(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		s := f.store
		failed := failedOrder(t, s)
		at := failed.PayableUntil
		if _, err := s.Expire(ctx, failed.ID, at); err != nil {
			t.Fatal(err)
		}
		p := payment
		p.Raw = nil
		paid, err := s.SettleFromToss(ctx, failed.ID, "pk_1", p, at.Add(orders.ExpiredRecheckAfter))
		if err != nil {
			t.Fatal(err)
		}
		if paid.Status != orders.StatusDone || !paid.RecheckAt.IsZero() || !paid.ExpiresAt.IsZero() {
			t.Errorf("settled: %s, recheck at %v, TTL %v; want DONE with neither", paid.Status, paid.RecheckAt, paid.ExpiresAt)
		}
		wantRechecks(t, s, at.Add(time.Hour))
	})
}

// A refund reservation schedules a recheck RefundRecheckAfter after the
// first one pending; a later one keeps that time; the reconciler moves
// it (Rechecked) as the reservations settle.
func TestReserveRefundSchedulesARecheck(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		s := f.store
		o := paidOrder(t, s)
		first := t0.Add(time.Hour)
		if _, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k1", 15000, 5000), first); err != nil {
			t.Fatal(err)
		}
		second, err := s.ReserveRefund(ctx, o.ID, reservation("cancel-k2", 15000, 1000), first.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if want := ms(first.Add(orders.RefundRecheckAfter)); !second.RecheckAt.Equal(want) {
			t.Fatalf("recheck at %v, want %v (the first reservation's)", second.RecheckAt, want)
		}
		wantRechecks(t, s, first.Add(orders.RefundRecheckAfter-time.Millisecond))
		wantRechecks(t, s, first.Add(orders.RefundRecheckAfter), o.ID)

		released, err := s.ReleaseRefund(ctx, o.ID, "cancel-k1", 5000, first.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		next := first.Add(time.Minute + orders.RefundRecheckAfter)
		moved, err := s.Rechecked(ctx, o.ID, released.Version, next, first.Add(orders.RefundRecheckAfter))
		if err != nil {
			t.Fatal(err)
		}
		if !moved.RecheckAt.Equal(ms(next)) || moved.Refunds["cancel-k2"].Amount != 1000 {
			t.Fatalf("moved: recheck at %v refunds %+v", moved.RecheckAt, moved.Refunds)
		}
		wantRechecks(t, s, next.Add(-time.Millisecond))
		wantRechecks(t, s, next, o.ID)
	})
}
