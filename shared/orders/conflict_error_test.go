package orders_test

import (
	"testing"

	"github.com/tossintl/backend/shared/orders"
)

// A ConflictError says what the order was, when the refusal carried it.
func TestConflictErrorMessage(t *testing.T) {
	with := &orders.ConflictError{Op: "claim", Current: &orders.Order{ID: "ord_1", Status: orders.StatusDone, Version: 4}}
	if got, want := with.Error(), "orders: claim: order ord_1 is DONE (version 4)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	without := &orders.ConflictError{Op: "delete"}
	if got, want := without.Error(), "orders: delete: condition failed"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
