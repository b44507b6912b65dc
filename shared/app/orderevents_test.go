package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tossintl/backend/shared/orderevents"
	"github.com/tossintl/backend/shared/orders"
)

func TestOrderEventsRefusesMissingSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"no bus", map[string]string{"API_URL": "https://api.example.com"}, "EVENT_BUS_NAME must be set"},
		{"no URL for the checkout links", map[string]string{"EVENT_BUS_NAME": "tossintl-dev-orders"}, "PUBLIC_BASE_URL or API_URL must be set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := wire(t, tc.vars, nil, func(a *App) { a.OrderEvents() })
			if w.exit != 1 || !strings.Contains(w.log, tc.want) {
				t.Errorf("exit %d, log %s; want exit 1 saying %q", w.exit, w.log, tc.want)
			}
		})
	}
}

// The wired handler puts the events on EVENT_BUS_NAME at the EventBridge
// endpoint of the environment, each order in the API's view with its
// checkout URL on API_URL.
func TestOrderEventsPutsOnTheBus(t *testing.T) {
	var target, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		target, body = r.Header.Get("X-Amz-Target"), string(b)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, `{"FailedEntryCount":0,"Entries":[{"EventId":"1"}]}`)
	}))
	defer srv.Close()
	vars := map[string]string{"EVENT_BUS_NAME": "tossintl-dev-orders", "API_URL": "https://abc.execute-api.us-east-1.amazonaws.com",
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL_EVENTBRIDGE": srv.URL}
	w := wire(t, vars, nil, func(a *App) {})
	h := w.app.OrderEvents()
	o := &orders.Order{ID: "ord_app0000000000000000001", Status: orders.StatusExpired, Version: 2, UpdatedAt: time.Now()}
	old := *o
	old.Status, old.Version = orders.StatusPending, 1
	errs := h.Bus.Publish(t.Context(), []orderevents.Event{mustEvent(t, &old, o)})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	if target != "AWSEvents.PutEvents" {
		t.Errorf("target %q", target)
	}
	var in struct {
		Entries []struct{ EventBusName, Source, DetailType, Detail string }
	}
	if err := json.Unmarshal([]byte(body), &in); err != nil || len(in.Entries) != 1 {
		t.Fatalf("request %s (%v)", body, err)
	}
	e := in.Entries[0]
	if e.EventBusName != "tossintl-dev-orders" || e.Source != "tossintl.orders" || e.DetailType != "Order Expired" ||
		!strings.Contains(e.Detail, `"checkoutUrl":"https://abc.execute-api.us-east-1.amazonaws.com/checkout/ord_app0000000000000000001"`) {
		t.Errorf("entry %+v", e)
	}
	if _, err := h.Handle(t.Context(), events.DynamoDBEvent{}); err != nil {
		t.Errorf("an empty batch: %v", err)
	}
}

func mustEvent(t *testing.T, old, cur *orders.Order) orderevents.Event {
	t.Helper()
	e, ok := orderevents.From(orderevents.Change{Old: old, New: cur})
	if !ok {
		t.Fatal("no event")
	}
	return e
}
