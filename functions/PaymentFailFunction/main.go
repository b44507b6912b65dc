// PaymentFailFunction: the failUrl (GET /payments/fail).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("PaymentFailFunction").WithOrders().Service()
	lambda.Start(svc.Page(svc.PaymentFail))
}
