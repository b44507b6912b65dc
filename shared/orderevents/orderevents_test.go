package orderevents

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// order is an order at status s and version v; paid statuses carry a
// payment of 50,000 with balance left and one cancel per refund.
func order(s orders.Status, v int64, balance int64, cancels ...int64) *orders.Order {
	o := &orders.Order{ID: "ord_test000000000000000001", Name: "Tea set", Amount: 50000, Currency: "KRW",
		Status: s, Version: v, CreatedAt: t0, UpdatedAt: t0.Add(time.Duration(v) * time.Minute), PayableUntil: t0.Add(24 * time.Hour)}
	if s == orders.StatusFailed {
		// Fail records the declined attempt's failure with the status.
		o.PaymentKey = "tgen_fake_declined_key_0001"
		o.LastFailure = &orders.Failure{Code: "REJECT_CARD_COMPANY", Message: "declined", PaymentKey: o.PaymentKey, Amount: 50000, At: o.UpdatedAt}
	}
	if s.Paid() {
		o.PaymentKey = "tgen_fake_payment_key_0001"
		o.Payment = &orders.Payment{Status: string(s), TotalAmount: 50000, BalanceAmount: balance}
		for i, c := range cancels {
			o.Payment.Cancels = append(o.Payment.Cancels, orders.Cancel{TransactionKey: "tx" + string(rune('a'+i)), Amount: c, Reason: "r", CanceledAt: t0})
		}
	}
	return o
}

// failedWith is a FAILED order at version v whose last failure is code,
// of attempt key.
func failedWith(v int64, key, code string) *orders.Order {
	o := order(orders.StatusFailed, v, 0)
	o.PaymentKey, o.LastFailure.PaymentKey, o.LastFailure.Code = key, key, code
	return o
}

// confirmingFrom is the claim of key taken on prior (its failure kept).
func confirmingFrom(prior *orders.Order, key string) *orders.Order {
	o := *prior
	o.Status, o.PaymentKey, o.Version = orders.StatusConfirming, key, prior.Version+1
	return &o
}

// TestFromAttemptsTossNeverIssued: the events of a made-up paymentKey.
// Toss's NOT_FOUND_PAYMENT_SESSION / NOT_FOUND_PAYMENT is no fact about
// the order: the engine gives the claim back (the order returns to what it
// was, its failure untouched), and a failure of those codes recorded all
// the same makes no event either. A real decline makes one, once per
// attempt: a second failure of another attempt is another event.
func TestFromAttemptsTossNeverIssued(t *testing.T) {
	declined := failedWith(3, "tgen_real_declined_0001", "REJECT_CARD_COMPANY")
	forged := confirmingFrom(declined, "tpk_forged_0001")
	backToFailed := *declined
	backToFailed.Version = forged.Version + 1
	pending := order(orders.StatusPending, 1, 0)
	forgedOnPending := confirmingFrom(pending, "tpk_forged_0002")
	backToPending := *pending
	backToPending.Version = forgedOnPending.Version + 1
	cases := []struct {
		name string
		c    Change
		want Type
	}{
		{"a claim given back to FAILED", Change{Old: forged, New: &backToFailed}, ""},
		{"a claim given back to PENDING", Change{Old: forgedOnPending, New: &backToPending}, ""},
		{"failed as NOT_FOUND_PAYMENT_SESSION", Change{Old: forgedOnPending, New: failedWith(3, "tpk_forged_0002", "NOT_FOUND_PAYMENT_SESSION")}, ""},
		{"failed as NOT_FOUND_PAYMENT", Change{Old: forged, New: failedWith(5, "tpk_forged_0001", "NOT_FOUND_PAYMENT")}, ""},
		{"a real decline", Change{Old: confirmingFrom(pending, "tgen_real_0002"), New: failedWith(3, "tgen_real_0002", "REJECT_CARD_COMPANY")}, PaymentFailed},
		{"another attempt declined after one was", Change{Old: confirmingFrom(declined, "tgen_real_0003"), New: failedWith(5, "tgen_real_0003", "INVALID_CARD_EXPIRATION")}, PaymentFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := From(c.c)
			switch {
			case c.want == "" && ok:
				t.Fatalf("made %q, want no event", e.Type)
			case c.want != "" && (!ok || e.Type != c.want):
				t.Fatalf("made %q (%v), want %q", e.Type, ok, c.want)
			}
		})
	}
	for _, code := range []string{"NOT_FOUND_PAYMENT_SESSION", "NOT_FOUND_PAYMENT", "REJECT_CARD_COMPANY", "FORBIDDEN_REQUEST", "PAY_PROCESS_ABORTED", ""} {
		if neverIssued[code] != payments.NeverIssued(code) {
			t.Errorf("%q: this package says never issued %v, the payments engine %v", code, neverIssued[code], payments.NeverIssued(code))
		}
	}
}

