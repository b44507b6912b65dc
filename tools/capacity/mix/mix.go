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
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
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

// Driver drives one stack.
type Driver struct {
	API         string // the API's base URL
	Sandbox     *tosstest.Sandbox
	MerchantKey string
	// Reconcile runs one reconcile pass (the scheduled function).
	Reconcile func(ctx context.Context) error
	HTTP      *http.Client

	requests atomic.Int64 // API requests sent
}

// APIRequests is how many requests the driver sent to the API.
func (d *Driver) APIRequests() int { return int(d.requests.Load()) }

// Result is one checkout's outcome.
type Result struct {
	Created int // orders created (the paid one and the abandoned ones)
	Latency time.Duration
}

// Checkout runs checkout i of the mix to a paid order.
func (d *Driver) Checkout(ctx context.Context, i int, s Shares) (Result, error) {
	start := time.Now()
	res := Result{}
	for range times(i, s.Creations-1) {
		id, token, err := d.createOrder(ctx, 12000)
		if err != nil {
			return res, err
		}
		res.Created++
		if err := d.expect(ctx, "GET", "/checkout/"+id+"?"+url.Values{"token": {token}}.Encode(), nil, false, "", 200); err != nil {
			return res, err
		}
	}
	const amount = 39000
	id, token, err := d.createOrder(ctx, amount)
	if err != nil {
		return res, err
	}
	res.Created++
	if err := d.expect(ctx, "GET", "/checkout/"+id+"?"+url.Values{"token": {token}, "lang": {"en"}}.Encode(), nil, false, "", 200); err != nil {
		return res, err
	}
	if times(i, s.Declines) > 0 {
		// The window's decline: Toss sends the buyer to failUrl; the
		// buyer picks another card on the page it shows.
		q := url.Values{"code": {"REJECT_CARD_COMPANY"}, "message": {"declined"}, "orderId": {id}, "token": {token}}
		if err := d.expect(ctx, "GET", "/payments/fail?"+q.Encode(), nil, false, "", 200); err != nil {
			return res, err
		}
	}
	key := d.Sandbox.Authorize(id, "Flash sale", amount)
	// The successUrl the checkout page gave Toss, with its token.
	q := url.Values{"paymentType": {"NORMAL"}, "orderId": {id}, "paymentKey": {key}, "amount": {fmt.Sprint(amount)}, "token": {token}}
	success := "/payments/success?" + q.Encode()
	if err := d.expect(ctx, "GET", success, nil, false, "", 200); err != nil {
		return res, err
	}
	for range times(i, s.Refreshes) {
		if err := d.expect(ctx, "GET", success, nil, false, "", 200); err != nil {
			return res, err
		}
	}
	for range times(i, s.Confirms) {
		// A single-page frontend holds the token from its own POST /orders.
		body := map[string]any{"paymentKey": key, "orderId": id, "amount": amount, "checkoutToken": token}
		if err := d.expect(ctx, "POST", "/payments/confirm", body, false, "", 200); err != nil {
			return res, err
		}
	}
	if times(i, s.Refunds) > 0 {
		body := map[string]any{"cancelReason": "flash sale refund", "cancelAmount": amount / 3}
		if err := d.expect(ctx, "POST", "/payments/"+key+"/cancel", body, true, newKey(), 200); err != nil {
			return res, err
		}
	}
	for range times(i, s.Lists) {
		if err := d.expect(ctx, "GET", "/orders?limit=20", nil, true, "", 200); err != nil {
			return res, err
		}
	}
	for range times(i, s.Reconciles) {
		if err := d.Reconcile(ctx); err != nil {
			return res, fmt.Errorf("reconcile: %w", err)
		}
	}
	res.Latency = time.Since(start)
	return res, nil
}

// createOrder creates an order and returns its id and the token of its
// checkout URL, which the buyer's page hands on to Toss in the successUrl
// and failUrl (the order's own budget of payment attempts; without it the
// redirects draw on the anonymous one).
func (d *Driver) createOrder(ctx context.Context, amount int64) (id, token string, err error) {
	var order struct {
		OrderID     string `json:"orderId"`
		CheckoutURL string `json:"checkoutUrl"`
	}
	body := map[string]any{"orderName": "Flash sale", "amount": amount, "customerEmail": "buyer@example.com"}
	raw, err := d.do(ctx, "POST", "/orders", body, true, newKey(), 200)
	if err != nil {
		return "", "", err
	}
	var env struct {
		EntityBody json.RawMessage `json:"entityBody"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return "", "", fmt.Errorf("POST /orders: %w", err)
	}
	if err := json.Unmarshal(env.EntityBody, &order); err != nil || order.OrderID == "" {
		return "", "", fmt.Errorf("POST /orders: no orderId in the answer")
	}
	if u, err := url.Parse(order.CheckoutURL); err == nil {
		token = u.Query().Get("token")
	}
	return order.OrderID, token, nil
}

func (d *Driver) expect(ctx context.Context, method, path string, body any, merchant bool, idemKey string, want int) error {
	_, err := d.do(ctx, method, path, body, merchant, idemKey, want)
	return err
}

// StatusError is an answer other than the one expected. It names the
// route, never the query (which holds paymentKeys).
type StatusError struct {
	Method, Route string
	Status        int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: status %d", e.Method, e.Route, e.Status)
}

func (d *Driver) do(ctx context.Context, method, path string, body any, merchant bool, idemKey string, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.API+path, rd)
	if err != nil {
		return nil, err
	}
	route := routeOf(req.URL.Path)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if merchant {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(d.MerchantKey+":")))
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	d.requests.Add(1)
	resp, err := d.HTTP.Do(req)
	if err != nil {
		// url.Error quotes the whole URL, paymentKey included: keep only
		// its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", method, route, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, route, err)
	}
	if resp.StatusCode != want {
		return nil, &StatusError{Method: method, Route: route, Status: resp.StatusCode}
	}
	return raw, nil
}

// routeOf names a path without the paymentKey it may hold.
func routeOf(path string) string {
	if strings.HasPrefix(path, "/payments/") && strings.HasSuffix(path, "/cancel") {
		return "/payments/{paymentKey}/cancel"
	}
	return path
}

func newKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "cap-" + hex.EncodeToString(b)
}
