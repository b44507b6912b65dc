package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/examples"
	"github.com/tossintl/backend/internal/contract"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// TestMerchantExampleAgainstTheStack runs examples/merchant.ts, compiled
// against the types openapi-typescript generates from docs/openapi.yaml,
// against a local stack: it creates an order, lists the newest and refunds
// the paid order the test hands it (the buyer's part, Toss's window, is
// the sandbox's). Its requests go through the stack's contract check like
// every other client's.
func TestMerchantExampleAgainstTheStack(t *testing.T) {
	script, err := examples.Build(t.TempDir(), contract.DocPath(), filepath.Join(examples.Dir(), "merchant.ts"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startStack(t, stack.Options{Functions: []string{"CreateOrderFunction", "ListOrdersFunction", "ConfirmPaymentFunction", "CancelPaymentFunction"}})
	merchant := map[string]string{"Authorization": basic(stack.DefaultMerchantAPIKey), "Content-Type": "application/json"}

	body, _ := json.Marshal(map[string]any{"orderName": "Pottery class", "amount": 52000})
	r := do(t, "POST", s.URL+"/orders", merchant, body)
	var created struct{ EntityBody struct{ OrderID string } }
	if r.Status != 200 || json.Unmarshal(r.Body, &created) != nil {
		t.Fatalf("create order: %d %s", r.Status, r.Body)
	}
	id := created.EntityBody.OrderID
	pk := s.Sandbox.Authorize(id, "Pottery class", 52000)
	cb, _ := json.Marshal(map[string]any{"paymentKey": pk, "orderId": id, "amount": 52000})
	if r := do(t, "POST", s.URL+"/payments/confirm", map[string]string{"Content-Type": "application/json"}, cb); r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), "API_URL="+s.URL, "MERCHANT_API_KEY="+stack.DefaultMerchantAPIKey, "REFUND_PAYMENT_KEY="+pk)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node merchant.js: %v\n%s", err, out)
	}
	for _, want := range []string{`"step":"created"`, `"step":"listed"`, `"step":"refunded","orderId":"` + id + `","status":"PARTIAL_CANCELED"`, `"balanceAmount":42000,"repeated":false`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the script's output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), pk) {
		t.Errorf("the script printed a whole paymentKey:\n%s", out)
	}
	if p, ok := s.Sandbox.Payment(pk); !ok || p.BalanceAmount != 42000 {
		t.Errorf("the sandbox's balance after the script's refund: %+v", p)
	}
}
