package payments

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// TestWebhookRefusedAdmission: a webhook whose lookup the order's budget
// refuses is answered 429 with the time until the budget has room; one
// whose admission is refused for another reason (the order moved since
// it was read) is answered 429 to be delivered again a second later.
// Neither reaches Toss.
func TestWebhookRefusedAdmission(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 39000)
	for i := range orders.AttemptLimit {
		if res, err := f.engine.ApplyWebhook(ctx, statusChanged(t, o.ID, fmt.Sprintf("tgen_forged_%04d", i), "DONE", 39000)); err != nil || res.Action != WebhookIgnored {
			t.Fatalf("webhook %d: %v %+v", i, err, res)
		}
	}
	_, lookups := f.tossCalls()
	_, err := f.engine.ApplyWebhook(ctx, statusChanged(t, o.ID, "tgen_forged_more", "DONE", 39000))
	var rl *RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != orders.AttemptWindow || rl.Ceiling {
		t.Fatalf("webhook past the order's budget: %v, want a RateLimitedError retrying after %v", err, orders.AttemptWindow)
	}

	g := f.newOrder(t, 39000)
	f.engine.Orders = admitConflicts{f.store}
	_, err = f.engine.ApplyWebhook(ctx, statusChanged(t, g.ID, "tgen_forged_moved", "DONE", 39000))
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second || rl.OrderID != g.ID {
		t.Fatalf("webhook whose admission conflicts: %v, want a RateLimitedError retrying after 1s", err)
	}
	if _, n := f.tossCalls(); n != lookups {
		t.Fatalf("refused webhooks made %d lookups", n-lookups)
	}
}

// admitConflicts is a store whose lookup admissions are refused with the
// order as it stands, its budget not spent: the order changed since read.
type admitConflicts struct{ orders.Store }

func (s admitConflicts) AdmitLookup(ctx context.Context, id, own string, now time.Time) (*orders.Order, error) {
	cur, err := s.Store.Get(ctx, id, now)
	if err != nil {
		return nil, err
	}
	return nil, &orders.ConflictError{Op: "admit lookup", Current: cur}
}

// lookupRefused is Toss answering every lookup with err.
type lookupRefused struct {
	Gateway
	err error
}

func (l lookupRefused) Payment(context.Context, string, ...toss.CallOption) (*toss.Payment, error) {
	return nil, l.err
}

// TestWebhookLookupRefusedByToss: Toss's definitive refusal of the lookup
// itself (a key it will not show us) ignores the delivery (200, nothing
// for Toss to retry); a refusal of our configuration, a refusal without a
// code, or an error on the way stays an error (5xx).
func TestWebhookLookupRefusedByToss(t *testing.T) {
	for _, c := range []struct {
		name    string
		err     error
		ignored bool
	}{
		{"forbidden", &toss.Error{Status: 403, Code: toss.CodeForbiddenRequest, Message: "forbidden"}, true},
		{"our key refused", &toss.Error{Status: 401, Code: toss.CodeInvalidAPIKey, Message: "bad key"}, false},
		{"refused without a code", &toss.Error{Status: 400, Message: "bad request"}, false},
		{"Toss down", &toss.Error{Status: 500, Code: toss.CodeFailedInternalSystem, Message: "down"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWebhookWorld(t, false)
			w.f.engine.Toss = lookupRefused{Gateway: w.f.lossy, err: c.err}
			res, err := w.f.engine.ApplyWebhook(context.Background(), statusChanged(t, w.o.ID, w.pk, "CANCELED", 0))
			if !c.ignored {
				if err == nil {
					t.Fatalf("answered %+v, want an error for Toss to retry on", res)
				}
				return
			}
			if want := "Toss refused the lookup: " + toss.CodeOf(c.err); err != nil || res.Action != WebhookIgnored || res.Reason != want {
				t.Fatalf("%v %s (%s), want ignored: %s", err, res.Action, res.Reason, want)
			}
			if got := w.f.get(t, w.o.ID); got.Status != orders.StatusDone || got.Version != w.o.Version {
				t.Fatalf("the order changed: %s version %d", got.Status, got.Version)
			}
		})
	}
}

