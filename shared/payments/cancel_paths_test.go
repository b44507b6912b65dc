package payments

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// TestInvalidCancelErrorNamesTheRule: a refused caller key's message
// carries the key rule's own error, and a refused reason's message is the
// field and reason alone.
func TestInvalidCancelErrorNamesTheRule(t *testing.T) {
	id := orders.NewID()
	err := ValidateCancel(id, "refund", 1000, strings.Repeat("k", idempotency.MaxKeyLength+1))
	if !errors.Is(err, idempotency.ErrKeyTooLong) || !strings.Contains(err.Error(), idempotency.ErrKeyTooLong.Error()) {
		t.Errorf("too long a caller key: %v, want the key rule's error in it", err)
	}
	err = ValidateCancel(id, " ", 1000, "")
	if want := "payments: invalid cancel request: cancelReason is required"; err == nil || err.Error() != want {
		t.Errorf("blank reason: %v, want %q", err, want)
	}
}

// readFails is a store whose reads fail.
type readFails struct{ orders.Store }

var errReadFailed = errors.New("throttled")

func (readFails) Get(context.Context, string, time.Time) (*orders.Order, error) {
	return nil, errReadFailed
}

// TestCancelReadsTheOrder: a refund of an order as read goes ahead; when
// the order cannot be read, the store's error comes back (not "no such
// order") and Toss is not called.
func TestCancelReadsTheOrder(t *testing.T) {
	ctx := context.Background()
	f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.paid(t, 10000, "tgen_pk_readorder1")
	res, err := f.engine.Cancel(ctx, o.ID, "returned", 4000, "")
	if err != nil || res.Order.Status != orders.StatusPartialCanceled || res.Order.Payment.BalanceAmount != 6000 {
		t.Fatalf("refund: %v %+v", err, res)
	}
	f.engine.Orders = readFails{f.store}
	if _, err := f.engine.Cancel(ctx, o.ID, "returned", 1000, ""); !errors.Is(err, errReadFailed) || errors.Is(err, ErrOrderNotFound) {
		t.Fatalf("refund with the order unreadable: %v, want the store's error", err)
	}
	if n := f.lossy.calls(); n != 1 {
		t.Fatalf("%d cancel requests reached Toss, want 1", n)
	}
}

// TestCancelPaymentKeyLength: a paymentKey of Toss's maximum length is
// looked up and refunded; one byte longer is no payment of ours, and Toss
// is not asked.
func TestCancelPaymentKeyLength(t *testing.T) {
	ctx := context.Background()
	f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
	pk := "tgen_" + strings.Repeat("k", maxPaymentKeyLen-len("tgen_"))
	o := f.paid(t, 10000, pk)
	lookups := f.toss.lookups
	if _, err := f.engine.CancelPayment(ctx, pk+"k", "returned", 0, ""); !errors.Is(err, ErrOrderNotFound) {
		t.Fatalf("key one byte too long: %v, want ErrOrderNotFound", err)
	}
	if f.toss.lookups != lookups {
		t.Fatalf("a key one byte too long was looked up at Toss")
	}
	res, err := f.engine.CancelPayment(ctx, pk, "returned", 0, "")
	if err != nil || res.Order.ID != o.ID || res.Order.Status != orders.StatusCanceled {
		t.Fatalf("refund by a key of %d bytes: %v %+v", len(pk), err, res)
	}
	f.agrees(t, o, orders.StatusCanceled, 0, 1)
}

// cancelHook runs around Toss's handling of a refund: before (nothing
// executed yet) and after (executed, answer not yet sent). A non-nil
// answer replaces Toss's.
type cancelHook struct {
	Gateway
	before func()
	after  func() error
}

func (h *cancelHook) Cancel(ctx context.Context, paymentKey string, req toss.CancelRequest, key string, opts ...toss.CallOption) (*toss.Payment, error) {
	if h.before != nil {
		h.before()
	}
	p, err := h.Gateway.Cancel(ctx, paymentKey, req, key, opts...)
	if h.after != nil {
		if e := h.after(); e != nil {
			return nil, e
		}
	}
	return p, err
}

