package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tossintl/backend/internal/testenv"
	"github.com/tossintl/backend/tools/awsproxy"
	"github.com/tossintl/backend/tools/samlocal/lambdarun"
)

func TestStreamEventsOfTheRealTemplate(t *testing.T) {
	tpl, r := loadTemplate(t, realTemplate)
	evs, err := tpl.StreamEvents()
	if err != nil {
		t.Fatal(err)
	}
	want := StreamEvent{Function: "OrderEventsFunction", Event: "OrdersStream", Table: "OrdersTable", StartingPosition: "TRIM_HORIZON",
		BatchSize: 100, MaxRetries: 10, ReportBatchItemFailures: true}
	if len(evs) != 1 || evs[0] != want {
		t.Fatalf("StreamEvents = %+v, want [%+v]", evs, want)
	}
	tbl, err := r.Table("OrdersTable")
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Stream == nil || tbl.Stream.StreamSpecification.StreamViewType != "NEW_AND_OLD_IMAGES" || !aws.ToBool(tbl.Stream.StreamSpecification.StreamEnabled) {
		t.Errorf("OrdersTable stream = %+v", tbl.Stream)
	}
	// The function puts on its own bus, by the ARN IAM checks.
	ok, err := r.Allows("OrderEventsFunction", AWSCall{"events:PutEvents", EventBusARN("tossintl-dev-orders")})
	if err != nil || !ok {
		t.Errorf("PutEvents on its bus: allowed %v, %v", ok, err)
	}
	if ok, _ := r.Allows("OrderEventsFunction", AWSCall{"events:PutEvents", EventBusARN("default")}); ok {
		t.Error("PutEvents on the default bus allowed")
	}
	env, err := r.FunctionEnv("OrderEventsFunction", nil)
	if err != nil || env["EVENT_BUS_NAME"] != "tossintl-dev-orders" || !strings.HasPrefix(env["API_URL"], "https://") {
		t.Errorf("OrderEventsFunction env %v, %v", env, err)
	}
}

func TestStreamTableForms(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{map[string]any{"Fn::GetAtt": "OrdersTable.StreamArn"}, "OrdersTable"},
		{map[string]any{"Fn::GetAtt": []any{"OrdersTable", "StreamArn"}}, "OrdersTable"},
		{map[string]any{"Fn::GetAtt": "OrdersTable.Arn"}, ""},
		{"arn:aws:dynamodb:us-east-1:1:table/x/stream/y", ""},
	} {
		got, err := streamTable(tc.v)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("streamTable(%v) = %q, %v; want %q", tc.v, got, err, tc.want)
		}
	}
}

// The event the poller builds is the one Lambda sends: aws-lambda-go reads
// it whole, images, sequence numbers and the TTL's identity included.
func TestLambdaEventShape(t *testing.T) {
	p := &poller{s: &Stack{DynamoDBURL: "http://dynamodb.test"}, table: "tossintl-dev-orders", streamARN: "arn:aws:dynamodb:us-east-1:123456789012:table/tossintl-dev-orders/stream/2026"}
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	img := map[string]types.AttributeValue{
		"id":     &types.AttributeValueMemberS{Value: "ord_ttl0000000000000000001"},
		"amount": &types.AttributeValueMemberN{Value: "100"},
		"m":      &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberBOOL{Value: true}}}}},
	}
	keys := map[string]types.AttributeValue{"id": img["id"]}
	ttlDeleted.mu.Lock()
	ttlDeleted.keys[ttlKey("http://dynamodb.test", "tossintl-dev-orders", keys)] = true
	ttlDeleted.mu.Unlock()
	recs := []types.Record{
		{EventID: aws.String("1"), EventName: types.OperationTypeModify, Dynamodb: &types.StreamRecord{ApproximateCreationDateTime: &at, Keys: keys,
			NewImage: img, OldImage: img, SequenceNumber: aws.String("100"), SizeBytes: aws.Int64(10), StreamViewType: types.StreamViewTypeNewAndOldImages}},
		{EventID: aws.String("2"), EventName: types.OperationTypeRemove, Dynamodb: &types.StreamRecord{ApproximateCreationDateTime: &at, Keys: keys,
			OldImage: img, SequenceNumber: aws.String("101"), StreamViewType: types.StreamViewTypeNewAndOldImages}},
	}
	b, err := p.lambdaEvent(recs)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if len(ev.Records) != 2 {
		t.Fatalf("%d records", len(ev.Records))
	}
	m, r := ev.Records[0], ev.Records[1]
	if m.EventName != "MODIFY" || m.EventSource != "aws:dynamodb" || m.EventSourceArn != p.streamARN || m.Change.SequenceNumber != "100" ||
		m.Change.NewImage["id"].String() != "ord_ttl0000000000000000001" || !m.Change.NewImage["m"].Map()["l"].List()[0].Boolean() ||
		!m.Change.ApproximateCreationDateTime.Time.Equal(at) || m.UserIdentity != nil {
		t.Errorf("MODIFY record %s", b)
	}
	if r.EventName != "REMOVE" || r.Change.NewImage != nil || r.UserIdentity == nil || r.UserIdentity.Type != "Service" || r.UserIdentity.PrincipalID != "dynamodb.amazonaws.com" {
		t.Errorf("TTL REMOVE record %s", b)
	}
}

