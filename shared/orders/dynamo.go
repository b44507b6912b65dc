package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TTLAttribute is the orders table's TTL attribute (epoch seconds). It is
// present only while an order is unpaid; TimeToLiveDefinition enables it.
const TTLAttribute = "ttl"

// Secondary indexes of the orders table.
const (
	// DueIndex holds only orders the reconciler may have to act on: hash
	// dueKind ("CLAIM" while CONFIRMING, "UNPAID" while PENDING or FAILED,
	// absent otherwise, so paid and expired orders drop out of it) and range
	// dueAt (the claim's or the pay window's end, epoch ms). Its constant
	// hash keys put all due orders in two partitions: ample at one merchant's
	// volume; shard the key (e.g. "UNPAID#0".."UNPAID#9") if that ever changes.
	DueIndex = "due"
	// CreatedIndex lists orders newest first without a Scan: hash listKey
	// (always "ORDER", the same single-partition trade-off) and range
	// createdAt (epoch ms).
	CreatedIndex = "created"
)

// TableDefinition is the orders table's schema. Tests, the local stack and
// the template-consistency test all build from it, so they cannot drift.
func TableDefinition(name string) *dynamodb.CreateTableInput {
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrDueKind), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrDueAt), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: aws.String(attrListKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrCreatedAt), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrID), KeyType: types.KeyTypeHash},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{
				IndexName: aws.String(DueIndex),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(attrDueKind), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(attrDueAt), KeyType: types.KeyTypeRange},
				},
				Projection: all,
			},
			{
				IndexName: aws.String(CreatedIndex),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(attrListKey), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(attrCreatedAt), KeyType: types.KeyTypeRange},
				},
				Projection: all,
			},
		},
	}
}

// TimeToLiveDefinition enables TTLAttribute on the orders table.
func TimeToLiveDefinition(name string) *dynamodb.UpdateTimeToLiveInput {
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	}
}

// DynamoAPI is the part of the DynamoDB client DynamoStore uses;
// *dynamodb.Client satisfies it, and so can a fake.
type DynamoAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// DynamoStore keeps orders in one DynamoDB table shaped by TableDefinition.
// Every mutating method is a single conditional write that returns the new
// item, or the old one when refused, so no method reads before it writes.
type DynamoStore struct {
	db    DynamoAPI
	table string
}

var _ Store = (*DynamoStore)(nil)

// NewDynamoStore returns a store on table.
func NewDynamoStore(db DynamoAPI, table string) *DynamoStore {
	return &DynamoStore{db: db, table: table}
}

// liveCond holds for an item that exists and is not past its TTL. DynamoDB
// deletes expired items up to days late, so every condition includes it.
const liveCond = "(attribute_not_exists(#ttl) OR #ttl > :nowSec)"

// Create implements Store. The condition refuses any existing item, even
// one past its TTL: an ID is never reused.
func (s *DynamoStore) Create(ctx context.Context, o *Order) error {
	n, err := prepareNew(o)
	if err != nil {
		return fmt.Errorf("orders: create: %w", err)
	}
	cond := "attribute_not_exists(#id)"
	it := encodeOrder(n)
	token := writeToken()
	it[attrWriteToken] = avS(token)
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                it,
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            exprNames(cond),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf) && wroteIt(ccf.Item, token):
		// The SDK retried a PutItem whose first attempt was applied but
		// whose answer was lost: the order is ours, created once.
	case errors.As(err, &ccf):
		return fmt.Errorf("%w: %s", ErrExists, n.ID)
	case err != nil:
		return fmt.Errorf("orders: create %s: %w", n.ID, err)
	}
	*o = *n
	return nil
}

// Get implements Store with a strongly consistent read: the payments engine
// reads its own writes.
func (s *DynamoStore) Get(ctx context.Context, id string, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            item{attrID: avS(id)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("orders: get %s: %w", id, err)
	}
	if len(out.Item) == 0 {
		return nil, notFound(id)
	}
	o, err := decodeOrder(out.Item)
	if err != nil {
		return nil, err
	}
	if !live(o.ExpiresAt, now) {
		return nil, notFound(id)
	}
	return o, nil
}

