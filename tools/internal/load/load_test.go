package load

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestClosedRunsEachIndexOnce(t *testing.T) {
	var mu sync.Mutex
	var seen []int
	runs, err := Closed(t.Context(), Plan{Workers: 3, Runs: 10}, func(_ context.Context, i int) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, i)
		return i * 2, nil
	})
	if err != nil || len(runs) != 10 {
		t.Fatalf("Closed = %d runs, %v; want 10, nil", len(runs), err)
	}
	slices.Sort(seen)
	for i, v := range seen {
		if v != i {
			t.Fatalf("indices %v, want 0 to 9 once each", seen)
		}
	}
	for _, r := range runs {
		if r.End < r.Start || r.Value%2 != 0 {
			t.Errorf("run %+v", r)
		}
	}
}

// The first runs start on workers of their own: all four are under way at
// once before any ends.
func TestClosedOnePerWorker(t *testing.T) {
	var started atomic.Int32
	all := make(chan struct{})
	runs, err := Closed(t.Context(), Plan{Workers: 4, Runs: 4}, func(ctx context.Context, _ int) (struct{}, error) {
		if started.Add(1) == 4 {
			close(all)
		}
		select {
		case <-all:
			return struct{}{}, nil
		case <-time.After(10 * time.Second):
			return struct{}{}, errors.New("the other workers' runs never started")
		}
	})
	if err != nil || len(runs) != 4 {
		t.Fatalf("Closed = %d runs, %v", len(runs), err)
	}
}

func TestClosedStopsAtTheFirstFailure(t *testing.T) {
	boom := errors.New("boom")
	runs, err := Closed(t.Context(), Plan{Workers: 1, Runs: 100}, func(_ context.Context, i int) (int, error) {
		if i == 3 {
			return 0, boom
		}
		return i, nil
	})
	if !errors.Is(err, boom) || len(runs) != 4 {
		t.Errorf("Closed = %d runs, %v; want 4 and the failure", len(runs), err)
	}
	if _, err := Closed(t.Context(), Plan{Workers: 1}, func(context.Context, int) (int, error) { return 0, nil }); err == nil {
		t.Error("a plan without bounds was accepted")
	}
}

func TestClosedForSpan(t *testing.T) {
	span := 50 * time.Millisecond
	runs, err := Closed(t.Context(), Plan{Workers: 2, For: span}, func(context.Context, int) (int, error) {
		time.Sleep(time.Millisecond) // the run's own work
		return 0, nil
	})
	if err != nil || len(runs) < 2 {
		t.Fatalf("Closed = %d runs, %v", len(runs), err)
	}
	for _, r := range runs {
		if r.Start >= span {
			t.Errorf("a run started at %s, after the span of %s", r.Start, span)
		}
	}
	if Span(runs) < span {
		t.Errorf("Span = %s, want at least %s", Span(runs), span)
	}
}

func TestOpenStartsAtTheRate(t *testing.T) {
	runs := Open(t.Context(), 100, 100*time.Millisecond, func(_ context.Context, i int) (int, error) {
		if i == 2 {
			return 0, errors.New("one failure")
		}
		return i, nil
	})
	failed := 0
	for _, r := range runs {
		if r.Err != nil {
			failed++
		}
	}
	// 100 a second for 0.1 s: 10 starts, 11 at most (the first is at once).
	if len(runs) < 3 || len(runs) > 11 || failed != 1 {
		t.Errorf("Open = %d runs (%d failed); want 3 to 11, one failed", len(runs), failed)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i))
	}
	if p := Percentile(d, 50); p != 50 {
		t.Errorf("p50 = %d", p)
	}
	if p := Percentile(d, 99); p != 99 {
		t.Errorf("p99 = %d", p)
	}
	if p := Percentile(d[91:], 50); p != 5 {
		t.Errorf("p50 of 9 = %d", p)
	}
	if d[0] != 100 {
		t.Error("Percentile sorted its argument")
	}
}

func TestDriver(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		user, _, _ := r.BasicAuth()
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" user="+user+" key="+r.Header.Get("Idempotency-Key")+" "+string(b))
		mu.Unlock()
		switch r.URL.Path {
		case "/orders":
			_, _ = w.Write([]byte(`{"version":"v","entityType":"order","entityBody":{"orderId":"ord_1","orderName":"Tea","amount":15000,"checkoutToken":"tok"}}`))
		case "/payments/confirm":
			_, _ = w.Write([]byte(`{"version":"v","entityType":"payment","entityBody":{"status":"DONE"}}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	d := NewDriver(srv.URL, "mk", nil, 2)
	o, err := d.CreateOrder(t.Context(), map[string]any{"orderName": "Tea", "amount": 15000}, "k1")
	if err != nil || o != (Order{ID: "ord_1", Name: "Tea", Token: "tok", Amount: 15000}) {
		t.Fatalf("CreateOrder = %+v, %v", o, err)
	}
	if status, err := d.Confirm(t.Context(), o, "tgen_secret"); err != nil || status != "DONE" {
		t.Fatalf("Confirm = %q, %v", status, err)
	}
	_, err = d.Expect(t.Context(), d.Buyer, "POST", "/payments/tgen_secret/cancel?paymentKey=tgen_secret", nil, "", 200)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 404 || strings.Contains(err.Error(), "tgen_") {
		t.Errorf("Expect = %v, want a 404 naming the route without the paymentKey", err)
	}
	var confirm map[string]any
	_ = json.Unmarshal([]byte(got[1][strings.Index(got[1], "{"):]), &confirm)
	if !strings.HasPrefix(got[0], "POST /orders user=mk key=k1 ") || !strings.HasPrefix(got[1], "POST /payments/confirm user= key= ") ||
		confirm["checkoutToken"] != "tok" || confirm["paymentKey"] != "tgen_secret" || d.Requests() != 3 {
		t.Errorf("sent %q (%d requests)", got, d.Requests())
	}
}
