package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tossintl/backend/shared/orderevents"
	"github.com/tossintl/backend/shared/orders"
)

// fakeEventBridge answers PutEvents as EventBridge does: one result per
// entry, an ErrorCode on the refused ones.
type fakeEventBridge struct {
	calls   [][]types.PutEventsRequestEntry
	refuse  func(detail map[string]any) bool // per entry
	failAll error                            // the whole call fails
}

func (f *fakeEventBridge) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.calls = append(f.calls, in.Entries)
	if f.failAll != nil {
		return nil, f.failAll
	}
	out := &eventbridge.PutEventsOutput{}
	for _, e := range in.Entries {
		var d map[string]any
		_ = json.Unmarshal([]byte(aws.ToString(e.Detail)), &d)
		if f.refuse != nil && f.refuse(d) {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")})
			continue
		}
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("x")})
	}
	return out, nil
}

func paidEvents(n int) []orderevents.Event {
	var evs []orderevents.Event
	for i := range n {
		o := &orders.Order{ID: "ord_bus00000000000000000001", Status: orders.StatusDone, Version: int64(i + 3)}
		evs = append(evs, orderevents.Event{Type: orderevents.Paid, ID: orderevents.ID(o.ID, o.Version), OrderID: o.ID, Version: o.Version,
			PreviousStatus: orders.StatusConfirming, Order: o, At: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)})
	}
	return evs
}

func bus(api PutEventsAPI) *Bus {
	return &Bus{API: api, Name: "tossintl-dev-orders", View: func(o *orders.Order) any { return map[string]any{"orderId": o.ID} }}
}

func TestPublish(t *testing.T) {
	cases := []struct {
		name   string
		n      int
		api    *fakeEventBridge
		calls  []int // entries per call
		failed []int // indexes that must fail
	}{
		{"one", 1, &fakeEventBridge{}, []int{1}, nil},
		{"ten per call", 23, &fakeEventBridge{}, []int{10, 10, 3}, nil},
		{"entries refused", 12, &fakeEventBridge{refuse: func(d map[string]any) bool { v := d["version"].(float64); return v == 5 || v == 14 }}, []int{10, 2}, []int{2, 11}},
		{"a call fails whole", 3, &fakeEventBridge{failAll: errors.New("connection reset")}, []int{3}, []int{0, 1, 2}},
		{"nothing", 0, &fakeEventBridge{}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := paidEvents(c.n)
			errs := bus(c.api).Publish(t.Context(), evs)
			if len(errs) != c.n {
				t.Fatalf("%d results for %d events", len(errs), c.n)
			}
			var calls []int
			for _, call := range c.api.calls {
				calls = append(calls, len(call))
			}
			if len(calls) != len(c.calls) {
				t.Fatalf("calls of %v entries, want %v", calls, c.calls)
			}
			for i := range calls {
				if calls[i] != c.calls[i] {
					t.Errorf("calls of %v entries, want %v", calls, c.calls)
				}
			}
			want := map[int]bool{}
			for _, i := range c.failed {
				want[i] = true
			}
			for i, err := range errs {
				if (err != nil) != want[i] {
					t.Errorf("event %d: error %v, want failed=%v", i, err, want[i])
				}
			}
		})
	}
}

func TestEntryShape(t *testing.T) {
	api := &fakeEventBridge{}
	evs := paidEvents(1)
	if errs := bus(api).Publish(t.Context(), evs); errs[0] != nil {
		t.Fatal(errs[0])
	}
	e := api.calls[0][0]
	if aws.ToString(e.Source) != "tossintl.orders" || aws.ToString(e.DetailType) != "Order Paid" || aws.ToString(e.EventBusName) != "tossintl-dev-orders" {
		t.Errorf("entry %+v", e)
	}
	if e.Time == nil || !e.Time.Equal(evs[0].At) {
		t.Errorf("entry time %v, want the event's", e.Time)
	}
	var d struct {
		EventID string         `json:"eventId"`
		Order   map[string]any `json:"order"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil || d.EventID != evs[0].ID || d.Order["orderId"] != evs[0].OrderID {
		t.Errorf("detail %s (%v)", aws.ToString(e.Detail), err)
	}
}