// The stack's EventBridge: PutEvents answered as EventBridge answers it,
// each event one log line through RedactBusLog and POSTed whole to
// LOCAL_EVENTS_URL, every other call passed to its server.
func TestLocalBus(t *testing.T) {
	tpl, r := loadTemplate(t, realTemplate)
	var posted sync.WaitGroup
	var mu sync.Mutex
	var bodies []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		posted.Done()
	}))
	defer target.Close()
	moto := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { _, _ = io.WriteString(w, "moto") }))
	defer moto.Close()
	dynamo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { _, _ = io.WriteString(w, "dynamodb") }))
	defer dynamo.Close()
	var logs bytes.Buffer
	var logMu sync.Mutex
	s := &Stack{Template: tpl, Resolver: r, logs: lockedWriter{&logMu, &logs}}
	const pk = "tgen_20261129120000buskey0001"
	b := s.newBus(target.URL, func(line []byte) []byte { return bytes.ReplaceAll(line, []byte(pk), []byte("tgen****0001")) })
	s.bus = b
	front := httptest.NewServer(awsproxy.New(dynamo.URL, moto.URL, b.hook).Handler(""))
	defer front.Close()
	client := eventbridge.New(eventbridge.Options{Region: Region, Credentials: credentials.NewStaticCredentialsProvider("t", "t", ""), BaseEndpoint: aws.String(front.URL)})

	detail := `{"eventId":"e1","order":{"paymentKey":"` + pk + `","payment":{"receiptUrl":"https://sandbox/receipt/` + pk + `"}}}`
	entry := func(bus string) ebtypes.PutEventsRequestEntry {
		return ebtypes.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String("tossintl.orders"), DetailType: aws.String("Order Paid"), Detail: aws.String(detail)}
	}
	s.FailPutEvents(1)
	posted.Add(2)
	out, err := client.PutEvents(t.Context(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		entry("tossintl-dev-orders"), entry(EventBusARN("tossintl-dev-orders")), entry("default"), entry("tossintl-dev-orders"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{}
	for _, e := range out.Entries {
		codes = append(codes, aws.ToString(e.ErrorCode))
	}
	if out.FailedEntryCount != 2 || strings.Join(codes, ",") != "InternalFailure,,NotAuthorizedForResourceException," {
		t.Errorf("FailedEntryCount %d, codes %v", out.FailedEntryCount, codes)
	}
	if n := len(s.BusEvents()); n != 2 {
		t.Errorf("%d events on the bus, want 2", n)
	}
	posted.Wait()
	b.close()
	for _, body := range bodies {
		var ev BusEvent
		if json.Unmarshal([]byte(body), &ev) != nil || ev.DetailType != "Order Paid" || ev.Source != "tossintl.orders" || !strings.Contains(string(ev.Detail), pk) {
			t.Errorf("POSTed %s", body)
		}
	}
	logMu.Lock()
	l := logs.String()
	logMu.Unlock()
	if strings.Count(l, "[EventBridge] ") != 2 || !strings.Contains(l, `"detail-type":"Order Paid"`) || !strings.Contains(l, `"eventId":"e1"`) {
		t.Errorf("log:\n%s", l)
	}
	if strings.Contains(l, pk) || !strings.Contains(l, "tgen****0001") {
		t.Errorf("the log's lines did not pass through RedactBusLog:\n%s", l)
	}

	// Every other call goes to its server.
	for target, want := range map[string]string{"DynamoDB_20120810.GetItem": "dynamodb", "secretsmanager.GetSecretValue": "moto"} {
		req, _ := http.NewRequest(http.MethodPost, front.URL, strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != want {
			t.Errorf("%s answered %q, want %s's answer", target, got, want)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// deliver as Lambda's event source mapping: a batch item failure retries
// from the failed record with the records before it done; a record that
// keeps failing is set aside after MaxRetries and the stream goes on; a
// function error retries the whole rest.
func TestPollerDeliver(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	var batches [][]string
	crashes := 1
	p := &poller{s: &Stack{logs: lockedWriter{&mu, &logs}}, se: StreamEvent{Function: "F", Table: "T", MaxRetries: 2, ReportBatchItemFailures: true},
		call: func(_ context.Context, event []byte) (lambdarun.Result, error) {
			var ev events.DynamoDBEvent
			if err := json.Unmarshal(event, &ev); err != nil {
				t.Fatal(err)
			}
			var seqs []string
			for _, r := range ev.Records {
				seqs = append(seqs, r.Change.SequenceNumber)
			}
			batches = append(batches, seqs)
			if crashes > 0 {
				crashes--
				return lambdarun.Result{Error: &lambdarun.FunctionError{Type: "Runtime.ExitError", Message: "crashed"}}, nil
			}
			var failed []string
			for _, s := range seqs {
				if s == "102" { // a poison record
					failed = append(failed, `{"itemIdentifier":"102"}`)
				}
			}
			return lambdarun.Result{Payload: []byte(`{"batchItemFailures":[` + strings.Join(failed, ",") + `]}`)}, nil
		}}
	var recs []types.Record
	for _, seq := range []string{"100", "101", "102", "103"} {
		recs = append(recs, types.Record{EventID: aws.String(seq), EventName: types.OperationTypeInsert,
			Dynamodb: &types.StreamRecord{Keys: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: seq}}, SequenceNumber: aws.String(seq)}})
	}
	if err := p.deliver(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(batches)
	want := "[[100 101 102 103] [100 101 102 103] [102 103] [102 103] [102 103] [103]]"
	if got != want {
		t.Errorf("batches %s, want %s", got, want)
	}
	if !strings.Contains(logs.String(), "record 102 set aside after 2 retries") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestStreamImagesFromDynamoDBLocal reads a real stream record of
// DynamoDB Local through the poller's client: an empty map attribute,
// which DynamoDB Local writes into stream images without its type, reaches
// the function as {"M":{}}, as DynamoDB sends it.
func TestStreamImagesFromDynamoDBLocal(t *testing.T) {
	testenv.Skip(t, "DynamoDB Local")
	ctx := t.Context()
	s := &Stack{DynamoDBURL: sharedDynamoDB}
	db := s.DynamoDB()
	table := "stream-images-" + rand.Text()
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(table), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		StreamSpecification:  &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewAndOldImages}}); err != nil {
		t.Fatal(err)
	}
	empty := &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{}}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
		"id": &ddbtypes.AttributeValueMemberS{Value: "ord_1"}, "refunds": empty,
		"nested": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{empty, &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"m": empty}}}},
		"n":      &ddbtypes.AttributeValueMemberN{Value: "12"},
	}}); err != nil {
		t.Fatal(err)
	}
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	client := streamsClient(sharedDynamoDB)
	sd, err := client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: d.Table.LatestStreamArn})
	if err != nil {
		t.Fatal(err)
	}
	it, err := client.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: d.Table.LatestStreamArn,
		ShardId: sd.StreamDescription.Shards[0].ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(out.Records) != 1 {
		t.Fatalf("GetRecords: %v, %d records", err, len(out.Records))
	}
	ev, err := (&poller{s: s, table: table}).lambdaEvent(out.Records)
	if err != nil {
		t.Fatal(err)
	}
	want := `"NewImage":{"id":{"S":"ord_1"},"n":{"N":"12"},"nested":{"L":[{"M":{}},{"M":{"m":{"M":{}}}}]},"refunds":{"M":{}}}`
	if !strings.Contains(string(ev), want) {
		t.Errorf("event %s\nwant an image %s", ev, want)
	}
}
