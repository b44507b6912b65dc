package orders_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

func TestNewID(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	used := map[rune]bool{}
	for range n {
		id := orders.NewID()
		rest, ok := strings.CutPrefix(id, orders.IDPrefix)
		if !ok || len(rest) != 22 || !orders.ValidID(id) {
			t.Fatalf("NewID() = %q, want ord_ and 22 base62 characters", id)
		}
		for _, r := range rest {
			if !strings.ContainsRune(alphabet, r) {
				t.Fatalf("NewID() = %q: %q is not base62", id, r)
			}
			used[r] = true
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
	// 220,000 draws leave no character of 62 unused unless the mapping is broken.
	if len(used) != 62 {
		t.Errorf("only %d of 62 characters ever appeared", len(used))
	}
}

func TestNew(t *testing.T) {
	now := time.Date(2030, 3, 1, 12, 0, 0, 123_456_789, time.UTC)
	d := orders.Draft{
		Name: "  Green tea set  ", Amount: 15000, RefOrderID: "shop-42",
		CustomerEmail: "buyer@example.com", CustomerName: "Kim Minji",
	}
	o, err := orders.New(d, now, policy)
	if err != nil {
		t.Fatal(err)
	}
	created := time.UnixMilli(now.UnixMilli()).UTC()
	want := &orders.Order{
		ID: o.ID, CheckoutToken: o.CheckoutToken, Name: "Green tea set", Amount: 15000, Currency: "KRW", RefOrderID: "shop-42",
		CustomerEmail: "buyer@example.com", CustomerName: "Kim Minji", Status: orders.StatusPending,
		PayableUntil: created.Add(policy.PayWindow),
		// The TTL is whole seconds, rounded up: never earlier than asked.
		ExpiresAt: time.Unix(created.Add(policy.PayWindow+policy.Retention).Unix()+1, 0).UTC(),
		CreatedAt: created, UpdatedAt: created,
	}
	equal(t, "new order", o, want)
	if !orders.ValidID(o.ID) {
		t.Errorf("ID %q is not valid", o.ID)
	}
	// The checkout token: the capability of the order's own budget, as
	// unguessable as an order ID and never the same twice.
	if !orders.ValidToken(o.CheckoutToken) || !strings.HasPrefix(o.CheckoutToken, orders.TokenPrefix) || len(o.CheckoutToken) != len(orders.TokenPrefix)+22 {
		t.Errorf("checkout token %q", o.CheckoutToken)
	}
	if other, _ := orders.New(d, now, policy); other.CheckoutToken == o.CheckoutToken {
		t.Error("two orders got the same checkout token")
	}
}

func TestNewRefusesBadDrafts(t *testing.T) {
	ok := orders.Draft{Name: "Tea", Amount: 1000}
	long := func(n int) string { return strings.Repeat("가", n) } // characters, not bytes
	cases := []struct {
		name   string
		change func(d *orders.Draft)
		field  string
	}{
		{"no name", func(d *orders.Draft) { d.Name = "   " }, "name"},
		{"name too long", func(d *orders.Draft) { d.Name = long(orders.MaxNameLen + 1) }, "name"},
		{"name with control character", func(d *orders.Draft) { d.Name = "Tea\r\nSet-Cookie: x" }, "name"},
		{"name not UTF-8", func(d *orders.Draft) { d.Name = "Tea\xff" }, "name"},
		{"zero amount", func(d *orders.Draft) { d.Amount = 0 }, "amount"},
		{"negative amount", func(d *orders.Draft) { d.Amount = -1000 }, "amount"},
		{"amount over the maximum", func(d *orders.Draft) { d.Amount = policy.MaxAmount + 1 }, "amount"},
		{"amount under Toss's card minimum", func(d *orders.Draft) { d.Amount = 99 }, "amount"},
		{"one won", func(d *orders.Draft) { d.Amount = 1 }, "amount"},
		{"dollars", func(d *orders.Draft) { d.Currency = "USD" }, "currency"},
		{"lower-case won", func(d *orders.Draft) { d.Currency = "krw" }, "currency"},
		{"reference too long", func(d *orders.Draft) { d.RefOrderID = long(orders.MaxRefLen + 1) }, "refOrderId"},
		{"email too long", func(d *orders.Draft) { d.CustomerEmail = strings.Repeat("a", orders.MaxEmailLen) + "@x.io" }, "customerEmail"},
		{"email without @", func(d *orders.Draft) { d.CustomerEmail = "buyer.example.com" }, "customerEmail"},
		{"email with two @", func(d *orders.Draft) { d.CustomerEmail = "a@b@c" }, "customerEmail"},
		{"email with a space", func(d *orders.Draft) { d.CustomerEmail = "a b@c.io" }, "customerEmail"},
		{"email without domain", func(d *orders.Draft) { d.CustomerEmail = "buyer@" }, "customerEmail"},
		{"customer name too long", func(d *orders.Draft) { d.CustomerName = long(orders.MaxCustomerNameLen + 1) }, "customerName"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := ok
			c.change(&d)
			_, err := orders.New(d, t0, policy)
			var ve *orders.ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field {
				t.Fatalf("err = %v, want ValidationError on %s", err, c.field)
			}
		})
	}

	// At the limits, drafts pass.
	d := ok
	d.Name, d.Amount, d.CustomerName = long(orders.MaxNameLen), policy.MaxAmount, long(orders.MaxCustomerNameLen)
	if _, err := orders.New(d, t0, policy); err != nil {
		t.Errorf("draft at the limits: %v", err)
	}
}

// A bad policy is the operator's mistake, not the buyer's: no 400.
func TestNewRefusesBadPolicy(t *testing.T) {
	for _, p := range []orders.Policy{
		{MaxAmount: 0, PayWindow: time.Hour},
		{MaxAmount: 1000, PayWindow: 0},
		{MaxAmount: 1000, PayWindow: time.Hour, Retention: -time.Hour},
	} {
		_, err := orders.New(orders.Draft{Name: "Tea", Amount: 1000}, t0, p)
		if err == nil || orders.IsValidation(err) {
			t.Errorf("policy %+v: err = %v, want a configuration error", p, err)
		}
	}
}

// TestValidTokenLengthBounds: a checkout token is 16 to 64 characters, both
// ends included; one character fewer or more is not looked at.
func TestValidTokenLengthBounds(t *testing.T) {
	for _, c := range []struct {
		n    int
		want bool
	}{{15, false}, {16, true}, {17, true}, {63, true}, {64, true}, {65, false}} {
		if got := orders.ValidToken(strings.Repeat("a", c.n)); got != c.want {
			t.Errorf("ValidToken(%d characters) = %v, want %v", c.n, got, c.want)
		}
	}
	if orders.ValidToken(strings.Repeat("a", 15) + "!") {
		t.Error("ValidToken accepted a character outside A-Z a-z 0-9 - _")
	}
}

// TestNewRefusesAZeroAmountAsNotPositive: an amount of 0 is refused for
// not being positive, the reason the merchant reads, before the minimum
// (which 0 is also under) is looked at.
func TestNewRefusesAZeroAmountAsNotPositive(t *testing.T) {
	policy := orders.Policy{MaxAmount: 1_000_000, PayWindow: time.Hour, Retention: 24 * time.Hour}
	for _, amount := range []int64{0, -1} {
		_, err := orders.New(orders.Draft{Name: "Tea", Amount: amount}, time.Now(), policy)
		var ve *orders.ValidationError
		if !errors.As(err, &ve) || ve.Field != "amount" || ve.Reason != "must be positive" {
			t.Errorf("amount %d: err = %v, want amount: must be positive", amount, err)
		}
	}
}

// TestBudgetNames: the budgets' names as logs and errors print them.
func TestBudgetNames(t *testing.T) {
	if got := orders.Anonymous.String(); got != "anonymous" {
		t.Errorf("Anonymous = %q", got)
	}
	if got := orders.TokenHolder.String(); got != "token" {
		t.Errorf("TokenHolder = %q", got)
	}
}
