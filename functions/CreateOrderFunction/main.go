// CreateOrderFunction: POST /orders (merchant).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("CreateOrderFunction", "ORDERS_TABLE", "IDEMPOTENCY_TABLE", "TOSS_SECRET_ID").WithOrders().WithIdempotency().WithKeys().Service()
	lambda.Start(svc.JSON(svc.CreateOrder))
}
