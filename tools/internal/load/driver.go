// Package load drives the local stack's API as merchants' servers and
// buyers' frontends would, for make bench and make capacity: a Driver's
// requests (create an order, confirm its payment, any page or call with
// the status it must answer), run by workers one after another (Closed)
// or started at a fixed rate (Open).
package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tossintl/backend/internal/merchantapi"
	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// Driver sends a merchant's and buyers' requests to one stack's API.
type Driver struct {
	Merchant *merchantapi.Client // with the merchant API key
	Buyer    *merchantapi.Client // the same API, without credentials
	Sandbox  *tosstest.Sandbox

	requests atomic.Int64
}

// NewDriver drives the API at apiURL as the merchant with key, keeping up
// to conns connections open for reuse.
func NewDriver(apiURL, key string, sandbox *tosstest.Sandbox, conns int) *Driver {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}}
	return &Driver{Merchant: &merchantapi.Client{URL: apiURL, Key: key, HTTP: hc},
		Buyer: &merchantapi.Client{URL: apiURL, HTTP: hc}, Sandbox: sandbox}
}

// Requests is how many requests the driver has sent to the API.
func (d *Driver) Requests() int { return int(d.requests.Load()) }

// Order is a created order: its id, what it asks for, and its checkout
// token, which the buyer's page hands on to Toss in the successUrl
// and failUrl (the order's own budget of payment attempts; without it the
// redirects draw on the anonymous one).
type Order struct {
	ID, Name, Token string
	Amount          int64
}

// CreateOrder is the merchant's POST /orders with body (orderName and
// amount at least), under idemKey when it is set.
func (d *Driver) CreateOrder(ctx context.Context, body map[string]any, idemKey string) (Order, error) {
	r, err := d.Expect(ctx, d.Merchant, "POST", "/orders", body, idemKey, http.StatusOK)
	if err != nil {
		return Order{}, err
	}
	var o api.OrderEntity
	if err := r.Entity(&o); err != nil || o.OrderID == "" {
		return Order{}, fmt.Errorf("POST /orders: no orderId in the answer (%v)", err)
	}
	return Order{ID: o.OrderID, Name: o.OrderName, Amount: o.Amount, Token: o.CheckoutToken}, nil
}

// Confirm is a single-page frontend's POST /payments/confirm of o's
// payment, with the checkout token its own POST /orders gave it; it
// returns the payment's status.
func (d *Driver) Confirm(ctx context.Context, o Order, paymentKey string) (status string, err error) {
	body := map[string]any{"paymentKey": paymentKey, "orderId": o.ID, "amount": o.Amount, "checkoutToken": o.Token}
	r, err := d.Expect(ctx, d.Buyer, "POST", "/payments/confirm", body, "", http.StatusOK)
	if err != nil {
		return "", err
	}
	var p struct {
		Status string `json:"status"`
	}
	if err := r.Entity(&p); err != nil {
		return "", fmt.Errorf("POST /payments/confirm: %w", err)
	}
	return p.Status, nil
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

// Expect sends a request through c and wants status want. Its errors name
// the route without the paymentKey a path or query may hold.
func (d *Driver) Expect(ctx context.Context, c *merchantapi.Client, method, path string, body any, idemKey string, want int) (*merchantapi.Response, error) {
	route := routeOf(path)
	var h http.Header
	if idemKey != "" {
		h = http.Header{"Idempotency-Key": {idemKey}}
	}
	d.requests.Add(1)
	r, err := c.Do(ctx, method, path, body, h)
	if err != nil {
		// url.Error quotes the whole URL, paymentKey included: keep only
		// its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", method, route, err)
	}
	if r.Status != want {
		return nil, &StatusError{Method: method, Route: route, Status: r.Status}
	}
	return r, nil
}

// routeOf names a path without its query or the paymentKey it may hold.
func routeOf(path string) string {
	path, _, _ = strings.Cut(path, "?")
	if strings.HasPrefix(path, "/payments/") && strings.HasSuffix(path, "/cancel") {
		return "/payments/{paymentKey}/cancel"
	}
	return path
}

// NewKey is a fresh Idempotency-Key.
func NewKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "key-" + hex.EncodeToString(b)
}
