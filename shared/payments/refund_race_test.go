package payments

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// refundStores are the stores the refund races run on, behind the real
// Toss client and the sandbox over HTTP: the in-memory one, and DynamoDB
// Local (which applies each conditional write atomically, as DynamoDB does
// per item).
var refundStores = []struct {
	name string
	wrap func(orders.Store) orders.Store
}{
	{"memory", func(orders.Store) orders.Store { return orders.Validated(orders.NewMemoryStore()) }},
	{"dynamodb", nil},
}

// race runs n refunds at once and returns each one's result and error.
func race(n int, refund func(i int) (*CancelResult, error)) ([]*CancelResult, []error) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	results, errs := make([]*CancelResult, n), make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = refund(i)
		}()
	}
	close(start)
	wg.Wait()
	return results, errs
}

// Identical refunds without a key share one Toss key: Toss runs one
// refund, and exactly one answer says it is new, so a merchant counting
// answers books one refund.
func TestConcurrentIdenticalRefundsReportOneNewRefund(t *testing.T) {
	const n = 8
	for _, st := range refundStores {
		t.Run(st.name, func(t *testing.T) {
			s := refundStack(t, st.wrap, nil)
			o := s.paid(t, 20000)
			results, errs := race(n, func(int) (*CancelResult, error) {
				return s.engine.Cancel(context.Background(), o.ID, "double click", 5000, "")
			})
			fresh := 0
			for i, res := range results {
				if errs[i] != nil {
					t.Fatalf("request %d: %v", i, errs[i])
				}
				if res.Order.Payment.BalanceAmount != 15000 {
					t.Fatalf("request %d: balance %d", i, res.Order.Payment.BalanceAmount)
				}
				if !res.Repeated {
					fresh++
				}
			}
			if fresh != 1 {
				t.Fatalf("%d answers say repeated:false, want exactly 1", fresh)
			}
			got := s.agrees(t, o, orders.StatusPartialCanceled, 15000, 1)
			if got.Reserved() != 0 || len(got.Refunds) != 1 {
				t.Fatalf("refunds after the race: %+v", got.Refunds)
			}
			if info, _ := s.sandbox.Payment(o.PaymentKey); len(info.Cancels) != 1 {
				t.Fatalf("the sandbox executed %d refunds", len(info.Cancels))
			}
		})
	}
}

// Ten different refunds of 6,000 on 20,000: three fit, and the other
// seven are refused before Toss hears of them, however they interleave.
func TestConcurrentRefundsNeverAskTossForMoreThanTheBalance(t *testing.T) {
	const n = 10
	for _, st := range refundStores {
		t.Run(st.name, func(t *testing.T) {
			s := refundStack(t, st.wrap, nil)
			o := s.paid(t, 20000)
			results, errs := race(n, func(i int) (*CancelResult, error) {
				return s.engine.Cancel(context.Background(), o.ID, "partial return", 6000, fmt.Sprintf("return-%d", i))
			})
			done, refused := 0, 0
			for i, err := range errs {
				var ae *CancelAmountError
				switch {
				case err == nil && !results[i].Repeated:
					done++
				case errors.As(err, &ae):
					if ae.Amount != 6000 || ae.Balance < 0 || ae.Balance >= 6000 {
						t.Errorf("request %d: %+v", i, ae)
					}
					refused++
				default:
					t.Errorf("request %d: %v %+v, want a new refund or a CancelAmountError", i, err, results[i])
				}
			}
			if done != 3 || refused != n-3 {
				t.Fatalf("%d refunds done, %d refused, want 3 and %d", done, refused, n-3)
			}
			if c := s.cancelRequests(); c != 3 {
				t.Fatalf("the sandbox received %d cancel requests, want 3", c)
			}
			got := s.agrees(t, o, orders.StatusPartialCanceled, 2000, 3)
			if got.Refundable() != 2000 {
				t.Fatalf("refundable after the race: %d", got.Refundable())
			}
		})
	}
}

// A refund whose outcome is unknown keeps its amount reserved: a refund
// that only fits if the first did not happen is refused before Toss, and
// the first one's retry settles it without refunding twice.
func TestUnknownRefundKeepsItsReservation(t *testing.T) {
	f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.paid(t, 20000, "tgen_pk_reserve1")
	f.lossy.dropCancels, f.lossy.failLookups = 1, 1
	if _, err := f.engine.Cancel(context.Background(), o.ID, "late", 15000, ""); !errors.Is(err, ErrCancelUnknown) {
		t.Fatalf("first refund: %v, want ErrCancelUnknown", err)
	}
	calls := f.lossy.calls()
	_, err := f.engine.Cancel(context.Background(), o.ID, "another", 6000, "")
	var ae *CancelAmountError
	if !errors.As(err, &ae) || ae.Balance != 5000 {
		t.Fatalf("refund over what the reservation leaves: %v, want CancelAmountError with 5000 refundable", err)
	}
	if n := f.lossy.calls() - calls; n != 0 {
		t.Fatalf("Toss saw %d cancel requests for a refund over the balance", n)
	}
	res, err := f.engine.Cancel(context.Background(), o.ID, "late", 15000, "")
	if err != nil || res.Repeated || res.Order.Refundable() != 5000 {
		t.Fatalf("retry: %v %+v", err, res)
	}
	f.agrees(t, o, orders.StatusPartialCanceled, 5000, 1)
	if _, err := f.engine.Cancel(context.Background(), o.ID, "another", 5000, ""); err != nil {
		t.Fatalf("the rest: %v", err)
	}
	f.agrees(t, o, orders.StatusCanceled, 0, 2)
}

// A refund Toss refuses gives its reservation back.
func TestRefusedRefundReleasesItsReservation(t *testing.T) {
	f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.paid(t, 10000, "tgen_pk_release1")
	f.lossy.failCancels = []error{&toss.Error{Status: 403, Code: toss.CodeNotCancelablePayment, Message: "no"}}
	if _, err := f.engine.Cancel(context.Background(), o.ID, "returned", 10000, ""); toss.CodeOf(err) != toss.CodeNotCancelablePayment {
		t.Fatalf("refused refund: %v", err)
	}
	if got := f.get(t, o.ID); got.Reserved() != 0 || got.Refundable() != 10000 || len(got.Refunds) != 0 {
		t.Fatalf("after the refusal: reserved %d, refundable %d, refunds %+v", got.Reserved(), got.Refundable(), got.Refunds)
	}
	// The same request again is asked of Toss again.
	res, err := f.engine.Cancel(context.Background(), o.ID, "returned", 10000, "")
	if err != nil || res.Repeated {
		t.Fatalf("again: %v %+v", err, res)
	}
	f.agrees(t, o, orders.StatusCanceled, 0, 1)
}

// A full refund holds the whole balance: it waits for no refund in flight.
func TestFullRefundWhileAnotherIsInFlight(t *testing.T) {
	f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.paid(t, 10000, "tgen_pk_full0001")
	f.lossy.dropCancels, f.lossy.failLookups = 1, 1
	if _, err := f.engine.Cancel(context.Background(), o.ID, "part", 3000, ""); !errors.Is(err, ErrCancelUnknown) {
		t.Fatalf("partial: %v", err)
	}
	calls := f.lossy.calls()
	_, err := f.engine.Cancel(context.Background(), o.ID, "all", 0, "")
	var ae *CancelAmountError
	if !errors.As(err, &ae) || ae.Amount != 10000 || ae.Balance != 7000 {
		t.Fatalf("full refund with 3,000 in flight: %v", err)
	}
	if f.lossy.calls() != calls {
		t.Fatal("the full refund reached Toss")
	}
}
