package tossintl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/samlocal/stack"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// The orders and payments the sample events in events/ refer to. SeedEvents
// creates them so every event answers as its name says (a receipt, a
// refused amount, an unknown order, …) under `make invoke` and in tests.
const (
	EventOrderID        = "ord_event0000000000000000001" // PENDING: checkout, get, fail, delete
	EventPaidOrderID    = "ord_event0000000000000000002" // paid by events/payment-success.json
	EventConfirmOrderID = "ord_event0000000000000000003" // paid by events/confirm-payment.json
	EventPaymentKey     = "tgen_20261122120000event00001"
	EventConfirmKey     = "tgen_20261122120000event00002"
	EventLapsedOrderID  = "ord_event0000000000000000004" // CONFIRMING under a lapsed claim: for reconcile
	EventOverdueOrderID = "ord_event0000000000000000005" // PENDING past its payable window: for reconcile
	EventRefundOrderID  = "ord_event0000000000000000006" // paid when seeded: refunded by events/cancel-payment*.json
	EventRefundKey      = "tgen_20261122120000event00003"
)

// SeedEvents creates the orders the sample events refer to in the stack's
// orders table and, when the sandbox runs in-process, authenticates their
// payments there. Orders that already exist are left as they are.
func SeedEvents(ctx context.Context, s *stack.Stack) error {
	table, err := s.TableName("OrdersTable")
	if err != nil {
		return fmt.Errorf("seed events: %w", err)
	}
	store := orders.Validated(orders.NewDynamoStore(s.DynamoDB(), table))
	now := time.Now()
	policy := orders.Policy{MaxAmount: 100_000_000, PayWindow: 24 * time.Hour, Retention: 7 * 24 * time.Hour}
	create := func(id, name string, amount int64, at time.Time) (*orders.Order, error) {
		o, err := orders.New(orders.Draft{Name: name, Amount: amount, RefOrderID: "event-" + id[len(id)-1:]}, at, policy)
		if err != nil {
			return nil, err
		}
		o.ID = id
		if err := store.Create(ctx, o); err != nil && !errors.Is(err, orders.ErrExists) {
			return nil, fmt.Errorf("seed order %s: %w", id, err)
		}
		return o, nil
	}
	if _, err := create(EventOrderID, "Hanbok rental, 1 day", 39000, now); err != nil {
		return err
	}
	if _, err := create(EventPaidOrderID, "Seoul food tour", 39000, now); err != nil {
		return err
	}
	if _, err := create(EventConfirmOrderID, "Tea ceremony for two", 52000, now); err != nil {
		return err
	}
	if _, err := create(EventOverdueOrderID, "Abandoned cart", 12000, now.Add(-48*time.Hour)); err != nil {
		return err
	}
	// A confirm that died mid-flight an hour ago: CONFIRMING, claim lapsed,
	// never seen by Toss. The reconciler re-drives it and Toss refuses.
	lapsed, err := create(EventLapsedOrderID, "Lost confirm", 8000, now.Add(-time.Hour))
	if err != nil {
		return err
	}
	_, err = store.Claim(ctx, orders.Claim{OrderID: lapsed.ID, PaymentKey: "tgen_20261122110000lapsed001", Amount: lapsed.Amount,
		Now: now.Add(-time.Hour), Until: now.Add(-time.Hour + 30*time.Second)})
	var ce *orders.ConflictError
	if err != nil && !errors.As(err, &ce) {
		return fmt.Errorf("seed lapsed claim: %w", err)
	}
	if _, err := create(EventRefundOrderID, "Pottery class", 52000, now); err != nil {
		return err
	}
	if s.Sandbox == nil {
		return nil
	}
	s.Sandbox.Authorize(EventPaidOrderID, "Seoul food tour", 39000, tosstest.WithPaymentKey(EventPaymentKey))
	s.Sandbox.Authorize(EventConfirmOrderID, "Tea ceremony for two", 52000, tosstest.WithPaymentKey(EventConfirmKey))
	// The refund events need a paid order: pay it the way the product does.
	if o, err := store.Get(ctx, EventRefundOrderID, now); err == nil && o.Status == orders.StatusPending {
		s.Sandbox.Authorize(EventRefundOrderID, "Pottery class", 52000, tosstest.WithPaymentKey(EventRefundKey))
		client, err := toss.New(toss.Options{BaseURL: s.SandboxURL, SecretKey: toss.StaticKey(s.Keys.TossSecretKey)})
		if err != nil {
			return fmt.Errorf("seed refund order: %w", err)
		}
		engine := &payments.Engine{Orders: store, Toss: client}
		if res, err := engine.Confirm(ctx, EventRefundKey, EventRefundOrderID, 52000); err != nil || res.Outcome != payments.OutcomeDone {
			return fmt.Errorf("seed refund order: pay: %v %+v", err, res)
		}
	}
	return nil
}
