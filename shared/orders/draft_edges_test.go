package orders_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// The edges of New's checks: what sits at the very start of a field.
func TestNewRefusesDraftsAtTheEdges(t *testing.T) {
	now := time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		draft orders.Draft
		field string
	}{
		{"name starting with a control character", orders.Draft{Name: "\x07Tea", Amount: 1000}, "name"},
		{"customer name starting with a control character", orders.Draft{Name: "Tea", Amount: 1000, CustomerName: "\x1bKim"}, "customerName"},
		{"email starting with @", orders.Draft{Name: "Tea", Amount: 1000, CustomerEmail: "@example.com"}, "customerEmail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := orders.New(c.draft, now, policy)
			var ve *orders.ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field {
				t.Fatalf("err = %v, want a ValidationError on %s", err, c.field)
			}
		})
	}
	// The shortest of each that is fine.
	ok := orders.Draft{Name: "T", Amount: 1000, CustomerEmail: "a@b", CustomerName: "K"}
	if _, err := orders.New(ok, now, policy); err != nil {
		t.Fatalf("New(%+v) = %v", ok, err)
	}
}
