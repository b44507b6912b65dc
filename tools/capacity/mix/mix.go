// Package mix drives the local stack's API with a scripted checkout mix,
// as merchants' servers and buyers' browsers would: each completed
// checkout creates its order, opens the checkout page, comes back on the
// success redirect, refreshes it, has a single-page frontend confirm the
// same payment again, and the sandbox announces the payment by webhook;
// in set shares, orders are abandoned after the checkout page, a first
// card is declined (the fail redirect, then another card), payments are
// partly refunded, merchants list their orders and the reconciler runs.
package mix

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"

	"github.com/tossintl/backend/tools/internal/load"
)

// Shares are the mix's proportions, per completed checkout.
type Shares struct {
	Creations  float64 // orders created per completed checkout (≥ 1); the others are abandoned after the checkout page
	Declines   float64 // share of checkouts whose first card is declined
	Refreshes  float64 // success-page refreshes per checkout
	Confirms   float64 // single-page POST /payments/confirm duplicates per checkout
	Refunds    float64 // share of checkouts partly refunded
	Lists      float64 // merchant GET /orders pages per checkout
	Reconciles float64 // reconcile passes per checkout
}

// DefaultShares is the flash-sale mix: five orders created for each paid
// one (the 10,000 creations for 2,000 checkouts a second), one
// first card in ten declined, one refresh and one single-page duplicate
// per checkout, one refund in twenty, a list page per ten checkouts and a
// reconcile pass per hundred.
var DefaultShares = Shares{Creations: 5, Declines: 0.1, Refreshes: 1, Confirms: 1, Refunds: 0.05, Lists: 0.1, Reconciles: 0.01}

// Map is the shares by the names -mix takes.
func (s Shares) Map() map[string]float64 {
	return map[string]float64{"creations": s.Creations, "declines": s.Declines, "refreshes": s.Refreshes, "confirms": s.Confirms,
		"refunds": s.Refunds, "lists": s.Lists, "reconciles": s.Reconciles}
}

// Check refuses shares that make no sense.
func (s Shares) Check() error {
	if s.Creations < 1 {
		return fmt.Errorf("creations per checkout %g: at least 1 (the checkout's own order)", s.Creations)
	}
	for name, v := range map[string]float64{"declines": s.Declines, "refunds": s.Refunds} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s %g: a share between 0 and 1", name, v)
		}
	}
	for name, v := range map[string]float64{"refreshes": s.Refreshes, "confirms": s.Confirms, "lists": s.Lists, "reconciles": s.Reconciles} {
		if v < 0 {
			return fmt.Errorf("%s %g: not negative", name, v)
		}
	}
	return nil
}

// times is how many of an action checkout i does when the action comes
// share times per checkout: spread evenly, so n checkouts do round(n ×
// share) of them in all, whatever the share.
func times(i int, share float64) int {
	return int(math.Floor(float64(i+1)*share+1e-9) - math.Floor(float64(i)*share+1e-9))
}

// Checkout runs checkout i of the mix to a paid order through d, and
// returns how many orders it created (the paid one and the abandoned
// ones). reconcile runs one reconcile pass (the scheduled function).
func Checkout(ctx context.Context, d *load.Driver, i int, s Shares, reconcile func(context.Context) error) (created int, err error) {
	buyer := d.Buyer
	page := func(path string) error {
		_, err := d.Expect(ctx, buyer, "GET", path, nil, "", http.StatusOK)
		return err
	}
	for range times(i, s.Creations-1) {
		o, err := createOrder(ctx, d, 12000)
		if err != nil {
			return created, err
		}
		created++
		if err := page("/checkout/" + o.ID + "?" + url.Values{"token": {o.Token}}.Encode()); err != nil {
			return created, err
		}
	}
	const amount = 39000
	o, err := createOrder(ctx, d, amount)
	if err != nil {
		return created, err
	}
	created++
	if err := page("/checkout/" + o.ID + "?" + url.Values{"token": {o.Token}, "lang": {"en"}}.Encode()); err != nil {
		return created, err
	}
	if times(i, s.Declines) > 0 {
		// The window's decline: Toss sends the buyer to failUrl; the
		// buyer picks another card on the page it shows.
		q := url.Values{"code": {"REJECT_CARD_COMPANY"}, "message": {"declined"}, "orderId": {o.ID}, "token": {o.Token}}
		if err := page("/payments/fail?" + q.Encode()); err != nil {
			return created, err
		}
	}
	key := d.Sandbox.Authorize(o.ID, o.Name, amount)
	// The successUrl the checkout page gave Toss, with its token.
	q := url.Values{"paymentType": {"NORMAL"}, "orderId": {o.ID}, "paymentKey": {key}, "amount": {fmt.Sprint(amount)}, "token": {o.Token}}
	for range 1 + times(i, s.Refreshes) {
		if err := page("/payments/success?" + q.Encode()); err != nil {
			return created, err
		}
	}
	for range times(i, s.Confirms) {
		// A single-page frontend holds the token from its own POST /orders.
		if _, err := d.Confirm(ctx, o, key); err != nil {
			return created, err
		}
	}
	if times(i, s.Refunds) > 0 {
		body := map[string]any{"cancelReason": "flash sale refund", "cancelAmount": amount / 3}
		if _, err := d.Expect(ctx, d.Merchant, "POST", "/payments/"+key+"/cancel", body, load.NewKey(), http.StatusOK); err != nil {
			return created, err
		}
	}
	for range times(i, s.Lists) {
		if _, err := d.Expect(ctx, d.Merchant, "GET", "/orders?limit=20", nil, "", http.StatusOK); err != nil {
			return created, err
		}
	}
	for range times(i, s.Reconciles) {
		if err := reconcile(ctx); err != nil {
			return created, fmt.Errorf("reconcile: %w", err)
		}
	}
	return created, nil
}

// createOrder is the merchant's POST /orders of a flash sale's order.
func createOrder(ctx context.Context, d *load.Driver, amount int64) (load.Order, error) {
	body := map[string]any{"orderName": "Flash sale", "amount": amount, "customerEmail": "buyer@example.com"}
	return d.CreateOrder(ctx, body, load.NewKey())
}
