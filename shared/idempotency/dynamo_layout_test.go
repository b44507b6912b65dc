package idempotency

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// rawItem reads a record's item as DynamoDB holds it.
func rawItem(t *testing.T, db *dynamodb.Client, table, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{attrID: str(id)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	return out.Item
}

// The response attributes exist only once a record is COMPLETED (recordItem):
// an in-progress lock is a small item, whatever the request.
func TestDynamoLockItemHasNoResponse(t *testing.T) {
	db, table := newTable(t)
	g := New(NewDynamoStore(db, table), Options{})
	r := req("k", `{"amount":1000}`)
	var item map[string]types.AttributeValue
	_, _, err := g.Do(context.Background(), r, func(context.Context) (Response, error) {
		item = rawItem(t, db, table, RecordID(r))
		return okResponse(`{}`), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := item[attrStatus].(*types.AttributeValueMemberS); !ok || s.Value != string(StatusInProgress) {
		t.Fatalf("status while the handler runs: %#v", item[attrStatus])
	}
	for _, name := range []string{attrRespStatus, attrRespHeaders, attrRespBody, attrCompletedAt} {
		if v, ok := item[name]; ok {
			t.Errorf("the in-progress item has %s = %#v", name, v)
		}
	}
}

// A completed record stores headers and body only when there are some.
func TestDynamoCompletedItemOmitsEmptyResponseParts(t *testing.T) {
	db, table := newTable(t)
	g := New(NewDynamoStore(db, table), Options{})
	r := req("k", `{}`)
	if _, _, err := g.Do(context.Background(), r, func(context.Context) (Response, error) {
		return Response{Status: 204}, nil
	}); err != nil {
		t.Fatal(err)
	}
	item := rawItem(t, db, table, RecordID(r))
	if n, ok := item[attrRespStatus].(*types.AttributeValueMemberN); !ok || n.Value != "204" {
		t.Fatalf("responseStatus = %#v, want 204", item[attrRespStatus])
	}
	for _, name := range []string{attrRespHeaders, attrRespBody} {
		if v, ok := item[name]; ok {
			t.Errorf("a response without %s stores %#v", name, v)
		}
	}
	// And it replays as it was.
	resp, replayed, err := g.Do(context.Background(), r, mustNotRun(t))
	if err != nil || !replayed || resp.Status != 204 || len(resp.Headers) != 0 || len(resp.Body) != 0 {
		t.Fatalf("replay: %+v replayed=%v err=%v", resp, replayed, err)
	}
}
