// TossWebhookFunction: POST /webhooks/toss: Toss's payment webhooks, re-checked against Toss.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("TossWebhookFunction").WithEngine().WithCeiling().Service()
	lambda.Start(svc.JSON(svc.TossWebhook))
}
