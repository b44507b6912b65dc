// ConfirmPaymentFunction: POST /payments/confirm, and POST /confirm in the
// shape of Toss's sample servers.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("ConfirmPaymentFunction").WithEngine().WithCeiling().WithIdempotency().Service()
	lambda.Start(svc.ConfirmHandler())
}
