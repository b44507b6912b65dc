package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TTLAttribute is the orders table's TTL attribute (epoch seconds). It is
// present only while an order is unpaid; TimeToLiveDefinition enables it.
const TTLAttribute = "ttl"

// Secondary indexes of the orders table. Both spread their orders over
// ShardCount hash keys (see ShardCount for the arithmetic) and project
// KEYS_ONLY: a reader queries every shard for keys, merges them, and reads
// the orders themselves from the table. Their names and hash attributes
// are new with the sharding (they were "due"/dueKind and
// "created"/listKey, each one constant key), so that a deployed stack adds
// them beside the old ones, backfills (Backfill), switches and drops the
// old ones without downtime (README, "Moving a deployed stack to the
// sharded indexes").
const (
	// DueIndex holds only orders the reconciler may have to act on: hash
	// dueShard ("CLAIM#nn" while CONFIRMING, "UNPAID#nn" while PENDING or
	// FAILED, absent otherwise, so paid and expired orders drop out of it)
	// and range dueAt (the claim's or the pay window's end, epoch ms).
	DueIndex = "dueSharded"
	// CreatedIndex lists orders newest first without a Scan: hash
	// listShard ("ORDER#nn" on every order) and range createdAt (epoch ms).
	CreatedIndex = "createdSharded"
)

// TableDefinition is the orders table's schema. Tests, the local stack and
// the template-consistency test all build from it, so they cannot drift.
func TableDefinition(name string) *dynamodb.CreateTableInput {
	keysOnly := &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrDueShard), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrDueAt), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: aws.String(attrListShard), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrCreatedAt), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrID), KeyType: types.KeyTypeHash},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{
				IndexName: aws.String(DueIndex),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(attrDueShard), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(attrDueAt), KeyType: types.KeyTypeRange},
				},
				Projection: keysOnly,
			},
			{
				IndexName: aws.String(CreatedIndex),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(attrListShard), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(attrCreatedAt), KeyType: types.KeyTypeRange},
				},
				Projection: keysOnly,
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
// It holds only conditions and writes: its arguments are checked by
// Validated, which every caller puts in front of it, before any I/O.
type DynamoStore struct {
	db    DynamoAPI
	table string
}

var _ Store = (*DynamoStore)(nil)

// NewDynamoStore returns a store on table, to be used as
// Validated(NewDynamoStore(db, table)).
func NewDynamoStore(db DynamoAPI, table string) *DynamoStore {
	return &DynamoStore{db: db, table: table}
}

// liveCond holds for an item that exists and is not past its TTL. DynamoDB
// deletes expired items up to days late, so every condition includes it.
func liveCond(now time.Time) expression.ConditionBuilder {
	ttl := expression.Name(attrTTL)
	return expression.AttributeNotExists(ttl).Or(ttl.GreaterThan(expression.Value(now.Unix())))
}

func statusIs(s Status) expression.ConditionBuilder {
	return expression.Name(attrStatus).Equal(expression.Value(s))
}

func statusIn(s Status, more ...Status) expression.ConditionBuilder {
	others := make([]expression.OperandBuilder, len(more))
	for i, o := range more {
		others[i] = expression.Value(o)
	}
	return expression.Name(attrStatus).In(expression.Value(s), others...)
}

// heldBy holds for an order CONFIRMING under paymentKey.
func heldBy(paymentKey string) expression.ConditionBuilder {
	return statusIs(StatusConfirming).And(expression.Name(attrPaymentKey).Equal(expression.Value(paymentKey)))
}

// Create implements Store. The condition refuses any existing item, even
// one past its TTL: an ID is never reused.
func (s *DynamoStore) Create(ctx context.Context, o *Order) error {
	token := writeToken()
	it, err := encodeOrder(o, token)
	if err != nil {
		return fmt.Errorf("orders: create %s: %w", o.ID, err)
	}
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(attrID))).Build()
	if err != nil {
		return fmt.Errorf("orders: create %s: build expression: %w", o.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                it,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf) && wroteIt(ccf.Item, token):
		// The SDK retried a PutItem whose first attempt was applied but
		// whose answer was lost: the order is ours, created once.
	case errors.As(err, &ccf):
		return fmt.Errorf("%w: %s", ErrExists, o.ID)
	case err != nil:
		return fmt.Errorf("orders: create %s: %w", o.ID, err)
	}
	return nil
}

