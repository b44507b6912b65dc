package payments

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// impossibleBalance executes refunds honestly and answers them with a
// balance above the payment's total, which Toss never sends.
type impossibleBalance struct{ Gateway }

func (g impossibleBalance) Cancel(ctx context.Context, paymentKey string, req toss.CancelRequest, key string, opts ...toss.CallOption) (*toss.Payment, error) {
	p, err := g.Gateway.Cancel(ctx, paymentKey, req, key, opts...)
	if err == nil {
		p.BalanceAmount = p.TotalAmount + 2000
	}
	return p, err
}

// TestRefundAnswerAboveTheTotalSettlesNothing: an answer to a refund that
// claims a balance above the payment's total is not recorded, and the
// refund's reservation is not settled against the order's unrefunded
// state: the answer is "executed, not recorded", and the amount stays
// held back for the same request or the recheck to settle.
func TestRefundAnswerAboveTheTotalSettlesNothing(t *testing.T) {
	ctx := context.Background()
	f := newRefundFixture(t, orders.NewMemoryStore())
	o := f.paid(t, 10000, "tgen_pk_impossible1")
	f.engine.Toss = impossibleBalance{f.lossy}
	_, err := f.engine.Cancel(ctx, o.ID, "returned", 3000, "")
	var ue *CancelUnknownError
	if !errors.As(err, &ue) || !ue.Executed {
		t.Fatalf("refund: %v, want executed but not recorded", err)
	}
	got := f.get(t, o.ID)
	if r, ok := got.Refunds[CancelIdempotencyKey(o.ID, o.PaymentKey, 3000, "")]; !ok || !r.Pending() {
		t.Fatalf("the refund's reservation: %+v %v, want it still pending", r, ok)
	}
	if got.Status != orders.StatusDone || got.Payment.BalanceAmount != 10000 || got.Refundable() != 7000 {
		t.Fatalf("order %s balance %d refundable %d, want DONE at 10000 with 7000 refundable", got.Status, got.Payment.BalanceAmount, got.Refundable())
	}
}

// TestRefusedRefundCatchUpIsLoggedAsDone: after Toss refuses a refund
// because of refunds made in its dashboard, the order catches up and the
// log says the outside refunds were recorded, with no failure logged.
func TestRefusedRefundCatchUpIsLoggedAsDone(t *testing.T) {
	ctx := context.Background()
	f := newRefundFixture(t, orders.Validated(orders.NewMemoryStore()))
	logs := &lockedBuffer{}
	f.engine.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := f.paid(t, 10000, "tgen_pk_catchup01")
	f.toss.outOfBand(t, o.PaymentKey, 8000)
	var te *toss.Error
	if _, err := f.engine.Cancel(ctx, o.ID, "returned", 5000, ""); !errors.As(err, &te) || te.Code != toss.CodeNotCancelableAmount {
		t.Fatalf("refund above Toss's balance: %v, want NOT_CANCELABLE_AMOUNT", err)
	}
	f.agrees(t, o, orders.StatusPartialCanceled, 2000, 1)
	if out := logs.String(); !strings.Contains(out, `"msg":"recorded refunds made outside this API"`) || strings.Contains(out, `"msg":"record refunds found at Toss"`) {
		t.Fatalf("logs do not say the outside refunds were recorded:\n%s", out)
	}
}

// TestWebhookLogNamesThePayment: a payment webhook's log line carries the
// masked paymentKey and the status it claims; another event's does not
// carry a paymentKey.
func TestWebhookLogNamesThePayment(t *testing.T) {
	ctx := context.Background()
	w := newWebhookWorld(t, false)
	logs := &lockedBuffer{}
	w.f.engine.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	w.f.toss.outOfBand(t, w.pk, 0)
	if _, err := w.f.engine.ApplyWebhook(ctx, statusChanged(t, w.o.ID, w.pk, "CANCELED", 0)); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, `"paymentKey":"`+MaskKey(w.pk)+`"`) || !strings.Contains(out, `"claimedStatus":"CANCELED"`) || strings.Contains(out, w.pk) {
		t.Fatalf("payment webhook log:\n%s\nwant the masked paymentKey and the claimed status", out)
	}
	logs = &lockedBuffer{}
	w.f.engine.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	if _, err := w.f.engine.ApplyWebhook(ctx, webhookBody(t, EventDepositCallback, map[string]any{"orderId": w.o.ID})); err != nil {
		t.Fatal(err)
	}
	if out := logs.String(); !strings.Contains(out, `"action":"ACCEPTED"`) || strings.Contains(out, `"paymentKey"`) {
		t.Fatalf("other event's log:\n%s\nwant no paymentKey", out)
	}
}
