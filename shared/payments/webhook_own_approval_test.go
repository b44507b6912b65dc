package payments

import (
	"context"
	"errors"
	"testing"

	"github.com/tossintl/backend/shared/orders"
)

// TestWebhookOwnApprovalRefundsNotRecorded: a webhook that records an
// EXPIRED order paid from Toss's record of its own attempt, refunded
// since, and cannot record the refunds with it is not acknowledged; Toss's
// redelivery records them.
func TestWebhookOwnApprovalRefundsNotRecorded(t *testing.T) {
	ctx := context.Background()
	store := &refusingApplyCancel{Store: orders.Validated(orders.NewMemoryStore())}
	f := newFixture(t, store)
	o := expiredAfterLateApproval(t, f)
	f.toss.outOfBand(t, "tgen_pk_late", 0)
	store.refusals = 1
	hint := statusChanged(t, o.ID, "tgen_pk_late", "CANCELED", 0)
	if _, err := f.engine.ApplyWebhook(ctx, hint); !errors.Is(err, errRefundsPending) {
		t.Fatalf("first delivery, its refunds' write refused: %v; want it unacknowledged", err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusDone || got.PaymentKey != "tgen_pk_late" {
		t.Fatalf("after the first delivery: %s under %q; want the payment recorded", got.Status, got.PaymentKey)
	}
	res, err := f.engine.ApplyWebhook(ctx, hint)
	if err != nil || res.Action != WebhookApplied {
		t.Fatalf("Toss's redelivery: %v %+v", err, res)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusCanceled || got.Payment.BalanceAmount != 0 {
		t.Fatalf("after the redelivery: %s at %d; want CANCELED at 0", got.Status, got.Payment.BalanceAmount)
	}
}
