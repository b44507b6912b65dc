package tosstest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/tools/tossrules"
)

// receiver is a merchant's webhook endpoint: it keeps every body and
// answers the n-th delivery (1-based) with answer(n).
type receiver struct {
	URL    string
	mu     sync.Mutex
	bodies [][]byte
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	t.Helper()
	r := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		n := len(r.bodies)
		r.mu.Unlock()
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(answer(n))
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func always(status int) func(int) int { return func(int) int { return status } }

// got decodes the bodies received so far.
func (r *receiver) got(t *testing.T) []wireWebhookView {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]wireWebhookView, len(r.bodies))
	for i, b := range r.bodies {
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatalf("webhook body %d is not JSON: %v: %s", i, err, b)
		}
	}
	return out
}

type wireWebhookView struct {
	EventType string `json:"eventType"`
	CreatedAt string `json:"createdAt"`
	Data      struct {
		PaymentKey    string `json:"paymentKey"`
		OrderID       string `json:"orderId"`
		Status        string `json:"status"`
		TotalAmount   int64  `json:"totalAmount"`
		BalanceAmount int64  `json:"balanceAmount"`
		Cancels       []struct {
			CancelAmount int64 `json:"cancelAmount"`
		} `json:"cancels"`
	} `json:"data"`
}

func waitWebhooks(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // only keeps a broken test from hanging
	defer cancel()
	if err := s.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
}

func cancelCall(key, body, idemKey string) call {
	c := call{Method: http.MethodPost, Path: "/v1/payments/" + key + "/cancel", Body: body}
	if idemKey != "" {
		c.Header = map[string]string{"Idempotency-Key": idemKey}
	}
	return c
}

// paid authorizes and confirms a payment of amount for order.
func paid(t *testing.T, s *Server, order string, amount int64) string {
	t.Helper()
	key := s.Authorize(order, "Tea", amount)
	wantOK(t, mustSend(t, s, confirmCall(key, order, amount, "")))
	return key
}

var zonelessMicros = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

func TestWebhooksFollowStatusChanges(t *testing.T) {
	at := time.Date(2026, 11, 22, 3, 18, 14, 123456789, time.UTC) // 12:18:14.123456 in Seoul
	r := newReceiver(t, always(http.StatusOK))
	s := NewServer(t, WithClock(func() time.Time { return at }), WithWebhookURL(r.URL))
	const order = "order-webhook-1"
	key := paid(t, s, order, 10000)
	waitWebhooks(t, s)
	steps := []struct {
		call    call
		status  string
		balance int64
	}{
		{cancelCall(key, `{"cancelReason":"one cup broken","cancelAmount":3000}`, "k-1"), StatusPartialCanceled, 7000},
		{cancelCall(key, `{"cancelReason":"one cup broken","cancelAmount":3000}`, "k-1"), StatusPartialCanceled, 7000}, // replay: no event
		{cancelCall(key, `{"cancelReason":"returned"}`, "k-2"), StatusCanceled, 0},
		{cancelCall(key, `{"cancelReason":"again"}`, "k-3"), StatusCanceled, 0}, // refused: no event
	}
	for _, st := range steps {
		mustSend(t, s, st.call)
		waitWebhooks(t, s)
	}
	// Answers that execute nothing make no event either.
	tc := cancelCall(key, `{"cancelReason":"x"}`, "")
	tc.Header = map[string]string{"TossPayments-Test-Code": "PROVIDER_ERROR"}
	mustSend(t, s, tc)
	waitWebhooks(t, s)

	got := r.got(t)
	want := []struct {
		status  string
		balance int64
		cancels int
	}{{StatusDone, 10000, 0}, {StatusPartialCanceled, 7000, 1}, {StatusCanceled, 0, 2}}
	if len(got) != len(want) {
		t.Fatalf("received %d webhooks, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.EventType != EventPaymentStatusChanged || g.CreatedAt != "2026-11-22T12:18:14.123456" || !zonelessMicros.MatchString(g.CreatedAt) {
			t.Errorf("webhook %d: eventType %q createdAt %q", i, g.EventType, g.CreatedAt)
		}
		if g.Data.PaymentKey != key || g.Data.OrderID != order || g.Data.TotalAmount != 10000 ||
			g.Data.Status != w.status || g.Data.BalanceAmount != w.balance || len(g.Data.Cancels) != w.cancels {
			t.Errorf("webhook %d: data %+v, want %s balance %d with %d cancels", i, g.Data, w.status, w.balance, w.cancels)
		}
	}
	events := s.WebhookEvents()
	deliveries := s.Webhooks()
	if len(events) != 3 || len(deliveries) != 3 {
		t.Fatalf("%d events, %d deliveries", len(events), len(deliveries))
	}
	for i, d := range deliveries {
		e := events[i]
		if d.EventID != e.ID || e.ID != i+1 || d.Attempt != 1 || d.Status != http.StatusOK || d.Err != "" || d.URL != r.URL || d.Redelivery ||
			e.PaymentKey != key || e.OrderID != order || e.Status != want[i].status || e.Balance != want[i].balance || e.Held {
			t.Errorf("delivery %d: %+v of event %+v", i, d, e)
		}
	}
}

