package payments_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
)

// TestValidateCancelBounds: the reason may be exactly Toss's limit long,
// counted in characters, not one more; a control character anywhere in it,
// the first included, refuses it; an amount of 0 (the whole balance) is a
// refund and a negative one is not.
func TestValidateCancelBounds(t *testing.T) {
	id := orders.NewID()
	atLimit := strings.Repeat("환", payments.MaxCancelReasonLen)
	for _, c := range []struct {
		name   string
		reason string
		amount int64
		field  string // "" when the request is valid
	}{
		{"reason at the limit", atLimit, 1000, ""},
		{"reason one over the limit", atLimit + "x", 1000, "cancelReason"},
		{"control character first", "\x00refund", 1000, "cancelReason"},
		{"control character inside", "re\x01fund", 1000, "cancelReason"},
		{"whole balance", "refund", 0, ""},
		{"negative amount", "refund", -1, "cancelAmount"},
	} {
		err := payments.ValidateCancel(id, c.reason, c.amount, "")
		var ie *payments.InvalidCancelError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.field != "" && (!errors.As(err, &ie) || ie.Field != c.field):
			t.Errorf("%s: err = %v, want an invalid %s", c.name, err, c.field)
		}
	}
}
