package orders_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

func canceled(amounts ...int64) orders.Payment {
	p := payment
	p.Cancels = nil
	for i, a := range amounts {
		p.BalanceAmount -= a
		p.Cancels = append(p.Cancels, orders.Cancel{
			TransactionKey: fmt.Sprintf("TX%02d", i+1), Reason: "buyer asked", Amount: a,
			CanceledAt: t0.Add(time.Duration(i+1)*time.Minute + 789),
		})
	}
	p.Status = "PARTIAL_CANCELED"
	if p.BalanceAmount == 0 {
		p.Status = "CANCELED"
	}
	return p
}

// summaryAfter is what the order's summary must read after ApplyCancel(p)
// on a summary recorded as before: Toss's status, balance and cancels, at
// the store's precision; everything Complete recorded stays.
func summaryAfter(before *orders.Payment, p orders.Payment) *orders.Payment {
	s := *before
	s.Status, s.BalanceAmount = p.Status, p.BalanceAmount
	s.Cancels = nil
	for _, c := range p.Cancels {
		c.CanceledAt = ms(c.CanceledAt)
		s.Cancels = append(s.Cancels, c)
	}
	return &s
}

func TestApplyCancel(t *testing.T) {
	now := t0.Add(time.Hour)
	paid := func(t *testing.T, s orders.Store, o *orders.Order) {
		mustClaim(t, s, o, "pk_1", t0)
		if _, err := s.Complete(ctx, o.ID, "pk_1", payment, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// paidThen pays the order and applies cancels one after another.
	paidThen := func(applied ...orders.Payment) func(t *testing.T, s orders.Store, o *orders.Order) {
		return func(t *testing.T, s orders.Store, o *orders.Order) {
			paid(t, s, o)
			for _, p := range applied {
				if _, err := s.ApplyCancel(ctx, o.ID, "pk_1", p, t0.Add(2*time.Second)); err != nil {
					t.Fatalf("prepare: apply cancel: %v", err)
				}
			}
		}
	}
	otherTotal := canceled(5000)
	otherTotal.TotalAmount = 20000
	cases := []struct {
		name    string
		prepare func(t *testing.T, s orders.Store, o *orders.Order)
		key     string
		p       orders.Payment
		unknown bool          // act on an ID nobody created
		want    orders.Status // on success; "" expects a refusal
		current orders.Status // the refused order's status; "" expects ErrNotFound
	}{
		{"partial", paid, "pk_1", canceled(5000), false, orders.StatusPartialCanceled, ""},
		{"full", paid, "pk_1", canceled(15000), false, orders.StatusCanceled, ""},
		{"second partial", paidThen(canceled(5000)), "pk_1", canceled(5000, 4000), false, orders.StatusPartialCanceled, ""},
		{"the rest after a partial", paidThen(canceled(5000)), "pk_1", canceled(5000, 10000), false, orders.StatusCanceled, ""},
		{"skipping an unrecorded cancel", paid, "pk_1", canceled(5000, 4000), false, orders.StatusPartialCanceled, ""},
		{"duplicate partial", paidThen(canceled(5000)), "pk_1", canceled(5000), false, "", orders.StatusPartialCanceled},
		{"duplicate full", paidThen(canceled(15000)), "pk_1", canceled(15000), false, "", orders.StatusCanceled},
		{"older partial after the rest", paidThen(canceled(5000, 10000)), "pk_1", canceled(5000), false, "", orders.StatusCanceled},
		{"older partial after a newer one", paidThen(canceled(5000, 4000)), "pk_1", canceled(5000), false, "", orders.StatusPartialCanceled},
		{"other paymentKey", paid, "pk_2", canceled(5000), false, "", orders.StatusDone},
		{"other total", paid, "pk_1", otherTotal, false, "", orders.StatusDone},
		{"confirming", func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			"pk_1", canceled(5000), false, "", orders.StatusConfirming},
		{"pending", nil, "pk_1", canceled(5000), false, "", orders.StatusPending},
		{"unknown order", paid, "pk_1", canceled(5000), true, "", ""},
		// An approval recorded with its cancel already in the summary (the
		// payment was canceled at Toss before we recorded it) still reads
		// DONE: the same summary moves it on, once.
		{"approval recorded with its cancel",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Complete(ctx, o.ID, "pk_1", canceled(5000), t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			}, "pk_1", canceled(5000), false, orders.StatusPartialCanceled, ""},
		{"approval recorded with its cancel, older cancel",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Complete(ctx, o.ID, "pk_1", canceled(5000, 10000), t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			}, "pk_1", canceled(5000), false, "", orders.StatusDone},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				o := create(t, f.store, 15000, t0)
				if tc.prepare != nil {
					tc.prepare(t, f.store, o)
				}
				before := mustGet(t, f.store, o.ID, now)
				id := o.ID
				if tc.unknown {
					id = orders.NewID()
				}
				if f.calls != nil {
					f.calls.Reset()
				}
				got, err := f.store.ApplyCancel(ctx, id, tc.key, tc.p, now)
				if f.calls != nil && (f.calls.Count() != 1 || f.calls.Count("UpdateItem") != 1) {
					t.Errorf("calls = %s, want one UpdateItem, applied or refused", f.calls)
				}
				switch {
				case tc.want != "":
					if err != nil {
						t.Fatal(err)
					}
					want := *before
					want.Status = tc.want
					want.Payment = summaryAfter(before.Payment, tc.p)
					want.UpdatedAt, want.Version = ms(now), before.Version+1
					equal(t, tc.name, got, &want)
					equal(t, "get after "+tc.name, mustGet(t, f.store, o.ID, now), got)
					return
				case tc.current == "":
					wantNotFound(t, err)
				default:
					ce := wantConflict(t, err, tc.current)
					equal(t, "conflict's current", ce.Current, before)
				}
				if got != nil {
					t.Errorf("refused apply returned %+v", got)
				}
				equal(t, "order after refusal", mustGet(t, f.store, o.ID, now), before)
			})
		}
	})
}

