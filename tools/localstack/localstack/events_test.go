package localstack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// eventCase is what one file in events/ must produce through its
// function's real bootstrap.
type eventCase struct {
	file     string
	function string
	status   int
	contains []string // substrings of the body
	absent   []string // substrings the body must not hold
}

var eventCases = []eventCase{
	{"create-order.json", "CreateOrderFunction", 200, []string{`"entityType":"order"`, `"status":"PENDING"`, `"refOrderId":"shop-1001"`}, nil},
	{"create-order-base64.json", "CreateOrderFunction", 200, []string{`"entityType":"order"`}, nil},
	{"create-order-malformed-json.json", "CreateOrderFunction", 400, []string{`"code":"INVALID_JSON"`}, nil},
	{"create-order-missing-auth.json", "CreateOrderFunction", 401, []string{`"code":"UNAUTHORIZED_KEY"`}, nil},
	{"create-order-wrong-key.json", "CreateOrderFunction", 401, []string{`"code":"UNAUTHORIZED_KEY"`}, nil},
	{"create-order-no-colon.json", "CreateOrderFunction", 403, []string{`"code":"INCORRECT_BASIC_AUTH_FORMAT"`}, nil},
	{"create-order-long-idempotency-key.json", "CreateOrderFunction", 400, []string{`"code":"INVALID_IDEMPOTENCY_KEY"`}, nil},
	{"create-order-invalid-amount.json", "CreateOrderFunction", 400, []string{`"code":"INVALID_REQUEST"`, "amount"}, nil},
	{"get-order.json", "GetOrderFunction", 200, []string{`"orderId":"` + EventOrderID + `"`, `"status":"PENDING"`}, nil},
	{"get-order-unknown.json", "GetOrderFunction", 404, []string{`"code":"NOT_FOUND_ORDER"`}, nil},
	{"get-order-path-traversal.json", "GetOrderFunction", 404, []string{`"code":"NOT_FOUND_ORDER"`}, nil},
	{"list-orders.json", "ListOrdersFunction", 200, []string{`"entityType":"order-list"`, `"hasNext"`, EventOrderID}, nil},
	{"list-orders-bad-cursor.json", "ListOrdersFunction", 400, []string{`"code":"INVALID_CURSOR"`}, nil},
	{"checkout.json", "CheckoutFunction", 200, []string{`data-state="checkout"`, `lang="en"`, "/v2/standard"}, []string{"test_sk_"}},
	{"checkout-japanese.json", "CheckoutFunction", 200, []string{`data-state="checkout"`, `lang="ja"`}, nil},
	{"checkout-unknown.json", "CheckoutFunction", 404, []string{`data-state="not-found"`}, nil},
	{"payment-success-tampered-amount.json", "PaymentSuccessFunction", 400, []string{`data-state="amount-refused"`}, nil},
	{"payment-success.json", "PaymentSuccessFunction", 200, []string{`data-state="done"`}, nil},
	{"payment-success-malformed.json", "PaymentSuccessFunction", 400, []string{`data-state="bad-request"`}, []string{"<script>"}},
	{"payment-fail.json", "PaymentFailFunction", 200, []string{`data-state="fail"`, "REJECT_CARD_COMPANY", `id="retry"`}, nil},
	{"payment-fail-canceled.json", "PaymentFailFunction", 200, []string{`data-state="fail"`, "PAY_PROCESS_CANCELED"}, nil},
	{"payment-fail-markup.json", "PaymentFailFunction", 200, []string{`data-state="fail"`}, []string{"<script>alert", "<img src=x"}},
	{"confirm-payment-tampered.json", "ConfirmPaymentFunction", 400, []string{`"code":"AMOUNT_MISMATCH"`}, nil},
	{"confirm-payment-invalid-amount.json", "ConfirmPaymentFunction", 400, []string{`"code":"INVALID_REQUEST"`}, nil},
	{"confirm-payment.json", "ConfirmPaymentFunction", 200, []string{`"entityType":"payment"`, `"status":"DONE"`}, nil},
	{"confirm-payment-malformed.json", "ConfirmPaymentFunction", 400, []string{`"code":"INVALID_JSON"`}, nil},
	{"confirm-payment-wrong-content-type.json", "ConfirmPaymentFunction", 400, []string{`"code":"UNSUPPORTED_CONTENT_TYPE"`}, nil},
	{"delete-order.json", "DeleteOrderFunction", 200, []string{`"entityType":"deleted-entity"`, `"id":"` + EventOrderID + `"`}, nil},
	{"reconcile.json", "ReconcileFunction", 0, []string{`"LapsedClaims":1`, `"Declined":1`, `"Expired":1`, `"Errors":0`}, nil},
}

