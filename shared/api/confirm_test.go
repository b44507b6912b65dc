package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

type paymentView struct {
	OrderID     string     `json:"orderId"`
	PaymentKey  string     `json:"paymentKey"`
	Status      string     `json:"status"`
	Amount      int64      `json:"amount"`
	Currency    string     `json:"currency"`
	ApprovedAt  *time.Time `json:"approvedAt"`
	CardNumber  string     `json:"cardNumber"`
	ReceiptURL  string     `json:"receiptUrl"`
	OrderStatus string     `json:"orderStatus"`
}

func TestConfirmDone(t *testing.T) {
	for _, idemKey := range []string{"", "confirm-key-1"} {
		t.Run("idempotency key "+idemKey, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)

			resp := h.confirm(key, o.OrderID, o.Amount, idemKey)
			var p paymentView
			wantEntity(t, resp, 200, "payment", &p)
			checkJSONHeaders(t, resp)
			if p.Status != "DONE" || p.OrderStatus != "DONE" || p.OrderID != o.OrderID || p.PaymentKey != key || p.Amount != 39000 || p.Currency != "KRW" {
				t.Errorf("payment %+v", p)
			}
			if !strings.HasPrefix(p.ReceiptURL, "http") || p.ApprovedAt == nil || !strings.Contains(p.CardNumber, "*") {
				t.Errorf("receipt %q approvedAt %v card %q", p.ReceiptURL, p.ApprovedAt, p.CardNumber)
			}

			// A repeat (a double tap, a retry after a lost answer) is answered
			// from our record: Toss confirms once.
			for range 2 {
				resp := h.confirm(key, o.OrderID, o.Amount, idemKey)
				var again paymentView
				wantEntity(t, resp, 200, "payment", &again)
				if again.Status != "DONE" || again.PaymentKey != key {
					t.Errorf("repeat: %+v", again)
				}
				if idemKey != "" && resp.Headers["Idempotent-Replayed"] != "true" {
					t.Errorf("repeat under the key is not a replay: %v", resp.Headers)
				}
			}
			if n := h.sb.ConfirmsExecuted(o.OrderID); n != 1 {
				t.Errorf("%d confirms executed at Toss, want 1", n)
			}
			if n := h.confirmRequests(o.OrderID); n != 1 {
				t.Errorf("%d confirm requests reached Toss, want 1", n)
			}
			if got := h.getOrder(o.OrderID); got.Status != "DONE" {
				t.Errorf("order status %s", got.Status)
			}
		})
	}
}

