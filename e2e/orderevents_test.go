package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	sampleevents "github.com/tossintl/backend/events"
	"github.com/tossintl/backend/internal/wait"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// orderEvent is an order event as a rule's target receives it.
type orderEvent struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Detail     struct {
		EventID        string `json:"eventId"`
		OrderID        string `json:"orderId"`
		Version        int64  `json:"version"`
		Status         string `json:"status"`
		PreviousStatus string `json:"previousStatus"`
		Order          struct {
			OrderID     string `json:"orderId"`
			Status      string `json:"status"`
			CheckoutURL string `json:"checkoutUrl"`
			Payment     *struct {
				BalanceAmount int64 `json:"balanceAmount"`
			} `json:"payment"`
		} `json:"order"`
		Refund *struct {
			RefundedAmount int64 `json:"refundedAmount"`
			BalanceAmount  int64 `json:"balanceAmount"`
		} `json:"refund"`
	} `json:"detail"`
}

func busEvents(t *testing.T, s *stack.Stack) []orderEvent {
	t.Helper()
	var out []orderEvent
	for _, e := range s.BusEvents() {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var oe orderEvent
		if err := json.Unmarshal(b, &oe); err != nil {
			t.Fatalf("bus event %s: %v", b, err)
		}
		out = append(out, oe)
	}
	return out
}

// distinct keeps the first event of each eventId: what a consumer that
// drops duplicates keeps.
func distinct(evs []orderEvent) []orderEvent {
	seen := map[string]bool{}
	var out []orderEvent
	for _, e := range evs {
		if !seen[e.Detail.EventID] {
			seen[e.Detail.EventID] = true
			out = append(out, e)
		}
	}
	return out
}

func ofOrder(evs []orderEvent, id string) []orderEvent {
	var out []orderEvent
	for _, e := range evs {
		if e.Detail.OrderID == id {
			out = append(out, e)
		}
	}
	return out
}

func detailTypes(evs []orderEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.DetailType)
	}
	return out
}

// eventSink is the merchant's endpoint of LOCAL_EVENTS_URL.
type eventSink struct {
	mu  sync.Mutex
	ids []string
}

func (k *eventSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var e orderEvent
	if r.Method != http.MethodPost || json.Unmarshal(b, &e) != nil || e.Source != "tossintl.orders" {
		http.Error(w, "not an order event", http.StatusBadRequest)
		return
	}
	k.mu.Lock()
	k.ids = append(k.ids, e.Detail.EventID)
	k.mu.Unlock()
}

func (k *eventSink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.ids)
}

