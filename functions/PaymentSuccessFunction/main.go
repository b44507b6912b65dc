// PaymentSuccessFunction: the successUrl (GET /payments/success).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("PaymentSuccessFunction").WithEngine().WithCeiling().Service()
	lambda.Start(svc.Page(svc.PaymentSuccess))
}