func TestConfirmRefusals(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(h *harness, o orderView) (paymentKey, orderID string, amount int64)
		status int
		code   string
		after  string // the order's status afterwards
	}{
		{
			name: "tampered amount",
			setup: func(h *harness, o orderView) (string, string, int64) {
				return h.sb.Authorize(o.OrderID, o.OrderName, 100), o.OrderID, 100
			},
			status: 400, code: api.CodeAmountMismatch, after: "PENDING",
		},
		{
			name: "amount one won more",
			setup: func(h *harness, o orderView) (string, string, int64) {
				return h.sb.Authorize(o.OrderID, o.OrderName, o.Amount+1), o.OrderID, o.Amount + 1
			},
			status: 400, code: api.CodeAmountMismatch, after: "PENDING",
		},
		{
			name: "unknown order",
			setup: func(h *harness, o orderView) (string, string, int64) {
				return h.sb.Authorize("ord_0000000000000000000000", "x", o.Amount), "ord_0000000000000000000000", o.Amount
			},
			status: 404, code: api.CodeNotFoundOrder, after: "PENDING",
		},
		{
			name: "malformed order id",
			setup: func(h *harness, o orderView) (string, string, int64) {
				return "tgen_anything_0001", "../x", o.Amount
			},
			status: 400, code: api.CodeInvalidRequest, after: "PENDING",
		},
		{
			name: "empty paymentKey",
			setup: func(h *harness, o orderView) (string, string, int64) {
				return "", o.OrderID, o.Amount
			},
			status: 400, code: api.CodeInvalidRequest, after: "PENDING",
		},
		{
			name: "expired order",
			setup: func(h *harness, o orderView) (string, string, int64) {
				key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
				h.clock.Advance(24*time.Hour + time.Second)
				return key, o.OrderID, o.Amount
			},
			status: 400, code: api.CodeOrderExpired, after: "PENDING",
		},
		{
			name: "paid under another paymentKey",
			setup: func(h *harness, o orderView) (string, string, int64) {
				first := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
				wantEntity(h.t, h.confirm(first, o.OrderID, o.Amount, "first-key"), 200, "payment", nil)
				return h.sb.Authorize(o.OrderID, o.OrderName, o.Amount), o.OrderID, o.Amount
			},
			status: 400, code: api.CodeAlreadyPaidOrder, after: "DONE",
		},
		{
			name: "paymentKey Toss issued for another order",
			setup: func(h *harness, o orderView) (string, string, int64) {
				other := h.createOrder("Other", o.Amount)
				return h.sb.Authorize(other.OrderID, other.OrderName, other.Amount), o.OrderID, o.Amount
			},
			status: http.StatusForbidden, code: "FORBIDDEN_REQUEST", after: "FAILED",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			paymentKey, orderID, amount := tc.setup(h, o)
			before := len(h.sb.Requests())
			wantError(t, h.confirm(paymentKey, orderID, amount, "refused-key"), tc.status, tc.code)

			reached := 0
			for _, r := range h.sb.Requests()[before:] {
				if r.Path == "/v1/payments/confirm" {
					reached++
				}
			}
			if tc.code == "FORBIDDEN_REQUEST" {
				if reached != 1 {
					t.Errorf("%d confirm requests reached Toss, want 1", reached)
				}
			} else if reached != 0 {
				t.Errorf("%d confirm requests reached Toss, want none", reached)
			}
			if n := h.sb.ConfirmsExecuted(o.OrderID); tc.after != "DONE" && n != 0 {
				t.Errorf("%d confirms executed", n)
			}
			got := h.getOrder(o.OrderID)
			if got.Status != tc.after {
				t.Errorf("order status %s, want %s", got.Status, tc.after)
			}
			switch tc.code {
			case "FORBIDDEN_REQUEST", api.CodeAmountMismatch:
				if got.LastFailure == nil || got.LastFailure.Code != tc.code {
					t.Errorf("last failure %+v, want %s", got.LastFailure, tc.code)
				}
			}
		})
	}
}

// A declined confirm passes Toss's code and status through, in the
// caller's language, and the order stays payable with another card.
func TestConfirmDeclinedThenPaidWithAnotherCard(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	other := h.createOrder("Other", 39000)
	stray := h.sb.Authorize(other.OrderID, other.OrderName, other.Amount)

	resp := h.confirm(stray, o.OrderID, o.Amount, "")
	e := wantError(t, resp, 403, "FORBIDDEN_REQUEST")
	if e.Error.Message == api.Message(api.CodeInternal, api.Korean) {
		t.Errorf("Toss's message was replaced: %q", e.Error.Message)
	}
	// Asking again with the refused key replays the refusal without Toss.
	before := h.confirmRequests(o.OrderID)
	wantError(t, h.confirm(stray, o.OrderID, o.Amount, ""), 403, "FORBIDDEN_REQUEST")
	if n := h.confirmRequests(o.OrderID); n != before {
		t.Errorf("the refused paymentKey went to Toss again")
	}

	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	var p paymentView
	wantEntity(t, h.confirm(key, o.OrderID, o.Amount, ""), 200, "payment", &p)
	if p.Status != "DONE" || h.sb.ConfirmsExecuted(o.OrderID) != 1 {
		t.Errorf("payment %+v, executed %d", p, h.sb.ConfirmsExecuted(o.OrderID))
	}
}

