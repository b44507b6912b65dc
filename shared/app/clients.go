package app

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// The stores take their AWS clients as interfaces. Handing them the SDK
// clients themselves would keep every operation of those clients (some
// sixty for DynamoDB, with their serializers: about 1.8 MB) in any binary
// that also looks methods up by name through reflect (html/template does,
// and aws-lambda-go's net/rpc mode without the lambda.norpc tag): the linker
// then keeps every exported method of every type that reaches an
// interface. The pages no longer use html/template, but these wrappers keep
// the binaries from depending on that: they hold only the operations the
// stores call, as method values, so only those are linked.

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