// Get implements Store with a strongly consistent read: the payments engine
// reads its own writes.
func (s *DynamoStore) Get(ctx context.Context, id string, now time.Time) (*Order, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(id),
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
		return nil, fmt.Errorf("orders: get %s: %w", id, err)
	}
	if !live(o.ExpiresAt, now) {
		return nil, notFound(id)
	}
	return o, nil
}

// Claim implements Store. The amount check is part of the write's
// condition, so a tampered amount can never win a race with a fair one;
// so is the checkout token, so a claim on the order's own budget needs
// the token stored on the order, not the caller's word.
func (s *DynamoStore) Claim(ctx context.Context, c Claim) (*Order, error) {
	b := claimBudget(c)
	pk, until := expression.Value(c.PaymentKey), expression.Value(c.Until.UnixMilli())
	nowMs := expression.Value(c.Now.UnixMilli())
	// A FAILED order takes a new paymentKey only: Toss would just repeat
	// its refusal of the failed one.
	payable := statusIs(StatusPending).
		Or(statusIs(StatusFailed).And(expression.Name(attrPaymentKey).NotEqual(pk))).
		And(expression.Name(attrPayableUntil).GreaterThan(nowMs))
	resume := heldBy(c.PaymentKey).And(expression.Name(attrClaimExpiresAt).LessThan(nowMs))
	cond := expression.AttributeExists(expression.Name(attrID)).And(liveCond(c.Now),
		expression.Name(attrAmount).Equal(expression.Value(c.Amount)),
		payable.And(roomCond(b, c.Now)).Or(resume))
	if b == TokenHolder {
		cond = cond.And(expression.Name(attrToken).Equal(expression.Value(c.Token)))
	}
	claimedFrom := expression.Name(attrClaimedFrom)
	return s.update(ctx, write{
		op:   "claim",
		id:   c.OrderID,
		now:  c.Now,
		cond: cond,
		// claimedFrom and claimedAt first, while status is still the one
		// the claim is taken from (a resume keeps both as they are).
		update: recordAttemptUpdate(
			expression.Set(claimedFrom, expression.IfNotExists(claimedFrom, expression.Name(attrStatus))).
				Set(expression.Name(attrClaimedAt), expression.IfNotExists(expression.Name(attrClaimedAt), nowMs)).
				Set(expression.Name(attrStatus), expression.Value(StatusConfirming)).
				Set(expression.Name(attrPaymentKey), pk).
				Set(expression.Name(attrClaimExpiresAt), until).
				Set(expression.Name(attrDueShard), expression.Value(dueShardOf(dueClaim, c.OrderID))).
				Set(expression.Name(attrDueAt), until).
				Remove(expression.Name(attrTTL)), b, c.Now),
	})
}

// claimBudget is the budget c draws on.
func claimBudget(c Claim) Budget {
	if c.Token != "" {
		return TokenHolder
	}
	return Anonymous
}

