package orders_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// A refund key may be as long as Toss's Idempotency-Key (MaxRefundKeyLen
// characters) and no longer: the longest is reserved, one more is refused
// before any I/O.
func TestRefundKeyLengthBound(t *testing.T) {
	now := t0.Add(time.Hour)
	forEachStore(t, func(t *testing.T, f fixture) {
		o := paidOrder(t, f.store)
		longest := strings.Repeat("k", orders.MaxRefundKeyLen)
		if _, err := f.store.ReserveRefund(ctx, o.ID, reservation(longest, 15000, 1000), now); err != nil {
			t.Fatalf("a key of %d characters: %v", len(longest), err)
		}
		_, err := f.store.ReserveRefund(ctx, o.ID, reservation(longest+"k", 15000, 1000), now)
		var ve *orders.ValidationError
		if !errors.As(err, &ve) || ve.Field != "key" {
			t.Fatalf("a key of %d characters: %v, want a ValidationError on key", len(longest)+1, err)
		}
	})
}
