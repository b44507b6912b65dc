// Package events holds the sample events in this directory (the *.json
// files `make invoke`, the e2e suites and the benchmarks run) and the one
// set of fixtures they refer to: the ids of the orders and payments the
// files name, and Seed, which creates those orders (and authorises their
// payments in Toss's sandbox) so that every event answers as its name says.
package events

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// FS is the sample events, by file name ("confirm-payment.json").
//
//go:embed *.json
var FS embed.FS

// Read is the sample event in file name.
func Read(name string) ([]byte, error) {
	b, err := FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("sample event %s: %w", name, err)
	}
	return b, nil
}

// The orders and payments the sample events refer to, as Seed creates them.
const (
	OrderID        = "ord_event0000000000000000001" // PENDING: checkout, get, fail, delete
	PaidOrderID    = "ord_event0000000000000000002" // paid by payment-success.json
	ConfirmOrderID = "ord_event0000000000000000003" // paid by confirm-payment.json
	LapsedOrderID  = "ord_event0000000000000000004" // CONFIRMING under a lapsed claim: for reconcile
	OverdueOrderID = "ord_event0000000000000000005" // PENDING past its payable window: for reconcile
	RefundOrderID  = "ord_event0000000000000000006" // paid when seeded: refunded by cancel-payment*.json
	PaymentKey     = "tgen_20261122120000event00001"
	ConfirmKey     = "tgen_20261122120000event00002"
	RefundKey      = "tgen_20261122120000event00003"

	// Named by the events that must find nothing (*-unknown.json).
	UnknownOrderID    = "ord_doesnotexist0000000000"
	UnknownPaymentKey = "tgen_doesnotexist000000000"
	// The order and payment in the stream records of order-events*.json:
	// their images carry the order whole, so there is nothing to seed.
	StreamOrderID    = "ord_event0000000000000000007"
	StreamPaymentKey = "tgen_20261122120000sample0001"

	// The orders' names and amounts, as the events name them.
	OrderName        = "Hanbok rental, 1 day"
	OrderAmount      = 39000
	PaidOrderName    = "Seoul food tour"
	PaidAmount       = 39000
	ConfirmOrderName = "Tea ceremony for two"
	ConfirmAmount    = 52000
	RefundOrderName  = "Pottery class"
	RefundAmount     = 52000
)

// Seed creates the fixtures in store and, when sandbox is not nil (the
// sandbox runs in this process), authorises their payments there and pays
// the refund events' order through tossClient, a client of that sandbox
// holding the merchant's secret key. Orders that already exist are left as
// they are, so Seed may run again over the same table.
func Seed(ctx context.Context, store orders.Store, sandbox *tosstest.Sandbox, tossClient *toss.Client) error {
	now := time.Now()
	policy := orders.Policy{MaxAmount: 100_000_000, PayWindow: 24 * time.Hour, Retention: 7 * 24 * time.Hour}
	create := func(id, name string, amount int64, at time.Time) (*orders.Order, error) {
		o, err := orders.New(orders.Draft{Name: name, Amount: amount, RefOrderID: "event-" + id[len(id)-1:]}, at, policy)
		if err != nil {
			return nil, fmt.Errorf("seed order %s: %w", id, err)
		}
		o.ID = id
		if err := store.Create(ctx, o); err != nil && !errors.Is(err, orders.ErrExists) {
			return nil, fmt.Errorf("seed order %s: %w", id, err)
		}
		return o, nil
	}
	for _, o := range []struct {
		id, name string
		amount   int64
		at       time.Time
	}{
		{OrderID, OrderName, OrderAmount, now},
		{PaidOrderID, PaidOrderName, PaidAmount, now},
		{ConfirmOrderID, ConfirmOrderName, ConfirmAmount, now},
		{OverdueOrderID, "Abandoned cart", 12000, now.Add(-48 * time.Hour)},
		{RefundOrderID, RefundOrderName, RefundAmount, now},
	} {
		if _, err := create(o.id, o.name, o.amount, o.at); err != nil {
			return err
		}
	}
	// A confirm that died mid-flight an hour ago: CONFIRMING, claim lapsed,
	// never seen by Toss. The reconciler re-drives it and Toss refuses.
	lapsed, err := create(LapsedOrderID, "Lost confirm", 8000, now.Add(-time.Hour))
	if err != nil {
		return err
	}
	_, err = store.Claim(ctx, orders.Claim{OrderID: lapsed.ID, PaymentKey: "tgen_20261122110000lapsed001", Amount: lapsed.Amount,
		Now: now.Add(-time.Hour), Until: now.Add(-time.Hour + 30*time.Second)})
	var ce *orders.ConflictError
	if err != nil && !errors.As(err, &ce) {
		return fmt.Errorf("seed lapsed claim: %w", err)
	}
	if sandbox == nil {
		return nil
	}
	sandbox.Authorize(PaidOrderID, PaidOrderName, PaidAmount, tosstest.WithPaymentKey(PaymentKey))
	sandbox.Authorize(ConfirmOrderID, ConfirmOrderName, ConfirmAmount, tosstest.WithPaymentKey(ConfirmKey))
	// The refund events need a paid order: pay it the way the product does.
	if o, err := store.Get(ctx, RefundOrderID, now); err == nil && o.Status == orders.StatusPending {
		sandbox.Authorize(RefundOrderID, RefundOrderName, RefundAmount, tosstest.WithPaymentKey(RefundKey))
		engine := &payments.Engine{Orders: store, Toss: tossClient}
		if res, err := engine.Confirm(ctx, RefundKey, RefundOrderID, RefundAmount); err != nil || res.Outcome != payments.OutcomeDone {
			return fmt.Errorf("seed refund order: pay: %v %+v", err, res)
		}
	}
	return nil
}
