package awstest

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestCallsCountsOperations(t *testing.T) {
	var calls Calls
	db := DynamoDB(t, calls.Middleware)
	name := UniqueName("awstest")
	CreateTable(t, db, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(name),
			Item:      map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Count("PutItem"); got != 3 {
		t.Fatalf("PutItem count = %d, want 3 (%s)", got, calls.String())
	}
	if got := calls.Count("CreateTable"); got != 1 {
		t.Fatalf("CreateTable count = %d, want 1", got)
	}
	calls.Reset()
	if calls.Count() != 0 {
		t.Fatal("Reset kept counts")
	}
}