func TestConfirmProcessingIsNotStored(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	h.sb.FailNext(1000, tosstest.Fault5xx)

	resp := h.confirm(key, o.OrderID, o.Amount, "confirm-key-1")
	var p paymentView
	wantEntity(t, resp, http.StatusAccepted, "payment", &p)
	if p.Status != "PROCESSING" || p.OrderStatus != "CONFIRMING" || p.PaymentKey != key {
		t.Fatalf("payment %+v", p)
	}
	if got := h.getOrder(o.OrderID); got.Status != "CONFIRMING" {
		t.Fatalf("order status %s", got.Status)
	}

	// While the claim holds, asking again answers "processing" from our
	// record, without calling Toss.
	before := len(h.sb.Requests())
	resp = h.confirm(key, o.OrderID, o.Amount, "confirm-key-1")
	wantEntity(t, resp, http.StatusAccepted, "payment", &p)
	if resp.Headers["Idempotent-Replayed"] != "" {
		t.Errorf("a processing answer was replayed")
	}
	if n := len(h.sb.Requests()) - before; n != 0 {
		t.Errorf("%d calls to Toss while the claim holds", n)
	}

	// Toss recovers (the buyer's authentication is still there) and the
	// claim lapses: the same key confirms now, once.
	h.sb.Reset()
	h.sb.Authorize(o.OrderID, o.OrderName, o.Amount, tosstest.WithPaymentKey(key))
	h.clock.Advance(claimDuration + time.Second)

	resp = h.confirm(key, o.OrderID, o.Amount, "confirm-key-1")
	wantEntity(t, resp, 200, "payment", &p)
	if p.Status != "DONE" || resp.Headers["Idempotent-Replayed"] != "" {
		t.Fatalf("after recovery: %+v %v", p, resp.Headers)
	}
	resp = h.confirm(key, o.OrderID, o.Amount, "confirm-key-1")
	wantEntity(t, resp, 200, "payment", &p)
	if resp.Headers["Idempotent-Replayed"] != "true" {
		t.Errorf("the DONE answer was not stored under the key")
	}
	if n := h.sb.ConfirmsExecuted(o.OrderID); n != 1 {
		t.Errorf("%d confirms executed, want 1", n)
	}
	if got := h.getOrder(o.OrderID); got.Status != "DONE" || got.Payment == nil {
		t.Errorf("order %+v", got)
	}
}

// While one attempt holds an order, another caller learns only that it is
// processing: never the holder's paymentKey.
func TestConfirmProcessingDoesNotRevealAnotherAttemptsKey(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	holder := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	other := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	h.sb.FailNext(1000, tosstest.Fault5xx)
	if resp := h.confirm(holder, o.OrderID, o.Amount, ""); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("holder: %d %s", resp.StatusCode, resp.Body)
	}
	resp := h.confirm(other, o.OrderID, o.Amount, "")
	var p paymentView
	wantEntity(t, resp, http.StatusAccepted, "payment", &p)
	if strings.Contains(resp.Body, holder) || p.PaymentKey != other {
		t.Fatalf("the 202 to another attempt shows %q: %s", p.PaymentKey, resp.Body)
	}
}

