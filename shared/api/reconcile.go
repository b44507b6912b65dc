package api

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tossintl/backend/shared/obs"
	"github.com/tossintl/backend/shared/payments"
)

// Reconcile is the scheduled reconciler (EventBridge): one pass of
// payments.Engine.Reconcile. It reports the orders still unsettled as the
// ReconcilePending metric, which the backlog alarm watches.
func (s *Service) Reconcile(ctx context.Context, _ json.RawMessage) (payments.ReconcileReport, error) {
	ctx = obs.With(ctx, "traceId", "reconcile")
	rep, err := s.Engine.Reconcile(ctx)
	s.Metrics.Put("ReconcilePending", float64(rep.Pending+rep.Errors), obs.Count, nil)
	s.Metrics.Put("ReconcileSettled", float64(rep.Done+rep.Declined), obs.Count, nil)
	s.Metrics.Put("OrdersExpired", float64(rep.Expired), obs.Count, nil)
	s.Metrics.Put("RefundReservationsReleased", float64(rep.Released), obs.Count, nil)
	if err != nil {
		s.log().ErrorContext(ctx, "reconcile", "error", err)
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	return rep, nil
}