// Release implements Store. An update cannot choose its actions by what
// the item holds, so a claim taken from FAILED, and only such a claim,
// takes a second write: the first is for claims taken from PENDING, which
// made-up paymentKeys on a fresh order make by far the most common, and
// whose refusal (ALL_OLD) says the claim was taken from FAILED without
// another read. The failed attempt's paymentKey comes back from the
// failure recorded with it (Fail records both).
func (s *DynamoStore) Release(ctx context.Context, id, paymentKey string, now time.Time) (*Order, error) {
	// A new builder per write: UpdateBuilder.Set appends to a map its
	// copies share.
	back := func(to Status) expression.UpdateBuilder {
		return expression.Set(expression.Name(attrStatus), expression.Value(to)).
			Set(expression.Name(attrTTL), expression.Name(attrUnpaidTTL)).
			Set(expression.Name(attrDueShard), expression.Value(dueShardOf(dueUnpaid, id))).
			Set(expression.Name(attrDueAt), expression.Name(attrPayableUntil)).
			Remove(expression.Name(attrClaimExpiresAt)).
			Remove(expression.Name(attrClaimedAt)).
			Remove(expression.Name(attrClaimedFrom))
	}
	from := func(st Status) expression.ConditionBuilder {
		return heldBy(paymentKey).And(expression.Name(attrClaimedFrom).Equal(expression.Value(st)))
	}
	var old item
	o, err := s.update(ctx, write{
		op:     "release",
		id:     id,
		now:    now,
		cond:   from(StatusPending),
		update: back(StatusPending).Remove(expression.Name(attrPaymentKey)),
		old:    &old,
	})
	var ce *ConflictError
	var was Status
	if !errors.As(err, &ce) || attributevalue.Unmarshal(old[attrClaimedFrom], &was) != nil || was != StatusFailed {
		return o, err
	}
	return s.update(ctx, write{
		op:   "release",
		id:   id,
		now:  now,
		cond: from(StatusFailed),
		update: back(StatusFailed).Set(expression.Name(attrPaymentKey),
			expression.IfNotExists(expression.Name(attrLastFailure+".paymentKey"), expression.Value(paymentKey))),
	})
}

// AdmitLookup implements Store: the budget's condition and record, as in
// Claim, with nothing else changed.
func (s *DynamoStore) AdmitLookup(ctx context.Context, id, ownPaymentKey string, now time.Time) (*Order, error) {
	b, admitted := Anonymous, roomCond(Anonymous, now)
	if ownPaymentKey != "" {
		b = TokenHolder
		admitted = roomCond(TokenHolder, now).And(statusIn(paidStatuses[0], paidStatuses[1:]...),
			expression.Name(attrPaymentKey).Equal(expression.Value(ownPaymentKey)))
	}
	return s.admit(ctx, "admit lookup", id, b, admitted, now)
}

// AdmitTokenLookup implements Store.
func (s *DynamoStore) AdmitTokenLookup(ctx context.Context, id, token string, now time.Time) (*Order, error) {
	admitted := roomCond(TokenHolder, now).And(expression.Name(attrToken).Equal(expression.Value(token)))
	return s.admit(ctx, "admit token lookup", id, TokenHolder, admitted, now)
}

// admit records one call on budget b of a live order for which admitted holds.
func (s *DynamoStore) admit(ctx context.Context, op, id string, b Budget, admitted expression.ConditionBuilder, now time.Time) (*Order, error) {
	return s.update(ctx, write{
		op:          op,
		id:          id,
		now:         now,
		cond:        expression.AttributeExists(expression.Name(attrID)).And(liveCond(now), admitted),
		update:      recordAttemptUpdate(expression.UpdateBuilder{}, b, now),
		bookkeeping: true,
	})
}

// roomCond is room on the item: the oldest of budget b's AttemptLimit
// slots is empty (absent, or 0 as recordAttemptUpdate fills it) or older
// than the window.
func roomCond(b Budget, now time.Time) expression.ConditionBuilder {
	oldest := expression.Name(attemptSlot(b, AttemptLimit-1))
	return expression.AttributeNotExists(oldest).
		Or(oldest.LessThanEqual(expression.Value(now.UnixMilli() - AttemptWindow.Milliseconds())))
}

// recordAttemptUpdate is recordAttempt on the item: every slot of b takes
// its newer neighbour's value and slot 0 takes now. The slots are separate
// attributes because an update cannot trim a list; they are shifted
// oldest first, so the result is the same whether DynamoDB reads each
// operand before the update or as the actions apply.
func recordAttemptUpdate(ub expression.UpdateBuilder, b Budget, now time.Time) expression.UpdateBuilder {
	for i := AttemptLimit - 1; i > 0; i-- {
		ub = ub.Set(expression.Name(attemptSlot(b, i)), expression.IfNotExists(expression.Name(attemptSlot(b, i-1)), expression.Value(0)))
	}
	return ub.Set(expression.Name(attemptSlot(b, 0)), expression.Value(now.UnixMilli()))
}