func TestConfirmBadRequests(t *testing.T) {
	cases := []struct {
		name, body, ctype, code string
	}{
		{"amount as a string that is not digits", `{"paymentKey":"tgen_x_0001","orderId":"ord_0000000000000000000000","amount":"39,000"}`, "", api.CodeInvalidRequest},
		{"amount as a signed string", `{"paymentKey":"tgen_x_0001","orderId":"ord_0000000000000000000000","amount":"+39000"}`, "", api.CodeInvalidRequest},
		{"amount as an empty string", `{"paymentKey":"tgen_x_0001","orderId":"ord_0000000000000000000000","amount":""}`, "", api.CodeInvalidRequest},
		{"amount as a string of zero", `{"paymentKey":"tgen_x_0001","orderId":"ord_0000000000000000000000","amount":"0"}`, "", api.CodeInvalidRequest},
		{"fractional amount", `{"paymentKey":"tgen_x_0001","orderId":"ord_0000000000000000000000","amount":39000.5}`, "", api.CodeInvalidRequest},
		{"missing amount", `{"paymentKey":"tgen_x_0001","orderId":"ord_0000000000000000000000"}`, "", api.CodeInvalidRequest},
		{"unknown field", `{"paymentKey":"tgen_x_0001","orderId":"ord_0000000000000000000000","amount":1,"x":1}`, "", api.CodeInvalidRequest},
		{"malformed JSON", `{"paymentKey":`, "", api.CodeInvalidJSON},
		{"wrong content type", `{"paymentKey":"tgen_x_0001","orderId":"ord_0000000000000000000000","amount":1}`, "text/plain", api.CodeUnsupportedContentType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ct := tc.ctype
			if ct == "" {
				ct = "application/json"
			}
			resp := h.json(h.svc.ConfirmPayment, rq{Method: "POST", Path: "/payments/confirm", Headers: map[string]string{"content-type": ct}, Body: tc.body})
			wantError(t, resp, 400, tc.code)
			if n := len(h.sb.Requests()); n != 0 {
				t.Errorf("%d calls reached Toss", n)
			}
		})
	}

	// The success URL's amount, sent on as a string (as Toss's sample
	// frontends do), is an amount like any other: checked against the
	// order, then confirmed once.
	t.Run("amount as a string of digits is checked, then confirmed", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		send := func(amount string) apigw.Response {
			body := `{"paymentKey":"` + key + `","orderId":"` + o.OrderID + `","amount":"` + amount + `"}`
			return h.json(h.svc.ConfirmPayment, rq{Method: "POST", Path: "/payments/confirm", Headers: jsonHeaders(), Body: body})
		}
		wantError(t, send("3900"), 400, api.CodeAmountMismatch)
		if n := h.confirmRequests(o.OrderID); n != 0 {
			t.Errorf("a tampered string amount reached Toss %d times", n)
		}
		var p paymentView
		wantEntity(t, send("39000"), 200, "payment", &p)
		if p.Status != "DONE" || p.Amount != 39000 || h.sb.ConfirmsExecuted(o.OrderID) != 1 {
			t.Errorf("payment %+v, executed %d", p, h.sb.ConfirmsExecuted(o.OrderID))
		}
	})
}