func TestFrom(t *testing.T) {
	S := func(s orders.Status) orders.Status { return s }
	cases := []struct {
		name        string
		c           Change
		want        Type // "" for no event
		version     int64
		status      orders.Status // the status the event's order shows
		refunded    int64
		refundCount int
	}{
		{"creation", Change{New: order(orders.StatusPending, 1, 0)}, "", 0, "", 0, 0},
		{"claim", Change{Old: order(orders.StatusPending, 1, 0), New: order(orders.StatusConfirming, 2, 0)}, "", 0, "", 0, 0},
		{"resume of a lapsed claim", Change{Old: order(orders.StatusConfirming, 2, 0), New: order(orders.StatusConfirming, 3, 0)}, "", 0, "", 0, 0},
		{"confirmed", Change{Old: order(orders.StatusConfirming, 2, 0), New: order(orders.StatusDone, 3, 50000)}, Paid, 3, S(orders.StatusDone), 0, 0},
		{"settled from Toss while expired", Change{Old: order(orders.StatusExpired, 4, 0), New: order(orders.StatusDone, 5, 50000)}, Paid, 5, S(orders.StatusDone), 0, 0},
		{"settled from Toss while pending", Change{Old: order(orders.StatusPending, 1, 0), New: order(orders.StatusDone, 2, 50000)}, Paid, 2, S(orders.StatusDone), 0, 0},
		{"declined", Change{Old: order(orders.StatusConfirming, 2, 0), New: order(orders.StatusFailed, 3, 0)}, PaymentFailed, 3, S(orders.StatusFailed), 0, 0},
		{"failure recorded, no status change", Change{Old: order(orders.StatusFailed, 3, 0), New: order(orders.StatusFailed, 4, 0)}, "", 0, "", 0, 0},
		{"failure recorded on a pending order", Change{Old: order(orders.StatusPending, 1, 0), New: order(orders.StatusPending, 2, 0)}, "", 0, "", 0, 0},
		{"expired by the reconciler", Change{Old: order(orders.StatusPending, 1, 0), New: order(orders.StatusExpired, 2, 0)}, Expired, 2, S(orders.StatusExpired), 0, 0},
		{"refund reserved", Change{Old: order(orders.StatusDone, 3, 50000), New: order(orders.StatusDone, 4, 50000)}, "", 0, "", 0, 0},
		{"refund reserved on a payment recorded with its cancels", Change{Old: order(orders.StatusDone, 3, 40000, 10000), New: order(orders.StatusDone, 4, 40000, 10000)}, "", 0, "", 0, 0},
		{"partial refund", Change{Old: order(orders.StatusDone, 4, 50000), New: order(orders.StatusPartialCanceled, 5, 40000, 10000)}, Refunded, 5, S(orders.StatusPartialCanceled), 10000, 1},
		{"second partial refund", Change{Old: order(orders.StatusPartialCanceled, 5, 40000, 10000), New: order(orders.StatusPartialCanceled, 7, 30000, 10000, 10000)}, Refunded, 7, S(orders.StatusPartialCanceled), 10000, 1},
		{"rest refunded", Change{Old: order(orders.StatusPartialCanceled, 7, 30000, 10000, 10000), New: order(orders.StatusCanceled, 8, 0, 10000, 10000, 30000)}, Refunded, 8, S(orders.StatusCanceled), 30000, 1},
		{"refund settled after its webhook recorded it", Change{Old: order(orders.StatusPartialCanceled, 5, 40000, 10000), New: order(orders.StatusPartialCanceled, 6, 40000, 10000)}, "", 0, "", 0, 0},
		{"two refunds in one write (a late webhook)", Change{Old: order(orders.StatusDone, 3, 50000), New: order(orders.StatusPartialCanceled, 4, 20000, 10000, 20000)}, Refunded, 4, S(orders.StatusPartialCanceled), 30000, 2},
		{"paid with its cancels, then marked refunded", Change{Old: order(orders.StatusDone, 3, 40000, 10000), New: order(orders.StatusPartialCanceled, 4, 40000, 10000)}, Refunded, 4, S(orders.StatusPartialCanceled), 10000, 1},
		{"merchant deletes", Change{Old: order(orders.StatusPending, 1, 0)}, Deleted, 2, S(orders.StatusPending), 0, 0},
		{"merchant deletes an expired order", Change{Old: order(orders.StatusExpired, 2, 0)}, Deleted, 3, S(orders.StatusExpired), 0, 0},
		{"TTL removes a pending order", Change{Old: order(orders.StatusPending, 1, 0), ByTTL: true}, Expired, 2, S(orders.StatusExpired), 0, 0},
		{"TTL removes a failed order", Change{Old: order(orders.StatusFailed, 3, 0), ByTTL: true}, Expired, 4, S(orders.StatusExpired), 0, 0},
		{"TTL removes an expired order", Change{Old: order(orders.StatusExpired, 2, 0), ByTTL: true}, "", 0, "", 0, 0},
		{"nothing on either side", Change{}, "", 0, "", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := From(c.c)
			if c.want == "" {
				if ok {
					t.Fatalf("made %q, want no event", e.Type)
				}
				return
			}
			if !ok {
				t.Fatalf("no event, want %q", c.want)
			}
			if e.Type != c.want || e.Version != c.version || e.Order.Status != c.status {
				t.Errorf("event %q version %d status %s, want %q %d %s", e.Type, e.Version, e.Order.Status, c.want, c.version, c.status)
			}
			switch want := ID("ord_test000000000000000001", c.version); {
			case c.want == PaymentFailed:
				if want = declineID("ord_test000000000000000001", c.c.New.LastFailure.PaymentKey); e.ID != want {
					t.Errorf("ID %s is not the ID of (orderId, the declined paymentKey)", e.ID)
				}
			case e.ID != want:
				t.Errorf("ID %s is not the ID of (orderId, %d)", e.ID, c.version)
			}
			prev := c.c.Old.Status
			if e.PreviousStatus != prev {
				t.Errorf("previous status %s, want %s", e.PreviousStatus, prev)
			}
			if c.want == Refunded {
				if e.Refund == nil {
					t.Fatal("a refund event without its refund")
				}
				if e.Refund.Amount != c.refunded || len(e.Refund.Cancels) != c.refundCount || e.Refund.BalanceAmount != c.c.New.Payment.BalanceAmount {
					t.Errorf("refund %+v, want amount %d with %d cancels", e.Refund, c.refunded, c.refundCount)
				}
			} else if e.Refund != nil {
				t.Errorf("a %q event carries a refund", e.Type)
			}
		})
	}
}

