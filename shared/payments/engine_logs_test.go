package payments

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// What operators are told: a write that failed is logged, one that
// succeeded is not (an alarm on every success would drown the real ones).

func (f *fixture) logged() *lockedBuffer {
	logs := &lockedBuffer{}
	f.engine.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	return logs
}

type fullCeiling struct{}

func (fullCeiling) Admit(context.Context, time.Time) (time.Duration, error) { return time.Second, nil }

type releaseFails struct{ orders.Store }

func (releaseFails) Release(context.Context, string, string, time.Time) (*orders.Order, error) {
	return nil, errors.New("dynamodb: throttled")
}

type recordFailureFails struct{ orders.Store }

func (recordFailureFails) RecordFailure(context.Context, string, orders.Failure, time.Time) (*orders.Order, error) {
	return nil, errors.New("dynamodb: throttled")
}

// A claim refused by the ceiling is given back; only a failure to give it
// back is logged.
func TestCeilingRefusalLogsOnlyAFailedRelease(t *testing.T) {
	const warning = "release a claim nothing was sent to Toss under"
	for _, fails := range []bool{false, true} {
		f := newFixture(t, nil)
		store := orders.Validated(orders.NewMemoryStore())
		f.store, f.engine.Orders = store, store
		if fails {
			f.engine.Orders = releaseFails{store}
		}
		f.engine.Ceiling = fullCeiling{}
		logs := f.logged()
		o := f.newOrder(t, 5000)
		_, err := f.engine.Confirm(context.Background(), "tgen_pk_ceiling", o.ID, 5000)
		var rl *RateLimitedError
		if !errors.As(err, &rl) || !rl.Ceiling {
			t.Fatalf("release fails %v: %v, want the ceiling's *RateLimitedError", fails, err)
		}
		if got := strings.Contains(logs.String(), warning); got != fails {
			t.Errorf("release fails %v: logged %q: %v, want %v", fails, warning, got, fails)
		}
		if want := map[bool]orders.Status{false: orders.StatusPending, true: orders.StatusConfirming}[fails]; f.get(t, o.ID).Status != want {
			t.Errorf("release fails %v: order %s, want %s", fails, f.get(t, o.ID).Status, want)
		}
	}
}

// A tampered amount is recorded on the order; only a failure to record it
// is logged.
func TestAmountMismatchLogsOnlyAFailedRecord(t *testing.T) {
	const warning = "record amount mismatch"
	for _, fails := range []bool{false, true} {
		f := newFixture(t, nil)
		store := orders.Validated(orders.NewMemoryStore())
		f.store, f.engine.Orders = store, store
		if fails {
			f.engine.Orders = recordFailureFails{store}
		}
		logs := f.logged()
		o := f.newOrder(t, 5000)
		var am *AmountMismatchError
		if _, err := f.engine.Confirm(context.Background(), "tgen_pk_tamper", o.ID, 100); !errors.As(err, &am) {
			t.Fatalf("record fails %v: %v, want *AmountMismatchError", fails, err)
		}
		if got := strings.Contains(logs.String(), warning); got != fails {
			t.Errorf("record fails %v: logged %q: %v, want %v", fails, warning, got, fails)
		}
		if got := f.get(t, o.ID); (got.LastFailure != nil) == fails {
			t.Errorf("record fails %v: failure %+v", fails, got.LastFailure)
		}
	}
}

// A lookup of an attempt the order will not take that Toss answers
// NOT_FOUND_PAYMENT (a made-up key, anyone's to send) is not logged; one
// Toss could not answer is.
func TestLookupOfAnAttemptNotTakenLogsOnlyWhatTossCouldNotAnswer(t *testing.T) {
	const warning = "look up an attempt the order did not take"
	for _, down := range []bool{false, true} {
		f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
		if down {
			f.engine.Toss = lostRefunds{fakeToss: f.toss}
		}
		logs := f.logged()
		o := f.newOrder(t, 5000)
		f.claimedUnder(t, o, "tgen_pk_holder")
		res, err := f.engine.Confirm(context.Background(), "tgen_pk_madeup", o.ID, 5000)
		if err != nil || res.Outcome != OutcomeProcessing {
			t.Fatalf("Toss down %v: %v %+v, want processing", down, err, res)
		}
		if got := strings.Contains(logs.String(), warning); got != down {
			t.Errorf("Toss down %v: logged %q: %v, want %v", down, warning, got, down)
		}
	}
}

// A refusal the checkout page's buyer got for an attempt Toss shows tells
// the operator whether Toss shows it for this order.
func TestAttemptUnseenLogsWhetherTossShowsItForThisOrder(t *testing.T) {
	const key = "tgen_pk_session"
	for _, same := range []bool{true, false} {
		f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
		logs := f.logged()
		o := f.newOrder(t, 5000)
		f.toss.declines[key] = &toss.Error{Status: 404, Code: toss.CodeNotFoundPaymentSession, Message: "m"}
		orderID := o.ID
		if !same {
			orderID = "another-order-01"
		}
		f.toss.put(toss.Payment{PaymentKey: key, OrderID: orderID, TotalAmount: 5000, Status: toss.StatusReady})
		if _, err := f.engine.ConfirmWithToken(context.Background(), o.CheckoutToken, key, o.ID, 5000); err != nil {
			t.Fatalf("same order %v: %v", same, err)
		}
		want := `"sameOrder":false`
		if same {
			want = `"sameOrder":true`
		}
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs %s; want %s", logs, want)
		}
	}
}
