package tossintl

import (
	"context"
	"fmt"

	sampleevents "github.com/tossintl/backend/events"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// SeedEvents creates the orders the sample events in events/ refer to in
// the stack's orders table and, when the sandbox runs in-process,
// authenticates their payments there (events.Seed, over the stack's table
// and sandbox). Orders that already exist are left as they are.
func SeedEvents(ctx context.Context, s *stack.Stack) error {
	table, err := s.TableName("OrdersTable")
	if err != nil {
		return fmt.Errorf("seed events: %w", err)
	}
	client, err := toss.New(toss.Options{BaseURL: s.SandboxURL, SecretKey: toss.StaticKey(s.Keys.TossSecretKey)})
	if err != nil {
		return fmt.Errorf("seed events: %w", err)
	}
	store := orders.Validated(orders.NewDynamoStore(s.DynamoDB(), table))
	if err := sampleevents.Seed(ctx, store, s.Sandbox, client); err != nil {
		return fmt.Errorf("seed events: %w", err)
	}
	return nil
}