// Claim implements Store. The amount check is part of the write's
// condition, so a tampered amount can never win a race with a fair one.
func (s *DynamoStore) Claim(ctx context.Context, c Claim) (*Order, error) {
	if !ValidID(c.OrderID) {
		return nil, notFound(c.OrderID)
	}
	if err := checkClaim(c); err != nil {
		return nil, fmt.Errorf("orders: claim %s: %w", c.OrderID, err)
	}
	return s.update(ctx, write{
		op:  "claim",
		id:  c.OrderID,
		now: c.Now,
		cond: "attribute_exists(#id) AND " + liveCond + " AND #amount = :amount AND (" +
			"((#status = :pending OR (#status = :failed AND #paymentKey <> :pk)) AND #payableUntil > :nowMs) OR " +
			"(#status = :confirming AND #paymentKey = :pk AND #claimExpiresAt < :nowMs))",
		update: "SET #status = :confirming, #paymentKey = :pk, #claimExpiresAt = :until, " +
			"#dueKind = :dueClaim, #dueAt = :until, #updatedAt = :nowMs, #version = #version + :one " +
			"REMOVE #ttl",
		values: item{
			":amount": avN(c.Amount),
			":pk":     avS(c.PaymentKey),
			":until":  avMillis(c.Until),
		},
	})
}

// Complete implements Store. It drops the TTL (a paid order never expires)
// and leaves the due index.
func (s *DynamoStore) Complete(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkPaymentKey(paymentKey); err != nil {
		return nil, fmt.Errorf("orders: complete %s: %w", id, err)
	}
	p = clonePayment(p)
	normalizePayment(&p)
	return s.update(ctx, write{
		op:   "complete",
		id:   id,
		now:  now,
		cond: "#status = :confirming AND #paymentKey = :pk",
		update: "SET #status = :done, #payment = :payment, #updatedAt = :nowMs, #version = #version + :one " +
			"REMOVE #ttl, #unpaidTtl, #claimExpiresAt, #dueKind, #dueAt",
		values: item{":pk": avS(paymentKey), ":payment": encodePayment(&p)},
	})
}

// ApplyCancel implements Store. The condition is cancelForward; the
// payment summary's other fields (card, receipt, approval) are left as
// Complete wrote them.
func (s *DynamoStore) ApplyCancel(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkCancel(paymentKey, p); err != nil {
		return nil, fmt.Errorf("orders: apply cancel %s: %w", id, err)
	}
	p = clonePayment(p)
	normalizePayment(&p)
	return s.update(ctx, write{
		op:  "apply cancel",
		id:  id,
		now: now,
		cond: "#status IN (:done, :partialCanceled) AND #paymentKey = :pk AND #payment.#totalAmount = :total AND " +
			"(#payment.#balanceAmount > :balance OR (#status = :done AND #payment.#balanceAmount = :balance))",
		update: "SET #status = :newStatus, #payment.#status = :paymentStatus, #payment.#balanceAmount = :balance, " +
			"#payment.#cancels = :cancels, #updatedAt = :nowMs, #version = #version + :one",
		values: item{
			":partialCanceled": avS(string(StatusPartialCanceled)),
			":pk":              avS(paymentKey),
			":total":           avN(p.TotalAmount),
			":balance":         avN(p.BalanceAmount),
			":newStatus":       avS(string(cancelStatus(p.BalanceAmount))),
			":paymentStatus":   avS(p.Status),
			":cancels":         encodeCancels(p.Cancels),
		},
	})
}

// Fail implements Store. The TTL comes back from unpaidTtl, written at
// Create, so the store needs no retention setting of its own.
func (s *DynamoStore) Fail(ctx context.Context, id, paymentKey string, f Failure, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if err := checkPaymentKey(paymentKey); err != nil {
		return nil, fmt.Errorf("orders: fail %s: %w", id, err)
	}
	f.At = toMillis(f.At)
	return s.update(ctx, write{
		op:   "fail",
		id:   id,
		now:  now,
		cond: "#status = :confirming AND #paymentKey = :pk",
		update: "SET #status = :failed, #lastFailure = :failure, #ttl = #unpaidTtl, " +
			"#dueKind = :dueUnpaid, #dueAt = #payableUntil, #updatedAt = :nowMs, #version = #version + :one " +
			"REMOVE #claimExpiresAt",
		values: item{":pk": avS(paymentKey), ":failure": encodeFailure(&f)},
	})
}

// RecordFailure implements Store.
func (s *DynamoStore) RecordFailure(ctx context.Context, id string, f Failure, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	f.At = toMillis(f.At)
	return s.update(ctx, write{
		op:     "record failure",
		id:     id,
		now:    now,
		cond:   liveCond + " AND #status IN (:pending, :failed)",
		update: "SET #lastFailure = :failure, #updatedAt = :nowMs, #version = #version + :one",
		values: item{":failure": encodeFailure(&f)},
	})
}

// Expire implements Store. "Past PayableUntil" means PayableUntil <= now,
// the exact complement of Claim's PayableUntil > now, so at every instant an
// unpaid order is either claimable or expirable. The TTL stays, so DynamoDB
// deletes the expired order when its retention ends.
func (s *DynamoStore) Expire(ctx context.Context, id string, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	return s.update(ctx, write{
		op:     "expire",
		id:     id,
		now:    now,
		cond:   liveCond + " AND #status IN (:pending, :failed) AND #payableUntil <= :nowMs",
		update: "SET #status = :expired, #updatedAt = :nowMs, #version = #version + :one REMOVE #dueKind, #dueAt",
	})
}

