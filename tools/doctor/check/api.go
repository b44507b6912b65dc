package check

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tossintl/backend/shared/toss"
)

// answer is what the API said to one request.
type answer struct {
	status int
	code   string // the error envelope's code, if any
	body   []byte
}

// call sends one request to the API. An error means no answer at all.
func call(ctx context.Context, t Target, method, path string, header map[string]string, body []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(t.APIURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, fmt.Errorf("read the answer to %s %s: %w", method, path, err)
	}
	a := answer{status: resp.StatusCode, body: b}
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	if json.Unmarshal(b, &env) == nil {
		a.code = env.Error.Code
	}
	return a, nil
}

// String is the status and code, as the report shows them.
func (a answer) String() string {
	if a.code == "" {
		return fmt.Sprint(a.status)
	}
	return fmt.Sprintf("%d %s", a.status, a.code)
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
	a, err := call(ctx, t, http.MethodGet, path, nil, nil)
	switch {
	case err != nil:
		return unreachable(t, name, path, err)
	case a.status == http.StatusNotFound:
		return Result{Name: name, Status: Pass, Detail: t.APIURL + " answers the checkout page of an unknown order with its 404 page"}
	case a.status >= 500:
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("the checkout page of an unknown order answers %s", a),
			Fix: "read CheckoutFunction's logs: it could not read the orders table, or did not start"}
	}
	return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("the checkout page of an unknown order answers %s, not the 404 page", a),
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
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
	a, err := call(ctx, t, http.MethodGet, path, map[string]string{"Authorization": auth}, nil)
	switch {
	case err != nil:
		return unreachable(t, name, path, err)
	case a.status == http.StatusOK:
		return Result{Name: name, Status: Pass, Detail: "GET /orders?limit=1 answers 200 to the key from " + from}
	case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
		fix := "the functions hold another merchantApiKey: they take a new one within SECRET_CACHE_SECONDS (5 minutes) of put-secret-value"
		if from == "MERCHANT_API_KEY" && keys != nil && keys.merchant != "" && keys.merchant != key {
			fix = "MERCHANT_API_KEY is not the secret's merchantApiKey: give your servers the secret's key"
		}
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("GET /orders?limit=1 refuses the key from %s: %s", from, a), Fix: fix}
	case a.status >= 500:
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("GET /orders?limit=1 answers %s", a),
			Fix: "read ListOrdersFunction's logs: the keys secret is empty, invalid or unreadable, or the orders table is unreachable"}
	}
	return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("GET /orders?limit=1 answers %s", a), Fix: "is " + t.APIURL + " this backend's API?"}
}

// checkWebhook posts a payment webhook about an order that does not exist:
// TossWebhookFunction reads the orders table, finds nothing and ignores it
// (200). Nothing is written and Toss is not called.
func checkWebhook(ctx context.Context, t Target) Result {
	const name = "webhook route"
	id := probeID()
	body, err := json.Marshal(map[string]any{
		"eventType": "PAYMENT_STATUS_CHANGED",
		// Toss writes createdAt in Korean time without an offset.
		"createdAt": time.Now().In(toss.KST).Format("2006-01-02T15:04:05"),
		"data":      map[string]string{"paymentKey": id, "orderId": id, "status": "DONE"},
	})
	if err != nil {
		return Result{Name: name, Status: Fail, Detail: err.Error()}
	}
	const path = "/webhooks/toss"
	a, err := call(ctx, t, http.MethodPost, path, map[string]string{"Content-Type": "application/json"}, body)
	switch {
	case err != nil:
		return unreachable(t, name, path, err)
	case a.status == http.StatusOK:
		return Result{Name: name, Status: Pass, Detail: "POST /webhooks/toss answers 200 to a webhook about no order (ignored, nothing written)"}
	case a.status >= 500:
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("POST /webhooks/toss answers %s to a harmless probe", a),
			Fix: "read TossWebhookFunction's logs: Toss retries every 5xx delivery and the 5xx alarm counts it"}
	}
	return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("POST /webhooks/toss answers %s to a webhook about no order, want 200", a),
		Fix: "is " + t.APIURL + " this backend's API, deployed from this tree?"}
}
