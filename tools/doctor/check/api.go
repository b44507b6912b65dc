package check

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tossintl/backend/internal/merchantapi"
	"github.com/tossintl/backend/shared/toss"
)

// call sends one request to the API, with the merchant's key when key is
// set. An error means no answer at all.
func call(ctx context.Context, t Target, key, method, path string, body any) (*merchantapi.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	c := merchantapi.Client{URL: strings.TrimRight(t.APIURL, "/"), Key: key, HTTP: t.HTTP}
	return c.Do(ctx, method, path, body, nil)
}

// shown is an answer's status and error code, as the report shows them.
func shown(a *merchantapi.Response) string {
	if code := a.Code(); code != "" {
		return fmt.Sprintf("%d %s", a.Status, code)
	}
	return fmt.Sprint(a.Status)
}

// unreachable is the result for a request that got no answer.
func unreachable(t Target, name, path string, err error) Result {
	return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("no answer from %s%s: %v", t.APIURL, path, err), Fix: t.APIHint}
}

// checkAPI asks for the checkout page of an order that does not exist:
// the API, the routing and CheckoutFunction's read of the orders table must
// answer it with the 404 page.
func checkAPI(ctx context.Context, t Target) Result {
	const name = "API"
	path := "/checkout/" + probeID()
	a, err := call(ctx, t, "", http.MethodGet, path, nil)
	switch {
	case err != nil:
		return unreachable(t, name, path, err)
	case a.Status == http.StatusNotFound:
		return Result{Name: name, Status: Pass, Detail: t.APIURL + " answers the checkout page of an unknown order with its 404 page"}
	case a.Status >= 500:
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("the checkout page of an unknown order answers %s", shown(a)),
			Fix: "read CheckoutFunction's logs: it could not read the orders table, or did not start"}
	}
	return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("the checkout page of an unknown order answers %s, not the 404 page", shown(a)),
		Fix: "is " + t.APIURL + " this backend's API (the stack's ApiUrl)?"}
}

// checkMerchantKey lists one order with the merchant key: the key, the
// secret's cache in the functions, and ListOrdersFunction's query of the
// orders table must all work.
func checkMerchantKey(ctx context.Context, t Target, keys *secretKeys) Result {
	const name = "merchant key"
	key, from := t.MerchantAPIKey, "MERCHANT_API_KEY"
	if key == "" && keys != nil {
		key, from = keys.merchant, "the keys secret"
	}
	if key == "" {
		return Result{Name: name, Status: Skip, Detail: "not checked: the keys secret holds no merchant key (MERCHANT_API_KEY=… checks yours)"}
	}
	path := "/orders?limit=1"
	a, err := call(ctx, t, key, http.MethodGet, path, nil)
	switch {
	case err != nil:
		return unreachable(t, name, path, err)
	case a.Status == http.StatusOK:
		return Result{Name: name, Status: Pass, Detail: "GET /orders?limit=1 answers 200 to the key from " + from}
	case a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden:
		fix := "the functions hold another merchantApiKey: they take a new one within SECRET_CACHE_SECONDS (5 minutes) of put-secret-value"
		if from == "MERCHANT_API_KEY" && keys != nil && keys.merchant != "" && keys.merchant != key {
			fix = "MERCHANT_API_KEY is not the secret's merchantApiKey: give your servers the secret's key"
		}
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("GET /orders?limit=1 refuses the key from %s: %s", from, shown(a)), Fix: fix}
	case a.Status >= 500:
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("GET /orders?limit=1 answers %s", shown(a)),
			Fix: "read ListOrdersFunction's logs: the keys secret is empty, invalid or unreadable, or the orders table is unreachable"}
	}
	return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("GET /orders?limit=1 answers %s", shown(a)), Fix: "is " + t.APIURL + " this backend's API?"}
}

// checkWebhook posts a payment webhook about an order that does not exist:
// TossWebhookFunction reads the orders table, finds nothing and ignores it
// (200). Nothing is written and Toss is not called.
func checkWebhook(ctx context.Context, t Target) Result {
	const name = "webhook route"
	id := probeID()
	body := map[string]any{
		"eventType": "PAYMENT_STATUS_CHANGED",
		// Toss writes createdAt in Korean time without an offset.
		"createdAt": time.Now().In(toss.KST).Format("2006-01-02T15:04:05"),
		"data":      map[string]string{"paymentKey": id, "orderId": id, "status": "DONE"},
	}
	const path = "/webhooks/toss"
	a, err := call(ctx, t, "", http.MethodPost, path, body)
	switch {
	case err != nil:
		return unreachable(t, name, path, err)
	case a.Status == http.StatusOK:
		return Result{Name: name, Status: Pass, Detail: "POST /webhooks/toss answers 200 to a webhook about no order (ignored, nothing written)"}
	case a.Status >= 500:
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("POST /webhooks/toss answers %s to a harmless probe", shown(a)),
			Fix: "read TossWebhookFunction's logs: Toss retries every 5xx delivery and the 5xx alarm counts it"}
	}
	return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("POST /webhooks/toss answers %s to a webhook about no order, want 200", shown(a)),
		Fix: "is " + t.APIURL + " this backend's API, deployed from this tree?"}
}
