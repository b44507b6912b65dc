package orders_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// A paymentKey may be as long as Toss makes one (MaxPaymentKeyLen bytes)
// and no longer, for a claim as for a payment recorded from Toss: the
// longest is taken, one byte more is refused before any I/O.
func TestPaymentKeyLengthBound(t *testing.T) {
	longest := strings.Repeat("k", orders.MaxPaymentKeyLen)
	tooLong := longest + "k"
	refused := func(t *testing.T, what string, err error) {
		t.Helper()
		var ve *orders.ValidationError
		if !errors.As(err, &ve) || ve.Field != "paymentKey" {
			t.Errorf("%s with a key of %d bytes: %v, want a ValidationError on paymentKey", what, len(tooLong), err)
		}
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		_, err := f.store.Claim(ctx, claimOf(o, tooLong, t0))
		refused(t, "claim", err)
		if _, err := f.store.Claim(ctx, claimOf(o, longest, t0)); err != nil {
			t.Errorf("claim with a key of %d bytes: %v", len(longest), err)
		}

		o2 := create(t, f.store, payment.TotalAmount, t0)
		_, err = f.store.SettleFromToss(ctx, o2.ID, tooLong, payment, t0.Add(time.Second))
		refused(t, "settle from Toss", err)
		if _, err := f.store.SettleFromToss(ctx, o2.ID, longest, payment, t0.Add(time.Second)); err != nil {
			t.Errorf("settle from Toss with a key of %d bytes: %v", len(longest), err)
		}
	})
}
