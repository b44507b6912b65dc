// EchoFunction answers with the API Gateway event it received, or with the
// kind of answer the "mode" query parameter asks for, to test both
// directions of the HTTP ⇄ payload 2.0 translation.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() { lambda.Start(handle) }

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("not an HTTP API event: %w", err)
	}
	fmt.Println("echo", req.RouteKey, os.Getenv("GREETING"))
	switch req.QueryStringParameters["mode"] {
	case "raw":
		return map[string]string{"hello": "world"}, nil
	case "binary":
		return events.APIGatewayV2HTTPResponse{StatusCode: 201, IsBase64Encoded: true,
			Headers: map[string]string{"Content-Type": "application/octet-stream"},
			Body:    base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255})}, nil
	case "cookies":
		return events.APIGatewayV2HTTPResponse{StatusCode: 200,
			Headers:           map[string]string{"X-Single": "s", "Content-Type": "text/plain"},
			MultiValueHeaders: map[string][]string{"X-Multi": {"1", "2"}},
			Cookies:           []string{"a=1; Path=/", "b=2"},
			Body:              "ok"}, nil
	case "error":
		return nil, errors.New("boom")
	case "sleep":
		time.Sleep(time.Hour)
	case "bad":
		return map[string]any{"statusCode": "teapot"}, nil
	case "env":
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: fmt.Sprint(os.Environ())}, nil
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(raw)}, nil
}