// A change delivered again (a retried batch, a bisected one) makes the very
// same event: the consumer's duplicate check is the ID.
func TestRedeliveryMakesTheSameID(t *testing.T) {
	changes := []Change{
		{Old: order(orders.StatusConfirming, 2, 0), New: order(orders.StatusDone, 3, 50000)},
		{Old: order(orders.StatusDone, 3, 50000), New: order(orders.StatusPartialCanceled, 4, 40000, 10000)},
		{Old: order(orders.StatusPartialCanceled, 4, 40000, 10000), New: order(orders.StatusCanceled, 5, 0, 10000, 40000)},
		{Old: order(orders.StatusPending, 1, 0), ByTTL: true, At: t0},
	}
	seen := map[string]Type{}
	for round := range 3 {
		for _, c := range changes {
			e, ok := From(c)
			if !ok {
				t.Fatalf("round %d: no event", round)
			}
			if typ, dup := seen[e.ID]; dup && round == 0 {
				t.Fatalf("two changes share the ID %s (%s, %s)", e.ID, typ, e.Type)
			}
			seen[e.ID] = e.Type
		}
	}
	if len(seen) != len(changes) {
		t.Errorf("%d distinct IDs over 3 deliveries of %d changes, want %d", len(seen), len(changes), len(changes))
	}
}

