package orders

import (
	"context"
	"fmt"
	"time"
)

// Validated returns s behind the one place the Store's arguments are
// checked: every method refuses what no order could satisfy (an ID that
// is not an order ID, a missing paymentKey, a Payment.Raw the order could
// not keep, a malformed cursor, ...) before it calls s, so a refused
// argument costs no I/O and is refused alike whatever s is. DynamoStore
// and MemoryStore hold only their conditions and writes and rely on these
// checks: every caller takes them through Validated.
func Validated(s Store) Store { return validating{s} }

type validating struct{ s Store }

var _ Store = validating{}

// Create implements Store: the inner store writes the order prepareNew
// makes, and o becomes it once written.
func (v validating) Create(ctx context.Context, o *Order) error {
	n, err := prepareNew(o)
	if err != nil {
		return fmt.Errorf("orders: create: %w", err)
	}
	if err := v.s.Create(ctx, n); err != nil {
		return err
	}
	*o = *n
	return nil
}

// Get implements Store.
func (v validating) Get(ctx context.Context, id string, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	return v.s.Get(ctx, id, now)
}

// Claim implements Store.
func (v validating) Claim(ctx context.Context, c Claim) (*Order, error) {
	if !ValidID(c.OrderID) {
		return nil, notFound(c.OrderID)
	}
	if err := checkClaim(c); err != nil {
		return nil, fmt.Errorf("orders: claim %s: %w", c.OrderID, err)
	}
	return v.s.Claim(ctx, c)
}

// Release implements Store.
func (v validating) Release(ctx context.Context, id, paymentKey string, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkPaymentKey(paymentKey); err != nil {
		return nil, fmt.Errorf("orders: release %s: %w", id, err)
	}
	return v.s.Release(ctx, id, paymentKey, now)
}

// AdmitLookup implements Store.
func (v validating) AdmitLookup(ctx context.Context, id, ownPaymentKey string, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	return v.s.AdmitLookup(ctx, id, ownPaymentKey, now)
}

// AdmitTokenLookup implements Store.
func (v validating) AdmitTokenLookup(ctx context.Context, id, token string, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if token == "" {
		return nil, fmt.Errorf("orders: admit token lookup %s: %w", id, &ValidationError{Field: "token", Reason: "required"})
	}
	return v.s.AdmitTokenLookup(ctx, id, token, now)
}

// Complete implements Store.
func (v validating) Complete(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkPaymentKey(paymentKey); err != nil {
		return nil, fmt.Errorf("orders: complete %s: %w", id, err)
	}
	if err := checkRaw(p); err != nil {
		return nil, fmt.Errorf("orders: complete %s: %w", id, err)
	}
	return v.s.Complete(ctx, id, paymentKey, p, now)
}

// SettleFromToss implements Store.
func (v validating) SettleFromToss(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkSettle(paymentKey, p); err != nil {
		return nil, fmt.Errorf("orders: settle from toss %s: %w", id, err)
	}
	return v.s.SettleFromToss(ctx, id, paymentKey, p, now)
}

// ApplyCancel implements Store.
func (v validating) ApplyCancel(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkCancel(paymentKey, p); err != nil {
		return nil, fmt.Errorf("orders: apply cancel %s: %w", id, err)
	}
	return v.s.ApplyCancel(ctx, id, paymentKey, p, now)
}

// ReserveRefund implements Store.
func (v validating) ReserveRefund(ctx context.Context, id string, r RefundReservation, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkReservation(r); err != nil {
		return nil, fmt.Errorf("orders: reserve refund %s: %w", id, err)
	}
	return v.s.ReserveRefund(ctx, id, r, now)
}

// SettleRefund implements Store.
func (v validating) SettleRefund(ctx context.Context, id, paymentKey, key string, amount int64, p Payment, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkRefundKey(key); err != nil {
		return nil, fmt.Errorf("orders: settle refund %s: %w", id, err)
	}
	if err := checkCancel(paymentKey, p); err != nil {
		return nil, fmt.Errorf("orders: settle refund %s: %w", id, err)
	}
	return v.s.SettleRefund(ctx, id, paymentKey, key, amount, p, now)
}

// ReleaseRefund implements Store.
func (v validating) ReleaseRefund(ctx context.Context, id, key string, amount int64, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkRefundKey(key); err != nil {
		return nil, fmt.Errorf("orders: release refund %s: %w", id, err)
	}
	return v.s.ReleaseRefund(ctx, id, key, amount, now)
}

// Fail implements Store.
func (v validating) Fail(ctx context.Context, id, paymentKey string, f Failure, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkPaymentKey(paymentKey); err != nil {
		return nil, fmt.Errorf("orders: fail %s: %w", id, err)
	}
	return v.s.Fail(ctx, id, paymentKey, f, now)
}

// RecordFailure implements Store.
func (v validating) RecordFailure(ctx context.Context, id string, f Failure, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	return v.s.RecordFailure(ctx, id, f, now)
}

// Expire implements Store.
func (v validating) Expire(ctx context.Context, id string, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	return v.s.Expire(ctx, id, now)
}

// Rechecked implements Store.
func (v validating) Rechecked(ctx context.Context, id string, version int64, next, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	return v.s.Rechecked(ctx, id, version, next, now)
}

// Delete implements Store.
func (v validating) Delete(ctx context.Context, id string, version int64, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	return v.s.Delete(ctx, id, version, now)
}

// LapsedClaims implements Store.
func (v validating) LapsedClaims(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	return v.s.LapsedClaims(ctx, now, limit)
}

// Overdue implements Store.
func (v validating) Overdue(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	return v.s.Overdue(ctx, now, limit)
}

// Rechecks implements Store.
func (v validating) Rechecks(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	return v.s.Rechecks(ctx, now, limit)
}

// List implements Store.
func (v validating) List(ctx context.Context, now time.Time, limit int, cur string) ([]*Order, string, error) {
	if _, err := listStart(cur); err != nil {
		return nil, "", fmt.Errorf("orders: list: %w", err)
	}
	return v.s.List(ctx, now, limit, cur)
}
