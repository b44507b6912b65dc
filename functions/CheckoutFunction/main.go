// CheckoutFunction: the buyer's checkout page (GET /checkout/{orderId}).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("CheckoutFunction").WithOrders().WithKeys().Service()
	lambda.Start(svc.Page(svc.Checkout))
}