// TestLostRefundAnswerWithOnlyOtherCancelsAtToss: a refund's answer is
// lost and Toss's record shows a cancel made elsewhere but not this one.
// The answer is "outcome unknown" caused by the lost answer, the other
// cancel is on the order (whether this request or a webhook recorded it),
// and the refund stays reserved for the same request to settle.
func TestLostRefundAnswerWithOnlyOtherCancelsAtToss(t *testing.T) {
	for _, webhookFirst := range []bool{false, true} {
		name := "recorded by this request"
		if webhookFirst {
			name = "recorded by a webhook meanwhile"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
			o := f.paid(t, 10000, "tgen_pk_lostother1")
			f.engine.Toss = &cancelHook{Gateway: f.lossy, before: func() {
				f.toss.outOfBand(t, o.PaymentKey, 2000)
				if webhookFirst {
					res, err := f.engine.ApplyWebhook(ctx, statusChanged(t, o.ID, o.PaymentKey, "PARTIAL_CANCELED", 8000))
					if err != nil || res.Action != WebhookApplied {
						t.Errorf("webhook: %v %+v", err, res)
					}
				}
			}}
			f.lossy.failCancels = []error{errLost} // nothing of this refund executed
			_, err := f.engine.Cancel(ctx, o.ID, "returned", 3000, "")
			var ue *CancelUnknownError
			if !errors.As(err, &ue) || ue.Executed || !errors.Is(err, errLost) {
				t.Fatalf("refund: %v, want outcome unknown caused by the lost answer", err)
			}
			got := f.get(t, o.ID)
			if got.Status != orders.StatusPartialCanceled || got.Payment.BalanceAmount != 8000 || len(got.Payment.Cancels) != 1 {
				t.Fatalf("order %s balance %d with %d cancels, want the other cancel recorded", got.Status, got.Payment.BalanceAmount, len(got.Payment.Cancels))
			}
			if r, ok := got.Refunds[CancelIdempotencyKey(o.ID, o.PaymentKey, 3000, "")]; !ok || !r.Pending() {
				t.Fatalf("the refund's reservation: %+v %v, want pending", r, ok)
			}
		})
	}
}

// TestRefundReleasedAndRecordedMeanwhile: Toss executes the refund while
// the reconciler's recheck releases its reservation and a webhook records
// the cancel. The request answers success with the order as recorded,
// not an error, and the refund is executed once.
func TestRefundReleasedAndRecordedMeanwhile(t *testing.T) {
	ctx := context.Background()
	f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.paid(t, 10000, "tgen_pk_released1")
	key := CancelIdempotencyKey(o.ID, o.PaymentKey, 3000, "")
	f.engine.Toss = &cancelHook{Gateway: f.lossy, after: func() error {
		if _, err := f.store.ReleaseRefund(ctx, o.ID, key, 3000, f.clock.Now()); err != nil {
			t.Errorf("release: %v", err)
		}
		res, err := f.engine.ApplyWebhook(ctx, statusChanged(t, o.ID, o.PaymentKey, "PARTIAL_CANCELED", 7000))
		if err != nil || res.Action != WebhookApplied {
			t.Errorf("webhook: %v %+v", err, res)
		}
		return nil
	}}
	res, err := f.engine.Cancel(ctx, o.ID, "returned", 3000, "")
	if err != nil || res.Order == nil || res.Order.Status != orders.StatusPartialCanceled || res.Order.Payment.BalanceAmount != 7000 {
		t.Fatalf("refund: %v %+v, want the order as recorded", err, res)
	}
	f.agrees(t, o, orders.StatusPartialCanceled, 7000, 1)
	if n := f.lossy.calls(); n != 1 {
		t.Fatalf("%d cancel requests, want 1", n)
	}
}