func TestWebhookRetriesOnTossSchedule(t *testing.T) {
	tests := []struct {
		name      string
		failFirst int // deliveries answered 500 before 200; 8 or more: never delivered
		drop      bool
	}{
		{"delivered at once", 0, false},
		{"one retry", 1, false},
		{"three retries", 3, false},
		{"last retry", 7, false},
		{"never answered 200", 100, false},
		{"unreachable", 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, func(n int) int {
				if n <= tt.failFirst {
					return http.StatusInternalServerError
				}
				return http.StatusOK
			})
			url := r.URL
			if tt.drop {
				dead := httptest.NewServer(http.NotFoundHandler())
				url = dead.URL
				dead.Close()
			}
			s := NewServer(t, WithWebhookURL(url), WithWebhookRetryUnit(time.Microsecond))
			paid(t, s, "order-webhook-retry", 5000)
			waitWebhooks(t, s)

			attempts := min(tt.failFirst+1, 1+len(WebhookRetrySchedule))
			ds := s.Webhooks()
			if len(ds) != attempts {
				t.Fatalf("%d attempts, want %d: %+v", len(ds), attempts, ds)
			}
			for i, d := range ds {
				wantStatus := http.StatusOK
				switch {
				case tt.drop:
					wantStatus = 0
				case i < tt.failFirst:
					wantStatus = http.StatusInternalServerError
				}
				if d.EventID != 1 || d.Attempt != i+1 || d.Status != wantStatus || (d.Err != "") != tt.drop {
					t.Errorf("attempt %d: %+v, want status %d", i+1, d, wantStatus)
				}
			}
			// Every retry resends the event itself.
			bodies := r.got(t)
			if tt.drop {
				return
			}
			if len(bodies) != attempts {
				t.Fatalf("received %d bodies, want %d", len(bodies), attempts)
			}
			for _, b := range bodies[1:] {
				if !reflect.DeepEqual(b, bodies[0]) {
					t.Fatalf("a retry changed the body: %+v vs %+v", b, bodies[0])
				}
			}
		})
	}
}

