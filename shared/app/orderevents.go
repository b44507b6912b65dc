package app

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/tossintl/backend/shared/eventbus"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/orderstream"
)

// OrderEvents builds the orders stream's handler: order events on the bus
// EVENT_BUS_NAME, each order shown as GET /orders/{orderId} shows it, its
// checkout URL on PUBLIC_BASE_URL, else on API_URL (an event answers no
// request whose host could say). It needs neither table nor keys: the
// stream brings the orders whole.
func (a *App) OrderEvents() *orderstream.Handler {
	a.require("OrderEvents", "EVENT_BUS_NAME", "PUBLIC_BASE_URL or API_URL")
	if a.svc.Config.PublicBaseURL == "" {
		a.svc.Config.PublicBaseURL = a.Config.APIURL
	}
	bus := &eventbus.Bus{
		API:  newEventBridge(a.Env.EventBridge()),
		Name: a.Config.EventBusName,
		View: func(o *orders.Order) any { return a.svc.OrderView(o) },
	}
	return &orderstream.Handler{Bus: bus, Log: a.Log, Metrics: a.Metrics}
}

// eventBridge passes through the one EventBridge operation the bus uses,
// for the reason the DynamoDB wrapper exists (clients.go).
type eventBridge struct {
	putEvents func(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

func newEventBridge(c *eventbridge.Client) eventBridge { return eventBridge{putEvents: c.PutEvents} }

func (e eventBridge) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	return e.putEvents(ctx, in, opts...)
}
