package orderstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tossintl/backend/shared/obs"
	"github.com/tossintl/backend/shared/orderevents"
)

const orderID = "ord_stream0000000000000000001"

// img is an order item image in the stream's JSON, as DynamoDB writes it.
func img(status string, version int, balance int) string {
	s := fmt.Sprintf(`{"id":{"S":%q},"name":{"S":"Tea set"},"amount":{"N":"50000"},"currency":{"S":"KRW"},"status":{"S":%q},"version":{"N":"%d"},"listKey":{"S":"ORDER"},"createdAt":{"N":"1764417600000"},"updatedAt":{"N":"%d"}`,
		orderID, status, version, 1764417600000+version*60000)
	if status == "FAILED" {
		// Fail records the declined attempt's failure with the status.
		s += `,"paymentKey":{"S":"tgen_fake_declined_key_01"},"lastFailure":{"M":{"code":{"S":"REJECT_CARD_COMPANY"},"paymentKey":{"S":"tgen_fake_declined_key_01"},"amount":{"N":"50000"}}}`
	}
	if balance > 0 || status == "CANCELED" {
		s += fmt.Sprintf(`,"paymentKey":{"S":"tgen_fake_key_for_tests_0001"},"payment":{"M":{"status":{"S":%q},"totalAmount":{"N":"50000"},"balanceAmount":{"N":"%d"}}}`, status, balance)
	}
	return s + "}"
}

// record is a stream record of eventName with the given images ("" for none).
func record(t *testing.T, seq, eventName, oldImg, newImg string, ttl bool) events.DynamoDBEventRecord {
	t.Helper()
	b := `{"eventID":"e` + seq + `","eventName":"` + eventName + `","eventSource":"aws:dynamodb","awsRegion":"us-east-1",` +
		`"eventSourceARN":"arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-29T00:00:00.000",`
	if ttl {
		b += `"userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com"},`
	}
	b += `"dynamodb":{"ApproximateCreationDateTime":1764417600,"Keys":{"id":{"S":"` + orderID + `"}},"SequenceNumber":"` + seq + `","SizeBytes":100,"StreamViewType":"NEW_AND_OLD_IMAGES"`
	if oldImg != "" {
		b += `,"OldImage":` + oldImg
	}
	if newImg != "" {
		b += `,"NewImage":` + newImg
	}
	b += "}}"
	var r events.DynamoDBEventRecord
	if err := json.Unmarshal([]byte(b), &r); err != nil {
		t.Fatalf("record: %v\n%s", err, b)
	}
	return r
}

// fakeBus records what it is asked to publish and refuses the events
// whose types are in refuse.
type fakeBus struct {
	published []orderevents.Event
	refuse    map[orderevents.Type]bool
}

func (f *fakeBus) Publish(_ context.Context, evs []orderevents.Event) []error {
	errs := make([]error, len(evs))
	for i, e := range evs {
		if f.refuse[e.Type] {
			errs[i] = errors.New("entry refused: InternalFailure")
			continue
		}
		f.published = append(f.published, e)
	}
	return errs
}

func handler(bus Publisher, logs *bytes.Buffer) *Handler {
	return &Handler{Bus: bus, Log: obs.NewLogger(logs, "OrderEventsFunction"), Metrics: obs.NewMetrics(logs, "OrderEventsFunction")}
}

func failures(resp events.DynamoDBEventResponse) []string {
	var out []string
	for _, f := range resp.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	return out
}

