package sim

import (
	"context"
	"errors"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// Errors the store wrapper returns for its faults, as the SDK would: a
// call refused before it reached the table, and one whose write applied
// but whose answer never came back.
var (
	errStoreUnavailable = errors.New("sim: store unavailable (throttled, nothing written)")
	errStoreAnswerLost  = errors.New("sim: store answer lost after the write applied")
)

// store is the engine's orders.Store: the real MemoryStore behind a
// scheduled step per call.
type store struct {
	s   *Sim
	mem *orders.MemoryStore
}

var _ orders.Store = store{}

// do runs one store call as a step under the fault drawn for it.
func do[T any](s *Sim, op string, call func() (T, error)) (T, error) {
	var zero T
	f := s.step(stepStore, op)
	if f == faultStoreDown {
		return zero, errStoreUnavailable
	}
	v, err := call()
	switch f {
	case faultLost:
		return zero, errStoreAnswerLost
	case faultDieAfter:
		s.die()
	}
	return v, err
}

func (st store) Create(ctx context.Context, o *orders.Order) error {
	_, err := do(st.s, "Store.Create", func() (struct{}, error) { return struct{}{}, st.mem.Create(ctx, o) })
	return err
}

func (st store) Get(ctx context.Context, id string, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Get "+id, func() (*orders.Order, error) { return st.mem.Get(ctx, id, now) })
}

func (st store) Claim(ctx context.Context, c orders.Claim) (*orders.Order, error) {
	return do(st.s, "Store.Claim "+c.OrderID+" "+c.PaymentKey, func() (*orders.Order, error) {
		before, _ := st.mem.Get(ctx, c.OrderID, c.Now)
		o, err := st.mem.Claim(ctx, c)
		if err == nil {
			st.s.claimed(before, c)
		}
		return o, err
	})
}

func (st store) AdmitLookup(ctx context.Context, id, own string, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.AdmitLookup "+id, func() (*orders.Order, error) { return st.mem.AdmitLookup(ctx, id, own, now) })
}

func (st store) Complete(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Complete "+id+" "+pk, func() (*orders.Order, error) { return st.mem.Complete(ctx, id, pk, p, now) })
}

func (st store) SettleFromToss(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.SettleFromToss "+id+" "+pk, func() (*orders.Order, error) { return st.mem.SettleFromToss(ctx, id, pk, p, now) })
}

func (st store) Fail(ctx context.Context, id, pk string, f orders.Failure, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Fail "+id+" "+pk+" "+f.Code, func() (*orders.Order, error) { return st.mem.Fail(ctx, id, pk, f, now) })
}

func (st store) ApplyCancel(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.ApplyCancel "+id, func() (*orders.Order, error) { return st.mem.ApplyCancel(ctx, id, pk, p, now) })
}

func (st store) ReserveRefund(ctx context.Context, id string, r orders.RefundReservation, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.ReserveRefund "+id, func() (*orders.Order, error) { return st.mem.ReserveRefund(ctx, id, r, now) })
}

func (st store) SettleRefund(ctx context.Context, id, pk, key string, amount int64, p orders.Payment, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.SettleRefund "+id, func() (*orders.Order, error) {
		return st.mem.SettleRefund(ctx, id, pk, key, amount, p, now)
	})
}

func (st store) ReleaseRefund(ctx context.Context, id, key string, amount int64, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.ReleaseRefund "+id, func() (*orders.Order, error) { return st.mem.ReleaseRefund(ctx, id, key, amount, now) })
}

func (st store) RecordFailure(ctx context.Context, id string, f orders.Failure, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.RecordFailure "+id, func() (*orders.Order, error) { return st.mem.RecordFailure(ctx, id, f, now) })
}

func (st store) Expire(ctx context.Context, id string, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Expire "+id, func() (*orders.Order, error) { return st.mem.Expire(ctx, id, now) })
}

func (st store) LapsedClaims(ctx context.Context, now time.Time, limit int) ([]*orders.Order, error) {
	return do(st.s, "Store.LapsedClaims", func() ([]*orders.Order, error) { return st.mem.LapsedClaims(ctx, now, limit) })
}

func (st store) Overdue(ctx context.Context, now time.Time, limit int) ([]*orders.Order, error) {
	return do(st.s, "Store.Overdue", func() ([]*orders.Order, error) { return st.mem.Overdue(ctx, now, limit) })
}

func (st store) List(ctx context.Context, now time.Time, limit int, cursor string) ([]*orders.Order, string, error) {
	var next string
	items, err := do(st.s, "Store.List", func() ([]*orders.Order, error) {
		items, n, err := st.mem.List(ctx, now, limit, cursor)
		next = n
		return items, err
	})
	return items, next, err
}

func (st store) Delete(ctx context.Context, id string, version int64, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Delete "+id, func() (*orders.Order, error) { return st.mem.Delete(ctx, id, version, now) })
}

func (st store) Rechecks(ctx context.Context, now time.Time, limit int) ([]*orders.Order, error) {
	return do(st.s, "Store.Rechecks", func() ([]*orders.Order, error) { return st.mem.Rechecks(ctx, now, limit) })
}

func (st store) Rechecked(ctx context.Context, id string, version int64, next, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Rechecked "+id, func() (*orders.Order, error) { return st.mem.Rechecked(ctx, id, version, next, now) })
}

func (st store) Release(ctx context.Context, id, pk string, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Release "+id+" "+pk, func() (*orders.Order, error) { return st.mem.Release(ctx, id, pk, now) })
}

func (st store) AdmitTokenLookup(ctx context.Context, id, token string, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.AdmitTokenLookup "+id, func() (*orders.Order, error) { return st.mem.AdmitTokenLookup(ctx, id, token, now) })
}