// The orders table's stream, through the events function's real bootstrap
// and the local stack's poller, as Lambda's event source mapping runs it:
// a storm of duplicate confirms makes one Order Paid, each refund one Order
// Refunded, a TTL deletion Order Expired, a merchant's delete Order
// Deleted; EventBridge refusing entries, and the whole stream delivered a
// second time, make no new eventIds.
func TestOrderEventsFromTheStream(t *testing.T) {
	sink := &eventSink{}
	target := httptest.NewServer(sink)
	defer target.Close()
	calls := &stack.AWSRecorder{}
	s, logs := startStack(t, stack.Options{EventsURL: target.URL, AWSProxy: calls.Proxy})
	// EventBridge refuses the first entries: the function reports them as
	// batch item failures and the poller retries from there.
	s.FailPutEvents(2)
	streams, err := s.RunStreams(t.Context(), 50*time.Millisecond)
	if err != nil || len(streams) != 1 || streams[0].Function != "OrderEventsFunction" || !streams[0].ReportBatchItemFailures {
		t.Fatalf("RunStreams: %+v, %v", streams, err)
	}

	merchant := map[string]string{"Authorization": basic(stack.DefaultMerchantAPIKey), "Content-Type": "application/json"}
	create := func(name string, amount int64) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"orderName": name, "amount": amount})
		r := do(t, "POST", s.URL+"/orders", merchant, body)
		var env struct{ EntityBody struct{ OrderID string } }
		if r.Status != 200 || json.Unmarshal(r.Body, &env) != nil {
			t.Fatalf("create order: %d %s", r.Status, r.Body)
		}
		return env.EntityBody.OrderID
	}
	refund := func(pk string, amount int64, key string) {
		t.Helper()
		b := map[string]any{"cancelReason": "customer request"}
		if amount > 0 {
			b["cancelAmount"] = amount
		}
		body, _ := json.Marshal(b)
		h := map[string]string{"Idempotency-Key": key}
		for k, v := range merchant {
			h[k] = v
		}
		if r := do(t, "POST", s.URL+"/payments/"+pk+"/cancel", h, body); r.Status != 200 {
			t.Fatalf("refund %d: %d %s", amount, r.Status, r.Body)
		}
		// Toss's webhook of this refund lands before the next refund, as
		// it would minutes apart, so each write records one refund.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		if err := s.Sandbox.WaitWebhooks(ctx); err != nil {
			t.Fatalf("webhooks: %v", err)
		}
	}

	// Paid, under a storm of duplicate confirms.
	paid := create("Tea set", 39000)
	pk := s.Sandbox.Authorize(paid, "Tea set", 39000)
	confirm, _ := json.Marshal(map[string]any{"paymentKey": pk, "orderId": paid, "amount": 39000})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resp, err := http.Post(s.URL+"/payments/confirm", "application/json", strings.NewReader(string(confirm)))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if r := do(t, "POST", s.URL+"/payments/confirm", map[string]string{"Content-Type": "application/json"}, confirm); r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	// Three refunds, one of them retried under its Idempotency-Key.
	refund(pk, 10000, "refund-1")
	refund(pk, 10000, "refund-1")
	refund(pk, 5000, "refund-2")
	refund(pk, 0, "refund-rest")

	// Declined by Toss: the attempt is one Toss issued, for another order
	// (403 FORBIDDEN_REQUEST), a fact about this one.
	declined := create("Declined card", 12000)
	another := create("Another cart", 12000)
	stray := s.Sandbox.Authorize(another, "Another cart", 12000)
	body, _ := json.Marshal(map[string]any{"paymentKey": stray, "orderId": declined, "amount": 12000})
	if r := do(t, "POST", s.URL+"/payments/confirm", map[string]string{"Content-Type": "application/json"}, body); r.Status != 403 {
		t.Fatalf("confirm of another order's payment: %d %s", r.Status, r.Body)
	}
	// A paymentKey Toss never issued (anyone who knows the orderId can
	// send one) is no fact about the order: no event, however many.
	forged := create("Forged attempts", 12000)
	for i := range 3 {
		body, _ := json.Marshal(map[string]any{"paymentKey": fmt.Sprintf("tgen_20261129000000forged%02d", i), "orderId": forged, "amount": 12000})
		if r := do(t, "POST", s.URL+"/payments/confirm", map[string]string{"Content-Type": "application/json"}, body); r.Status != 404 {
			t.Fatalf("confirm of a made-up payment: %d %s", r.Status, r.Body)
		}
	}

	// Removed by the TTL, and deleted by the merchant.
	expired := create("Abandoned cart", 8000)
	deleted := create("Changed my mind", 9000)
	if err := s.DeleteAsTTL(t.Context(), "OrdersTable", "id", expired); err != nil {
		t.Fatal(err)
	}
	deleteOrder := func(id string) {
		t.Helper()
		if r := do(t, "DELETE", s.URL+"/orders/"+id, merchant, nil); r.Status != 200 {
			t.Fatalf("delete %s: %d %s", id, r.Status, r.Body)
		}
	}
	deleteOrder(deleted)

	want := map[string][]string{
		paid:     {"Order Paid", "Order Refunded", "Order Refunded", "Order Refunded"},
		declined: {"Order Payment Failed"},
		expired:  {"Order Expired"},
		deleted:  {"Order Deleted"},
	}
	wait.For(t, time.Minute, "the order events", func() bool {
		evs := distinct(busEvents(t, s))
		for id, w := range want {
			if len(ofOrder(evs, id)) < len(w) {
				return false
			}
		}
		return true
	})
	// Whatever else the writes above were to put on the bus is there once
	// a write made after them has its event there: the orders table's
	// stream is one shard, read in order, and the poller hands the
	// function a batch only once every earlier one is through. The marker
	// is an order made and deleted now.
	if n := streamShards(t, s, "OrdersTable"); n != 1 {
		t.Fatalf("the orders table's stream has %d shards: a write made last is not known to be read last", n)
	}
	marker := create("Marker", 1000)
	deleteOrder(marker)
	want[marker] = []string{"Order Deleted"}
	markerOn := func(evs []orderEvent) int { return len(ofOrder(evs, marker)) }
	wait.For(t, time.Minute, "the marker order's Order Deleted", func() bool { return markerOn(busEvents(t, s)) > 0 })
	first := busEvents(t, s)
	check := func(evs []orderEvent) {
		t.Helper()
		got := distinct(evs)
		for id, w := range want {
			if g := detailTypes(ofOrder(got, id)); strings.Join(g, ",") != strings.Join(w, ",") {
				t.Errorf("order %s: events %v, want %v", id, g, w)
			}
		}
		if len(got) != 8 {
			t.Errorf("%d distinct events, want 8: %v", len(got), detailTypes(got))
		}
		if g := ofOrder(got, forged); len(g) != 0 {
			t.Errorf("made-up paymentKeys put events on the bus: %v", detailTypes(g))
		}
		if g := ofOrder(got, another); len(g) != 0 {
			t.Errorf("an attempt confirmed against another order put events of its own order on the bus: %v", detailTypes(g))
		}
		var refunded []int64
		for _, e := range ofOrder(got, paid) {
			if e.Source != "tossintl.orders" || e.Detail.Order.OrderID != paid || !strings.HasSuffix(e.Detail.Order.CheckoutURL, "/checkout/"+paid) {
				t.Errorf("event %+v", e)
			}
			if e.Detail.Refund != nil {
				refunded = append(refunded, e.Detail.Refund.RefundedAmount)
			}
		}
		if fmt.Sprint(refunded) != "[10000 5000 24000]" {
			t.Errorf("refunds %v, want [10000 5000 24000]", refunded)
		}
		for _, e := range ofOrder(got, expired) {
			if e.Detail.Order.Status != "EXPIRED" || e.Detail.PreviousStatus != "PENDING" {
				t.Errorf("TTL expiry: %+v", e.Detail)
			}
		}
	}
	check(first)

	// The whole stream again, as a retried batch or a second poller would
	// deliver it: every event again, no new eventId. The second poller is
	// through the stream once it has put the marker's event again.
	if _, err := s.RunStreams(t.Context(), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	wait.For(t, time.Minute, "the stream delivered again, to the marker", func() bool { return markerOn(busEvents(t, s)) > markerOn(first) })
	again := busEvents(t, s)
	check(again)
	if len(distinct(again)) != len(distinct(first)) {
		t.Errorf("redelivery made %d new eventIds", len(distinct(again))-len(distinct(first)))
	}

	// Every event reached LOCAL_EVENTS_URL; each is one [EventBridge] log
	// line with its detail-type and eventId.
	wait.For(t, time.Minute, "the events at LOCAL_EVENTS_URL", func() bool { return sink.count() >= len(again) })
	for _, e := range distinct(again) {
		if !strings.Contains(logs.String(), `"detail-type":"`+e.DetailType+`"`) || !strings.Contains(logs.String(), `"eventId":"`+e.Detail.EventID+`"`) {
			t.Errorf("no log line for event %s (%s)", e.Detail.EventID, e.DetailType)
		}
	}
	// Least privilege: the events function puts on its own bus, nothing else.
	checkGranted(t, calls, s, "OrderEventsFunction", "events:PutEvents")
	for _, c := range calls.Calls("OrderEventsFunction") {
		if c.Action != "events:PutEvents" || c.Resource != stack.EventBusARN("tossintl-dev-orders") {
			t.Errorf("OrderEventsFunction called %s on %s", c.Action, c.Resource)
		}
	}
}

