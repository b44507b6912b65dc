package app

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// The stores take their AWS clients as interfaces. Handing them the SDK
// clients themselves would keep every operation of those clients, with its
// serializers, in any binary that also looks methods up by name through
// reflect (html/template does, and the pages use it): the linker then keeps
// every exported method of every type that reaches an interface. These
// wrappers hold only the operations the stores call, as method values, so
// only those are linked.
//
// Measured 2026-11-29 (go1.26.8, dynamodb v1.74.0, secretsmanager v1.51.0;
// linux/arm64, -tags lambda.norpc -ldflags "-s -w" -trimpath), SDK clients
// with the pages on html/template, these wrappers save 1,769,472 bytes on
// CheckoutFunction, 1,835,008 on PaymentSuccessFunction and 1,507,328 on
// PaymentFailFunction (no Secrets Manager client) against the SDK clients
// passed directly. On the JSON functions, which execute no template, and
// on every function without html/template, they cost 0 to 65,536 bytes.

type (
	getItemFn    = func(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	putItemFn    = func(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	updateItemFn = func(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	deleteItemFn = func(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	queryFn      = func(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
)

// dynamoDB passes through the DynamoDB operations the stores use.
type dynamoDB struct {
	getItem    getItemFn
	putItem    putItemFn
	updateItem updateItemFn
	deleteItem deleteItemFn
	query      queryFn
}

func newDynamoDB(c *dynamodb.Client) dynamoDB {
	return dynamoDB{getItem: c.GetItem, putItem: c.PutItem, updateItem: c.UpdateItem, deleteItem: c.DeleteItem, query: c.Query}
}

func (d dynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return d.getItem(ctx, in, opts...)
}

func (d dynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return d.putItem(ctx, in, opts...)
}

func (d dynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return d.updateItem(ctx, in, opts...)
}

func (d dynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return d.deleteItem(ctx, in, opts...)
}

func (d dynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return d.query(ctx, in, opts...)
}

// secretsManager passes through the one Secrets Manager operation the keys use.
type secretsManager struct {
	getSecretValue func(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

func newSecretsManager(c *secretsmanager.Client) secretsManager {
	return secretsManager{getSecretValue: c.GetSecretValue}
}

func (s secretsManager) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return s.getSecretValue(ctx, in, opts...)
}
