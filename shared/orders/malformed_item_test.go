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

// An item holding a NULL anywhere in a list (this package writes none) is
// malformed: Get refuses it rather than read the element as a zero value,
// whichever element it is.
func TestOrderWithNullInAListIsRefused(t *testing.T) {
	db := awstest.DynamoDB(t)
	table := awstest.UniqueName("orders")
	awstest.CreateTable(t, db, orders.TableDefinition(table))
	s := orders.Validated(orders.NewDynamoStore(db, table))
	o := create(t, s, 15000, t0)
	mustClaim(t, s, o, "pk_1", t0)
	p := payment
	p.Cancels = []orders.Cancel{{TransactionKey: "tx_1", Reason: "buyer asked", Amount: 5000, CanceledAt: t0.Add(time.Hour)}}
	if _, err := s.Complete(ctx, o.ID, "pk_1", p, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	key := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: o.ID}}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	pay, ok := out.Item["payment"].(*types.AttributeValueMemberM)
	if !ok {
		t.Fatalf("payment attribute is %T", out.Item["payment"])
	}
	cancels, ok := pay.Value["cancels"].(*types.AttributeValueMemberL)
	if !ok || len(cancels.Value) != 1 {
		t.Fatalf("payment.cancels is %#v", pay.Value["cancels"])
	}
	good := cancels.Value[0]
	null := &types.AttributeValueMemberNULL{Value: true}
	for name, list := range map[string][]types.AttributeValue{
		"NULL after a cancel":  {good, null},
		"NULL before a cancel": {null, good},
	} {
		cancels.Value = list
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: out.Item}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, o.ID, t0.Add(time.Minute))
		if err == nil || !strings.Contains(err.Error(), "NULL") {
			t.Errorf("%s: Get answered %v (order returned: %v); want the item refused", name, err, got != nil)
		}
	}
}
