package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tossintl/backend/internal/wait"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// TestSlotRacingAttackerCannotKeepTheBuyerFromPaying runs, through the real
// bootstraps, the attack a black-box run of make local found: someone who
// knows an order's id (every checkout URL and success redirect shows it)
// holds the order's anonymous budget of Toss calls with one thread per slot,
// each re-taking its slot the moment it frees, on every anonymous confirm
// route. Against that code it kept a buyer's success page at 429 for 717 s,
// past Toss's 10-minute window. Here two buyers, each of an order under
// that attack, pay as a merchant's checkout makes them: one through the
// checkout URL the merchant was given and the success redirect the checkout
// page sets up with Toss, the other as a single-page frontend posting to
// /payments/confirm with the checkout token the merchant got. Each trial
// starts the attacker first, checks that the order's anonymous budget is
// held (a confirm without the token is refused 429), runs both buyers to a
// receipt, and stops the attacker only then; in the second trial the
// buyers come only once the attacker has won the race for a slot that
// freed (a minute into the attack). Every buyer must pay within two
// minutes. The attacker's Toss calls stay within the order's budget.
func TestSlotRacingAttackerCannotKeepTheBuyerFromPaying(t *testing.T) {
	s, logs := startStack(t, stack.Options{})
	const trials = 3
	var report []string
	var tokens []string
	for trial := 1; trial <= trials; trial++ {
		redirect := newAbuseOrder(t, s, fmt.Sprintf("Trial %d: lantern (success redirect)", trial), 39000+int64(trial))
		spa := newAbuseOrder(t, s, fmt.Sprintf("Trial %d: fan (single-page confirm)", trial), 27000+int64(trial))
		tokens = append(tokens, redirect.token, spa.token)

		ctx, stop := context.WithCancel(t.Context())
		atk := &slotRacer{base: s.URL, orders: []abuseOrder{redirect, spa}}
		atk.start(ctx)
		for _, o := range []abuseOrder{redirect, spa} {
			wait.For(t, time.Minute, "the attacker holding the anonymous budget of "+o.id, func() bool { return atk.holds(o.id) })
			if trial == 2 {
				// This trial's buyers come once the first slots have freed
				// (a minute in) and the attacker has raced for them: the
				// moment the black-box run's buyer kept losing.
				wait.For(t, 3*time.Minute, "the attacker re-taking a freed slot of "+o.id, func() bool { return atk.retook(o.id) })
			}
			// A confirm without the token is what the attacker keeps out.
			// A slot can free between the attacker's requests, and the
			// probe then takes it (an answer from Toss): it asks again
			// until the attacker holds every slot, as it does all along.
			var last answer
			wait.For(t, time.Minute, "a confirm without the token refused while the attacker holds "+o.id, func() bool {
				last = send(s.URL, "POST", "/payments/confirm", jsonCT, confirmJSON("tgen_20261207000000probe0001", o.id, o.amount, ""))
				return last.err == nil && last.status == http.StatusTooManyRequests
			})
			if last.status != http.StatusTooManyRequests {
				t.Fatalf("trial %d: a confirm without the token while the attacker holds %s: %d %v %s", trial, o.id, last.status, last.err, last.body)
			}
		}

		var wg sync.WaitGroup
		took := map[string]time.Duration{}
		var mu sync.Mutex
		errs := make(chan error, 2)
		for _, b := range []struct {
			entry string
			o     abuseOrder
			pay   func(abuseOrder) error
		}{
			{"success redirect", redirect, func(o abuseOrder) error { return payByRedirect(s, o) }},
			{"single-page confirm", spa, func(o abuseOrder) error { return payBySinglePage(s, o) }},
		} {
			wg.Go(func() {
				start := time.Now()
				if err := b.pay(b.o); err != nil {
					errs <- fmt.Errorf("trial %d, %s: %w", trial, b.entry, err)
					return
				}
				mu.Lock()
				took[b.entry] = time.Since(start)
				mu.Unlock()
			})
		}
		wg.Wait()
		stop()
		atk.wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for _, o := range []abuseOrder{redirect, spa} {
			if n := s.Sandbox.ConfirmsExecuted(o.id); n != 1 {
				t.Errorf("trial %d: order %s: %d confirms executed, want 1", trial, o.id, n)
			}
		}
		line := fmt.Sprintf("trial %d: success redirect paid in %s, single-page confirm in %s; the attacker sent %d requests (%d answered 429, %d reached Toss) over %s",
			trial, took["success redirect"].Round(time.Millisecond), took["single-page confirm"].Round(time.Millisecond),
			atk.sent.Load(), atk.limited.Load(), atk.admitted.Load(), time.Since(atk.began).Round(time.Millisecond))
		report = append(report, line)
		t.Log(line)
		for entry, d := range took {
			if d > buyerBound {
				t.Errorf("trial %d: the %s buyer took %s, want under %s", trial, entry, d, buyerBound)
			}
		}
		if atk.errors.Load() > 0 {
			t.Errorf("trial %d: %d attacker requests got no answer or a 5xx", trial, atk.errors.Load())
		}
	}

	// The attacker's Toss calls: within each order's anonymous budget, 5
	// in any 60 s. The budget counts admissions on the functions' clock and
	// the sandbox stamps arrivals: an admission whose call reached Toss
	// slowly (a busy machine) arrives closer to the next one than they were
	// admitted, so arrivals are held to 5 in any 55 s. A budget broken to
	// a shorter window (45 s, say) still puts 6 in 55 s.
	const window = 55 * time.Second
	byOrder := map[string][]time.Time{}
	for _, r := range s.Sandbox.Requests() {
		if r.Path != "/v1/payments/confirm" || !strings.Contains(r.Body, "forged") {
			continue
		}
		var b struct{ OrderID string }
		_ = json.Unmarshal([]byte(r.Body), &b)
		byOrder[b.OrderID] = append(byOrder[b.OrderID], r.Time)
	}
	for id, times := range byOrder {
		sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
		for i := range times {
			n := 0
			for _, u := range times[i:] {
				if u.Sub(times[i]) < window {
					n++
				}
			}
			if n > 5 {
				t.Errorf("order %s: %d of the attacker's confirms reached Toss within %s", id, n, window)
			}
		}
	}
	// The checkout token is a secret: no log line of any function holds it.
	for _, tok := range tokens {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("a log line holds a checkout token")
		}
	}
	t.Logf("%d trials, two buyers each:\n%s", trials, strings.Join(report, "\n"))
}