func TestReconcile(t *testing.T) {
	t.Run("lapsed claim is settled", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		// A Lambda claimed the order and died before calling Toss.
		now := h.clock.Now()
		if _, err := h.store.Claim(context.Background(), orders.Claim{OrderID: o.OrderID, PaymentKey: key, Amount: o.Amount, Now: now, Until: now.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(2 * time.Second)

		rep, err := h.svc.Reconcile(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.LapsedClaims != 1 || rep.Done != 1 || rep.Pending != 0 || rep.Errors != 0 {
			t.Errorf("report %+v", rep)
		}
		if got := h.getOrder(o.OrderID); got.Status != "DONE" || got.PaymentKey != key {
			t.Errorf("order %+v", got)
		}
		if n := h.sb.ConfirmsExecuted(o.OrderID); n != 1 {
			t.Errorf("%d confirms executed", n)
		}
		// A later pass finds nothing to do.
		rep, err = h.svc.Reconcile(context.Background(), nil)
		if err != nil || rep.LapsedClaims != 0 || rep.Done != 0 {
			t.Errorf("second pass %+v %v", rep, err)
		}
	})

	t.Run("claim still held is left alone", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		now := h.clock.Now()
		if _, err := h.store.Claim(context.Background(), orders.Claim{OrderID: o.OrderID, PaymentKey: key, Amount: o.Amount, Now: now, Until: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		rep, err := h.svc.Reconcile(context.Background(), nil)
		if err != nil || rep.LapsedClaims != 0 {
			t.Errorf("report %+v %v", rep, err)
		}
		if n := len(h.sb.Requests()); n != 0 {
			t.Errorf("%d calls to Toss", n)
		}
	})

	t.Run("unpaid order past its window expires", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		h.clock.Advance(24*time.Hour + time.Second)
		rep, err := h.svc.Reconcile(context.Background(), nil)
		if err != nil || rep.Expired != 1 {
			t.Fatalf("report %+v %v", rep, err)
		}
		if got := h.getOrder(o.OrderID); got.Status != "EXPIRED" {
			t.Errorf("status %s", got.Status)
		}
	})
}

// Buyers double-tapping, two tabs, a client retrying on a timeout: however
// many confirms race for one order, Toss executes one.
func TestConfirmConcurrent(t *testing.T) {
	for _, idemKey := range []string{"", "confirm-key-1"} {
		t.Run("idempotency key "+idemKey, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)

			const n = 8
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i] = h.confirm(key, o.OrderID, o.Amount, idemKey).StatusCode
				}()
			}
			wg.Wait()
			for i, st := range statuses {
				// 202: another request holds the claim; 409: another request
				// holds the Idempotency-Key. Both mean "ask again".
				if st != 200 && st != 202 && !(idemKey != "" && st == 409) {
					t.Errorf("request %d: status %d", i, st)
				}
			}
			var p paymentView
			wantEntity(t, h.confirm(key, o.OrderID, o.Amount, idemKey), 200, "payment", &p)
			if p.Status != "DONE" {
				t.Errorf("payment %+v", p)
			}
			if got := h.sb.ConfirmsExecuted(o.OrderID); got != 1 {
				t.Errorf("%d confirms executed, want 1", got)
			}
		})
	}
}