// A declined attempt written FAILED again (an old tab of an earlier card
// reloaded once a later card failed too: Toss replays its decline) is the
// same fact: the same event ID, which a consumer drops as a redelivery.
// Another attempt's decline is another event.
func TestDeclineOfOneAttemptIsOneEvent(t *testing.T) {
	first := failedWith(3, "tgen_declined_0001", "REJECT_CARD_COMPANY")
	second := failedWith(5, "tgen_declined_0002", "INVALID_CARD_EXPIRATION")
	again := failedWith(7, "tgen_declined_0001", "REJECT_CARD_COMPANY")
	again.LastFailure.At = again.UpdatedAt // written anew, at its own time
	changes := []struct {
		name string
		c    Change
	}{
		{"first card declined", Change{Old: confirmingFrom(order(orders.StatusPending, 1, 0), "tgen_declined_0001"), New: first}},
		{"second card declined", Change{Old: confirmingFrom(first, "tgen_declined_0002"), New: second}},
		{"first card's tab reloaded", Change{Old: confirmingFrom(second, "tgen_declined_0001"), New: again}},
	}
	ids := map[string]string{}
	for _, c := range changes {
		e, ok := From(c.c)
		if !ok || e.Type != PaymentFailed {
			t.Fatalf("%s: made %q (%v), want %q", c.name, e.Type, ok, PaymentFailed)
		}
		if e.ID == ID(e.OrderID, e.Version) {
			t.Errorf("%s: the ID names the write, not the attempt", c.name)
		}
		key := c.c.New.LastFailure.PaymentKey
		if id, seen := ids[key]; seen && id != e.ID {
			t.Errorf("%s: attempt %s declined under two IDs", c.name, key)
		}
		ids[key] = e.ID
	}
	if ids["tgen_declined_0001"] == ids["tgen_declined_0002"] {
		t.Error("two attempts' declines share an ID")
	}
}

func TestIDIsAUUIDOfOrderAndVersion(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	ids := map[string]bool{}
	for _, id := range []string{"ord_a00000000000000000000", "ord_b00000000000000000000"} {
		for v := int64(1); v <= 50; v++ {
			got := ID(id, v)
			if !uuid.MatchString(got) {
				t.Fatalf("ID(%s, %d) = %q, not a version 5 UUID", id, v, got)
			}
			if got != ID(id, v) {
				t.Fatal("ID is not stable")
			}
			ids[got] = true
		}
	}
	if len(ids) != 100 {
		t.Errorf("%d distinct IDs for 100 (order, version) pairs", len(ids))
	}
	// The order ID and version cannot run into each other.
	if ID("ord_x1", 23) == ID("ord_x12", 3) {
		t.Error("ambiguous ID derivation")
	}
}

