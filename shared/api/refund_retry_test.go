package api_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// A refund that Toss answered with a transient error (PROVIDER_ERROR is a
// 400) is answered as an outage to retry, and no Idempotency-Key remembers
// it: the same request runs again and refunds. (Stored as Toss's 400, it
// could never run again, and the reservation an earlier attempt of it
// left was never settled or released.)
func TestRefundTransientTossErrorIsNotRemembered(t *testing.T) {
	h := newHarness(t)
	key := h.paidOrder("Hanbok", 39000)
	h.sb.FailNext(2, tosstest.FaultProviderError) // the client tries each call twice
	r := h.refund(key, refundBody(5000), "provider-1", authHeader())
	wantError(t, r, http.StatusServiceUnavailable, "PROVIDER_ERROR")

	r = h.refund(key, refundBody(5000), "provider-1", authHeader())
	if r.StatusCode != 200 || r.Headers["Idempotent-Replayed"] == "true" || !contains(r.Body, `"balanceAmount":34000`) {
		t.Fatalf("the same request again: %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
	if p, _ := h.sb.Payment(key); p.BalanceAmount != 34000 || len(p.Cancels) != 1 {
		t.Fatalf("sandbox: balance %d, %d refunds", p.BalanceAmount, len(p.Cancels))
	}
}

// releaseFails refuses ReleaseRefund as a throttled table would, once.
type releaseFails struct {
	orders.Store
	failures int
}

func (s *releaseFails) ReleaseRefund(ctx context.Context, id, key string, amount int64, now time.Time) (*orders.Order, error) {
	if s.failures > 0 {
		s.failures--
		return nil, errors.New("operation error DynamoDB: UpdateItem: ProvisionedThroughputExceededException")
	}
	return s.Store.ReleaseRefund(ctx, id, key, amount, now)
}

// A refusal whose reservation could not be released is no final answer
// either: the caller retries, the same request releases it, and the order's
// whole balance is refundable again.
func TestRefundRefusalWhoseReleaseFailedIsRetried(t *testing.T) {
	h := newHarness(t)
	key := h.paidOrder("Hanbok", 39000)
	p, _ := h.sb.Payment(key)
	// Refunded in Toss's dashboard: Toss's balance is 9,000, ours 39,000.
	if _, err := h.sb.DashboardCancel(key, "dashboard", 30000); err != nil {
		t.Fatal(err)
	}
	store := &releaseFails{Store: h.svc.Engine.Orders, failures: 1}
	h.svc.Engine.Orders = store
	r := h.refund(key, refundBody(20000), "refused-1", authHeader())
	wantError(t, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")

	r = h.refund(key, refundBody(20000), "refused-1", authHeader())
	wantError(t, r, http.StatusForbidden, "NOT_CANCELABLE_AMOUNT")
	o := h.storedOrder(p.OrderID)
	if o.Reserved() != 0 {
		t.Fatalf("%d still reserved after Toss's refusal: %+v", o.Reserved(), o.Refunds)
	}
	r = h.refund(key, refundBody(0), "full-1", authHeader())
	if r.StatusCode != 200 || !contains(r.Body, `"status":"CANCELED"`, `"balanceAmount":0`) {
		t.Fatalf("full refund after the refusal: %d %s", r.StatusCode, r.Body)
	}
}
