package e2e

import (
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"

	sampleevents "github.com/tossintl/backend/events"
	"github.com/tossintl/backend/shared/logsink"
	"github.com/tossintl/backend/tools/samlocal/stack"
	"github.com/tossintl/backend/tools/samlocal/tossintl"
)

// eventCase is what one file in events/ must produce through its
// function's real bootstrap.
type eventCase struct {
	file     string
	function string
	status   int
	contains []string // substrings of the body
	absent   []string // substrings the body must not hold
	before   func(t *testing.T, s *stack.Stack)
}

// dashboardRefund refunds the success event's payment in the sandbox's
// "dashboard", as an operator would, so the webhook event has news to apply.
func dashboardRefund(t *testing.T, s *stack.Stack) {
	t.Helper()
	if _, err := s.Sandbox.DashboardCancel(sampleevents.PaymentKey, "refunded by the operator", 0); err != nil {
		t.Fatalf("dashboard cancel: %v", err)
	}
}

var eventCases = []eventCase{
	{"create-order.json", "CreateOrderFunction", 200, []string{`"entityType":"order"`, `"status":"PENDING"`, `"refOrderId":"shop-1001"`}, nil, nil},
	{"create-order-base64.json", "CreateOrderFunction", 200, []string{`"entityType":"order"`}, nil, nil},
	{"create-order-malformed-json.json", "CreateOrderFunction", 400, []string{`"code":"INVALID_JSON"`}, nil, nil},
	{"create-order-missing-auth.json", "CreateOrderFunction", 401, []string{`"code":"UNAUTHORIZED_KEY"`}, nil, nil},
	{"create-order-wrong-key.json", "CreateOrderFunction", 401, []string{`"code":"UNAUTHORIZED_KEY"`}, nil, nil},
	{"create-order-no-colon.json", "CreateOrderFunction", 403, []string{`"code":"INCORRECT_BASIC_AUTH_FORMAT"`}, nil, nil},
	{"create-order-long-idempotency-key.json", "CreateOrderFunction", 400, []string{`"code":"INVALID_IDEMPOTENCY_KEY"`}, nil, nil},
	{"create-order-invalid-amount.json", "CreateOrderFunction", 400, []string{`"code":"INVALID_REQUEST"`, "amount"}, nil, nil},
	{"get-order.json", "GetOrderFunction", 200, []string{`"orderId":"` + sampleevents.OrderID + `"`, `"status":"PENDING"`}, nil, nil},
	{"get-order-unknown.json", "GetOrderFunction", 404, []string{`"code":"NOT_FOUND_ORDER"`}, nil, nil},
	{"get-order-path-traversal.json", "GetOrderFunction", 404, []string{`"code":"NOT_FOUND_ORDER"`}, nil, nil},
	{"list-orders.json", "ListOrdersFunction", 200, []string{`"entityType":"order-list"`, `"hasNext"`, sampleevents.OrderID}, nil, nil},
	{"list-orders-bad-cursor.json", "ListOrdersFunction", 400, []string{`"code":"INVALID_CURSOR"`}, nil, nil},
	{"checkout.json", "CheckoutFunction", 200, []string{`data-state="checkout"`, `lang="en"`, "/v2/standard"}, []string{"test_sk_"}, nil},
	{"checkout-japanese.json", "CheckoutFunction", 200, []string{`data-state="checkout"`, `lang="ja"`}, nil, nil},
	{"checkout-unknown.json", "CheckoutFunction", 404, []string{`data-state="not-found"`}, nil, nil},
	{"payment-success-tampered-amount.json", "PaymentSuccessFunction", 400, []string{`data-state="amount-refused"`}, nil, nil},
	{"payment-success.json", "PaymentSuccessFunction", 200, []string{`data-state="done"`}, nil, nil},
	{"payment-success-malformed.json", "PaymentSuccessFunction", 400, []string{`data-state="bad-request"`}, []string{"<script>"}, nil},
	{"payment-fail.json", "PaymentFailFunction", 200, []string{`data-state="fail"`, "REJECT_CARD_COMPANY", `id="retry"`}, nil, nil},
	{"payment-fail-canceled.json", "PaymentFailFunction", 200, []string{`data-state="fail"`, "PAY_PROCESS_CANCELED"}, nil, nil},
	{"payment-fail-markup.json", "PaymentFailFunction", 200, []string{`data-state="fail"`}, []string{"<script>alert", "<img src=x"}, nil},
	{"confirm-payment-tampered.json", "ConfirmPaymentFunction", 400, []string{`"code":"AMOUNT_MISMATCH"`}, nil, nil},
	{"confirm-payment-invalid-amount.json", "ConfirmPaymentFunction", 400, []string{`"code":"INVALID_REQUEST"`}, nil, nil},
	{"confirm-payment.json", "ConfirmPaymentFunction", 200, []string{`"entityType":"payment"`, `"status":"DONE"`}, nil, nil},
	{"toss-sample-confirm.json", "ConfirmPaymentFunction", 200, []string{`"orderId":"` + sampleevents.ConfirmOrderID + `"`, `"totalAmount":52000`, `"status":"DONE"`, `"method":`}, []string{`"entityType"`, `"error"`}, nil},
	{"confirm-payment-malformed.json", "ConfirmPaymentFunction", 400, []string{`"code":"INVALID_JSON"`}, nil, nil},
	{"confirm-payment-wrong-content-type.json", "ConfirmPaymentFunction", 400, []string{`"code":"UNSUPPORTED_CONTENT_TYPE"`}, nil, nil},
	{"cancel-payment-over-balance.json", "CancelPaymentFunction", 400, []string{`"code":"EXCEED_CANCEL_AMOUNT"`}, nil, nil},
	{"cancel-payment-missing-reason.json", "CancelPaymentFunction", 400, []string{`"code":"INVALID_REQUEST"`, "cancelReason"}, nil, nil},
	{"cancel-payment-unknown.json", "CancelPaymentFunction", 404, []string{`"code":"NOT_FOUND_ORDER"`}, nil, nil},
	{"cancel-payment.json", "CancelPaymentFunction", 200, []string{`"status":"PARTIAL_CANCELED"`, `"balanceAmount":42000`, `"repeated":false`}, nil, nil},
	{"toss-webhook-malformed.json", "TossWebhookFunction", 400, []string{`"code":"INVALID_WEBHOOK"`}, nil, nil},
	{"toss-webhook.json", "TossWebhookFunction", 200, []string{`"action":"APPLIED"`}, nil, dashboardRefund},
	{"delete-order.json", "DeleteOrderFunction", 200, []string{`"entityType":"deleted-entity"`, `"id":"` + sampleevents.OrderID + `"`}, nil, nil},
	{"reconcile.json", "ReconcileFunction", 0, []string{`"LapsedClaims":1`, `"Declined":1`, `"Expired":1`, `"Errors":0`}, nil, nil},
	{"order-events.json", "OrderEventsFunction", 0, []string{`"batchItemFailures":[]`}, nil, nil},
	{"order-events-refund.json", "OrderEventsFunction", 0, []string{`"batchItemFailures":[]`}, nil, nil},
	{"order-events-ttl-expiry.json", "OrderEventsFunction", 0, []string{`"batchItemFailures":[]`}, nil, nil},
	{"order-events-no-status-change.json", "OrderEventsFunction", 0, []string{`"batchItemFailures":[]`}, nil, nil},
}