// abuseOrder is an order as the merchant got it from POST /orders.
type abuseOrder struct {
	id, name, checkoutURL, token string
	amount                       int64
}

func newAbuseOrder(t *testing.T, s *stack.Stack, name string, amount int64) abuseOrder {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"orderName": name, "amount": amount})
	r := do(t, "POST", s.URL+"/orders", map[string]string{"Authorization": basic(stack.DefaultMerchantAPIKey), "Content-Type": "application/json"}, body)
	var env struct {
		EntityBody struct{ OrderID, CheckoutURL, CheckoutToken string }
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &env) != nil || env.EntityBody.CheckoutToken == "" {
		t.Fatalf("create order: %d %s", r.Status, r.Body)
	}
	e := env.EntityBody
	return abuseOrder{id: e.OrderID, name: name, checkoutURL: e.CheckoutURL, token: e.CheckoutToken, amount: amount}
}

var jsonCT = map[string]string{"Content-Type": "application/json"}

func confirmJSON(paymentKey, orderID string, amount int64, token string) []byte {
	m := map[string]any{"paymentKey": paymentKey, "orderId": orderID, "amount": amount}
	if token != "" {
		m["checkoutToken"] = token
	}
	b, _ := json.Marshal(m)
	return b
}

// answer is one HTTP answer, or why there was none: for goroutines, which
// must not fail the test themselves.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

var abuseClient = &http.Client{Timeout: 60 * time.Second}

