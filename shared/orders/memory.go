package orders

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryStore keeps orders in memory with DynamoStore's semantics, for unit
// tests and benchmarks of code built on Store. It compares times at the same
// precision as the DynamoDB item (milliseconds, TTL in seconds) so both
// stores decide every condition alike, and it hands out copies only. It
// holds only conditions and writes: its arguments are checked by
// Validated, which every caller puts in front of it.
type MemoryStore struct {
	mu     sync.Mutex
	orders map[string]*memOrder
}

// memOrder is an order plus what the item keeps beside it.
type memOrder struct {
	o           *Order
	unpaidTTL   time.Time // the TTL Fail restores
	claimedFrom Status    // the status the current claim was taken from ("" unless CONFIRMING)
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store, to be used as Validated(NewMemoryStore()).
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{orders: map[string]*memOrder{}}
}

// Create implements Store.
func (m *MemoryStore) Create(ctx context.Context, o *Order) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.orders[o.ID]; ok {
		return fmt.Errorf("%w: %s", ErrExists, o.ID)
	}
	m.orders[o.ID] = &memOrder{o: cloneOrder(o), unpaidTTL: o.ExpiresAt}
	return nil
}

// lookup returns the stored order if it exists and is live at now.
// The caller holds m.mu.
func (m *MemoryStore) lookup(id string, now time.Time) (*memOrder, bool) {
	r, ok := m.orders[id]
	if !ok || !live(r.o.ExpiresAt, now) {
		return nil, false
	}
	return r, true
}

// Get implements Store.
func (m *MemoryStore) Get(ctx context.Context, id string, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.lookup(id, now)
	if !ok {
		return nil, notFound(id)
	}
	return cloneOrder(r.o), nil
}

// Claim implements Store.
func (m *MemoryStore) Claim(ctx context.Context, c Claim) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.lookup(c.OrderID, c.Now)
	if !ok {
		return nil, notFound(c.OrderID)
	}
	o := r.o
	now := c.Now.UnixMilli()
	b := claimBudget(c)
	// A FAILED order takes a new paymentKey only: Toss would just repeat its
	// refusal of the failed one.
	payable := (o.Status == StatusPending || (o.Status == StatusFailed && o.PaymentKey != c.PaymentKey)) &&
		before(now, o.PayableUntil) && room(o, b, now)
	resume := o.Status == StatusConfirming && o.PaymentKey == c.PaymentKey && after(now, o.ClaimExpiresAt)
	// The token is compared as DynamoDB's condition compares it: equal strings.
	if o.Amount != c.Amount || !(payable || resume) || (b == TokenHolder && o.CheckoutToken != c.Token) {
		return nil, &ConflictError{Op: "claim", Current: cloneOrder(o)}
	}
	recordAttempt(o, b, c.Now)
	if r.claimedFrom == "" {
		r.claimedFrom = o.Status
	}
	if o.ClaimedAt.IsZero() {
		o.ClaimedAt = toMillis(c.Now)
	}
	o.Status = StatusConfirming
	o.PaymentKey = c.PaymentKey
	o.ClaimExpiresAt = toMillis(c.Until)
	o.ExpiresAt = time.Time{}
	return m.bump(r, c.Now), nil
}

// Release implements Store.
func (m *MemoryStore) Release(ctx context.Context, id, paymentKey string, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.held("release", id, paymentKey, now)
	if err != nil {
		return nil, err
	}
	switch r.claimedFrom {
	case StatusPending:
		r.o.PaymentKey = ""
	case StatusFailed:
		if f := r.o.LastFailure; f != nil && f.PaymentKey != "" {
			r.o.PaymentKey = f.PaymentKey
		}
	default:
		return nil, m.conflict("release", r, now)
	}
	r.o.Status = r.claimedFrom
	r.o.ExpiresAt = r.unpaidTTL
	m.unclaim(r)
	return m.bump(r, now), nil
}