// The black-box finding: 20 confirms with made-up paymentKeys (orderId and
// amount are on the public checkout page) made 20 Toss calls with the
// merchant's secret key. Now an order admits orders.AttemptLimit
// Toss-reaching attempts a minute; beyond that the answer is 429
// TOO_MANY_REQUESTS with Retry-After, and nothing reaches Toss. The real
// buyer, arriving just after the burst, pays as soon as the window rolls:
// within a minute, well inside Toss's 10-minute confirm window.
func TestConfirmAttemptsAreBoundedPerOrder(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	start := h.clock.Now()
	before := h.tossRequests()
	throttled := 0
	for i := range 20 {
		r := h.confirm(fmt.Sprintf("tgen_20261122120000forged%04d", i), o.OrderID, o.Amount, "")
		switch {
		case r.StatusCode == http.StatusTooManyRequests:
			throttled++
			wantError(t, r, http.StatusTooManyRequests, api.CodeTooManyRequests)
			if s, err := strconv.Atoi(r.Headers["Retry-After"]); err != nil || s < 1 || s > int(orders.AttemptWindow/time.Second) {
				t.Fatalf("Retry-After %q", r.Headers["Retry-After"])
			}
		case r.StatusCode >= 400 && r.StatusCode < 500:
			// Toss refused the made-up key (its code passed through).
		default:
			t.Fatalf("forged confirm %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
	if n := h.tossRequests() - before; n != orders.AttemptLimit || throttled != 20-orders.AttemptLimit {
		t.Fatalf("20 forged confirms: %d Toss calls and %d throttled, want %d and %d", n, throttled, orders.AttemptLimit, 20-orders.AttemptLimit)
	}
	// English and Korean messages, as for every code.
	en := h.json(h.svc.ConfirmPayment, rq{Method: "POST", Path: "/payments/confirm", Headers: map[string]string{"content-type": "application/json", "accept-language": "en-US"},
		Body: confirmBody("tgen_20261122120000forged9999", o.OrderID, o.Amount)})
	if e := wantError(t, en, http.StatusTooManyRequests, api.CodeTooManyRequests); e.Error.Message != api.Message(api.CodeTooManyRequests, api.English) {
		t.Errorf("English message %q", e.Error.Message)
	}

	// The real buyer comes back from the window now: asked to wait, not
	// refused, and the page says when to ask again.
	// It sends an Idempotency-Key, as a single-page frontend retrying one
	// confirm does: the 429 must not be remembered under it, or the retry
	// it invites would be answered 429 forever.
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	r := h.confirm(key, o.OrderID, o.Amount, "buyer-confirm-1")
	wantError(t, r, http.StatusTooManyRequests, api.CodeTooManyRequests)
	wait, _ := strconv.Atoi(r.Headers["Retry-After"])
	page := h.success(o.OrderID, key, o.Amount)
	wantPage(t, page, http.StatusTooManyRequests, "processing")
	if page.Headers["Retry-After"] == "" || !strings.Contains(page.Body, `http-equiv="refresh" content="`+page.Headers["Retry-After"]+`;`) {
		t.Errorf("the page does not refresh after Retry-After (%q)", page.Headers["Retry-After"])
	}

	h.clock.Advance(time.Duration(wait) * time.Second)
	var p paymentView
	wantEntity(t, h.confirm(key, o.OrderID, o.Amount, "buyer-confirm-1"), http.StatusOK, "payment", &p)
	if p.Status != "DONE" || h.sb.ConfirmsExecuted(o.OrderID) != 1 {
		t.Fatalf("the real buyer's payment: %+v, executed %d", p, h.sb.ConfirmsExecuted(o.OrderID))
	}
	if waited := h.clock.Now().Sub(start); waited > orders.AttemptWindow {
		t.Fatalf("the real buyer waited %s", waited)
	}
	// Refreshes of the buyer's own attempt never count: no 429, no Toss call.
	before = h.tossRequests()
	for range 2 * orders.AttemptLimit {
		wantEntity(t, h.confirm(key, o.OrderID, o.Amount, ""), http.StatusOK, "payment", &p)
		wantPage(t, h.success(o.OrderID, key, o.Amount), http.StatusOK, "done")
	}
	if n := h.tossRequests() - before; n != 0 {
		t.Fatalf("refreshes of a paid attempt reached Toss %d times", n)
	}
}

// An attacker who sends a burst each minute: the real buyer's page, which
// asks again when Retry-After says, is admitted when the window rolls if
// it asks before the next burst (an attacker who races every freed slot
// can delay it further: that needs per-client throttling at the edge, see
// the README's API section), and once paid, further bursts reach Toss
// never again.
func TestConfirmRealBuyerPaysDuringAnAttack(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	start := h.clock.Now()
	forged := 0
	burst := func() {
		for range orders.AttemptLimit + 3 {
			forged++
			h.confirm(fmt.Sprintf("tgen_20261122120000forged%04d", forged), o.OrderID, o.Amount, "")
		}
	}
	burst()
	page := h.success(o.OrderID, key, o.Amount)
	wantPage(t, page, http.StatusTooManyRequests, "processing")
	wait, _ := strconv.Atoi(page.Headers["Retry-After"])
	h.clock.Advance(time.Duration(wait) * time.Second)
	// The page refreshes first this time; the attacker's next burst after.
	wantPage(t, h.success(o.OrderID, key, o.Amount), http.StatusOK, "done")
	burst()
	if h.clock.Now().Sub(start) > 10*time.Minute || h.sb.ConfirmsExecuted(o.OrderID) != 1 {
		t.Fatalf("paid after %s, %d confirms executed", h.clock.Now().Sub(start), h.sb.ConfirmsExecuted(o.OrderID))
	}
	if n := h.confirmRequests(o.OrderID); n != orders.AttemptLimit+1 {
		t.Fatalf("%d confirms reached Toss, want the attacker's %d and the buyer's 1", n, orders.AttemptLimit)
	}
}
