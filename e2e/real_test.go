package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tossintl/backend/internal/testenv"
	"github.com/tossintl/backend/shared/logsink"
	"github.com/tossintl/backend/tools/samlocal/stack"
	"github.com/tossintl/backend/tools/samlocal/tossintl"
)

// TestRealFunctionsThroughTheAPI builds three of the project's own functions
// from template.yaml with the project's Makefile and calls them through the
// local API, with DynamoDB Local, the keys secret on moto and the sandbox as `make local` sets
// them up: the merchant creates an order, reads it back and the buyer opens
// its checkout page, which must load the sandbox's SDK.
func TestRealFunctionsThroughTheAPI(t *testing.T) {
	testenv.Skip(t, localStack)
	calls := &stack.AWSRecorder{}
	logs := &logsink.Buffer{}
	fns := []string{"CreateOrderFunction", "GetOrderFunction", "CheckoutFunction"}
	opts := stack.Options{
		Template: realTemplate, BuildDir: t.TempDir(), Functions: fns,
		AWSProxy: calls.Proxy, Logs: logs, MaxConcurrency: 2, RedactBusLog: tossintl.MaskPaymentKeys,
	}
	checked := holdToContract(&opts)
	s, err := stack.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, logs)
	}
	guardPaymentKeys(t, s, logs)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checked(t, s)
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	})
	auth := map[string]string{"Authorization": basic(stack.DefaultMerchantAPIKey), "Content-Type": "application/json", "Idempotency-Key": "real-e2e-1"}

	r := do(t, "POST", s.URL+"/orders", auth, []byte(`{"orderName":"Hanbok rental, 1 day","amount":39000,"customerEmail":"buyer@example.com"}`))
	if r.Status != 200 {
		t.Fatalf("POST /orders: %d %s", r.Status, r.Body)
	}
	var created struct {
		EntityBody struct {
			OrderID, Status, CheckoutURL, CheckoutToken string
			Amount                                      int64
		}
	}
	if err := json.Unmarshal(r.Body, &created); err != nil {
		t.Fatal(err)
	}
	o := created.EntityBody
	if o.OrderID == "" || o.Amount != 39000 || o.CheckoutToken == "" || o.CheckoutURL != s.URL+"/checkout/"+o.OrderID+"?token="+o.CheckoutToken {
		t.Fatalf("created order %+v (API %s)", o, s.URL)
	}

	// The same Idempotency-Key replays the first answer.
	if r := do(t, "POST", s.URL+"/orders", auth, []byte(`{"orderName":"Hanbok rental, 1 day","amount":39000,"customerEmail":"buyer@example.com"}`)); r.Status != 200 ||
		r.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(r.Body), o.OrderID) {
		t.Errorf("replay: %d %v %s", r.Status, r.Header, r.Body)
	}

	r = do(t, "GET", s.URL+"/orders/"+o.OrderID, map[string]string{"Authorization": basic(stack.DefaultMerchantAPIKey)}, nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"status":"PENDING"`) {
		t.Errorf("GET /orders/{orderId}: %d %s", r.Status, r.Body)
	}
	if r := do(t, "GET", s.URL+"/orders/"+o.OrderID, nil, nil); r.Status != 401 {
		t.Errorf("GET without the merchant key: %d", r.Status)
	}

	r = do(t, "GET", s.URL+"/checkout/"+o.OrderID, map[string]string{"Accept-Language": "en"}, nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("checkout page: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if page := string(r.Body); !strings.Contains(page, s.SandboxURL+"/v2/standard") || !strings.Contains(page, s.Keys.TossClientKey) {
		t.Errorf("the checkout page does not load the sandbox SDK with the sandbox client key")
	}
	if strings.Contains(logs.String(), s.Keys.TossSecretKey) || strings.Contains(string(r.Body), s.Keys.TossSecretKey) {
		t.Error("the Toss secret key appeared in a log or a page")
	}

	checkGranted(t, calls, s, "CreateOrderFunction", "dynamodb:PutItem", "secretsmanager:GetSecretValue")
	checkGranted(t, calls, s, "GetOrderFunction", "dynamodb:GetItem", "secretsmanager:GetSecretValue")
	checkGranted(t, calls, s, "CheckoutFunction", "dynamodb:GetItem")
}
