package api

import (
	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/orders"
)

// OrderView is an order as GET /orders/{orderId} shows it, for order
// events, which answer no request: the checkout URL comes from
// PUBLIC_BASE_URL, which the events function therefore requires. It leaves
// out the checkout token: events fan out to every rule's targets, queues
// and their logs, a wider audience than the merchant's own API, and the
// token is what lets a caller spend the order's own budget of Toss calls.
// The checkout URL of an event still works, on the anonymous budget.
func (s *Service) OrderView(o *orders.Order) OrderEntity {
	e := s.orderEntity(&apigw.Request{}, o)
	e.CheckoutToken, e.CheckoutURL = "", s.CheckoutURL(&apigw.Request{}, o.ID, "")
	return e
}
