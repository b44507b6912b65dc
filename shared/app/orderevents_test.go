package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// Every order event fits in one PutEvents entry whatever the number of
// refunds: the event embeds the newest cancels, at most
// orderevents.MaxEmbeddedCancels in each list, says it left the others out
// (truncated, cancelsOmitted), and keeps the amounts whole. The endpoint
// refuses as EventBridge does an entry over 256 KB, counted as AWS counts
// it. The reasons are the longest Toss takes (200 characters) of the
// character JSON writes longest ('<' as \u003c).
func TestOrderEventsFitPutEventsWhateverTheRefunds(t *testing.T) {
	const limit = 256 << 10
	type entry struct {
		Source, DetailType, Detail string
		Time                       *float64
	}
	var got []entry
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Entries []entry }
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &in) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		size := 0
		for _, e := range in.Entries {
			size += len(e.Source) + len(e.DetailType) + len(e.Detail)
			if e.Time != nil {
				size += 14
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if size > limit {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"ValidationException","message":"Total size of the entries in the request is over the limit."}`)
			return
		}
		got = append(got, in.Entries...)
		_, _ = io.WriteString(w, `{"FailedEntryCount":0,"Entries":[`+strings.TrimSuffix(strings.Repeat(`{"EventId":"1"},`, len(in.Entries)), ",")+`]}`)
	}))
	defer srv.Close()
	vars := map[string]string{"EVENT_BUS_NAME": "tossintl-dev-orders", "API_URL": "https://abc.execute-api.us-east-1.amazonaws.com",
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL_EVENTBRIDGE": srv.URL,
		"AWS_MAX_ATTEMPTS": "1"}
	h := wire(t, vars, nil, func(a *App) {}).app.OrderEvents()
	reason := strings.Repeat("<", 200)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, refunds := range []int{1, orderevents.MaxEmbeddedCancels, orderevents.MaxEmbeddedCancels + 1, 400, 3000} {
		t.Run(itoa(refunds)+" refunds", func(t *testing.T) {
			got = nil
			total := int64(refunds) * 1000
			paid := &orders.Order{ID: "ord_app0000000000000000002", Name: strings.Repeat("<", 100), Amount: total, Currency: "KRW",
				Status: orders.StatusDone, Version: 4, PaymentKey: "tgen_20261201120000refunds01", UpdatedAt: at,
				Payment: &orders.Payment{Status: "DONE", TotalAmount: total, BalanceAmount: total}}
			refunded := *paid
			p := *paid.Payment
			for i := range refunds {
				p.Cancels = append(p.Cancels, orders.Cancel{TransactionKey: "tx" + itoa(i) + strings.Repeat("0", 60), Reason: reason, Amount: 1000, CanceledAt: at})
			}
			p.BalanceAmount, p.Status = 0, "CANCELED"
			refunded.Payment, refunded.Status, refunded.Version = &p, orders.StatusCanceled, 5
			// Leaving DONE, every cancel on the payment is the event's.
			e := mustEvent(t, paid, &refunded)
			if errs := h.Bus.Publish(t.Context(), []orderevents.Event{e}); errs[0] != nil {
				t.Fatal(errs[0])
			}
			if len(got) != 1 {
				t.Fatalf("%d entries put", len(got))
			}
			var d struct {
				Truncated      bool
				CancelsOmitted int
				Order          struct {
					Payment struct {
						Cancels []struct{ TransactionKey string }
					}
				}
				Refund struct {
					RefundedAmount int64
					CancelsOmitted int
					Cancels        []struct{ TransactionKey string }
				}
			}
			if err := json.Unmarshal([]byte(got[0].Detail), &d); err != nil {
				t.Fatal(err)
			}
			embedded := min(refunds, orderevents.MaxEmbeddedCancels)
			if n := len(d.Order.Payment.Cancels); n > embedded || (refunds <= orderevents.MaxEmbeddedCancels && n != refunds) {
				t.Errorf("order.payment.cancels: %d of %d", n, refunds)
			}
			omitted := refunds - len(d.Order.Payment.Cancels)
			if d.CancelsOmitted != omitted || d.Refund.CancelsOmitted != refunds-len(d.Refund.Cancels) || d.Truncated != (omitted > 0) {
				t.Errorf("truncated %v, cancelsOmitted %d and %d, for %d refunds and %d embedded", d.Truncated, d.CancelsOmitted, d.Refund.CancelsOmitted, refunds, len(d.Order.Payment.Cancels))
			}
			if len(d.Order.Payment.Cancels) > 0 && d.Order.Payment.Cancels[len(d.Order.Payment.Cancels)-1].TransactionKey != p.Cancels[refunds-1].TransactionKey {
				t.Error("the newest cancel is not embedded")
			}
			if d.Refund.RefundedAmount != total {
				t.Errorf("refundedAmount %d, want %d", d.Refund.RefundedAmount, total)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