// Complete implements Store. It drops the TTL (a paid order never expires)
// and leaves the due index.
func (s *DynamoStore) Complete(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	p = clonePayment(p)
	normalizePayment(&p)
	return s.update(ctx, write{
		op:     "complete",
		id:     id,
		now:    now,
		cond:   heldBy(paymentKey),
		update: paid(&p),
	})
}

// paid is the update that records an order paid with p: DONE, the payment
// summary, and no TTL or due index entry any more, so a paid order never
// expires and leaves the reconciler's lists.
func paid(p *Payment) expression.UpdateBuilder {
	refunds := expression.Name(attrRefunds)
	return expression.Set(expression.Name(attrStatus), expression.Value(StatusDone)).
		Set(expression.Name(attrPayment), expression.Value(newPaymentItem(p))).
		// An empty refunds map, so that ReserveRefund can add to it in one write.
		Set(refunds, expression.IfNotExists(refunds, expression.Value(&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}))).
		Remove(expression.Name(attrTTL)).
		Remove(expression.Name(attrUnpaidTTL)).
		Remove(expression.Name(attrClaimExpiresAt)).
		Remove(expression.Name(attrClaimedAt)).
		Remove(expression.Name(attrClaimedFrom)).
		Remove(expression.Name(attrDueShard)).
		Remove(expression.Name(attrDueAt))
}

// SettleFromToss implements Store. The condition is settleable; like
// Complete's update it drops the TTL and leaves the due index, and it also
// takes Toss's paymentKey, which may not be the one the claim held.
func (s *DynamoStore) SettleFromToss(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	p = clonePayment(p)
	normalizePayment(&p)
	return s.update(ctx, write{
		op:  "settle from toss",
		id:  id,
		now: now,
		// attribute_exists keeps UpdateItem from creating an order that is
		// not there; liveCond alone holds for a missing item.
		cond: expression.AttributeExists(expression.Name(attrID)).And(liveCond(now),
			statusIn(unpaidStatuses[0], unpaidStatuses[1:]...),
			expression.Name(attrAmount).Equal(expression.Value(p.TotalAmount))),
		update: paid(&p).Set(expression.Name(attrPaymentKey), expression.Value(paymentKey)),
	})
}

// ApplyCancel implements Store. The condition is cancelForward; the
// payment summary's other fields (card, receipt, approval) are left as
// Complete wrote them.
func (s *DynamoStore) ApplyCancel(ctx context.Context, id, paymentKey string, p Payment, now time.Time) (*Order, error) {
	p = clonePayment(p)
	normalizePayment(&p)
	balance := expression.Name(attrPaymentBalance)
	newBalance := expression.Value(p.BalanceAmount)
	return s.update(ctx, write{
		op:  "apply cancel",
		id:  id,
		now: now,
		cond: statusIn(StatusDone, StatusPartialCanceled).And(
			expression.Name(attrPaymentKey).Equal(expression.Value(paymentKey)),
			expression.Name(attrPaymentTotal).Equal(expression.Value(p.TotalAmount)),
			balance.GreaterThan(newBalance).Or(statusIs(StatusDone).And(balance.Equal(newBalance)))),
		update: expression.Set(expression.Name(attrStatus), expression.Value(cancelStatus(p.BalanceAmount))).
			Set(expression.Name(attrPaymentStatus), expression.Value(p.Status)).
			Set(balance, newBalance).
			Set(expression.Name(attrPaymentCancels), expression.Value(newCancelItems(p.Cancels))),
	})
}

// refundPath is the document path of the refund under key.
func refundPath(key string) expression.NameBuilder {
	return expression.Name(attrRefunds + "." + key)
}

// reservedOrZero reads refundReserved as 0 where no refund ever wrote it.
func reservedOrZero() expression.SetValueBuilder {
	return expression.IfNotExists(expression.Name(attrRefundReserved), expression.Value(0))
}

// isPending holds when the refund under key is pending with amount.
func isPending(key string, amount int64) expression.ConditionBuilder {
	return expression.AttributeExists(refundPath(key)).
		And(expression.AttributeNotExists(expression.Name(attrRefunds + "." + key + ".settledAt"))).
		And(expression.Name(attrRefunds + "." + key + ".amount").Equal(expression.Value(amount)))
}