func TestWebhookHoldReleaseAndRedeliver(t *testing.T) {
	r := newReceiver(t, always(http.StatusOK))
	s := NewServer(t, WithWebhookURL(r.URL))
	s.HoldWebhooks(true)
	key := paid(t, s, "order-webhook-hold", 9000)
	if _, err := s.DashboardCancel(key, "damaged in transit", 2000); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DashboardCancel(key, "returned", 0); err != nil {
		t.Fatal(err)
	}
	waitWebhooks(t, s) // held events are not pending
	if n := len(r.got(t)); n != 0 {
		t.Fatalf("%d webhooks sent while held", n)
	}
	events := s.WebhookEvents()
	if len(events) != 3 || !events[0].Held || !events[1].Held || !events[2].Held {
		t.Fatalf("events while held: %+v", events)
	}

	s.ReleaseWebhooks(3, 1) // out of order; 2 stays held
	s.ReleaseWebhooks(99)   // not held: skipped
	status := func() []string {
		var out []string
		for _, g := range r.got(t) {
			out = append(out, g.Data.Status)
		}
		return out
	}
	if got, want := status(), []string{StatusCanceled, StatusDone}; !reflect.DeepEqual(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	if ev := s.WebhookEvents(); ev[0].Held || !ev[1].Held || ev[2].Held {
		t.Fatalf("held flags after a partial release: %+v", ev)
	}
	s.HoldWebhooks(false)
	s.ReleaseWebhooks()
	s.RedeliverWebhooks()  // every event once more, oldest first
	s.RedeliverWebhooks(2) // and one of them a third time
	waitWebhooks(t, s)
	want := []string{StatusCanceled, StatusDone, StatusPartialCanceled, StatusDone, StatusPartialCanceled, StatusCanceled, StatusPartialCanceled}
	if got := status(); !reflect.DeepEqual(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	type att struct {
		event, attempt int
		redelivery     bool
	}
	var got []att
	for _, d := range s.Webhooks() {
		if d.Status != http.StatusOK {
			t.Fatalf("delivery %+v", d)
		}
		got = append(got, att{d.EventID, d.Attempt, d.Redelivery})
	}
	wantAtt := []att{{3, 1, false}, {1, 1, false}, {2, 1, false}, {1, 2, true}, {2, 2, true}, {3, 2, true}, {2, 3, true}}
	if !reflect.DeepEqual(got, wantAtt) {
		t.Fatalf("deliveries %+v, want %+v", got, wantAtt)
	}
	// A new event after holding stopped goes out by itself.
	s.Reset()
	if len(s.WebhookEvents()) != 0 || len(s.Webhooks()) != 0 {
		t.Fatal("Reset kept webhooks")
	}
	paid(t, s, "order-webhook-hold-2", 1000)
	waitWebhooks(t, s)
	if ds := s.Webhooks(); len(ds) != 1 || ds[0].Status != http.StatusOK {
		t.Fatalf("after Reset: %+v", ds)
	}
}

func TestWebhookURLAtRunTime(t *testing.T) {
	r := newReceiver(t, always(http.StatusOK))
	s := NewServer(t)
	paid(t, s, "order-webhook-url-1", 1000)
	if n := len(s.WebhookEvents()); n != 0 {
		t.Fatalf("%d events without a webhook URL", n)
	}
	s.SetWebhookURL(r.URL)
	paid(t, s, "order-webhook-url-2", 2000)
	waitWebhooks(t, s)
	got := r.got(t)
	if len(got) != 1 || got[0].Data.OrderID != "order-webhook-url-2" {
		t.Fatalf("received %+v", got)
	}
	s.SetWebhookURL("")
	paid(t, s, "order-webhook-url-3", 3000)
	if n := len(s.WebhookEvents()); n != 1 {
		t.Fatalf("%d events after the URL was removed", n)
	}
}

// A retry waiting on Toss's real schedule (minutes) does not hold up Reset
// or Close, and WaitWebhooks gives up with its context.
func TestWebhookRetriesStopOnResetAndClose(t *testing.T) {
	for _, stop := range []string{"reset", "close"} {
		t.Run(stop, func(t *testing.T) {
			r := newReceiver(t, always(http.StatusServiceUnavailable))
			s := NewServer(t, WithWebhookURL(r.URL))
			paid(t, s, "order-webhook-stop", 1000)
			waitFor(t, "the first attempt", func() bool { return len(s.Webhooks()) == 1 })
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := s.WaitWebhooks(ctx); err == nil {
				t.Fatal("WaitWebhooks returned nil with a retry a minute away")
			}
			if stop == "reset" {
				s.Reset()
			} else {
				s.Close()
			}
			waitWebhooks(t, s)
		})
	}
}

func TestCancelThenDrop(t *testing.T) {
	s := NewServer(t)
	key := paid(t, s, "order-cancel-drop", 8000)
	s.CancelThenDrop(2)
	body := `{"cancelReason":"late delivery","cancelAmount":3000}`
	for i := range 2 { // the refund, then its replay: both answers lost
		if a := send(t, s, noKeepAlive(), cancelCall(key, body, "k-drop")); a.Err == nil {
			t.Fatalf("call %d answered %d %s, want a dropped connection", i, a.Status, a.Body)
		}
	}
	a := mustSend(t, s, cancelCall(key, body, "k-drop"))
	wantOK(t, a)
	if a.num("balanceAmount") != 5000 {
		t.Fatalf("replayed balance %d", a.num("balanceAmount"))
	}
	info, _ := s.Payment(key)
	if info.BalanceAmount != 5000 || len(info.Cancels) != 1 {
		t.Fatalf("refunded %d times, balance %d", len(info.Cancels), info.BalanceAmount)
	}
	reqs := s.Requests()
	if !reqs[len(reqs)-3].Dropped || !reqs[len(reqs)-2].Dropped || !reqs[len(reqs)-2].Replayed || !reqs[len(reqs)-1].Replayed {
		t.Fatalf("requests %+v", reqs[len(reqs)-3:])
	}
	// Refusals are answered.
	s.CancelThenDrop(1)
	wantError(t, mustSend(t, s, cancelCall(key, `{"cancelReason":"x","cancelAmount":9000}`, "")), 403, tossrules.CodeNotCancelableAmount)
}
