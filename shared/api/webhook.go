package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/payments"
)

// WebhookAck is the answer to a webhook delivery.
type WebhookAck struct {
	EventType string `json:"eventType"`
	Action    string `json:"action"`
	Reason    string `json:"reason,omitempty"`
}

// TossWebhook is POST /webhooks/toss. The payload is only a hint (Toss does
// not sign payment webhooks): the payment is fetched again from Toss and
// applied only if it moves the order forward, so duplicates and
// out-of-order deliveries change nothing. 200 for what we understood
// (including deliveries about payments or orders that are not ours), 400
// for a malformed body or fields (a paymentKey that is not Toss's shape),
// 429 when the named order's budget of Toss lookups is spent (Toss
// delivers it again later), 503 when Toss or our storage failed (Toss
// retries). Nothing in a body can cause a 5xx: that is kept for our own
// failures, which an alarm watches.
func (s *Service) TossWebhook(ctx context.Context, r *apigw.Request) apigw.Response {
	body, err := apigw.Body(r)
	if err != nil {
		return Error(r, CodeMalformedWebhook, "")
	}
	res, err := s.Engine.ApplyWebhook(ctx, body)
	if res.Order != nil {
		ctx = withOrder(ctx, res.Order.ID)
	}
	if resp, ok := tooManyRequests(r, err); ok {
		s.log().WarnContext(ctx, "webhook throttled", "paymentKey", payments.MaskKey(res.PaymentKey))
		return resp
	}
	switch {
	case errors.Is(err, payments.ErrMalformedWebhook):
		s.log().WarnContext(ctx, "malformed webhook", "error", err)
		return Error(r, CodeMalformedWebhook, "")
	case err != nil:
		s.log().ErrorContext(ctx, "webhook", "error", err)
		return Error(r, CodeServiceUnavailable, "")
	}
	s.log().InfoContext(ctx, "webhook", "eventType", res.EventType, "action", string(res.Action), "reason", res.Reason,
		"paymentKey", payments.MaskKey(res.PaymentKey))
	return Entity(r, http.StatusOK, "webhook", WebhookAck{EventType: res.EventType, Action: string(res.Action), Reason: res.Reason})
}
