package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of a record item, for the table definition and the
// expressions; recordItem's tags spell the same names. status and ttl are
// DynamoDB reserved words, which the expression builder's generated
// placeholders take care of.
const (
	attrID            = "id"
	attrStatus        = "status"
	attrRequestHash   = "requestHash"
	attrLockToken     = "lockToken"
	attrLockExpiresAt = "lockExpiresAt"
	attrCreatedAt     = "createdAt"
	attrCompletedAt   = "completedAt"
	attrRespStatus    = "responseStatus"
	attrRespHeaders   = "responseHeaders"
	attrRespBody      = "responseBody"

	// TTLAttribute is the table's TimeToLive attribute: epoch seconds.
	TTLAttribute = "ttl"
)

// recordItem is a Record as the table holds it. Times are epoch
// milliseconds except the TTL, in epoch seconds because DynamoDB's TTL reads
// seconds. The response attributes exist only once the record is COMPLETED,
// and headers and body only when not empty.
type recordItem struct {
	ID            string            `dynamodbav:"id"`
	Status        Status            `dynamodbav:"status"`
	RequestHash   string            `dynamodbav:"requestHash"` // sha256 hex of the body
	LockToken     string            `dynamodbav:"lockToken"`   // random, per lock holder
	LockExpiresAt int64             `dynamodbav:"lockExpiresAt"`
	TTL           int64             `dynamodbav:"ttl"`
	CreatedAt     int64             `dynamodbav:"createdAt"`
	CompletedAt   int64             `dynamodbav:"completedAt,omitempty"` // set by Complete
	RespStatus    *int              `dynamodbav:"responseStatus,omitempty"`
	RespHeaders   map[string]string `dynamodbav:"responseHeaders,omitempty"`
	RespBody      []byte            `dynamodbav:"responseBody,omitempty"`
}

// TableDefinition is the idempotency table: one string partition key, on
// demand. Enable TTL on TTLAttribute as well (TimeToLiveDefinition), so
// DynamoDB deletes old keys; reads do not depend on it.
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

// DynamoAPI is the part of the DynamoDB client DynamoStore uses.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// DynamoStore keeps records in a DynamoDB table shaped by TableDefinition.
// A first request costs two writes (Lock, Complete); a repeat costs one
// (the failed Lock returns the existing item).
type DynamoStore struct {
	db    DynamoAPI
	table string
}

// NewDynamoStore returns a Store on table.
func NewDynamoStore(db DynamoAPI, table string) *DynamoStore {
	return &DynamoStore{db: db, table: table}
}