// TestEveryEventThroughItsBootstrap runs every file in events/ through its
// function's real bootstrap over moto and the sandbox, checks each answer,
// and then checks each function's AWS calls against template.yaml in both
// directions: nothing called that is not granted, nothing granted that is
// never called.
func TestEveryEventThroughItsBootstrap(t *testing.T) {
	files, err := filepath.Glob("../../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no events: %v", err)
	}
	covered := map[string]bool{}
	for _, c := range eventCases {
		covered[c.file] = true
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("events/%s has no expected answer in this test", filepath.Base(f))
		}
	}

	calls := &awsCalls{}
	logs := &syncBuf{}
	s, err := Start(t.Context(), Options{Template: realTemplate, BuildDir: t.TempDir(), NoAPI: true, AWSProxy: calls.proxy, Logs: logs, MaxConcurrency: 1})
	if err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, logs)
	}
	t.Cleanup(func() {
		_ = s.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	})
	if err := s.SeedEvents(t.Context()); err != nil {
		t.Fatal(err)
	}

	for _, c := range eventCases {
		event, err := os.ReadFile(filepath.Join("../../../events", c.file))
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Invoke(t.Context(), c.function, event)
		if err != nil || res.Error != nil {
			t.Errorf("%s: invoke: %v %+v", c.file, err, res.Error)
			continue
		}
		body := string(res.Payload)
		if c.status != 0 {
			var resp struct {
				StatusCode int               `json:"statusCode"`
				Headers    map[string]string `json:"headers"`
				Body       string            `json:"body"`
			}
			if err := json.Unmarshal(res.Payload, &resp); err != nil {
				t.Errorf("%s: response is not an HTTP API response: %v", c.file, err)
				continue
			}
			if resp.StatusCode != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.file, resp.StatusCode, c.status, resp.Body)
			}
			if resp.StatusCode >= 500 {
				t.Errorf("%s: a 5xx", c.file)
			}
			body = resp.Body
		}
		for _, want := range c.contains {
			if !strings.Contains(body, want) {
				t.Errorf("%s: response lacks %s: %.600s", c.file, want, body)
			}
		}
		for _, bad := range c.absent {
			if strings.Contains(body, bad) {
				t.Errorf("%s: response holds %q", c.file, bad)
			}
		}
	}

	if n := s.Sandbox.ConfirmsExecuted(EventPaidOrderID); n != 1 {
		t.Errorf("the success event's order was confirmed %d times at the sandbox", n)
	}
	if strings.Contains(logs.String(), s.Keys.TossSecretKey) {
		t.Error("the Toss secret key appears in the functions' logs")
	}

	// Least privilege, both ways.
	for _, fn := range s.Template.Functions {
		stmts, err := s.Resolver.Statements(fn)
		if err != nil {
			t.Fatal(err)
		}
		var granted []string
		for _, st := range stmts {
			for _, a := range st.Actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %s", fn, a)
				}
				for _, r := range st.Resources {
					granted = append(granted, a+" "+r)
				}
			}
		}
		var used []string
		for _, c := range calls.of(fn) {
			used = append(used, c.Action+" "+c.Resource)
		}
		for _, u := range used {
			if !slices.Contains(granted, u) {
				t.Errorf("%s calls %s, which template.yaml does not grant", fn, u)
			}
		}
		for _, g := range granted {
			if !slices.Contains(used, g) {
				t.Errorf("%s is granted %s, which its code never used on any event", fn, g)
			}
		}
	}
}
