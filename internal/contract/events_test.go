package contract_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tossintl/backend/internal/contract"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

var update = flag.Bool("update", false, "rewrite template.yaml's event schemas from docs/events")

// TestTemplateSchemasAreDocsEvents holds the template's schema registry to
// docs/events: one AWS::EventSchemas::Schema per file, named
// tossintl.orders@<title>, whose Content is the file's JSON. With -update
// it rewrites the Contents from the files instead (go test
// ./internal/contract -run TestTemplateSchemasAreDocsEvents -update).
func TestTemplateSchemasAreDocsEvents(t *testing.T) {
	ev, err := contract.LoadEvents()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(contract.Root(), "template.yaml")
	if *update {
		rewriteSchemas(t, path, ev)
	}
	tmpl, err := stack.LoadTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	inTemplate := map[string]map[string]any{}
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::EventSchemas::Schema" {
			continue
		}
		name, _ := r.Properties["SchemaName"].(string)
		if r.Properties["Type"] != "JSONSchemaDraft4" {
			t.Errorf("%s: Type %v, want JSONSchemaDraft4", id, r.Properties["Type"])
		}
		var content map[string]any
		if err := json.Unmarshal([]byte(r.Properties["Content"].(string)), &content); err != nil {
			t.Errorf("%s: Content is not JSON: %v", id, err)
			continue
		}
		inTemplate[name] = content
	}
	for _, es := range ev.ByType {
		name := "tossintl.orders@" + es.Doc["title"].(string)
		got, ok := inTemplate[name]
		switch {
		case !ok:
			t.Errorf("template.yaml has no schema %s for docs/events/%s", name, es.File)
		case !reflect.DeepEqual(got, plainJSON(t, es.Doc)):
			t.Errorf("template.yaml's %s is not docs/events/%s: run go test ./internal/contract -run TestTemplateSchemasAreDocsEvents -update", name, es.File)
		}
		delete(inTemplate, name)
	}
	for name := range inTemplate {
		t.Errorf("template.yaml declares schema %s, which docs/events does not have", name)
	}
}

// plainJSON is v as encoding/json reads it (float64 numbers, not the
// schema reader's json.Number).
func plainJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// rewriteSchemas puts each file's JSON in its schema's Content line.
func rewriteSchemas(t *testing.T, path string, ev *contract.Events) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, es := range ev.ByType {
		content, err := json.Marshal(es.Doc)
		if err != nil {
			t.Fatal(err)
		}
		title := es.Doc["title"].(string)
		re := regexp.MustCompile(`(?m)(SchemaName: tossintl\.orders@` + regexp.QuoteMeta(title) + `\n(?:      .*\n)*?      Content: )'.*'$`)
		if !re.MatchString(text) {
			t.Fatalf("template.yaml has no schema tossintl.orders@%s to rewrite: declare it first", title)
		}
		quoted := "'" + strings.ReplaceAll(string(content), "'", "''") + "'"
		text = re.ReplaceAllLiteralString(text, re.FindStringSubmatch(text)[1]+quoted)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// refunded is README's example event (Order Refunded), as a target gets it.
const refunded = `{"version":"0","id":"08d9c2c7ea91da1bea499f8777356fd1","detail-type":"Order Refunded","source":"tossintl.orders",
"account":"123456789012","time":"2026-11-22T12:05:00Z","region":"us-east-1","resources":[],
"detail":{"eventId":"6e82afce-59ed-54b7-9ca5-f6a2f23168ff","orderId":"ord_event0000000000000000007","version":5,
"status":"PARTIAL_CANCELED","previousStatus":"DONE","occurredAt":"2026-11-22T12:05:00Z",
"order":{"orderId":"ord_event0000000000000000007","orderName":"Pottery class","amount":52000,"currency":"KRW","refOrderId":"shop-1007",
"status":"PARTIAL_CANCELED","checkoutUrl":"https://HttpApi.execute-api.us-east-1.amazonaws.com/checkout/ord_event0000000000000000007",
"paymentKey":"tgen****0001","payment":{"status":"PARTIAL_CANCELED","method":"카드","approvedAt":"2026-11-22T12:03:00Z",
"cardNumber":"43301234****123*","cardType":"신용","receiptUrl":"https://dashboard.tosspayments.com/receipt/redirection?transactionId=tviva20261122120000sample&ref=PX",
"totalAmount":52000,"balanceAmount":42000,"cancels":[{"transactionKey":"txsample0000","cancelReason":"size exchange","cancelAmount":10000,"canceledAt":"2026-11-22T12:05:00Z"}]},
"lastFailure":null,"payableUntil":"2026-11-23T12:00:00Z","createdAt":"2026-11-22T12:00:00Z","updatedAt":"2026-11-22T12:05:00Z"},
"refund":{"refundedAmount":10000,"balanceAmount":42000,"totalAmount":52000,
"cancels":[{"transactionKey":"txsample0000","cancelReason":"size exchange","cancelAmount":10000,"canceledAt":"2026-11-22T12:05:00Z"}]}}}`

func TestEventCheckRefusesWhatTheSchemaDoesNotSay(t *testing.T) {
	ev, err := contract.LoadEvents()
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Check([]byte(refunded)); err != nil {
		t.Fatalf("README's example event is refused: %v", err)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"a renamed field", `"refundedAmount"`, `"amount"`},
		{"a refund without its refund", `"refund":{`, `"refundDetail":{`},
		{"the checkout token", `"paymentKey":"tgen****0001"`, `"checkoutToken":"ct_0000000000000000000000","paymentKey":"tgen****0001"`},
		{"a detail-type without a schema", `"Order Refunded"`, `"Order Shipped"`},
		{"a status orders do not have", `"previousStatus":"DONE"`, `"previousStatus":"PAID"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(refunded, tc.from) {
				t.Fatalf("the example lacks %q", tc.from)
			}
			if err := ev.Check([]byte(strings.Replace(refunded, tc.from, tc.to, 1))); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