// Lock implements Store with one conditional PutItem. On a conflict DynamoDB
// returns the existing item with the error (ALL_OLD), so deciding between
// replay, in-progress and mismatch needs no second read.
func (s *DynamoStore) Lock(ctx context.Context, rec Record, now time.Time) (Record, bool, error) {
	item, err := encodeRecord(rec)
	if err != nil {
		return Record{}, false, fmt.Errorf("dynamodb PutItem %s: %w", s.table, err)
	}
	absent := expression.AttributeNotExists(expression.Name(attrID)).
		Or(expression.Name(TTLAttribute).LessThan(expression.Value(now.Unix())),
			statusIs(StatusInProgress).And(expression.Name(attrLockExpiresAt).LessThan(expression.Value(now.UnixMilli()))))
	expr, err := expression.NewBuilder().WithCondition(absent).Build()
	if err != nil {
		return Record{}, false, fmt.Errorf("dynamodb PutItem %s: build expression: %w", s.table, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                item,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return Record{}, true, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return Record{}, false, fmt.Errorf("dynamodb PutItem %s: %w", s.table, err)
	}
	if len(ccf.Item) == 0 {
		return Record{}, false, fmt.Errorf("dynamodb PutItem %s: condition failed without the existing item: %w", s.table, err)
	}
	old, err := decodeRecord(ccf.Item)
	if err != nil {
		return Record{}, false, fmt.Errorf("dynamodb PutItem %s: existing item: %w", s.table, err)
	}
	if old.Status == StatusInProgress && old.LockToken == rec.LockToken {
		// The SDK retried a PutItem whose first attempt took the lock but
		// whose answer was lost: the lock is ours.
		return Record{}, true, nil
	}
	return old, false, nil
}

// Complete implements Store. The condition on the lock token is what stops
// a late original, whose lock lapsed and was taken over, from overwriting
// the new holder's record.
func (s *DynamoStore) Complete(ctx context.Context, id, token string, resp Response, now time.Time) error {
	update := expression.Set(expression.Name(attrStatus), expression.Value(StatusCompleted)).
		Set(expression.Name(attrRespStatus), expression.Value(resp.Status)).
		Set(expression.Name(attrCompletedAt), expression.Value(now.UnixMilli()))
	if len(resp.Headers) > 0 {
		update = update.Set(expression.Name(attrRespHeaders), expression.Value(resp.Headers))
	}
	if len(resp.Body) > 0 {
		update = update.Set(expression.Name(attrRespBody), expression.Value(resp.Body))
	}
	expr, err := expression.NewBuilder().WithCondition(heldBy(token)).WithUpdate(update).Build()
	if err != nil {
		return fmt.Errorf("dynamodb UpdateItem %s: build expression: %w", s.table, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(id),
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && len(ccf.Item) > 0 {
		if old, derr := decodeRecord(ccf.Item); derr == nil && old.Status == StatusCompleted && old.LockToken == token {
			// A retry of our own completion, whose first attempt took effect.
			return nil
		}
	}
	return s.condErr("UpdateItem", err)
}

// Release implements Store.
// A release refused because the record is gone is no error: the lock is
// not held either way (this is also what a retried, already applied
// DeleteItem sees).
func (s *DynamoStore) Release(ctx context.Context, id, token string) error {
	expr, err := expression.NewBuilder().WithCondition(heldBy(token)).Build()
	if err != nil {
		return fmt.Errorf("dynamodb DeleteItem %s: build expression: %w", s.table, err)
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(id),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && len(ccf.Item) == 0 {
		return nil
	}
	return s.condErr("DeleteItem", err)
}

func (s *DynamoStore) condErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrLockLost
	}
	return fmt.Errorf("dynamodb %s %s: %w", op, s.table, err)
}

func statusIs(s Status) expression.ConditionBuilder {
	return expression.Name(attrStatus).Equal(expression.Value(s))
}

// heldBy holds for a record INPROGRESS under token.
func heldBy(token string) expression.ConditionBuilder {
	return statusIs(StatusInProgress).And(expression.Name(attrLockToken).Equal(expression.Value(token)))
}

// key is the table key of record id.
func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrID: str(id)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func encodeRecord(r Record) (map[string]types.AttributeValue, error) {
	it := recordItem{
		ID:            r.ID,
		Status:        r.Status,
		RequestHash:   r.RequestHash,
		LockToken:     r.LockToken,
		LockExpiresAt: r.LockExpiresAt.UnixMilli(),
		TTL:           r.ExpiresAt.Unix(),
		CreatedAt:     r.CreatedAt.UnixMilli(),
	}
	if r.Status == StatusCompleted {
		it.RespStatus = &r.Response.Status
		if len(r.Response.Headers) > 0 {
			it.RespHeaders = r.Response.Headers
		}
		if len(r.Response.Body) > 0 {
			it.RespBody = r.Response.Body
		}
	}
	m, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return m, nil
}

// decodeRecord refuses an item that lacks an attribute every record has
// (UnmarshalMap would read it as zero): this package did not write it.
func decodeRecord(item map[string]types.AttributeValue) (Record, error) {
	for _, k := range []string{attrID, attrStatus, attrRequestHash, attrLockToken, attrLockExpiresAt, TTLAttribute, attrCreatedAt} {
		if _, ok := item[k]; !ok {
			return Record{}, fmt.Errorf("decode record: attribute %q missing", k)
		}
	}
	var ri recordItem
	if err := attributevalue.UnmarshalMap(item, &ri); err != nil {
		return Record{}, fmt.Errorf("decode record: %w", err)
	}
	r := Record{
		ID:            ri.ID,
		Status:        ri.Status,
		RequestHash:   ri.RequestHash,
		LockToken:     ri.LockToken,
		LockExpiresAt: time.UnixMilli(ri.LockExpiresAt),
		ExpiresAt:     time.Unix(ri.TTL, 0),
		CreatedAt:     time.UnixMilli(ri.CreatedAt),
	}
	if r.Status == StatusCompleted {
		if ri.RespStatus == nil {
			return Record{}, fmt.Errorf("decode record: attribute %q missing", attrRespStatus)
		}
		r.Response = Response{Status: *ri.RespStatus, Headers: ri.RespHeaders, Body: ri.RespBody}
	}
	return r, nil
}
