package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/orders"
)

// backend is where a schedule keeps its orders and Idempotency-Key
// records: the in-memory stores, or DynamoDB's (dynamo.go).
type backend struct {
	orders orders.Store
	idem   idempotency.Store
}

func memoryBackend() backend {
	return backend{orders: orders.Validated(orders.NewMemoryStore()), idem: idempotency.NewMemoryStore()}
}

// Errors the store wrapper returns for its faults, as the SDK would: a
// call refused before it reached the table, and one whose write applied
// but whose answer never came back.
var (
	errStoreUnavailable = errors.New("sim: store unavailable (throttled, nothing written)")
	errStoreAnswerLost  = errors.New("sim: store answer lost after the write applied")
)

// The wrappers call the backend with a context of their own: the product's
// carries the invocation's deadline on the simulated clock, which is in
// the real past, and DynamoDB's HTTP client would refuse to dial with it.
// The scheduler stops an invocation at its deadline instead.
var bg = context.Background()

// do runs one store call as a step under the fault drawn for it. A write
// drawn faultWriteLate is in flight when the invocation's deadline passes:
// the invocation dies waiting for it, and the write lands later (an event
// once the deadline has passed, or at quiescence), as one sent to
// DynamoDB just before a Lambda timed out can.
func do[T any](s *Sim, op string, write bool, call func() (T, error)) (T, error) {
	var zero T
	a := s.cur
	f := s.step(stepStore, op, write)
	switch f {
	case faultStoreDown:
		return zero, errStoreUnavailable
	case faultWriteLate:
		s.lateWrites = append(s.lateWrites, &lateWrite{op: op, actor: a.name, deadline: a.deadline, apply: func() { _, _ = call() }})
		s.die()
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

func notFound(id string) error { return fmt.Errorf("%w: %s (TTL deleted)", orders.ErrNotFound, id) }

// store is the product's orders.Store: the backend's behind a scheduled
// step per call, and DynamoDB's TTL deletions (vanished orders are gone
// for every call from the moment TTL deleted them).
type store struct{ s *Sim }

var _ orders.Store = store{}

func (st store) gone(id string) bool { return st.s.vanished[id] }

// at is a write reaching order id (now, or late): the order is read again
// at the next check (checkStep), and whether TTL deleted it is returned.
func (st store) at(id string) bool {
	st.s.touched[id] = true
	return st.gone(id)
}

func (st store) live(os []*orders.Order) []*orders.Order {
	return slices.DeleteFunc(os, func(o *orders.Order) bool { return st.gone(o.ID) })
}

func (st store) Create(ctx context.Context, o *orders.Order) error {
	_, err := do(st.s, "Store.Create", true, func() (struct{}, error) { return struct{}{}, st.s.be.orders.Create(bg, o) })
	return err
}

func (st store) Get(ctx context.Context, id string, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Get "+id, false, func() (*orders.Order, error) {
		if st.gone(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.Get(bg, id, now)
	})
}

func (st store) Claim(ctx context.Context, c orders.Claim) (*orders.Order, error) {
	a := st.s.cur
	return do(st.s, "Store.Claim "+c.OrderID+" "+c.PaymentKey, true, func() (*orders.Order, error) {
		if st.at(c.OrderID) {
			return nil, notFound(c.OrderID)
		}
		before, _ := st.s.be.orders.Get(bg, c.OrderID, c.Now)
		o, err := st.s.be.orders.Claim(bg, c)
		if err == nil {
			st.s.claimed(a, before, c)
			resume := before != nil && before.Status == orders.StatusConfirming && before.PaymentKey == c.PaymentKey
			st.s.admitted(a, c.OrderID, c.Token != "", false, resume, c.Now)
		}
		return o, err
	})
}

func (st store) AdmitLookup(ctx context.Context, id, own string, now time.Time) (*orders.Order, error) {
	a := st.s.cur
	return do(st.s, "Store.AdmitLookup "+id, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		o, err := st.s.be.orders.AdmitLookup(bg, id, own, now)
		if err == nil {
			st.s.admitted(a, id, own != "", true, false, now)
		}
		return o, err
	})
}

func (st store) Complete(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Complete "+id+" "+pk, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.Complete(bg, id, pk, p, now)
	})
}

func (st store) SettleFromToss(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.SettleFromToss "+id+" "+pk, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.SettleFromToss(bg, id, pk, p, now)
	})
}

func (st store) Fail(ctx context.Context, id, pk string, f orders.Failure, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Fail "+id+" "+pk+" "+f.Code, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.Fail(bg, id, pk, f, now)
	})
}

func (st store) ApplyCancel(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.ApplyCancel "+id, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.ApplyCancel(bg, id, pk, p, now)
	})
}

func (st store) ReserveRefund(ctx context.Context, id string, r orders.RefundReservation, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.ReserveRefund "+id, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.ReserveRefund(bg, id, r, now)
	})
}

func (st store) SettleRefund(ctx context.Context, id, pk, key string, amount int64, p orders.Payment, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.SettleRefund "+id, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.SettleRefund(bg, id, pk, key, amount, p, now)
	})
}

func (st store) ReleaseRefund(ctx context.Context, id, key string, amount int64, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.ReleaseRefund "+id, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.ReleaseRefund(bg, id, key, amount, now)
	})
}

func (st store) RecordFailure(ctx context.Context, id string, f orders.Failure, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.RecordFailure "+id, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.RecordFailure(bg, id, f, now)
	})
}