// Delete implements Store.
func (s *DynamoStore) Delete(ctx context.Context, id string, now time.Time) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound(id)
	}
	cond := liveCond + " AND #status IN (:pending, :failed, :expired)"
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 item{attrID: avS(id)},
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            exprNames(cond),
		ExpressionAttributeValues:           exprValues(commonValues(now), cond),
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return nil, refused("delete", id, now, err)
	}
	return decodeOrder(out.Attributes)
}

// LapsedClaims implements Store with a Query on DueIndex.
func (s *DynamoStore) LapsedClaims(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	return s.due(ctx, "lapsed claims", "#dueKind = :dueClaim AND #dueAt < :nowMs", now, limit)
}

// Overdue implements Store with a Query on DueIndex, using the same
// "PayableUntil <= now" as Expire.
func (s *DynamoStore) Overdue(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	return s.due(ctx, "overdue", "#dueKind = :dueUnpaid AND #dueAt <= :nowMs", now, limit)
}

// due pages through DueIndex until it has limit live orders or the due ones
// run out. Query applies Limit before the TTL filter, so an unpaid order
// past its TTL that DynamoDB has not deleted yet costs a read but can never
// hide the due orders behind it.
func (s *DynamoStore) due(ctx context.Context, op, keyCond string, now time.Time, limit int) ([]*Order, error) {
	limit = clampLimit(limit)
	var out []*Order
	var start item
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(DueIndex),
			KeyConditionExpression:    aws.String(keyCond),
			FilterExpression:          aws.String(liveCond),
			ExpressionAttributeNames:  exprNames(keyCond, liveCond),
			ExpressionAttributeValues: exprValues(commonValues(now), keyCond, liveCond),
			ScanIndexForward:          aws.Bool(true),
			Limit:                     aws.Int32(int32(limit - len(out))),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("orders: %s: %w", op, err)
		}
		for _, it := range res.Items {
			o, err := decodeOrder(it)
			if err != nil {
				return nil, fmt.Errorf("orders: %s: %w", op, err)
			}
			out = append(out, o)
		}
		if len(out) >= limit || len(res.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = res.LastEvaluatedKey
	}
}

// List implements Store with a Query on CreatedIndex. Orders past their TTL
// are filtered out after DynamoDB has counted them against the limit, so a
// page may hold fewer than limit orders (even none) and still have a next
// cursor; and the last full page may carry a cursor to an empty page.
func (s *DynamoStore) List(ctx context.Context, now time.Time, limit int, cur string) ([]*Order, string, error) {
	var start item
	if cur != "" {
		c, err := decodeCursor(cur)
		if err != nil {
			return nil, "", fmt.Errorf("orders: list: %w", err)
		}
		start = item{attrID: avS(c.ID), attrListKey: avS(listKeyValue), attrCreatedAt: avN(c.CreatedAt)}
	}
	keyCond := "#listKey = :listKey"
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(CreatedIndex),
		KeyConditionExpression:    aws.String(keyCond),
		FilterExpression:          aws.String(liveCond),
		ExpressionAttributeNames:  exprNames(keyCond, liveCond),
		ExpressionAttributeValues: exprValues(commonValues(now), keyCond, liveCond),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(clampLimit(limit))),
		ExclusiveStartKey:         start,
	})
	if err != nil {
		return nil, "", fmt.Errorf("orders: list: %w", err)
	}
	items := make([]*Order, 0, len(res.Items))
	for _, it := range res.Items {
		o, err := decodeOrder(it)
		if err != nil {
			return nil, "", fmt.Errorf("orders: list: %w", err)
		}
		items = append(items, o)
	}
	if len(res.LastEvaluatedKey) == 0 {
		return items, "", nil
	}
	d := &decoder{it: res.LastEvaluatedKey}
	next := cursor{ID: d.s(attrID), CreatedAt: d.n(attrCreatedAt)}
	if d.err != nil {
		return nil, "", fmt.Errorf("orders: list: last evaluated key: %w", d.err)
	}
	return items, encodeCursor(next), nil
}

// write is one conditional UpdateItem.
type write struct {
	op     string
	id     string
	now    time.Time
	cond   string
	update string
	values item // besides commonValues
}