// paymentRefusal is a payment a transition must refuse before any I/O,
// with the field its ValidationError names.
type paymentRefusal struct {
	name  string
	key   string
	p     orders.Payment
	field string
}

// refusedBeforeIO applies each case through write and checks that it is
// refused with a ValidationError on its field, without a store call, and
// that o is left as it was.
func refusedBeforeIO(t *testing.T, f fixture, o *orders.Order, cases []paymentRefusal,
	write func(ctx context.Context, id, paymentKey string, p orders.Payment, now time.Time) (*orders.Order, error)) {
	t.Helper()
	before := mustGet(t, f.store, o.ID, t0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if f.calls != nil {
				f.calls.Reset()
			}
			_, err := write(t.Context(), o.ID, tc.key, tc.p, t0)
			var ve *orders.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("err = %v, want ValidationError on %s", err, tc.field)
			}
			if f.calls != nil && f.calls.Count() != 0 {
				t.Errorf("calls = %s, want none", f.calls)
			}
		})
	}
	equal(t, "order after refusals", mustGet(t, f.store, o.ID, t0), before)
}

func TestApplyCancelRefusesImpossiblePayments(t *testing.T) {
	with := func(change func(p *orders.Payment)) orders.Payment {
		p := canceled(5000)
		change(&p)
		return p
	}
	cases := []paymentRefusal{
		{"no payment key", "", canceled(5000), "paymentKey"},
		{"not canceled", "pk_1", payment, "payment.balanceAmount"},
		{"balance above total", "pk_1", with(func(p *orders.Payment) { p.BalanceAmount = 20000 }), "payment.balanceAmount"},
		{"negative balance", "pk_1", with(func(p *orders.Payment) { p.BalanceAmount = -1 }), "payment.balanceAmount"},
		{"no total", "pk_1", with(func(p *orders.Payment) { p.TotalAmount = 0 }), "payment.totalAmount"},
		{"status DONE", "pk_1", with(func(p *orders.Payment) { p.Status = "DONE" }), "payment.status"},
		{"CANCELED with a balance", "pk_1", with(func(p *orders.Payment) { p.Status = "CANCELED" }), "payment.status"},
		{"PARTIAL_CANCELED at 0", "pk_1", with(func(p *orders.Payment) { p.BalanceAmount = 0 }), "payment.status"},
		{"no cancels", "pk_1", with(func(p *orders.Payment) { p.Cancels = nil }), "payment.cancels"},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, o, "pk_1", t0)
		if _, err := f.store.Complete(ctx, o.ID, "pk_1", payment, t0); err != nil {
			t.Fatal(err)
		}
		refusedBeforeIO(t, f, o, cases, f.store.ApplyCancel)
	})
}

// Webhooks and refund answers race each other: whatever order the writes
// land in, the order ends at Toss's latest state and applies each at most once.
func TestConcurrentCancelsEndAtTheLowestBalance(t *testing.T) {
	states := []orders.Payment{canceled(3000), canceled(3000, 2000), canceled(3000, 2000, 10000)}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, o, "pk_1", t0)
		if _, err := f.store.Complete(ctx, o.ID, "pk_1", payment, t0); err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			mu      sync.Mutex
			applied int
			others  []error
		)
		for range 4 { // every state delivered four times
			for _, p := range states {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := f.store.ApplyCancel(ctx, o.ID, "pk_1", p, t0.Add(time.Minute))
					var ce *orders.ConflictError
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						applied++
					case !errors.As(err, &ce):
						others = append(others, err)
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		if len(others) != 0 || applied < 1 || applied > len(states) {
			t.Fatalf("applied %d times, other errors %v; want 1 to %d applications", applied, others, len(states))
		}
		got := mustGet(t, f.store, o.ID, t0.Add(time.Minute))
		if got.Status != orders.StatusCanceled || got.Payment.BalanceAmount != 0 || len(got.Payment.Cancels) != 3 ||
			got.Version != 3+int64(applied) {
			t.Fatalf("after the race: %s balance %d, %d cancels, version %d (%d applied)",
				got.Status, got.Payment.BalanceAmount, len(got.Payment.Cancels), got.Version, applied)
		}
	})
}

// SettleFromToss records Toss's approved payment on any unpaid order,
// whatever attempt holds its claim: the state "claim held by an attempt
// Toss did not approve" must settle, not wait forever. It refuses only
// orders already paid (or whose amount is not the payment's) and orders
// gone.
