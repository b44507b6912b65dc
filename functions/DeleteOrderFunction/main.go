// DeleteOrderFunction: DELETE /orders/{orderId} (merchant).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	svc := app.New("DeleteOrderFunction").WithEngine().Service()
	lambda.Start(svc.JSON(svc.DeleteOrder))
}