func send(base, method, path string, header map[string]string, body []byte) answer {
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := abuseClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

// retryAfter is how long an answer asks to wait: its Retry-After, or the
// refresh of a "processing" page, else def.
func (a answer) retryAfter(def time.Duration) time.Duration {
	if n, err := strconv.Atoi(a.header.Get("Retry-After")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if m := refreshRe.FindSubmatch(a.body); m != nil {
		if n, err := strconv.Atoi(string(m[1])); err == nil {
			return time.Duration(n) * time.Second
		}
	}
	return def
}

var (
	refreshRe      = regexp.MustCompile(`http-equiv="refresh" content="(\d+);`)
	stateRe        = regexp.MustCompile(`<main id="status" data-state="([^"]*)"`)
	checkoutDataRe = regexp.MustCompile(`(?s)<script type="application/json" id="checkout-data">(.*?)</script>`)
)

func (a answer) state() string {
	if m := stateRe.FindSubmatch(a.body); m != nil {
		return string(m[1])
	}
	return ""
}

// payByRedirect is the buyer of a merchant's checkout: it opens the
// checkout URL it was given, approves in Toss's window (the sandbox), and
// follows the success redirect, reloading as the page says while it shows
// "processing" or asks to wait.
func payByRedirect(s *stack.Stack, o abuseOrder) error {
	u, err := url.Parse(o.checkoutURL)
	if err != nil {
		return err
	}
	// While an attacker's made-up attempt holds the order's claim for the
	// moment Toss takes to refuse it, the checkout page is the
	// "processing" page, which reloads itself: so does the buyer.
	var m [][]byte
	err = untilPaid(func() (answer, bool) {
		page := send(s.URL, "GET", u.Path+"?"+u.RawQuery+"&lang=en", nil, nil)
		m = checkoutDataRe.FindSubmatch(page.body)
		return page, page.status == 200 && m != nil
	})
	if err != nil {
		return fmt.Errorf("checkout page: %w", err)
	}
	var data struct{ SuccessURL string }
	if err := json.Unmarshal(m[1], &data); err != nil {
		return fmt.Errorf("checkout data: %w", err)
	}
	key := s.Sandbox.Authorize(o.id, o.name, o.amount)
	su, err := url.Parse(data.SuccessURL)
	if err != nil {
		return err
	}
	q := su.Query()
	q.Set("paymentType", "NORMAL")
	q.Set("orderId", o.id)
	q.Set("paymentKey", key)
	q.Set("amount", strconv.FormatInt(o.amount, 10))
	return untilPaid(func() (answer, bool) {
		r := send(s.URL, "GET", su.Path+"?"+q.Encode(), nil, nil)
		return r, r.status == 200 && r.state() == "done"
	})
}

// payBySinglePage is a single-page frontend: it opens Toss's window itself
// and posts the confirm with the checkout token its merchant gave it,
// asking again as the answer says (202 processing, 429).
func payBySinglePage(s *stack.Stack, o abuseOrder) error {
	key := s.Sandbox.Authorize(o.id, o.name, o.amount)
	body := confirmJSON(key, o.id, o.amount, o.token)
	return untilPaid(func() (answer, bool) {
		r := send(s.URL, "POST", "/payments/confirm", jsonCT, body)
		return r, r.status == 200
	})
}

// buyerBound is how long a buyer may take to pay under the attack: well
// inside Toss's 10-minute confirm window.
const buyerBound = 2 * time.Minute

// untilPaid tries until try says paid, waiting as each answer asks, for at
// most buyerBound.
func untilPaid(try func() (answer, bool)) error {
	deadline := time.Now().Add(buyerBound)
	for {
		r, paid := try()
		switch {
		case paid:
			return nil
		case r.err != nil:
			return r.err
		case r.status >= 500 || (r.status >= 400 && r.status != http.StatusTooManyRequests):
			return fmt.Errorf("answered %d: %.300s", r.status, r.body)
		case time.Now().After(deadline):
			return fmt.Errorf("not paid within %s; last answer %d", buyerBound, r.status)
		}
		// The page's own refresh (or Retry-After): the buyer's browser
		// waits that long before asking again.
		time.Sleep(r.retryAfter(2 * time.Second))
	}
}

// slotRacer is the attacker: per order, one goroutine per slot of the
// order's anonymous budget, each sending made-up confirms (success
// redirect, POST /payments/confirm, POST /confirm in turn) and, once
// refused, asking again as soon as the slot it waits for can have freed:
// Retry-After says when the oldest slot frees, to the second rounded up,
// so it asks again a second early and then every quarter second.
type slotRacer struct {
	base   string
	orders []abuseOrder

	began                                time.Time
	wg                                   sync.WaitGroup
	seq, sent, limited, admitted, errors atomic.Int64
	mu                                   sync.Mutex
	refused                              map[string]time.Time // when each order first refused it: its budget held
	retaken                              map[string]int       // slots taken by requests sent after that
}

func (a *slotRacer) start(ctx context.Context) {
	a.began, a.refused, a.retaken = time.Now(), map[string]time.Time{}, map[string]int{}
	for _, o := range a.orders {
		for range 5 {
			a.wg.Go(func() { a.thread(ctx, o) })
		}
	}
}

func (a *slotRacer) wait() { a.wg.Wait() }

func (a *slotRacer) holds(orderID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.refused[orderID].IsZero()
}

// retook reports whether the attacker took a slot of orderID with a
// request sent after the order had refused it: a slot freed (a minute
// after it was taken) and the attacker won the race for it.
func (a *slotRacer) retook(orderID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.retaken[orderID] > 0
}

func (a *slotRacer) thread(ctx context.Context, o abuseOrder) {
	for ctx.Err() == nil {
		n := a.seq.Add(1)
		key := fmt.Sprintf("tgen_20261207000000forged%06d", n)
		sentAt := time.Now()
		var r answer
		// Every route that confirms: the success redirect, the API's
		// confirm, and the three of Toss's sample servers.
		switch n % 5 {
		case 0:
			r = send(a.base, "GET", fmt.Sprintf("/payments/success?orderId=%s&paymentKey=%s&amount=%d", o.id, key, o.amount), nil, nil)
		case 1:
			r = send(a.base, "POST", "/payments/confirm", jsonCT, confirmJSON(key, o.id, o.amount, ""))
		default:
			path := [...]string{"/confirm", "/confirm/payment", "/confirm/widget"}[n%5-2]
			r = send(a.base, "POST", path, jsonCT, confirmJSON(key, o.id, o.amount, ""))
		}
		if ctx.Err() != nil {
			return
		}
		a.sent.Add(1)
		switch {
		case r.err != nil || r.status >= 500:
			a.errors.Add(1)
		case r.status == http.StatusTooManyRequests:
			a.limited.Add(1)
			a.mu.Lock()
			if a.refused[o.id].IsZero() {
				a.refused[o.id] = time.Now()
			}
			a.mu.Unlock()
			wait := r.retryAfter(time.Second) - time.Second
			timer := time.NewTimer(time.Duration(math.Max(float64(wait), float64(250*time.Millisecond))))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
		default:
			a.admitted.Add(1) // a slot taken: Toss was asked (and refused the made-up key)
			a.mu.Lock()
			if at := a.refused[o.id]; !at.IsZero() && sentAt.After(at) {
				a.retaken[o.id]++
			}
			a.mu.Unlock()
		}
	}
}