func TestHandle(t *testing.T) {
	cases := []struct {
		name     string
		records  func(t *testing.T) []events.DynamoDBEventRecord
		refuse   map[orderevents.Type]bool
		types    []orderevents.Type
		failures []string
	}{
		{"a batch of every kind of write", func(t *testing.T) []events.DynamoDBEventRecord {
			return []events.DynamoDBEventRecord{
				record(t, "100", "INSERT", "", img("PENDING", 1, 0), false),
				record(t, "101", "MODIFY", img("PENDING", 1, 0), img("CONFIRMING", 2, 0), false),
				record(t, "102", "MODIFY", img("CONFIRMING", 2, 0), img("DONE", 3, 50000), false),
				record(t, "103", "MODIFY", img("DONE", 3, 50000), img("DONE", 4, 50000), false),
				record(t, "104", "MODIFY", img("DONE", 4, 50000), img("PARTIAL_CANCELED", 5, 40000), false),
			}
		}, nil, []orderevents.Type{orderevents.Paid, orderevents.Refunded}, nil},
		{"TTL removal and a merchant's delete", func(t *testing.T) []events.DynamoDBEventRecord {
			return []events.DynamoDBEventRecord{
				record(t, "200", "REMOVE", img("PENDING", 1, 0), "", true),
				record(t, "201", "REMOVE", img("FAILED", 3, 0), "", false),
			}
		}, nil, []orderevents.Type{orderevents.Expired, orderevents.Deleted}, nil},
		{"a poison record fails alone", func(t *testing.T) []events.DynamoDBEventRecord {
			return []events.DynamoDBEventRecord{
				record(t, "300", "MODIFY", img("CONFIRMING", 2, 0), img("DONE", 3, 50000), false),
				record(t, "301", "MODIFY", img("PENDING", 1, 0), strings.Replace(img("EXPIRED", 2, 0), `"EXPIRED"`, `"MELTED"`, 1), false),
				record(t, "302", "MODIFY", `{"id":{"S":"`+orderID+`"}}`, img("FAILED", 3, 0), false),
				record(t, "303", "REMOVE", "", "", false),
				record(t, "304", "MODIFY", img("CONFIRMING", 2, 0), img("FAILED", 3, 0), false),
			}
		}, nil, []orderevents.Type{orderevents.Paid, orderevents.PaymentFailed}, []string{"301", "302", "303"}},
		{"entries PutEvents refused are batch item failures", func(t *testing.T) []events.DynamoDBEventRecord {
			return []events.DynamoDBEventRecord{
				record(t, "400", "MODIFY", img("CONFIRMING", 2, 0), img("DONE", 3, 50000), false),
				record(t, "401", "MODIFY", img("DONE", 3, 50000), img("CANCELED", 4, 0), false),
				record(t, "402", "MODIFY", img("PENDING", 1, 0), img("EXPIRED", 2, 0), false),
			}
		}, map[orderevents.Type]bool{orderevents.Refunded: true}, []orderevents.Type{orderevents.Paid, orderevents.Expired}, []string{"401"}},
		{"nothing to say", func(t *testing.T) []events.DynamoDBEventRecord {
			return []events.DynamoDBEventRecord{record(t, "500", "MODIFY", img("FAILED", 3, 0), img("FAILED", 4, 0), false)}
		}, nil, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bus := &fakeBus{refuse: c.refuse}
			var logs bytes.Buffer
			resp, err := handler(bus, &logs).Handle(t.Context(), events.DynamoDBEvent{Records: c.records(t)})
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			var got []orderevents.Type
			for _, e := range bus.published {
				got = append(got, e.Type)
			}
			if !slices.Equal(got, c.types) {
				t.Errorf("published %v, want %v", got, c.types)
			}
			if f := failures(resp); !slices.Equal(f, c.failures) {
				t.Errorf("batch item failures %v, want %v", f, c.failures)
			}
			if resp.BatchItemFailures == nil {
				t.Error("batchItemFailures is null: Lambda reads an empty list as success, null as well, but send the list")
			}
			if strings.Contains(logs.String(), "tgen_fake_key_for_tests_0001") {
				t.Errorf("a paymentKey in the logs:\n%s", logs.String())
			}
		})
	}
}

// Redelivering a batch (Lambda retries it from a failure) publishes the
// same event IDs again, never new ones.
func TestRedeliveryPublishesTheSameIDs(t *testing.T) {
	recs := []events.DynamoDBEventRecord{
		record(t, "1", "MODIFY", img("CONFIRMING", 2, 0), img("DONE", 3, 50000), false),
		record(t, "2", "MODIFY", img("DONE", 3, 50000), img("PARTIAL_CANCELED", 4, 40000), false),
		record(t, "3", "REMOVE", img("PENDING", 1, 0), "", true),
	}
	bus := &fakeBus{}
	var logs bytes.Buffer
	h := handler(bus, &logs)
	for range 3 {
		if _, err := h.Handle(t.Context(), events.DynamoDBEvent{Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]int{}
	for _, e := range bus.published {
		ids[e.ID]++
	}
	if len(bus.published) != 9 || len(ids) != 3 {
		t.Errorf("%d events with %d distinct IDs over 3 deliveries of 3 records, want 9 and 3", len(bus.published), len(ids))
	}
}

func TestItemRefusesMalformedValues(t *testing.T) {
	if _, err := Item(map[string]events.DynamoDBAttributeValue{"id": {}}); err == nil {
		t.Error("a zero attribute value: no error")
	}
	var r events.DynamoDBEventRecord
	raw := `{"eventName":"MODIFY","dynamodb":{"SequenceNumber":"9","OldImage":` + img("DONE", 3, 50000) +
		`,"NewImage":{"id":{"S":"` + orderID + `"},"status":{"S":"DONE"},"amount":{"N":"50000"},"version":{"N":"4"},"payment":{"NULL":true}}}}`
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	if _, err := ChangeOf(r); err == nil {
		t.Error("a NULL payment: no error")
	}
	other := record(t, "10", "MODIFY", img("PENDING", 1, 0), strings.Replace(img("EXPIRED", 2, 0), orderID, "ord_other000000000000000001", 1), false)
	if _, err := ChangeOf(other); err == nil {
		t.Error("images of two orders: no error")
	}
}
