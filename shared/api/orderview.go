package api

import (
	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/orders"
)

// OrderView is an order as GET /orders/{orderId} shows it, for order
// events, which answer no request: the checkout URL comes from
// PUBLIC_BASE_URL, which the events function therefore requires.
func (s *Service) OrderView(o *orders.Order) OrderEntity {
	return s.orderEntity(&apigw.Request{}, o)
}
