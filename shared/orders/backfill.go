package orders

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// BackfillAPI is what Backfill needs of DynamoDB. It is an operator's
// tool, not a function's: no Lambda is granted Scan.
type BackfillAPI interface {
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// BackfillReport counts what one Backfill pass did.
type BackfillReport struct {
	Scanned int // items read
	Updated int // items given their shard attributes
	Current int // items that already had the right ones
	Moved   int // items that changed while the pass looked at them: run the pass again
}

// Backfill gives every order in table the index attributes of the sharded
// indexes as the order stands: listShard always, dueShard while it is due
// (CLAIM while CONFIRMING, UNPAID while PENDING or FAILED) and none
// otherwise. Orders written before the sharding carry neither, so the
// sharded indexes do not see them until this runs; an order that a release
// before the sharding moved on after an earlier pass carries a stale
// dueShard, which a later pass corrects. Each write is conditioned on the
// status and version the pass read, so it never overwrites a newer write;
// one refused is counted in Moved. A pass over a table already backfilled
// writes nothing. segments Scan segments run in parallel.
func Backfill(ctx context.Context, db BackfillAPI, table string, segments int) (BackfillReport, error) {
	segments = max(segments, 1)
	proj := expression.NamesList(expression.Name(attrID), expression.Name(attrStatus), expression.Name(attrVersion),
		expression.Name(attrListShard), expression.Name(attrDueShard))
	expr, err := expression.NewBuilder().WithProjection(proj).Build()
	if err != nil {
		return BackfillReport{}, fmt.Errorf("orders: backfill: build expression: %w", err)
	}
	var (
		mu    sync.Mutex
		total BackfillReport
	)
	err = parallel(ctx, segments, segments, func(ctx context.Context, seg int) error {
		var start item
		for {
			out, err := db.Scan(ctx, &dynamodb.ScanInput{
				TableName:                aws.String(table),
				ProjectionExpression:     expr.Projection(),
				ExpressionAttributeNames: expr.Names(),
				Segment:                  aws.Int32(int32(seg)),
				TotalSegments:            aws.Int32(int32(segments)),
				ExclusiveStartKey:        start,
			})
			if err != nil {
				return fmt.Errorf("scan segment %d: %w", seg, err)
			}
			var rep BackfillReport
			for _, it := range out.Items {
				rep.Scanned++
				switch wrote, err := backfillItem(ctx, db, table, it); {
				case errors.Is(err, errMoved):
					rep.Moved++
				case err != nil:
					return err
				case wrote:
					rep.Updated++
				default:
					rep.Current++
				}
			}
			mu.Lock()
			total.Scanned += rep.Scanned
			total.Updated += rep.Updated
			total.Current += rep.Current
			total.Moved += rep.Moved
			mu.Unlock()
			if len(out.LastEvaluatedKey) == 0 {
				return nil
			}
			start = out.LastEvaluatedKey
		}
	})
	if err != nil {
		return total, fmt.Errorf("orders: backfill %s: %w", table, err)
	}
	return total, nil
}

var errMoved = errors.New("the order changed during the pass")

// backfillItem writes the item's shard attributes if they are missing or stale,
// and reports whether it wrote.
func backfillItem(ctx context.Context, db BackfillAPI, table string, it item) (bool, error) {
	var cur struct {
		ID        string `dynamodbav:"id"`
		Status    Status `dynamodbav:"status"`
		Version   *int64 `dynamodbav:"version"`
		ListShard string `dynamodbav:"listShard"`
		DueShard  string `dynamodbav:"dueShard"`
	}
	if err := attributevalue.UnmarshalMap(it, &cur); err != nil || !ValidID(cur.ID) || !knownStatus[cur.Status] {
		return false, fmt.Errorf("item %v: not an order (%v)", it[attrID], err)
	}
	wantList, wantDue := listShardOf(cur.ID), ""
	switch {
	case cur.Status == StatusConfirming:
		wantDue = dueShardOf(dueClaim, cur.ID)
	case cur.Status.Payable():
		wantDue = dueShardOf(dueUnpaid, cur.ID)
	case strings.HasPrefix(cur.DueShard, dueRecheck+"#"):
		wantDue = dueShardOf(dueRecheck, cur.ID)
	}
	if cur.ListShard == wantList && cur.DueShard == wantDue {
		return false, nil
	}
	update := expression.Set(expression.Name(attrListShard), expression.Value(wantList))
	if wantDue != "" {
		update = update.Set(expression.Name(attrDueShard), expression.Value(wantDue))
	} else {
		update = update.Remove(expression.Name(attrDueShard))
	}
	// Every write of this package but AdmitLookup's bumps the version, and
	// that one changes nothing the shards derive from.
	version := expression.Name(attrVersion).AttributeNotExists()
	if cur.Version != nil {
		version = expression.Name(attrVersion).Equal(expression.Value(*cur.Version))
	}
	expr, err := expression.NewBuilder().
		WithCondition(expression.AttributeExists(expression.Name(attrID)).And(statusIs(cur.Status), version)).
		WithUpdate(update).
		Build()
	if err != nil {
		return false, fmt.Errorf("order %s: build expression: %w", cur.ID, err)
	}
	_, err = db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       key(cur.ID),
		ConditionExpression:       expr.Condition(),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return false, errMoved
	case err != nil:
		return false, fmt.Errorf("order %s: %w", cur.ID, err)
	}
	return true, nil
}
