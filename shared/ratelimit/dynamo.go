package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of a counter item.
const (
	attrID    = "id"
	attrCount = "n"
	// TTLAttribute is the table's TimeToLive attribute (epoch seconds):
	// DynamoDB deletes a minute's counters after it.
	TTLAttribute = "ttl"
)

// TableDefinition is the limits table: one string partition key, on
// demand. Enable TTL on TTLAttribute as well (TimeToLiveDefinition); the
// counts never depend on it, since each minute has keys of its own.
func TableDefinition(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrID), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrID), KeyType: types.KeyTypeHash}},
	}
}

// TimeToLiveDefinition enables TTL on TTLAttribute for the table name.
func TimeToLiveDefinition(name string) *dynamodb.UpdateTimeToLiveInput {
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	}
}

// DynamoAPI is the part of the DynamoDB client DynamoCounter uses.
type DynamoAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// DynamoCounter keeps counts in a table shaped by TableDefinition.
type DynamoCounter struct {
	db    DynamoAPI
	table string
}

var _ Counter = (*DynamoCounter)(nil)

// NewDynamoCounter returns a counter on table.
func NewDynamoCounter(db DynamoAPI, table string) *DynamoCounter {
	return &DynamoCounter{db: db, table: table}
}

// Increment implements Counter with one conditional UpdateItem: ADD 1
// while the count is below limit. An increment the SDK retried after its
// answer was lost counts twice: the ceiling then admits one call fewer,
// which errs on the side it exists for.
func (d *DynamoCounter) Increment(ctx context.Context, key string, limit int64, expires time.Time) (bool, error) {
	n := expression.Name(attrCount)
	expr, err := expression.NewBuilder().
		WithCondition(expression.AttributeNotExists(n).Or(n.LessThan(expression.Value(limit)))).
		WithUpdate(expression.Add(n, expression.Value(1)).Set(expression.Name(TTLAttribute), expression.Value(expires.Unix()))).
		Build()
	if err != nil {
		return false, fmt.Errorf("ratelimit: build expression: %w", err)
	}
	_, err = d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{attrID: &types.AttributeValueMemberS{Value: key}},
		ConditionExpression:       expr.Condition(),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("ratelimit: increment %s: %w", key, err)
	}
	return true, nil
}
