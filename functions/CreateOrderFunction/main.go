// CreateOrderFunction: POST /orders (merchant).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("CreateOrderFunction").WithOrders().WithIdempotency().WithKeys().Service()
	lambda.Start(svc.JSON(svc.CreateOrder))
}