// unclaim forgets the claim, as every write that ends one does.
func (m *MemoryStore) unclaim(r *memOrder) {
	r.o.ClaimExpiresAt = time.Time{}
	r.o.ClaimedAt = time.Time{}
	r.claimedFrom = ""
}

// AdmitLookup implements Store.
func (m *MemoryStore) AdmitLookup(ctx context.Context, id, ownPaymentKey string, now time.Time) (*Order, error) {
	b, admitted := Anonymous, func(*Order) bool { return true }
	if ownPaymentKey != "" {
		b, admitted = TokenHolder, func(o *Order) bool { return o.Status.Paid() && o.PaymentKey == ownPaymentKey }
	}
	return m.admit("admit lookup", id, b, admitted, now)
}

// AdmitTokenLookup implements Store.
func (m *MemoryStore) AdmitTokenLookup(ctx context.Context, id, token string, now time.Time) (*Order, error) {
	return m.admit("admit token lookup", id, TokenHolder, func(o *Order) bool { return o.CheckoutToken == token }, now)
}

// admit records one call on budget b of a live order for which admitted holds.
func (m *MemoryStore) admit(op, id string, b Budget, admitted func(*Order) bool, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.lookup(id, now)
	if !ok {
		return nil, notFound(id)
	}
	if !admitted(r.o) || !room(r.o, b, now.UnixMilli()) {
		return nil, m.conflict(op, r, now)
	}
	// Bookkeeping only: no version or updatedAt, as DynamoStore.
	recordAttempt(r.o, b, now)
	return cloneOrder(r.o), nil
}

// Complete implements Store.
func (m *MemoryStore) Complete(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.held("complete", id, paymentKey, now)
	if err != nil {
		return nil, err
	}
	return m.paid(r, paymentKey, p, now), nil
}

// paid records r paid with p under paymentKey: DONE, no TTL, no claim, as
// DynamoStore's paid update.
func (m *MemoryStore) paid(r *memOrder, paymentKey string, p Payment, now time.Time) *Order {
	p = clonePayment(p)
	normalizePayment(&p)
	r.o.Status = StatusDone
	r.o.PaymentKey = paymentKey
	r.o.Payment = &p
	r.o.ExpiresAt = time.Time{}
	r.o.RecheckAt = time.Time{}
	r.unpaidTTL = time.Time{}
	m.unclaim(r)
	return m.bump(r, now)
}

// SettleFromToss implements Store.
func (m *MemoryStore) SettleFromToss(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.orders[id]
	if !ok {
		return nil, notFound(id)
	}
	if !settleable(r.o, p, now) {
		return nil, m.conflict("settle from toss", r, now)
	}
	return m.paid(r, paymentKey, p, now), nil
}

// ApplyCancel implements Store.
func (m *MemoryStore) ApplyCancel(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.orders[id]
	if !ok {
		return nil, notFound(id)
	}
	if !cancelForward(r.o, paymentKey, p) {
		return nil, m.conflict("apply cancel", r, now)
	}
	p = clonePayment(p)
	normalizePayment(&p)
	r.o.Status = cancelStatus(p.BalanceAmount)
	r.o.Payment.Status = p.Status
	r.o.Payment.BalanceAmount = p.BalanceAmount
	r.o.Payment.Cancels = p.Cancels
	return m.bump(r, now), nil
}

// ReserveRefund implements Store.
func (m *MemoryStore) ReserveRefund(ctx context.Context, id string, rr RefundReservation, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.orders[id]
	if !ok {
		return nil, notFound(id)
	}
	if !reservable(r.o, rr) {
		return nil, m.conflict("reserve refund", r, now)
	}
	if r.o.Refunds == nil {
		r.o.Refunds = map[string]Refund{}
	}
	r.o.Refunds[rr.Key] = Refund{Amount: rr.Amount, Reason: rr.Reason, ReservedAt: toMillis(now)}
	if r.o.RecheckAt.IsZero() {
		r.o.RecheckAt = toMillis(now.Add(RefundRecheckAfter))
	}
	return m.bump(r, now), nil
}

