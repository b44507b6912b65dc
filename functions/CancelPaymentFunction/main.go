// CancelPaymentFunction: POST /payments/{paymentKey}/cancel (merchant): full or partial refunds.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("CancelPaymentFunction").WithEngine().WithIdempotency().Service()
	lambda.Start(svc.JSON(svc.CancelPayment))
}
