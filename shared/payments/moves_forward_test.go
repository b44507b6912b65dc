package payments

import (
	"testing"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// movesForward decides whether Toss's record of a payment holds refunds
// the order has not recorded, which the engine then records (a refund made
// in Toss's dashboard, a refund whose answer was lost). Each case is one
// edge of that decision.
func TestMovesForward(t *testing.T) {
	order := func(status orders.Status, balance int64) *orders.Order {
		return &orders.Order{ID: "ord_1", Status: status, PaymentKey: "pk_1",
			Payment: &orders.Payment{TotalAmount: 10000, BalanceAmount: balance}}
	}
	pay := func(status toss.PaymentStatus, balance int64) *toss.Payment {
		return &toss.Payment{PaymentKey: "pk_1", OrderID: "ord_1", Status: status, TotalAmount: 10000, BalanceAmount: balance}
	}
	cases := []struct {
		name string
		o    *orders.Order
		p    *toss.Payment
		want bool
	}{
		{"a refund the order lacks", order(orders.StatusDone, 10000), pay(toss.StatusPartialCanceled, 7000), true},
		{"a refund to zero the order lacks", order(orders.StatusPartialCanceled, 7000), pay(toss.StatusCanceled, 0), true},
		{"what the order recorded", order(orders.StatusPartialCanceled, 7000), pay(toss.StatusPartialCanceled, 7000), false},
		{"an older state than the order's", order(orders.StatusPartialCanceled, 7000), pay(toss.StatusPartialCanceled, 8000), false},
		// Recorded paid from a payment already refunded (SettleFromToss):
		// DONE with the refunded balance, its cancel not applied yet.
		{"the cancel of an approval recorded with it", order(orders.StatusDone, 7000), pay(toss.StatusPartialCanceled, 7000), true},
		{"the full cancel of an approval recorded with it", order(orders.StatusDone, 0), pay(toss.StatusCanceled, 0), true},
		{"a DONE order at the full amount, Toss too", order(orders.StatusDone, 10000), pay(toss.StatusPartialCanceled, 10000), false},
		{"no refund at Toss", order(orders.StatusDone, 10000), pay(toss.StatusDone, 10000), false},
		{"another payment", order(orders.StatusDone, 10000), func() *toss.Payment { p := pay(toss.StatusPartialCanceled, 7000); p.PaymentKey = "pk_2"; return p }(), false},
		{"another total", order(orders.StatusDone, 10000), func() *toss.Payment { p := pay(toss.StatusPartialCanceled, 7000); p.TotalAmount = 20000; return p }(), false},
		{"an order without a payment", &orders.Order{ID: "ord_1", Status: orders.StatusPending}, pay(toss.StatusPartialCanceled, 7000), false},
	}
	for _, c := range cases {
		if got := movesForward(c.o, c.p); got != c.want {
			t.Errorf("%s: movesForward = %v, want %v", c.name, got, c.want)
		}
	}
}