// ReserveRefund implements Store. What is refundable (balance less the
// pending refunds) cannot be computed in a condition, so the condition
// pins the balance the caller read and bounds refundReserved by the
// difference, computed here: payment.balanceAmount = :balance AND
// refundReserved <= :balance - :amount. A refund applied in between
// changes the balance and refuses the reservation, whose ALL_OLD then
// carries what the caller needs to try again.
//
// Orders paid before refunds were reserved have no refunds map, and
// DynamoDB refuses a SET of refunds.<key> under a missing map: for those
// (told by the refused item itself) a second write creates the map.
func (s *DynamoStore) ReserveRefund(ctx context.Context, id string, r RefundReservation, now time.Time) (*Order, error) {
	entry := refundItem{Amount: r.Amount, Reason: r.Reason, ReservedAt: now.UnixMilli()}
	reserved := expression.Name(attrRefundReserved)
	cond := statusIn(StatusDone, StatusPartialCanceled).And(
		expression.Name(attrPaymentKey).Equal(expression.Value(r.PaymentKey)),
		expression.Name(attrPaymentBalance).Equal(expression.Value(r.Balance)),
		expression.AttributeNotExists(reserved).Or(reserved.LessThanEqual(expression.Value(r.Balance-r.Amount))))
	// A new builder per write: UpdateBuilder.Set appends to a map its
	// copies share.
	hold := func() expression.UpdateBuilder {
		return expression.Set(reserved, expression.Plus(reservedOrZero(), expression.Value(r.Amount))).
			Set(expression.Name(attrDueShard), expression.Value(dueShardOf(dueRecheck, id))).
			Set(expression.Name(attrDueAt), expression.IfNotExists(expression.Name(attrDueAt), expression.Value(now.Add(RefundRecheckAfter).UnixMilli())))
	}
	var old item
	o, err := s.update(ctx, write{
		op:     "reserve refund",
		id:     id,
		now:    now,
		cond:   cond.And(expression.AttributeExists(expression.Name(attrRefunds)), expression.AttributeNotExists(refundPath(r.Key))),
		update: hold().Set(refundPath(r.Key), expression.Value(entry)),
		old:    &old,
	})
	var ce *ConflictError
	if _, hasMap := old[attrRefunds]; !errors.As(err, &ce) || len(old) == 0 || hasMap {
		return o, err
	}
	return s.update(ctx, write{
		op:     "reserve refund",
		id:     id,
		now:    now,
		cond:   cond.And(expression.AttributeNotExists(expression.Name(attrRefunds))),
		update: hold().Set(expression.Name(attrRefunds), expression.Value(map[string]refundItem{r.Key: entry})),
	})
}

// SettleRefund implements Store. The condition is isPending and
// refundSettleable; the update is ApplyCancel's, plus the refund's
// settlement, in one write so that the balance and what is held back move
// together.
func (s *DynamoStore) SettleRefund(ctx context.Context, id, paymentKey, key string, amount int64, p Payment, now time.Time) (*Order, error) {
	p = clonePayment(p)
	normalizePayment(&p)
	balance := expression.Name(attrPaymentBalance)
	return s.update(ctx, write{
		op:  "settle refund",
		id:  id,
		now: now,
		cond: isPending(key, amount).And(
			statusIn(paidStatuses[0], paidStatuses[1:]...),
			expression.Name(attrPaymentKey).Equal(expression.Value(paymentKey)),
			expression.Name(attrPaymentTotal).Equal(expression.Value(p.TotalAmount)),
			balance.GreaterThanEqual(expression.Value(p.BalanceAmount))),
		update: expression.Set(expression.Name(attrStatus), expression.Value(cancelStatus(p.BalanceAmount))).
			Set(expression.Name(attrPaymentStatus), expression.Value(p.Status)).
			Set(balance, expression.Value(p.BalanceAmount)).
			Set(expression.Name(attrPaymentCancels), expression.Value(newCancelItems(p.Cancels))).
			Set(expression.Name(attrRefunds+"."+key+".settledAt"), expression.Value(now.UnixMilli())).
			Set(expression.Name(attrRefundReserved), expression.Name(attrRefundReserved).Minus(expression.Value(amount))),
	})
}

