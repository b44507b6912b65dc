package payments

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// paidOnMemory is an order paid under pk_1 on a MemoryStore, recorded from
// Toss's payment p (SettleFromToss), as a reconcile pass records it.
func paidOnMemory(t *testing.T, s orders.Store, now time.Time, p orders.Payment) *orders.Order {
	t.Helper()
	o, err := orders.New(orders.Draft{Name: "Tea", Amount: p.TotalAmount}, now, orders.Policy{MaxAmount: 1_000_000, PayWindow: time.Hour, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	paid, err := s.SettleFromToss(context.Background(), o.ID, "pk_1", p, now)
	if err != nil {
		t.Fatal(err)
	}
	return paid
}

// An order recorded paid from a payment Toss reports refunded in full
// reads DONE with a zero balance until its cancel is applied: there is
// nothing to refund, and Cancel says so before asking Toss anything.
func TestCancelRefusesAPaidOrderWithNoBalance(t *testing.T) {
	now := time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)
	s := orders.Validated(orders.NewMemoryStore())
	o := paidOnMemory(t, s, now, orders.Payment{
		Status: "CANCELED", Method: "카드", TotalAmount: 15000, BalanceAmount: 0, ApprovedAt: now,
		Cancels: []orders.Cancel{{TransactionKey: "tx_1", Reason: "dashboard", Amount: 15000, CanceledAt: now}},
	})
	if o.Status != orders.StatusDone || o.Payment.BalanceAmount != 0 {
		t.Fatalf("order %s with balance %d, want DONE with 0", o.Status, o.Payment.BalanceAmount)
	}
	e := &Engine{Orders: s, Clock: func() time.Time { return now }} // no Toss: nothing may reach it
	for _, amount := range []int64{0, 1000} {
		_, err := e.Cancel(context.Background(), o.ID, "buyer asked", amount, "")
		if !errors.Is(err, ErrNotCancelable) {
			t.Errorf("Cancel(amount %d) = %v, want ErrNotCancelable", amount, err)
		}
	}
}

// contendedStore refuses every reservation as if another request's write
// had just landed on the order, until it has refused limit of them.
type contendedStore struct {
	orders.Store
	refused, limit int
}

func (s *contendedStore) ReserveRefund(ctx context.Context, id string, r orders.RefundReservation, now time.Time) (*orders.Order, error) {
	if s.refused >= s.limit {
		return nil, fmt.Errorf("%w: %s", orders.ErrNotFound, id)
	}
	s.refused++
	cur, err := s.Store.Get(ctx, id, now)
	if err != nil {
		return nil, err
	}
	return nil, &orders.ConflictError{Op: "reserve refund", Current: cur}
}

// A reservation refused again and again (a burst of writes on the order)
// is tried maxReserveAttempts times, then given up with an error, before
// anything reaches Toss.
func TestCancelGivesUpAfterMaxReserveAttempts(t *testing.T) {
	now := time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)
	mem := orders.Validated(orders.NewMemoryStore())
	o := paidOnMemory(t, mem, now, orders.Payment{Status: "DONE", Method: "카드", TotalAmount: 15000, BalanceAmount: 15000, ApprovedAt: now})
	s := &contendedStore{Store: mem, limit: 10 * maxReserveAttempts}
	e := &Engine{Orders: s, Clock: func() time.Time { return now }}
	_, err := e.Cancel(context.Background(), o.ID, "buyer asked", 1000, "")
	var ce *orders.ConflictError
	if s.refused != maxReserveAttempts || !errors.As(err, &ce) {
		t.Fatalf("%d reservations tried, err %v; want %d tried and the last refusal", s.refused, err, maxReserveAttempts)
	}
}