func TestDetail(t *testing.T) {
	e, ok := From(Change{Old: order(orders.StatusDone, 4, 50000), New: order(orders.StatusPartialCanceled, 5, 40000, 10000)})
	if !ok {
		t.Fatal("no event")
	}
	b, err := json.Marshal(e.Detail(func(o *orders.Order) any { return map[string]any{"orderId": o.ID, "status": o.Status} }))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"eventId":"` + e.ID + `"`, `"orderId":"ord_test000000000000000001"`, `"version":5`,
		`"status":"PARTIAL_CANCELED"`, `"previousStatus":"DONE"`, `"order":{"orderId":"ord_test000000000000000001","status":"PARTIAL_CANCELED"}`,
		`"refund":{"refundedAmount":10000,"balanceAmount":40000,"totalAmount":50000,"cancels":[{"transactionKey":"txa","cancelReason":"r","cancelAmount":10000`,
		`"occurredAt":"2026-11-29T12:05:00Z"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("detail lacks %s: %s", want, b)
		}
	}
	paid, _ := From(Change{Old: order(orders.StatusConfirming, 2, 0), New: order(orders.StatusDone, 3, 50000)})
	b, _ = json.Marshal(paid.Detail(func(o *orders.Order) any { return o.ID }))
	if strings.Contains(string(b), `"refund"`) {
		t.Errorf("a paid event's detail holds a refund: %s", b)
	}
}

// DetailWithin embeds the newest cancels of each list and counts the
// others; the view sees the capped order, the event keeps the whole one.
func TestDetailWithin(t *testing.T) {
	old := order(orders.StatusPartialCanceled, 5, 40000, 1000, 1000)
	cur := order(orders.StatusPartialCanceled, 6, 37000, 1000, 1000, 1000, 1000, 1000)
	e, ok := From(Change{Old: old, New: cur})
	if !ok || len(e.Refund.Cancels) != 3 {
		t.Fatalf("event %+v", e)
	}
	viewed := func(o *orders.Order) any { return len(o.Payment.Cancels) }
	keys := func(cs []CancelDetail) (out []string) {
		for _, c := range cs {
			out = append(out, c.TransactionKey)
		}
		return out
	}
	for _, tc := range []struct {
		max, orderCancels, orderOmitted, refundOmitted int
		refundKeys                                     []string
	}{
		{max: 10, orderCancels: 5, refundKeys: []string{"txc", "txd", "txe"}},
		{max: 3, orderCancels: 3, orderOmitted: 2, refundKeys: []string{"txc", "txd", "txe"}},
		{max: 2, orderCancels: 2, orderOmitted: 3, refundOmitted: 1, refundKeys: []string{"txd", "txe"}},
		{max: 0, orderCancels: 0, orderOmitted: 5, refundOmitted: 3},
		{max: -1, orderCancels: 0, orderOmitted: 5, refundOmitted: 3},
	} {
		d := e.DetailWithin(viewed, tc.max)
		if d.Order != tc.orderCancels || d.CancelsOmitted != tc.orderOmitted || d.Refund.CancelsOmitted != tc.refundOmitted ||
			strings.Join(keys(d.Refund.Cancels), ",") != strings.Join(tc.refundKeys, ",") || d.Truncated != (tc.orderOmitted+tc.refundOmitted > 0) {
			t.Errorf("max %d: order %v (omitted %d), refund %v (omitted %d), truncated %v", tc.max, d.Order, d.CancelsOmitted, keys(d.Refund.Cancels), d.Refund.CancelsOmitted, d.Truncated)
		}
		if d.Refund.Amount != 3000 || d.Refund.BalanceAmount != 37000 {
			t.Errorf("max %d: amounts %+v", tc.max, d.Refund)
		}
	}
	if len(e.Order.Payment.Cancels) != 5 {
		t.Errorf("the event's order lost cancels: %d", len(e.Order.Payment.Cancels))
	}
	if b, _ := json.Marshal(e.Detail(viewed)); strings.Contains(string(b), "truncated") || strings.Contains(string(b), "cancelsOmitted") {
		t.Errorf("a whole detail says it is truncated: %s", b)
	}
}
