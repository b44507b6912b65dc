// ReconcileFunction: settles lapsed confirms and expires unpaid orders, on a schedule.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("ReconcileFunction").WithEngine().Service()
	lambda.Start(svc.Reconcile)
}