// TestWebhookRecordsAFurtherRefund: a partly refunded order learns of a
// further refund made in Toss's dashboard from its webhook.
func TestWebhookRecordsAFurtherRefund(t *testing.T) {
	ctx := context.Background()
	w := newWebhookWorld(t, false)
	if _, err := w.f.engine.Cancel(ctx, w.o.ID, "returned", 3000, ""); err != nil {
		t.Fatal(err)
	}
	w.f.toss.outOfBand(t, w.pk, 2000)
	res, err := w.f.engine.ApplyWebhook(ctx, statusChanged(t, w.o.ID, w.pk, "PARTIAL_CANCELED", 5000))
	if err != nil || res.Action != WebhookApplied {
		t.Fatalf("webhook: %v %s (%s), want applied", err, res.Action, res.Reason)
	}
	w.f.agrees(t, w.o, orders.StatusPartialCanceled, 5000, 2)
}

// concurrentApplyCancel is a store whose next ApplyCancel finds the same
// cancels recorded by another writer (a concurrent delivery) first.
type concurrentApplyCancel struct {
	orders.Store
	races int
}

func (s *concurrentApplyCancel) ApplyCancel(ctx context.Context, id, pk string, p orders.Payment, now time.Time) (*orders.Order, error) {
	if s.races > 0 {
		s.races--
		if _, err := s.Store.ApplyCancel(ctx, id, pk, p, now); err != nil {
			return nil, err
		}
	}
	return s.Store.ApplyCancel(ctx, id, pk, p, now)
}

// TestWebhookRaceRecordedAlready: a delivery whose write finds its refund
// recorded by a concurrent delivery is acknowledged as recorded already,
// not failed, and the order holds the refund once.
func TestWebhookRaceRecordedAlready(t *testing.T) {
	ctx := context.Background()
	w := newWebhookWorld(t, false)
	w.f.toss.outOfBand(t, w.pk, 2000)
	w.f.engine.Orders = &concurrentApplyCancel{Store: w.f.store, races: 1}
	res, err := w.f.engine.ApplyWebhook(ctx, statusChanged(t, w.o.ID, w.pk, "PARTIAL_CANCELED", 8000))
	if err != nil || res.Action != WebhookIgnored || res.Reason != "recorded already" {
		t.Fatalf("webhook: %v %s (%s), want ignored as recorded already", err, res.Action, res.Reason)
	}
	if res.Order == nil || res.Order.Payment.BalanceAmount != 8000 {
		t.Fatalf("the result's order: %+v, want the order as recorded", res.Order)
	}
	w.f.agrees(t, w.o, orders.StatusPartialCanceled, 8000, 1)
}

// TestWebhookForAConfirmingOrderRecordedMeanwhile: a webhook about a
// confirming order, approved and then refunded at Toss, whose Complete
// finds the payment and its refunds recorded meanwhile (by the confirm's
// re-drive, the reconciler) changes nothing and says so.
func TestWebhookForAConfirmingOrderRecordedMeanwhile(t *testing.T) {
	ctx := context.Background()
	w := newWebhookWorld(t, true)
	w.f.toss.outOfBand(t, w.pk, 0)
	p, err := w.f.toss.Payment(ctx, w.pk)
	if err != nil {
		t.Fatal(err)
	}
	var version int64
	w.f.engine.Orders = &raceComplete{Store: w.f.store, before: func() {
		if _, err := w.f.store.Complete(ctx, w.o.ID, w.pk, Summary(p), w.f.clock.Now()); err != nil {
			t.Errorf("the other writer's Complete: %v", err)
		}
		o, err := w.f.store.ApplyCancel(ctx, w.o.ID, w.pk, Summary(p), w.f.clock.Now())
		if err != nil {
			t.Errorf("the other writer's refunds: %v", err)
			return
		}
		version = o.Version
	}}
	res, err := w.f.engine.ApplyWebhook(ctx, statusChanged(t, w.o.ID, w.pk, "CANCELED", 0))
	if err != nil || res.Action != WebhookIgnored || res.Reason != "recorded already" {
		t.Fatalf("webhook: %v %s (%s), want ignored as recorded already", err, res.Action, res.Reason)
	}
	w.f.agrees(t, w.o, orders.StatusCanceled, 0, 1)
	if got := w.f.get(t, w.o.ID); got.Version != version {
		t.Fatalf("the webhook wrote the order: version %d, want %d", got.Version, version)
	}
}
