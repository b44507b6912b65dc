package orders_test

import (
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// Create hands back, and both stores return, an order as the DynamoDB item
// reads back: empty collections are absent (nil), however the caller
// spelled them, so orders from either store compare equal.
func TestCreateNormalizesEmptyCollections(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o, err := orders.New(orders.Draft{Name: "Tea", Amount: 1000}, t0, policy)
		if err != nil {
			t.Fatal(err)
		}
		o.RecentAttempts = []time.Time{}
		o.TokenAttempts = []time.Time{}
		o.Refunds = map[string]orders.Refund{}
		if err := f.store.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		got := mustGet(t, f.store, o.ID, t0)
		for name, ord := range map[string]*orders.Order{"created": o, "read back": got} {
			if ord.RecentAttempts != nil || ord.TokenAttempts != nil || ord.Refunds != nil {
				t.Errorf("%s: attempts %#v, token attempts %#v, refunds %#v; want all nil", name, ord.RecentAttempts, ord.TokenAttempts, ord.Refunds)
			}
		}
	})
}
