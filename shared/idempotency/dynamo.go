package idempotency

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Item attributes. status and ttl are DynamoDB reserved words, so every
// expression goes through ExpressionAttributeNames.
const (
	attrID            = "id"            // S: RecordID
	attrStatus        = "status"        // S: INPROGRESS | COMPLETED
	attrRequestHash   = "requestHash"   // S: sha256 hex of the body
	attrLockToken     = "lockToken"     // S: random, per lock holder
	attrLockExpiresAt = "lockExpiresAt" // N: epoch milliseconds
	attrCreatedAt     = "createdAt"     // N: epoch milliseconds
	attrCompletedAt   = "completedAt"   // N: epoch milliseconds
	attrRespStatus    = "responseStatus"
	attrRespHeaders   = "responseHeaders" // M of S; absent when empty
	attrRespBody      = "responseBody"    // B; absent when empty

	// TTLAttribute is the table's TimeToLive attribute: epoch seconds.
	TTLAttribute = "ttl"
)

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
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                encodeRecord(rec),
		ConditionExpression: aws.String("attribute_not_exists(#id) OR #ttl < :nowS OR (#status = :inProgress AND #lockExpiresAt < :nowMs)"),
		ExpressionAttributeNames: map[string]string{
			"#id":            attrID,
			"#ttl":           TTLAttribute,
			"#status":        attrStatus,
			"#lockExpiresAt": attrLockExpiresAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":nowS":       num(now.Unix()),
			":nowMs":      num(now.UnixMilli()),
			":inProgress": str(string(StatusInProgress)),
		},
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
	update := "SET #status = :completed, #respStatus = :respStatus, #completedAt = :nowMs"
	names := map[string]string{
		"#status":      attrStatus,
		"#lockToken":   attrLockToken,
		"#respStatus":  attrRespStatus,
		"#completedAt": attrCompletedAt,
	}
	values := map[string]types.AttributeValue{
		":completed":  str(string(StatusCompleted)),
		":inProgress": str(string(StatusInProgress)),
		":token":      str(token),
		":respStatus": num(int64(resp.Status)),
		":nowMs":      num(now.UnixMilli()),
	}
	if len(resp.Headers) > 0 {
		update += ", #respHeaders = :respHeaders"
		names["#respHeaders"] = attrRespHeaders
		values[":respHeaders"] = encodeHeaders(resp.Headers)
	}
	if len(resp.Body) > 0 {
		update += ", #respBody = :respBody"
		names["#respBody"] = attrRespBody
		values[":respBody"] = &types.AttributeValueMemberB{Value: resp.Body}
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 map[string]types.AttributeValue{attrID: str(id)},
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String("#status = :inProgress AND #lockToken = :token"),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
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
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 map[string]types.AttributeValue{attrID: str(id)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ConditionExpression:                 aws.String("#status = :inProgress AND #lockToken = :token"),
		ExpressionAttributeNames: map[string]string{
			"#status":    attrStatus,
			"#lockToken": attrLockToken,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":inProgress": str(string(StatusInProgress)),
			":token":      str(token),
		},
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

func encodeRecord(r Record) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrID:            str(r.ID),
		attrStatus:        str(string(r.Status)),
		attrRequestHash:   str(r.RequestHash),
		attrLockToken:     str(r.LockToken),
		attrLockExpiresAt: num(r.LockExpiresAt.UnixMilli()),
		TTLAttribute:      num(r.ExpiresAt.Unix()),
		attrCreatedAt:     num(r.CreatedAt.UnixMilli()),
	}
	if r.Status == StatusCompleted {
		item[attrRespStatus] = num(int64(r.Response.Status))
		if len(r.Response.Headers) > 0 {
			item[attrRespHeaders] = encodeHeaders(r.Response.Headers)
		}
		if len(r.Response.Body) > 0 {
			item[attrRespBody] = &types.AttributeValueMemberB{Value: r.Response.Body}
		}
	}
	return item
}

func encodeHeaders(h map[string]string) types.AttributeValue {
	m := make(map[string]types.AttributeValue, len(h))
	for k, v := range h {
		m[k] = str(v)
	}
	return &types.AttributeValueMemberM{Value: m}
}

func decodeRecord(item map[string]types.AttributeValue) (Record, error) {
	rd := itemReader{item: item}
	r := Record{
		ID:            rd.s(attrID),
		Status:        Status(rd.s(attrStatus)),
		RequestHash:   rd.s(attrRequestHash),
		LockToken:     rd.s(attrLockToken),
		LockExpiresAt: time.UnixMilli(rd.n(attrLockExpiresAt)),
		ExpiresAt:     time.Unix(rd.n(TTLAttribute), 0),
		CreatedAt:     time.UnixMilli(rd.n(attrCreatedAt)),
	}
	if r.Status == StatusCompleted {
		r.Response = Response{
			Status:  int(rd.n(attrRespStatus)),
			Headers: rd.headers(attrRespHeaders),
			Body:    rd.b(attrRespBody),
		}
	}
	if rd.err != nil {
		return Record{}, rd.err
	}
	return r, nil
}

// itemReader decodes attributes by hand, keeping the first error, so a
// malformed item is reported rather than read as zero values.
type itemReader struct {
	item map[string]types.AttributeValue
	err  error
}

func (rd *itemReader) fail(name string, want string, v types.AttributeValue) {
	if rd.err == nil {
		rd.err = fmt.Errorf("attribute %s: want %s, got %T", name, want, v)
	}
}

func (rd *itemReader) s(name string) string {
	v, ok := rd.item[name].(*types.AttributeValueMemberS)
	if !ok {
		rd.fail(name, "S", rd.item[name])
		return ""
	}
	return v.Value
}

func (rd *itemReader) n(name string) int64 {
	v, ok := rd.item[name].(*types.AttributeValueMemberN)
	if !ok {
		rd.fail(name, "N", rd.item[name])
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil && rd.err == nil {
		rd.err = fmt.Errorf("attribute %s: %w", name, err)
	}
	return n
}

// b reads an optional binary attribute: absent means empty.
func (rd *itemReader) b(name string) []byte {
	v, present := rd.item[name]
	if !present {
		return nil
	}
	b, ok := v.(*types.AttributeValueMemberB)
	if !ok {
		rd.fail(name, "B", v)
		return nil
	}
	return b.Value
}

// headers reads an optional map of strings: absent means none.
func (rd *itemReader) headers(name string) map[string]string {
	v, present := rd.item[name]
	if !present {
		return nil
	}
	m, ok := v.(*types.AttributeValueMemberM)
	if !ok {
		rd.fail(name, "M", v)
		return nil
	}
	h := make(map[string]string, len(m.Value))
	for k, hv := range m.Value {
		s, ok := hv.(*types.AttributeValueMemberS)
		if !ok {
			rd.fail(name+"."+k, "S", hv)
			return nil
		}
		h[k] = s.Value
	}
	return h
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