func (st store) Expire(ctx context.Context, id string, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Expire "+id, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.Expire(bg, id, now)
	})
}

func (st store) LapsedClaims(ctx context.Context, now time.Time, limit int) ([]*orders.Order, error) {
	return do(st.s, "Store.LapsedClaims", false, func() ([]*orders.Order, error) {
		os, err := st.s.be.orders.LapsedClaims(bg, now, limit)
		return st.live(os), err
	})
}

func (st store) Overdue(ctx context.Context, now time.Time, limit int) ([]*orders.Order, error) {
	return do(st.s, "Store.Overdue", false, func() ([]*orders.Order, error) {
		os, err := st.s.be.orders.Overdue(bg, now, limit)
		return st.live(os), err
	})
}

func (st store) List(ctx context.Context, now time.Time, limit int, cursor string) ([]*orders.Order, string, error) {
	var next string
	items, err := do(st.s, "Store.List", false, func() ([]*orders.Order, error) {
		items, n, err := st.s.be.orders.List(bg, now, limit, cursor)
		next = n
		return st.live(items), err
	})
	return items, next, err
}

func (st store) Delete(ctx context.Context, id string, version int64, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Delete "+id, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.Delete(bg, id, version, now)
	})
}

// idemStore is the API's idempotency.Store: the backend's behind a
// scheduled step per call, with the store faults. It keeps what the answer
// checks need (merchant.go): which lock token holds each record, and the
// first answer each record completed with.
type idemStore struct{ s *Sim }

var _ idempotency.Store = idemStore{}

func (st idemStore) Lock(ctx context.Context, rec idempotency.Record, now time.Time) (idempotency.Record, bool, error) {
	s := st.s
	a := s.cur
	type locked struct {
		old idempotency.Record
		ok  bool
	}
	l, err := do(s, "Idempotency.Lock", true, func() (locked, error) {
		old, ok, err := s.be.idem.Lock(bg, rec, now)
		if err == nil && ok {
			s.lockHolder[rec.ID] = rec.LockToken
		}
		return locked{old, ok}, err
	})
	_, completed := s.firstAnswer[rec.ID]
	switch {
	case err != nil:
	case completed && l.ok:
		s.violate("Idempotency-Key record %.12s… was completed, and a later request locked it again: its answer is not replayed", rec.ID)
	case l.ok:
		a.idemRec, a.idemToken = rec.ID, rec.LockToken
	case completed:
		a.replayOf = rec.ID
	}
	return l.old, l.ok, err
}

func (st idemStore) Complete(ctx context.Context, id, token string, resp idempotency.Response, now time.Time) error {
	s := st.s
	_, err := do(s, "Idempotency.Complete", true, func() (struct{}, error) {
		err := s.be.idem.Complete(bg, id, token, resp, now)
		if _, seen := s.firstAnswer[id]; err == nil && !seen {
			s.firstAnswer[id] = keyedAnswer{status: resp.Status, body: string(resp.Body)}
		}
		return struct{}{}, err
	})
	return err
}

func (st idemStore) Release(ctx context.Context, id, token string) error {
	_, err := do(st.s, "Idempotency.Release", true, func() (struct{}, error) { return struct{}{}, st.s.be.idem.Release(bg, id, token) })
	return err
}

// rechecker is the part of orders.Store that schedules the reconciler's
// rechecks. It is asserted, not required, so that this package also builds
// against a commit whose store lacks it: a seed is replayed on the code it
// was found on (see TestFoundBugs).
type rechecker interface {
	Rechecks(ctx context.Context, now time.Time, limit int) ([]*orders.Order, error)
	Rechecked(ctx context.Context, id string, version int64, next, now time.Time) (*orders.Order, error)
}

func (st store) Rechecks(ctx context.Context, now time.Time, limit int) ([]*orders.Order, error) {
	return do(st.s, "Store.Rechecks", false, func() ([]*orders.Order, error) {
		os, err := st.s.be.orders.(rechecker).Rechecks(bg, now, limit)
		return st.live(os), err
	})
}

func (st store) Rechecked(ctx context.Context, id string, version int64, next, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Rechecked "+id, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.(rechecker).Rechecked(bg, id, version, next, now)
	})
}

// tokenAdmitter and releaser are methods of orders.Store asserted as
// rechecker is.
type tokenAdmitter interface {
	AdmitTokenLookup(ctx context.Context, id, token string, now time.Time) (*orders.Order, error)
}

type releaser interface {
	Release(ctx context.Context, id, pk string, now time.Time) (*orders.Order, error)
}

func (st store) Release(ctx context.Context, id, pk string, now time.Time) (*orders.Order, error) {
	return do(st.s, "Store.Release "+id+" "+pk, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		return st.s.be.orders.(releaser).Release(bg, id, pk, now)
	})
}

func (st store) AdmitTokenLookup(ctx context.Context, id, token string, now time.Time) (*orders.Order, error) {
	a := st.s.cur
	return do(st.s, "Store.AdmitTokenLookup "+id, true, func() (*orders.Order, error) {
		if st.at(id) {
			return nil, notFound(id)
		}
		o, err := st.s.be.orders.(tokenAdmitter).AdmitTokenLookup(bg, id, token, now)
		if err == nil {
			st.s.admitted(a, id, true, true, false, now)
		}
		return o, err
	})
}