// ReleaseRefund implements Store.
func (s *DynamoStore) ReleaseRefund(ctx context.Context, id, key string, amount int64, now time.Time) (*Order, error) {
	return s.update(ctx, write{
		op:   "release refund",
		id:   id,
		now:  now,
		cond: isPending(key, amount),
		update: expression.Remove(refundPath(key)).
			Set(expression.Name(attrRefundReserved), expression.Name(attrRefundReserved).Minus(expression.Value(amount))),
	})
}

// Fail implements Store. The TTL comes back from unpaidTtl, written at
// Create, so the store needs no retention setting of its own.
func (s *DynamoStore) Fail(ctx context.Context, id, paymentKey string, f Failure, now time.Time) (*Order, error) {
	return s.update(ctx, write{
		op:   "fail",
		id:   id,
		now:  now,
		cond: heldBy(paymentKey),
		update: expression.Set(expression.Name(attrStatus), expression.Value(StatusFailed)).
			Set(expression.Name(attrLastFailure), expression.Value(newFailureItem(&f))).
			Set(expression.Name(attrTTL), expression.Name(attrUnpaidTTL)).
			Set(expression.Name(attrDueShard), expression.Value(dueShardOf(dueUnpaid, id))).
			Set(expression.Name(attrDueAt), expression.Name(attrPayableUntil)).
			Remove(expression.Name(attrClaimExpiresAt)).
			Remove(expression.Name(attrClaimedAt)).
			Remove(expression.Name(attrClaimedFrom)),
	})
}

// RecordFailure implements Store.
func (s *DynamoStore) RecordFailure(ctx context.Context, id string, f Failure, now time.Time) (*Order, error) {
	return s.update(ctx, write{
		op:     "record failure",
		id:     id,
		now:    now,
		cond:   liveCond(now).And(statusIn(StatusPending, StatusFailed), expression.AttributeNotExists(expression.Name(attrLastFailure))),
		update: expression.Set(expression.Name(attrLastFailure), expression.Value(newFailureItem(&f))),
	})
}

// Expire implements Store. "Past PayableUntil" means PayableUntil <= now,
// the exact complement of Claim's PayableUntil > now, so at every instant an
// unpaid order is either claimable or expirable. The TTL stays, so DynamoDB
// deletes the expired order when its retention ends.
//
// An update cannot choose its actions by the item's status, so an order
// that expires FAILED, or PENDING with Toss calls admitted for it
// (TossAttempted), and only such an order, takes a second write that
// schedules its recheck: the first write is for PENDING orders no Toss
// call was ever made for, which abandoned checkouts make by far the most
// common, and whose refusal (ALL_OLD) says the order needs the recheck
// without another read.
func (s *DynamoStore) Expire(ctx context.Context, id string, now time.Time) (*Order, error) {
	overdue := liveCond(now).And(expression.Name(attrPayableUntil).LessThanEqual(expression.Value(now.UnixMilli())))
	neverAttempted := expression.AttributeNotExists(expression.Name(attemptSlot(Anonymous, 0))).
		And(expression.AttributeNotExists(expression.Name(attemptSlot(TokenHolder, 0))))
	o, err := s.update(ctx, write{
		op:   "expire",
		id:   id,
		now:  now,
		cond: overdue.And(statusIs(StatusPending), neverAttempted),
		update: expression.Set(expression.Name(attrStatus), expression.Value(StatusExpired)).
			Remove(expression.Name(attrDueShard)).
			Remove(expression.Name(attrDueAt)),
	})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Current == nil ||
		!(ce.Current.Status == StatusFailed || ce.Current.Status == StatusPending && ce.Current.TossAttempted()) {
		return o, err
	}
	return s.update(ctx, write{
		op:   "expire",
		id:   id,
		now:  now,
		cond: overdue.And(statusIs(StatusFailed).Or(statusIs(StatusPending).And(neverAttempted.Not()))),
		update: expression.Set(expression.Name(attrStatus), expression.Value(StatusExpired)).
			Set(expression.Name(attrDueShard), expression.Value(dueShardOf(dueRecheck, id))).
			Set(expression.Name(attrDueAt), expression.Value(now.Add(ExpiredRecheckAfter).UnixMilli())),
	})
}

