// OrdersFunction: a miniature merchant API over DynamoDB and Secrets
// Manager, to prove the local stack wires tables, secret, endpoint and
// credentials the way the real functions read them (shared/awsclient).
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tossintl/backend/shared/awsclient"
)

var (
	db       *dynamodb.Client
	sm       *secretsmanager.Client
	table    = os.Getenv("ORDERS_TABLE")
	secretID = os.Getenv("TOSS_SECRET_ID")
)

func main() {
	if table == "" || secretID == "" {
		fmt.Fprintln(os.Stderr, "ORDERS_TABLE and TOSS_SECRET_ID must be set")
		os.Exit(1)
	}
	env := awsclient.FromEnv()
	db, sm = env.DynamoDB(), env.SecretsManager()
	lambda.Start(handle)
}

func respond(status int, v any) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(v)
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
}

func handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	sec, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("read keys: %w", err)
	}
	var keys struct {
		MerchantAPIKey string `json:"merchantApiKey"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(sec.SecretString)), &keys); err != nil || keys.MerchantAPIKey == "" {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("keys secret has no merchantApiKey")
	}
	if req.Headers["authorization"] != "Basic "+base64.StdEncoding.EncodeToString([]byte(keys.MerchantAPIKey+":")) {
		return respond(401, map[string]string{"code": "UNAUTHORIZED_KEY"}), nil
	}
	switch req.RouteKey {
	case "POST /orders":
		body := []byte(req.Body)
		if req.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
				return respond(400, map[string]string{"code": "INVALID_REQUEST"}), nil
			}
		}
		var in struct {
			OrderName string `json:"orderName"`
			Amount    int64  `json:"amount"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.Amount <= 0 {
			return respond(400, map[string]string{"code": "INVALID_REQUEST"}), nil
		}
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := "ord_" + hex.EncodeToString(b)
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"id":     &types.AttributeValueMemberS{Value: id},
			"name":   &types.AttributeValueMemberS{Value: in.OrderName},
			"amount": &types.AttributeValueMemberN{Value: strconv.FormatInt(in.Amount, 10)},
		}})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("put order: %w", err)
		}
		fmt.Println("order created", id)
		return respond(200, map[string]any{"entityBody": map[string]any{
			"orderId": id, "amount": in.Amount,
			"checkoutUrl": "http://" + req.RequestContext.DomainName + "/checkout/" + id,
		}}), nil
	case "GET /orders/{orderId}":
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: req.PathParameters["orderId"]},
		}})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("get order: %w", err)
		}
		if out.Item == nil {
			return respond(404, map[string]string{"code": "NOT_FOUND_ORDER"}), nil
		}
		name := out.Item["name"].(*types.AttributeValueMemberS).Value
		amount, _ := strconv.ParseInt(out.Item["amount"].(*types.AttributeValueMemberN).Value, 10, 64)
		return respond(200, map[string]any{"entityBody": map[string]any{"orderId": req.PathParameters["orderId"], "orderName": name, "amount": amount}}), nil
	}
	return respond(404, map[string]string{"code": "NOT_FOUND"}), nil
}