// SettleRefund implements Store.
func (m *MemoryStore) SettleRefund(ctx context.Context, id, paymentKey, key string, amount int64, p Payment, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.orders[id]
	if !ok {
		return nil, notFound(id)
	}
	if !pendingRefund(r.o, key, amount) || !refundSettleable(r.o, paymentKey, p) {
		return nil, m.conflict("settle refund", r, now)
	}
	p = clonePayment(p)
	normalizePayment(&p)
	r.o.Status = cancelStatus(p.BalanceAmount)
	r.o.Payment.Status = p.Status
	r.o.Payment.BalanceAmount = p.BalanceAmount
	r.o.Payment.Cancels = p.Cancels
	settled := r.o.Refunds[key]
	settled.SettledAt = toMillis(now)
	r.o.Refunds[key] = settled
	return m.bump(r, now), nil
}

// ReleaseRefund implements Store.
func (m *MemoryStore) ReleaseRefund(ctx context.Context, id, key string, amount int64, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.orders[id]
	if !ok {
		return nil, notFound(id)
	}
	if !pendingRefund(r.o, key, amount) {
		return nil, m.conflict("release refund", r, now)
	}
	delete(r.o.Refunds, key)
	return m.bump(r, now), nil
}

// Fail implements Store.
func (m *MemoryStore) Fail(ctx context.Context, id, paymentKey string, f Failure, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.held("fail", id, paymentKey, now)
	if err != nil {
		return nil, err
	}
	f.At = toMillis(f.At)
	r.o.Status = StatusFailed
	r.o.LastFailure = &f
	r.o.ExpiresAt = r.unpaidTTL
	m.unclaim(r)
	return m.bump(r, now), nil
}

// held finds an order CONFIRMING for paymentKey. The caller holds m.mu.
func (m *MemoryStore) held(op, id, paymentKey string, now time.Time) (*memOrder, error) {
	r, ok := m.orders[id]
	if !ok {
		return nil, notFound(id)
	}
	if r.o.Status != StatusConfirming || r.o.PaymentKey != paymentKey {
		return nil, m.conflict(op, r, now)
	}
	return r, nil
}

// conflict is what DynamoStore makes of a refused write on an existing
// item: gone if past its TTL, a ConflictError otherwise.
func (m *MemoryStore) conflict(op string, r *memOrder, now time.Time) error {
	if !live(r.o.ExpiresAt, now) {
		return notFound(r.o.ID)
	}
	return &ConflictError{Op: op, Current: cloneOrder(r.o)}
}

// RecordFailure implements Store.
func (m *MemoryStore) RecordFailure(ctx context.Context, id string, f Failure, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.lookup(id, now)
	if !ok {
		return nil, notFound(id)
	}
	if !r.o.Status.Payable() || r.o.LastFailure != nil {
		return nil, m.conflict("record failure", r, now)
	}
	f.At = toMillis(f.At)
	r.o.LastFailure = &f
	return m.bump(r, now), nil
}

// Expire implements Store.
func (m *MemoryStore) Expire(ctx context.Context, id string, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.lookup(id, now)
	if !ok {
		return nil, notFound(id)
	}
	if !r.o.Status.Payable() || !overdue(now.UnixMilli(), r.o.PayableUntil) {
		return nil, m.conflict("expire", r, now)
	}
	if r.o.Status == StatusFailed || r.o.TossAttempted() {
		r.o.RecheckAt = toMillis(now.Add(ExpiredRecheckAfter))
	}
	r.o.Status = StatusExpired
	return m.bump(r, now), nil
}

// Rechecked implements Store.
func (m *MemoryStore) Rechecked(ctx context.Context, id string, version int64, next, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.lookup(id, now)
	if !ok {
		return nil, notFound(id)
	}
	if r.o.Version != version || !recheckable(r.o.Status) {
		return nil, m.conflict("rechecked", r, now)
	}
	r.o.RecheckAt = toMillis(next)
	return m.bump(r, now), nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(ctx context.Context, id string, version int64, now time.Time) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.lookup(id, now)
	if !ok {
		return nil, notFound(id)
	}
	if (!r.o.Status.Payable() && r.o.Status != StatusExpired) || r.o.Version != version {
		return nil, m.conflict("delete", r, now)
	}
	delete(m.orders, id)
	return cloneOrder(r.o), nil
}

