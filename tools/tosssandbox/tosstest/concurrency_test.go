package tosstest

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/tossintl/backend/tools/tossrules"
)

// TestConcurrentConfirmsOfOnePayment fires 100 confirms of one payment at
// once: some share an Idempotency-Key, some have their own, some have none.
// Exactly one may execute, and every 200 must be that execution or a replay
// of its key.
func TestConcurrentConfirmsOfOnePayment(t *testing.T) {
	s := NewServer(t)
	const order, amount = "order-race-1", int64(50000)
	key := s.Authorize(order, "Tea", amount)

	const n = 100
	idemKey := func(i int) string {
		switch {
		case i < 50:
			return fmt.Sprintf("shared-%d", i%5)
		case i < 75:
			return fmt.Sprintf("own-%d", i)
		}
		return ""
	}
	type result struct {
		idem string
		a    answer
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = result{idemKey(i), send(t, s, nil, confirmCall(key, order, amount, idemKey(i)))}
		}()
	}
	close(start)
	wg.Wait()

	if got := s.ConfirmsExecuted(order); got != 1 {
		t.Fatalf("ConfirmsExecuted = %d, want 1", got)
	}
	okKeys := map[string]int{}
	for i, r := range results {
		switch {
		case r.a.Err != nil:
			t.Errorf("call %d: %v", i, r.a.Err)
		case r.a.Status == http.StatusOK:
			okKeys[r.idem]++
		case r.a.Status == http.StatusConflict && r.a.code() == tossrules.CodeIdempotentRequestProcessing:
			if r.idem == "" || r.idem[:4] == "own-" {
				t.Errorf("call %d: 409 for a key nobody else used (%q)", i, r.idem)
			}
		case r.a.Status == http.StatusBadRequest && r.a.code() == tossrules.CodeAlreadyProcessedPayment:
		default:
			t.Errorf("call %d: unexpected %d %s", i, r.a.Status, r.a.Body)
		}
	}
	if len(okKeys) != 1 {
		t.Fatalf("200s came from %d idempotency scopes (%v), want 1", len(okKeys), okKeys)
	}
	for k, c := range okKeys {
		if k == "" && c != 1 {
			t.Fatalf("%d keyless 200s", c)
		}
	}
}

// TestHammer sends 200 concurrent calls across endpoints and orders (run
// under -race) and checks the books balance afterwards.
func TestHammer(t *testing.T) {
	s := NewServer(t)
	const orders, calls = 20, 200
	keys := make([]string, orders)
	for i := range keys {
		keys[i] = s.Authorize(fmt.Sprintf("order-hammer-%02d", i), "Tea", 10000)
	}

	var wg sync.WaitGroup
	errs := make(chan string, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := (i / 4) % orders // every order gets confirms and cancels
			oid, key := fmt.Sprintf("order-hammer-%02d", o), keys[o]
			var c call
			switch i % 4 {
			case 0:
				c = confirmCall(key, oid, 10000, fmt.Sprintf("confirm-%s", oid))
			case 1:
				c = call{Method: http.MethodGet, Path: "/v1/payments/" + key}
			case 2:
				c = call{Method: http.MethodGet, Path: "/v1/payments/orders/" + oid}
			case 3:
				c = call{Method: http.MethodPost, Path: "/v1/payments/" + key + "/cancel",
					Body: `{"cancelReason":"hammer","cancelAmount":100}`, Header: map[string]string{"Idempotency-Key": fmt.Sprintf("cancel-%d", i)}}
			}
			a := send(t, s, nil, c)
			switch {
			case a.Err != nil:
				errs <- fmt.Sprintf("call %d: %v", i, a.Err)
			case a.Status >= 500:
				errs <- fmt.Sprintf("call %d: %d %s", i, a.Status, a.Body)
			case a.Status != 200 && a.code() != tossrules.CodeNotCancelablePayment && a.code() != tossrules.CodeIdempotentRequestProcessing:
				errs <- fmt.Sprintf("call %d: %d %s", i, a.Status, a.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	for i, key := range keys {
		oid := fmt.Sprintf("order-hammer-%02d", i)
		info, ok := s.Payment(key)
		if !ok || s.ConfirmsExecuted(oid) != 1 {
			t.Fatalf("%s: executed %d times, %+v", oid, s.ConfirmsExecuted(oid), info)
		}
		var canceled int64
		for _, c := range info.Cancels {
			canceled += c.Amount
		}
		if info.BalanceAmount != info.TotalAmount-canceled {
			t.Fatalf("%s: balance %d, total %d, canceled %d", oid, info.BalanceAmount, info.TotalAmount, canceled)
		}
	}
	if got := len(s.Requests()); got != calls {
		t.Fatalf("recorded %d requests, want %d", got, calls)
	}
}