// Rechecked implements Store.
func (s *DynamoStore) Rechecked(ctx context.Context, id string, version int64, next, now time.Time) (*Order, error) {
	update := expression.Remove(expression.Name(attrDueShard)).Remove(expression.Name(attrDueAt))
	if !next.IsZero() {
		update = expression.Set(expression.Name(attrDueShard), expression.Value(dueShardOf(dueRecheck, id))).
			Set(expression.Name(attrDueAt), expression.Value(next.UnixMilli()))
	}
	return s.update(ctx, write{
		op:  "rechecked",
		id:  id,
		now: now,
		cond: expression.AttributeExists(expression.Name(attrID)).And(liveCond(now),
			expression.Name(attrVersion).Equal(expression.Value(version)),
			statusIn(StatusExpired, paidStatuses...)),
		update: update,
	})
}

// Delete implements Store.
func (s *DynamoStore) Delete(ctx context.Context, id string, version int64, now time.Time) (*Order, error) {
	expr, err := expression.NewBuilder().
		WithCondition(liveCond(now).And(statusIn(StatusPending, StatusFailed, StatusExpired),
			expression.Name(attrVersion).Equal(expression.Value(version)))).
		Build()
	if err != nil {
		return nil, fmt.Errorf("orders: delete %s: build expression: %w", id, err)
	}
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(id),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return nil, refused("delete", id, now, err)
	}
	o, err := decodeOrder(out.Attributes)
	if err != nil {
		return nil, fmt.Errorf("orders: delete %s: deleted, but: %w", id, err)
	}
	return o, nil
}

// write is one conditional UpdateItem. update() adds to every write what
// they all set: updatedAt, the version and a write token.
type write struct {
	op     string
	id     string
	now    time.Time
	cond   expression.ConditionBuilder
	update expression.UpdateBuilder
	old    *item // if set, receives the item a refusal returned (ALL_OLD)
	// bookkeeping marks a write that changes nothing of the order itself
	// (AdmitLookup): it leaves version and updatedAt alone, so that
	// callers with nothing to do with the order cannot make it look
	// changed. It still stamps a write token.
	bookkeeping bool
}

func (s *DynamoStore) update(ctx context.Context, w write) (*Order, error) {
	token := writeToken()
	version := expression.Name(attrVersion)
	ub := w.update
	if !w.bookkeeping {
		ub = ub.Set(expression.Name(attrUpdatedAt), expression.Value(w.now.UnixMilli())).
			Set(version, version.Plus(expression.Value(1)))
	}
	expr, err := expression.NewBuilder().
		WithCondition(w.cond.And(notReplayed(token))).
		WithUpdate(ub.Set(expression.Name(attrWriteToken), expression.Value(token))).
		Build()
	if err != nil {
		return nil, fmt.Errorf("orders: %s %s: build expression: %w", w.op, w.id, err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(w.id),
		ConditionExpression:                 expr.Condition(),
		UpdateExpression:                    expr.Update(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
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
		if errors.As(err, &ccf) && w.old != nil {
			*w.old = ccf.Item
		}
		return nil, refused(w.op, w.id, w.now, err)
	}
	o, err := decodeOrder(out.Attributes)
	if err != nil {
		return nil, fmt.Errorf("orders: %s %s: written, but: %w", w.op, w.id, err)
	}
	return o, nil
}

// notReplayed is part of every update's condition, so a replayed write is
// refused (and then recognised by wroteIt) even when its own condition
// still holds after it took effect, as RecordFailure's does: no write is
// ever applied twice.
func notReplayed(token string) expression.ConditionBuilder {
	t := expression.Name(attrWriteToken)
	return expression.AttributeNotExists(t).Or(t.NotEqual(expression.Value(token)))
}

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
	var got string
	return attributevalue.Unmarshal(old[attrWriteToken], &got) == nil && got == token
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