// LapsedClaims implements Store.
func (m *MemoryStore) LapsedClaims(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	ms := now.UnixMilli()
	return m.due(now, limit, func(o *Order) (time.Time, bool) {
		return o.ClaimExpiresAt, o.Status == StatusConfirming && after(ms, o.ClaimExpiresAt)
	}), nil
}

// Overdue implements Store.
func (m *MemoryStore) Overdue(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	ms := now.UnixMilli()
	return m.due(now, limit, func(o *Order) (time.Time, bool) {
		return o.PayableUntil, o.Status.Payable() && overdue(ms, o.PayableUntil)
	}), nil
}

// Rechecks implements Store.
func (m *MemoryStore) Rechecks(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	ms := now.UnixMilli()
	return m.due(now, limit, func(o *Order) (time.Time, bool) {
		return o.RecheckAt, !o.RecheckAt.IsZero() && o.RecheckAt.UnixMilli() <= ms
	}), nil
}

// due lists live orders for which isDue holds, by the time it returns,
// oldest first, as a Query on the due index would.
func (m *MemoryStore) due(now time.Time, limit int, isDue func(*Order) (time.Time, bool)) []*Order {
	m.mu.Lock()
	defer m.mu.Unlock()
	type entry struct {
		at int64
		o  *Order
	}
	var es []entry
	for _, r := range m.orders {
		if at, ok := isDue(r.o); ok && live(r.o.ExpiresAt, now) {
			es = append(es, entry{at.UnixMilli(), r.o})
		}
	}
	slices.SortFunc(es, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.o.ID, b.o.ID))
	})
	out := make([]*Order, 0, min(len(es), clampLimit(limit)))
	for _, e := range es[:min(len(es), clampLimit(limit))] {
		out = append(out, cloneOrder(e.o))
	}
	return out
}

// List implements Store. Like the DynamoDB Query it mirrors, it counts
// orders past their TTL against limit and then leaves them out.
func (m *MemoryStore) List(ctx context.Context, now time.Time, limit int, cur string) ([]*Order, string, error) {
	start, err := listStart(cur)
	if err != nil {
		return nil, "", fmt.Errorf("orders: list: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []*Order
	for _, r := range m.orders {
		o := r.o
		at := o.CreatedAt.UnixMilli()
		if start != nil && (at > start.CreatedAt || at == start.CreatedAt && o.ID >= start.ID) {
			continue
		}
		all = append(all, o)
	}
	slices.SortFunc(all, func(a, b *Order) int { // newest first
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	page := all[:min(len(all), clampLimit(limit))]
	items := make([]*Order, 0, len(page))
	for _, o := range page {
		if live(o.ExpiresAt, now) {
			items = append(items, cloneOrder(o))
		}
	}
	if len(page) == len(all) {
		return items, "", nil
	}
	last := page[len(page)-1]
	return items, encodeCursor(cursor{CreatedAt: last.CreatedAt.UnixMilli(), ID: last.ID}), nil
}

// bump records a write: the version and time every DynamoStore write sets.
// The caller holds m.mu.
func (m *MemoryStore) bump(r *memOrder, now time.Time) *Order {
	r.o.UpdatedAt = toMillis(now)
	r.o.Version++
	return cloneOrder(r.o)
}

// before, after and overdue compare epoch milliseconds with a stored time
// exactly as the DynamoDB conditions do; a missing (zero) time never matches.
func before(nowMs int64, t time.Time) bool { return !t.IsZero() && t.UnixMilli() > nowMs }
func after(nowMs int64, t time.Time) bool  { return !t.IsZero() && t.UnixMilli() < nowMs }
func overdue(nowMs int64, t time.Time) bool {
	return !t.IsZero() && t.UnixMilli() <= nowMs
}