func (s *DynamoStore) update(ctx context.Context, w write) (*Order, error) {
	vals := commonValues(w.now)
	for k, v := range w.values {
		vals[k] = v
	}
	token := writeToken()
	vals[":writeToken"] = avS(token)
	update := w.update + stampWrite
	if i := strings.Index(w.update, " REMOVE "); i >= 0 {
		update = w.update[:i] + stampWrite + w.update[i:]
	}
	cond := "(" + w.cond + ") AND " + notReplayed
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 item{attrID: avS(w.id)},
		ConditionExpression:                 aws.String(cond),
		UpdateExpression:                    aws.String(update),
		ExpressionAttributeNames:            exprNames(cond, update),
		ExpressionAttributeValues:           exprValues(vals, cond, update),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf) && wroteIt(ccf.Item, token):
		// The SDK retried an UpdateItem whose first attempt was applied
		// but whose answer was lost: what it refused is our own write.
		out = &dynamodb.UpdateItemOutput{Attributes: ccf.Item}
	case err != nil:
		return nil, refused(w.op, w.id, w.now, err)
	}
	o, err := decodeOrder(out.Attributes)
	if err != nil {
		return nil, fmt.Errorf("orders: %s %s: written, but: %w", w.op, w.id, err)
	}
	return o, nil
}

// stampWrite is appended to every update's SET clause: each write leaves a
// fresh random token on the item.
const stampWrite = ", #writeToken = :writeToken"

// notReplayed is part of every update's condition, so a replayed write is
// refused (and then recognised by wroteIt) even when its own condition
// still holds after it took effect, as RecordFailure's does: no write is
// ever applied twice.
const notReplayed = "(attribute_not_exists(#writeToken) OR #writeToken <> :writeToken)"

// writeToken returns 128 random bits, hex-encoded.
func writeToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b[:])
}

// wroteIt reports whether a refusal's ALL_OLD item carries token, that is,
// whether the write being refused is a retry of one that already took
// effect. The SDK retries a write whose answer was lost (a reset
// connection, a 500 after commit); without this, a create would come back
// "already exists" and a claim "held by another request" for the caller's
// own success. Every write sets a new token, so a later write by anyone
// else makes this false again.
func wroteIt(old item, token string) bool {
	v, ok := old[attrWriteToken].(*types.AttributeValueMemberS)
	return ok && v.Value == token
}

// refused turns a failed write into the Store's errors, using the item
// DynamoDB returned with the refusal (ALL_OLD) instead of a second read.
func refused(op, id string, now time.Time, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return fmt.Errorf("orders: %s %s: %w", op, id, err)
	}
	if len(ccf.Item) == 0 {
		return notFound(id)
	}
	cur, derr := decodeOrder(ccf.Item)
	if derr != nil {
		return fmt.Errorf("orders: %s %s: refused: %w", op, id, derr)
	}
	if !live(cur.ExpiresAt, now) {
		return notFound(id)
	}
	return &ConflictError{Op: op, Current: cur}
}

// commonValues are the placeholders the expressions share; exprValues
// passes on only those an expression uses, since DynamoDB rejects unused ones.
func commonValues(now time.Time) item {
	return item{
		":nowSec":     avN(now.Unix()),
		":nowMs":      avN(now.UnixMilli()),
		":one":        avN(1),
		":pending":    avS(string(StatusPending)),
		":confirming": avS(string(StatusConfirming)),
		":done":       avS(string(StatusDone)),
		":failed":     avS(string(StatusFailed)),
		":expired":    avS(string(StatusExpired)),
		":dueClaim":   avS(dueClaim),
		":dueUnpaid":  avS(dueUnpaid),
		":listKey":    avS(listKeyValue),
	}
}

// placeholders calls f with every placeholder in expr that starts with
// sigil ('#' for names, ':' for values) followed by letters.
func placeholders(expr string, sigil byte, f func(string)) {
	for i := 0; i < len(expr); i++ {
		if expr[i] != sigil {
			continue
		}
		j := i + 1
		for j < len(expr) && (expr[j] >= 'a' && expr[j] <= 'z' || expr[j] >= 'A' && expr[j] <= 'Z') {
			j++
		}
		if j > i+1 {
			f(expr[i:j])
		}
		i = j - 1
	}
}

// exprNames maps every #name in the expressions to the attribute of the
// same name. Every attribute goes through a placeholder: status, name and
// ttl are DynamoDB reserved words, and one rule is easier to get right.
func exprNames(exprs ...string) map[string]string {
	m := map[string]string{}
	for _, e := range exprs {
		placeholders(e, '#', func(p string) { m[p] = p[1:] })
	}
	return m
}

// exprValues keeps the values the expressions refer to. A placeholder with
// no value is left for DynamoDB to reject loudly.
func exprValues(vals item, exprs ...string) item {
	m := item{}
	for _, e := range exprs {
		placeholders(e, ':', func(p string) {
			if v, ok := vals[p]; ok {
				m[p] = v
			}
		})
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
