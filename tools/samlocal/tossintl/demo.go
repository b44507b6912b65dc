package tossintl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// DemoOrder is the order `samlocal up` creates for a developer to pay.
type DemoOrder struct{ ID, CheckoutURL string }

// CreateDemoOrder creates an order through the API, as a merchant would.
func CreateDemoOrder(ctx context.Context, api, merchantKey string) (DemoOrder, error) {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	ref := "local-demo-" + hex.EncodeToString(suffix)
	body := fmt.Sprintf(`{"orderName":"Local demo order","amount":15000,"customerEmail":"buyer@example.com","customerName":"Local Buyer","refOrderId":%q}`, ref)
	ctx, cancel := context.WithTimeout(ctx, stack.IntegrationTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"/orders", strings.NewReader(body))
	if err != nil {
		return DemoOrder{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(merchantKey+":")))
	req.Header.Set("Idempotency-Key", ref)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return DemoOrder{}, fmt.Errorf("POST /orders: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return DemoOrder{}, fmt.Errorf("POST /orders answered %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var v struct {
		EntityBody struct {
			OrderID     string `json:"orderId"`
			CheckoutURL string `json:"checkoutUrl"`
		} `json:"entityBody"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.EntityBody.CheckoutURL == "" {
		return DemoOrder{}, fmt.Errorf("POST /orders answered no checkoutUrl: %s", b)
	}
	return DemoOrder{ID: v.EntityBody.OrderID, CheckoutURL: v.EntityBody.CheckoutURL}, nil
}

// MaskPaymentKeys masks, in a line of the stack's EventBridge log, the
// value of every "paymentKey" field of the event at any depth, as the
// functions' own logs show them (payments.MaskKey).
func MaskPaymentKeys(line []byte) []byte {
	var v any
	if json.Unmarshal(line, &v) != nil {
		return line
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "paymentKey" && s != "" {
					line = bytes.ReplaceAll(line, []byte(s), []byte(payments.MaskKey(s)))
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return line
}