// check holds one answer to what the case expects.
func (c eventCase) check(t *testing.T, payload []byte) {
	t.Helper()
	body := string(payload)
	if c.status != 0 {
		var resp struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
			Body       string            `json:"body"`
		}
		if err := json.Unmarshal(payload, &resp); err != nil {
			t.Errorf("%s: response is not an HTTP API response: %v", c.file, err)
			return
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

// startEventsStack starts the functions without the API, one environment
// each, over DynamoDB Local, moto and the sandbox, with the orders events/ refers to
// seeded; opts adds to that. It stops with the test, and its logs are
// searched for paymentKeys then.
func startEventsStack(t *testing.T, opts stack.Options) (*stack.Stack, *logsink.Buffer) {
	t.Helper()
	opts.NoAPI, opts.MaxConcurrency = true, 1
	s, logs := startStack(t, opts)
	if err := tossintl.SeedEvents(t.Context(), s); err != nil {
		t.Fatalf("seed the sample events' orders: %v", err)
	}
	return s, logs
}

// TestEveryEventThroughItsBootstrap runs every file in events/ through its
// function's real bootstrap over DynamoDB Local, moto and the sandbox, checks each answer,
// and then checks each function's AWS calls against template.yaml in both
// directions: nothing called that is not granted, nothing granted that is
// never called.
func TestEveryEventThroughItsBootstrap(t *testing.T) {
	files, err := fs.Glob(sampleevents.FS, "*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no events: %v", err)
	}
	covered := map[string]bool{}
	for _, c := range eventCases {
		covered[c.file] = true
	}
	for _, f := range files {
		if !covered[f] {
			t.Errorf("events/%s has no expected answer in this test", f)
		}
	}

	calls := &stack.AWSRecorder{}
	s, logs := startEventsStack(t, stack.Options{AWSProxy: calls.Proxy})

	for _, c := range eventCases {
		if c.before != nil {
			c.before(t, s)
		}
		event, err := sampleevents.Read(c.file)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Invoke(t.Context(), c.function, event)
		if err != nil || res.Error != nil {
			t.Errorf("%s: invoke: %v %+v", c.file, err, res.Error)
			continue
		}
		if err := apiContract.CheckInvocation(event, res.Payload); err != nil {
			t.Errorf("%s: contract: %v", c.file, err)
		}
		c.check(t, res.Payload)
	}

	if n := s.Sandbox.ConfirmsExecuted(sampleevents.PaidOrderID); n != 1 {
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
		for _, c := range calls.Calls(fn) {
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
