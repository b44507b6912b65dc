// CheckoutFunction: the buyer's checkout page (GET /checkout/{orderId}),
// and the reports of its Content-Security-Policy (POST /csp-reports).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("CheckoutFunction").WithOrders().WithKeys().Service()
	lambda.Start(svc.CheckoutHandler())
}