// streamShards is how many shards the stream of the template's table
// tableID has.
func streamShards(t *testing.T, s *stack.Stack, tableID string) int {
	t.Helper()
	name, err := s.TableName(tableID)
	if err != nil {
		t.Fatal(err)
	}
	table, err := s.DynamoDB().DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatalf("describe %s: %v", name, err)
	}
	creds := credentials.NewStaticCredentialsProvider(stack.LocalAccessKeyID, stack.LocalSecretAccessKey, "")
	stream, err := dynamodbstreams.New(dynamodbstreams.Options{Region: stack.Region, Credentials: creds, BaseEndpoint: aws.String(s.DynamoDBURL)}).
		DescribeStream(t.Context(), &dynamodbstreams.DescribeStreamInput{StreamArn: table.Table.LatestStreamArn})
	if err != nil {
		t.Fatalf("describe the stream of %s: %v", name, err)
	}
	return len(stream.StreamDescription.Shards)
}

// Each sample stream event in events/ makes the event its name says
// through the function's real bootstrap, and the same eventId each time it
// is delivered.
func TestOrderEventSamples(t *testing.T) {
	s, _ := startEventsStack(t, stack.Options{Functions: []string{"OrderEventsFunction"}})
	cases := []struct {
		file, want string
		refunded   int64
	}{
		{"order-events.json", "Order Paid", 0},
		{"order-events-refund.json", "Order Refunded", 10000},
		{"order-events-ttl-expiry.json", "Order Expired", 0},
		{"order-events-no-status-change.json", "", 0},
	}
	ids := map[string]string{}
	for round := range 2 {
		for _, c := range cases {
			event, err := sampleevents.Read(c.file)
			if err != nil {
				t.Fatal(err)
			}
			before := len(s.BusEvents())
			res, err := s.Invoke(t.Context(), "OrderEventsFunction", event)
			if err != nil || res.Error != nil || string(res.Payload) != `{"batchItemFailures":[]}` {
				t.Fatalf("%s: %v %+v %s", c.file, err, res.Error, res.Payload)
			}
			evs := busEvents(t, s)[before:]
			if c.want == "" {
				if len(evs) != 0 {
					t.Errorf("%s: events %v, want none", c.file, detailTypes(evs))
				}
				continue
			}
			if len(evs) != 1 || evs[0].DetailType != c.want {
				t.Fatalf("%s: events %v, want one %s", c.file, detailTypes(evs), c.want)
			}
			if r := evs[0].Detail.Refund; c.refunded > 0 && (r == nil || r.RefundedAmount != c.refunded) {
				t.Errorf("%s: refund %+v, want %d", c.file, r, c.refunded)
			}
			if round == 0 {
				ids[c.file] = evs[0].Detail.EventID
			} else if ids[c.file] != evs[0].Detail.EventID {
				t.Errorf("%s: eventId %s on redelivery, was %s", c.file, evs[0].Detail.EventID, ids[c.file])
			}
		}
	}
}
