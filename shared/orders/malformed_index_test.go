package orders_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tossintl/backend/shared/internal/awstest"
	"github.com/tossintl/backend/shared/orders"
)

// An index entry whose sort key is not a positive time (dueAt 0: no order
// this package writes has one) is refused as malformed, not handed out.
func TestDueEntryWithZeroSortKeyIsMalformed(t *testing.T) {
	db := awstest.DynamoDB(t)
	table := awstest.UniqueName("orders")
	awstest.CreateTable(t, db, orders.TableDefinition(table))
	s := orders.Validated(orders.NewDynamoStore(db, table))
	o := create(t, s, 1000, t0)
	now := o.PayableUntil.Add(time.Minute)
	if got, err := s.Overdue(ctx, now, 10); err != nil || len(got) != 1 {
		t.Fatalf("Overdue before the damage: %d orders, %v", len(got), err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: o.ID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	it := out.Item
	it["dueAt"] = &types.AttributeValueMemberN{Value: "0"}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Overdue(ctx, now, 10)
	if err == nil || !strings.Contains(err.Error(), "malformed entry") {
		t.Fatalf("Overdue over an entry with dueAt 0: %d orders, err %v; want a malformed entry error", len(got), err)
	}
}
