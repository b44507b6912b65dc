package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

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

// Links the API hands out are built from API Gateway's domain name, not
// from a header the client sets.
func TestLinksIgnoreClientSetForwardedHost(t *testing.T) {
	h := newHarness(t)
	req := h.request(rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: jsonHeaders("x-forwarded-host", "evil.example"), Body: createBody("Tea", 1000)})
	req.RequestContext.DomainName = "api.shop.example"
	resp := h.call(h.svc.JSON(h.svc.CreateOrder), req)
	if resp.StatusCode != 200 || strings.Contains(resp.Body, "evil.example") || !strings.Contains(resp.Body, "https://api.shop.example/checkout/") {
		t.Fatalf("checkoutUrl follows the client's header: %s", resp.Body)
	}
	if got := apigw.BaseURL(&req); got != "https://api.shop.example" {
		t.Fatalf("BaseURL = %s", got)
	}
}
