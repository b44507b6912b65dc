package payments

import (
	"context"
	"errors"
	"testing"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// lookupDown is Toss unreachable for lookups by orderId.
type lookupDown struct{ *fakeToss }

func (lookupDown) PaymentByOrderID(context.Context, string, ...toss.CallOption) (*toss.Payment, error) {
	return nil, &toss.Error{Status: 500, Code: toss.CodeFailedInternalSystem, Message: "down"}
}

// failedOrder is an order whose only attempt Toss declined.
func failedOrder(t *testing.T, f *fixture) *orders.Order {
	t.Helper()
	o := f.newOrder(t, 5000)
	f.toss.declines["tgen_pk_declined1"] = &toss.Error{Status: 403, Code: toss.CodeRejectCardCompany, Message: "declined"}
	if res, err := f.engine.Confirm(context.Background(), "tgen_pk_declined1", o.ID, 5000); err != nil || res.Outcome != OutcomeDeclined {
		t.Fatalf("declined confirm: %v %+v", err, res)
	}
	f.clock.Advance(defaultSessionWindow + lateTossMargin) // past Toss's confirm window of that attempt
	return o
}

// An order whose last attempt is inside Toss's confirm window is not
// deleted: another attempt of the same moment may still be approved after
// any lookup (Toss's lookup by orderId lists one attempt).
func TestDeleteWaitsOutTheLastAttemptsConfirmWindow(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 5000)
	f.toss.declines["tgen_pk_declined1"] = &toss.Error{Status: 403, Code: toss.CodeRejectCardCompany, Message: "declined"}
	if _, err := f.engine.Confirm(context.Background(), "tgen_pk_declined1", o.ID, 5000); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultSessionWindow)
	if _, err := f.engine.Delete(context.Background(), o.ID); !errors.As(err, new(*orders.ConflictError)) {
		t.Fatalf("delete inside the window: %v, want a conflict", err)
	}
	f.clock.Advance(lateTossMargin)
	if _, err := f.engine.Delete(context.Background(), o.ID); err != nil {
		t.Fatalf("delete past the window: %v", err)
	}
}

func TestDeleteLooksUpOnlyOrdersThatHadAttempts(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	pending := f.newOrder(t, 5000)
	if _, err := f.engine.Delete(context.Background(), pending.ID); err != nil {
		t.Fatalf("delete a pending order: %v", err)
	}
	if f.toss.lookups != 0 {
		t.Errorf("deleting an order without attempts made %d Toss lookups", f.toss.lookups)
	}
	failed := failedOrder(t, f)
	if _, err := f.engine.Delete(context.Background(), failed.ID); err != nil {
		t.Fatalf("delete a failed order Toss holds nothing approved for: %v", err)
	}
	if f.toss.lookups != 1 {
		t.Errorf("deleting a failed order made %d Toss lookups, want 1", f.toss.lookups)
	}
	if _, err := f.store.Get(context.Background(), failed.ID, f.clock.Now()); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("the failed order is still there: %v", err)
	}
	if _, err := f.engine.Delete(context.Background(), failed.ID); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("deleting it again: %v, want ErrNotFound", err)
	}
}

// Toss holds an approved payment for a FAILED order (confirmed by another
// server with our secret key): deleting the order would lose a paid order.
func TestDeleteRefusesAnOrderTossHoldsAnApprovalFor(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := failedOrder(t, f)
	at := &toss.Time{Time: f.clock.Now()}
	f.toss.payments["tgen_pk_elsewhere"] = &toss.Payment{PaymentKey: "tgen_pk_elsewhere", OrderID: o.ID, TotalAmount: 5000,
		BalanceAmount: 5000, Status: toss.StatusDone, ApprovedAt: at, RequestedAt: at}

	_, err := f.engine.Delete(context.Background(), o.ID)
	var ce *orders.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("delete: %v, want a ConflictError", err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusFailed {
		t.Errorf("the order is %s after the refused delete", got.Status)
	}
	// Reconcile records it paid once it is overdue.
	f.clock.Advance(testPolicy.PayWindow + 1)
	if _, err := f.engine.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusDone || got.PaymentKey != "tgen_pk_elsewhere" {
		t.Errorf("after reconcile: %s under %q, want DONE under the approved attempt", got.Status, got.PaymentKey)
	}
}

// When Toss cannot say, the order is kept: it may be paid.
func TestDeleteKeepsTheOrderWhenTossCannotSay(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := failedOrder(t, f)
	f.engine.Toss = lookupDown{f.toss}
	_, err := f.engine.Delete(context.Background(), o.ID)
	var te *toss.Error
	if !errors.As(err, &te) || te.Status != 500 {
		t.Fatalf("delete with Toss down: %v, want Toss's error", err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusFailed {
		t.Errorf("the order is %s", got.Status)
	}
}

// The simulator's seed 17802: a made-up paymentKey's claim, given back
// because Toss never issued it, leaves the order PENDING while another
// server holding the secret key had the buyer's real attempt approved. The
// merchant's delete looks the order up at Toss first, as for a FAILED one,
// and refuses: the order is paid, not gone.
func TestDeleteLooksUpAReleasedOrder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 35000)
	f.forge("tpk_forged_1")
	if res, err := f.engine.Confirm(ctx, "tpk_forged_1", o.ID, o.Amount); err != nil || res.Outcome != OutcomeDeclined {
		t.Fatalf("forged confirm: %v %+v", err, res)
	}
	if _, err := f.toss.Confirm(ctx, toss.ConfirmRequest{PaymentKey: "tpk_real_10", OrderID: o.ID, Amount: o.Amount}, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	_, err := f.engine.Delete(ctx, o.ID)
	var ce *orders.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("delete: %v, want a ConflictError", err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusPending {
		t.Errorf("the order is %s after the refused delete", got.Status)
	}
}

// An attempt Toss shows in progress may still be approved between the
// lookup and the delete: the delete is refused until Toss decides it.
func TestDeleteRefusesWhileTossShowsAnAttemptInProgress(t *testing.T) {
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := failedOrder(t, f)
	f.toss.put(toss.Payment{PaymentKey: "tgen_pk_pending", OrderID: o.ID, TotalAmount: o.Amount, Status: toss.StatusInProgress,
		RequestedAt: &toss.Time{Time: f.clock.Now()}})
	if _, err := f.engine.Delete(context.Background(), o.ID); !errors.As(err, new(*orders.ConflictError)) {
		t.Fatalf("delete: %v, want a conflict while Toss shows an attempt in progress", err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusFailed {
		t.Fatalf("order %s after the refused delete", got.Status)
	}
}
