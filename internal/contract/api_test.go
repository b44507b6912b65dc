package contract_test

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tossintl/backend/internal/contract"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// TestDocumentRoutesAreTheTemplates holds docs/openapi.yaml's paths to the
// HttpApi routes template.yaml gives API Gateway, both ways: a route added
// to the template must be documented (a path with its operations in
// docs/openapi.yaml, whose statuses shared/api's tests must then all
// provoke), and a documented route must exist.
func TestDocumentRoutesAreTheTemplates(t *testing.T) {
	api, err := contract.LoadAPI()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := stack.LoadTemplate(filepath.Join(contract.Root(), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tmpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	var inTemplate []string
	for _, r := range routes {
		inTemplate = append(inTemplate, r.Key())
	}
	documented := api.Routes()
	for _, k := range inTemplate {
		if !slices.Contains(documented, k) {
			t.Errorf("template.yaml routes %s, which docs/openapi.yaml does not document", k)
		}
	}
	for _, k := range documented {
		if !slices.Contains(inTemplate, k) {
			t.Errorf("docs/openapi.yaml documents %s, which template.yaml does not route", k)
		}
	}
	if len(inTemplate) == 0 {
		t.Fatal("template.yaml has no HttpApi routes")
	}
}

// exchange is a merchant's GET of an order answered as the document says.
func exchange() contract.Exchange {
	return contract.Exchange{
		Method: "GET", Path: "/orders/ord_2Rx8UV0X9byocWQFzOrAW0",
		Header: http.Header{"Authorization": {"Basic bWtfdGVzdDo="}},
		Status: 200, RespHeader: http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Cache-Control": {"no-store"}},
		RespBody: []byte(`{"version":"2026-11-01","traceId":"t-1","entityType":"order","entityBody":{"orderId":"ord_2Rx8UV0X9byocWQFzOrAW0",` +
			`"orderName":"Hanbok","amount":39000,"currency":"KRW","status":"PENDING","checkoutUrl":"https://api.example.test/checkout/ord_2Rx8UV0X9byocWQFzOrAW0",` +
			`"payment":null,"lastFailure":null,"payableUntil":"2026-12-08T22:43:55.459Z","createdAt":"2026-12-07T22:43:55.459Z","updatedAt":"2026-12-07T22:43:55.459Z"}}`),
	}
}

// TestCheckRefusesWhatTheDocumentDoesNotSay shows each kind of drift the
// check is there to catch, on one answer the document does describe.
func TestCheckRefusesWhatTheDocumentDoesNotSay(t *testing.T) {
	api, err := contract.LoadAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Check(exchange()); err != nil {
		t.Fatalf("a documented answer is refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(x *contract.Exchange)
		want string
	}{
		{"a renamed field", func(x *contract.Exchange) {
			x.RespBody = []byte(strings.Replace(string(x.RespBody), `"orderName"`, `"name"`, 1))
		}, "orderName"},
		{"a status not documented", func(x *contract.Exchange) { x.Status = http.StatusTeapot }, "418"},
		{"a field the document does not have", func(x *contract.Exchange) {
			x.RespBody = []byte(strings.Replace(string(x.RespBody), `"orderName"`, `"secretNote":"x","orderName"`, 1))
		}, "secretNote"},
		{"another entityType", func(x *contract.Exchange) {
			x.RespBody = []byte(strings.Replace(string(x.RespBody), `"entityType":"order"`, `"entityType":"orders"`, 1))
		}, "entityType"},
		{"a status the order cannot have", func(x *contract.Exchange) {
			x.RespBody = []byte(strings.Replace(string(x.RespBody), `"PENDING"`, `"PAID"`, 1))
		}, "status"},
		{"HTML where JSON is documented", func(x *contract.Exchange) {
			x.RespHeader.Set("Content-Type", "text/html; charset=utf-8")
		}, "Content-Type"},
		{"2xx to a request without credentials", func(x *contract.Exchange) { x.Header.Del("Authorization") }, "refuses"},
		{"2xx to credentials without the colon", func(x *contract.Exchange) {
			x.Header.Set("Authorization", "Basic bWtfdGVzdA==")
		}, "refuses"},
		{"2xx to an order id of another shape", func(x *contract.Exchange) { x.Path = "/orders/ord_1" }, "refuses"},
		{"a function answering off the document's routes", func(x *contract.Exchange) { x.Path = "/orders/ord_2Rx8UV0X9byocWQFzOrAW0/items" }, "no route"},
		{"an undocumented method", func(x *contract.Exchange) { x.Method = "PUT" }, "no route"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := exchange()
			x.Header, x.RespHeader = x.Header.Clone(), x.RespHeader.Clone()
			tc.edit(&x)
			err := api.Check(x)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the refusal does not name %q: %v", tc.want, err)
			}
		})
	}

	t.Run("API Gateway's 404 off the routes", func(t *testing.T) {
		x := exchange()
		x.Path, x.Status, x.RespBody = "/nothing/here", 404, []byte(`{"message":"Not Found"}`)
		x.RespHeader = http.Header{"Content-Type": {"application/json"}}
		if err := api.Check(x); err != nil {
			t.Fatal(err)
		}
	})
}

// TestUnexercisedNamesWhatNoAnswerReached: coverage starts empty, names
// every documented status, and forgets one once it is answered; API
// Gateway's own answers are left out of the handlers' share.
func TestUnexercisedNamesWhatNoAnswerReached(t *testing.T) {
	api, err := contract.LoadAPI()
	if err != nil {
		t.Fatal(err)
	}
	before := api.Unexercised(false)
	if !slices.Contains(before, "GET /orders/{orderId} (never called)") {
		t.Fatalf("a fresh document's coverage lacks GET /orders/{orderId}: %v", before)
	}
	if err := api.Check(exchange()); err != nil {
		t.Fatal(err)
	}
	after := api.Unexercised(false)
	if slices.Contains(after, "GET /orders/{orderId} 200") || !slices.Contains(after, "GET /orders/{orderId} 404") {
		t.Errorf("after one 200: %v", after)
	}
	if slices.Contains(after, "GET /orders/{orderId} 429") {
		t.Errorf("API Gateway's throttling is counted against the handlers: %v", after)
	}
	if !slices.Contains(api.Unexercised(true), "GET /orders/{orderId} 429") {
		t.Errorf("API Gateway's throttling is not counted at all")
	}
}
