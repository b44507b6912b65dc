// OrderEventsFunction: the orders table's stream → order events on the stack's EventBridge bus.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tossintl/backend/shared/app"
)

func main() {
	lambda.Start(app.New("OrderEventsFunction").OrderEvents().Handle)
}
