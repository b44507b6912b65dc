package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/orders"
)

const (
	appTemplate  = "testdata/app/template.yaml"
	realTemplate = "../../../template.yaml"
)

func loadTemplate(t *testing.T, path string) (*Template, *Resolver) {
	t.Helper()
	tpl, err := LoadTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.Resolver(nil)
	if err != nil {
		t.Fatal(err)
	}
	return tpl, r
}

func TestShortFormIntrinsicsBecomeJSONForm(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{`!Ref Stage`, `{"Ref":"Stage"}`},
		{`!GetAtt OrdersTable.Arn`, `{"Fn::GetAtt":["OrdersTable","Arn"]}`},
		{`!GetAtt [OrdersTable, Arn]`, `{"Fn::GetAtt":["OrdersTable","Arn"]}`},
		{`!Sub "a-${Stage}"`, `{"Fn::Sub":"a-${Stage}"}`},
		{"!Sub\n  - ${X}\n  - X: !Ref Stage", `{"Fn::Sub":["${X}",{"X":{"Ref":"Stage"}}]}`},
		{`!If [C, !Ref A, !Ref AWS::NoValue]`, `{"Fn::If":["C",{"Ref":"A"},{"Ref":"AWS::NoValue"}]}`},
		{`{"Fn::Join": ["-", [a, 1, true]]}`, `{"Fn::Join":["-",["a",1,true]]}`},
		{`!Condition IsProd`, `{"Condition":"IsProd"}`},
	}
	for _, tc := range tests {
		tpl, err := ParseTemplate([]byte("Resources:\n  X:\n    Type: T\n    Properties:\n      V: " + indent(tc.yaml) + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", tc.yaml, err)
		}
		got, _ := json.Marshal(tpl.Resources["X"].Properties["V"])
		if string(got) != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.yaml, got, tc.want)
		}
	}
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }

func TestFunctionEnvironment(t *testing.T) {
	tpl, _ := loadTemplate(t, appTemplate)
	tests := []struct {
		name     string
		function string
		params   map[string]string
		local    map[string]string
		files    []EnvFile
		want     map[string]string // a subset
		absent   []string
	}{
		{
			name: "globals and own variables, resolved", function: "OrdersFunction",
			want: map[string]string{
				"ORDERS_TABLE":      "app-test-orders",
				"TOSS_SECRET_ID":    "app/test/keys",
				"TOSS_API_BASE_URL": "https://api.tosspayments.com",
				"GREETING":          "hello",
				"TABLE_ARN":         "arn:aws:dynamodb:us-east-1:123456789012:table/app-test-orders",
				"MODE":              "test",
				"JOINED":            "a-test-b",
				"LIMIT":             "5",
				"SUBBED":            "us-east-1/app-test-orders/arn:aws:dynamodb:us-east-1:123456789012:table/app-test-orders/${Literal}",
				"SUB_LIST":          "hello-test",
				"FN_ARN":            "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction",
				"PLAIN":             "42",
				"FLAG":              "true",
			},
		},
		{
			name: "the function's own variable wins over Globals", function: "EchoFunction",
			want:   map[string]string{"GREETING": "hello, echo", "ORDERS_TABLE": "app-test-orders"},
			absent: []string{"TABLE_ARN"},
		},
		{
			name: "parameter override changes names and conditions", function: "OrdersFunction",
			params: map[string]string{"Stage": "prod", "Greeting": "hi"},
			want:   map[string]string{"ORDERS_TABLE": "app-prod-orders", "MODE": "live", "GREETING": "hi", "SUB_LIST": "hi-prod"},
		},
		{
			name: "local values override the template", function: "OrdersFunction",
			local: map[string]string{"TOSS_API_BASE_URL": "http://127.0.0.1:4010", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
			want:  map[string]string{"TOSS_API_BASE_URL": "http://127.0.0.1:4010", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
		},
		{
			name: "env.json: Parameters for declared variables, function section for any", function: "OrdersFunction",
			local: map[string]string{"TOSS_API_BASE_URL": "http://sandbox"},
			files: []EnvFile{
				{"Parameters": {"GREETING": "from Parameters", "UNDECLARED": "ignored"}, "OrdersFunction": {"TOSS_TEST_CODE": "INVALID_CARD_EXPIRATION", "TOSS_API_BASE_URL": "http://other"}},
				{"OrdersFunction": {"GREETING": "later file wins"}},
			},
			want:   map[string]string{"GREETING": "later file wins", "TOSS_TEST_CODE": "INVALID_CARD_EXPIRATION", "TOSS_API_BASE_URL": "http://other"},
			absent: []string{"UNDECLARED"},
		},
		{
			name: "another function's section does not apply", function: "EchoFunction",
			files: []EnvFile{{"OrdersFunction": {"GREETING": "not mine"}}},
			want:  map[string]string{"GREETING": "hello, echo"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := tpl.ParameterOverrides(tc.files...)
			for k, v := range tc.params {
				params[k] = v
			}
			r, err := tpl.Resolver(params)
			if err != nil {
				t.Fatal(err)
			}
			env, err := r.FunctionEnv(tc.function, tc.local, tc.files...)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if env[k] != v {
					t.Errorf("%s = %q, want %q", k, env[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := env[k]; ok {
					t.Errorf("%s is set (%q), want absent", k, env[k])
				}
			}
		})
	}
}

func TestEnvFileParametersOverrideTemplateParameters(t *testing.T) {
	tpl, _ := loadTemplate(t, appTemplate)
	path := filepath.Join(t.TempDir(), "env.json")
	if err := os.WriteFile(path, []byte(`{"Parameters": {"Stage": "qa", "Limit": 9, "GREETING": "x"}, "EchoFunction": {"DEBUG": true}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := LoadEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.ParameterOverrides(f); !reflect.DeepEqual(got, map[string]string{"Stage": "qa", "Limit": "9"}) {
		t.Errorf("ParameterOverrides = %v", got)
	}
	if f["EchoFunction"]["DEBUG"] != "true" {
		t.Errorf("a JSON boolean should read as text: %v", f["EchoFunction"])
	}
}

func TestTemplateProperties(t *testing.T) {
	tpl, r := loadTemplate(t, appTemplate)
	if want := []string{"OrdersFunction", "EchoFunction"}; !reflect.DeepEqual(tpl.Functions, want) {
		t.Errorf("Functions = %v, want %v (template order)", tpl.Functions, want)
	}
	for _, tc := range []struct {
		fn       string
		timeout  time.Duration
		mem, res int
	}{
		{"OrdersFunction", 5 * time.Second, 256, 0},
		{"EchoFunction", time.Second, 128, 2},
	} {
		timeout, _ := r.Timeout(tc.fn)
		mem, _ := r.MemoryMB(tc.fn)
		res, _ := r.ReservedConcurrency(tc.fn)
		if timeout != tc.timeout || mem != tc.mem || res != tc.res {
			t.Errorf("%s: timeout %v memory %d reserved %d; want %v %d %d", tc.fn, timeout, mem, res, tc.timeout, tc.mem, tc.res)
		}
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, rt := range routes {
		keys = append(keys, rt.Function+" "+rt.Key())
	}
	want := []string{
		"OrdersFunction POST /orders", "OrdersFunction GET /orders/{orderId}",
		"EchoFunction GET /items/{id}", "EchoFunction ANY /echo/{proxy+}", "EchoFunction GET /items/special",
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("routes = %q\nwant %q", keys, want)
	}
	stmts, err := r.Statements("OrdersFunction")
	if err != nil {
		t.Fatal(err)
	}
	wantStmts := []Statement{
		{"Allow", []string{"dynamodb:PutItem", "dynamodb:GetItem"}, []string{"arn:aws:dynamodb:us-east-1:123456789012:table/app-test-orders"}},
		{"Allow", []string{"secretsmanager:GetSecretValue"}, []string{"app/test/keys"}},
	}
	if !reflect.DeepEqual(stmts, wantStmts) {
		t.Errorf("Statements = %+v\nwant %+v", stmts, wantStmts)
	}
	tbl, err := r.Table("OrdersTable")
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Name != "app-test-orders" || tbl.TTL == nil || *tbl.TTL.TimeToLiveSpecification.AttributeName != "ttl" ||
		len(tbl.Create.GlobalSecondaryIndexes) != 1 || tbl.Create.BillingMode != "PAY_PER_REQUEST" {
		t.Errorf("table = %s %+v", tbl.Name, tbl.Create)
	}
	sec, err := r.Secret("KeysSecret")
	if err != nil {
		t.Fatal(err)
	}
	v, err := secretValue(sec, DefaultKeys())
	if err != nil {
		t.Fatal(err)
	}
	var got Keys
	if err := json.Unmarshal([]byte(v), &got); err != nil || got != DefaultKeys() {
		t.Errorf("seeded secret = %v, %v; want the default keys", got, err)
	}
}

func TestResolverErrors(t *testing.T) {
	tpl, err := ParseTemplate([]byte(`
Parameters:
  NoDefault: {Type: String}
Globals: {Function: {Runtime: provided.al2023, Handler: bootstrap}}
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          V: VALUE
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.Resolver(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		value any
		want  string
	}{
		{map[string]any{"Ref": "Missing"}, "no such parameter or resource"},
		{map[string]any{"Ref": "NoDefault"}, "has no Default"},
		{map[string]any{"Fn::Sub": "${Missing}"}, "Missing"},
		{map[string]any{"Fn::Sub": "${Unclosed"}, "unclosed"},
		{map[string]any{"Fn::ImportValue": "x"}, "not supported locally"},
		{map[string]any{"Fn::GetAtt": []any{"Nope", "Arn"}}, "no such resource"},
		{map[string]any{"Fn::If": []any{"NoCondition", "a", "b"}}, "no condition"},
	} {
		_, err := r.String(tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.value, err, tc.want)
		}
	}
	if _, err := tpl.Resolver(map[string]string{"Nope": "x"}); err == nil {
		t.Error("override of an unknown parameter: no error")
	}
}

// The real template, resolved as the local stack runs it.
func TestRealTemplate(t *testing.T) {
	tpl, r := loadTemplate(t, realTemplate)

	// One function per folder in functions/, and no other.
	entries, err := os.ReadDir("../../../functions")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	got := append([]string(nil), tpl.Functions...)
	sort.Strings(got)
	if !reflect.DeepEqual(got, dirs) {
		t.Errorf("template functions %v, functions/ folders %v", got, dirs)
	}

	timeouts := map[string]time.Duration{"PaymentSuccessFunction": 15 * time.Second, "ConfirmPaymentFunction": 15 * time.Second,
		"CancelPaymentFunction": 15 * time.Second, "TossWebhookFunction": 15 * time.Second, "ReconcileFunction": time.Minute}
	for _, fn := range tpl.Functions {
		env, err := r.FunctionEnv(fn, nil)
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		for k, v := range map[string]string{
			"ORDERS_TABLE":      "tossintl-dev-orders",
			"IDEMPOTENCY_TABLE": "tossintl-dev-idempotency",
			"TOSS_SECRET_ID":    "tossintl/dev/keys",
			"PAYMENT_MODE":      "test",
			"TOSS_API_BASE_URL": "https://api.tosspayments.com",
			"TOSS_SDK_URL":      "https://js.tosspayments.com/v2/standard",
			"PUBLIC_BASE_URL":   "",
			"MAX_ORDER_AMOUNT":  "10000000",
		} {
			if env[k] != v {
				t.Errorf("%s %s = %q, want %q", fn, k, env[k], v)
			}
		}
		want := 10 * time.Second
		if d, ok := timeouts[fn]; ok {
			want = d
		}
		if got, err := r.Timeout(fn); err != nil || got != want {
			t.Errorf("%s timeout = %v, %v; want %v", fn, got, err, want)
		}
		if m := tpl.BuildMethod(fn); m != "makefile" {
			t.Errorf("%s BuildMethod = %q", fn, m)
		}
	}
	if n, _ := r.ReservedConcurrency("ReconcileFunction"); n != 1 {
		t.Errorf("ReconcileFunction reserved concurrency = %d, want 1", n)
	}
	// PaymentReservedConcurrency's default 0 reserves nothing (an !If to AWS::NoValue).
	if n, err := r.ReservedConcurrency("PaymentSuccessFunction"); n != 0 || err != nil {
		t.Errorf("PaymentSuccessFunction reserved concurrency = %d, %v; want 0 (unset)", n, err)
	}

	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRouter(routes); err != nil {
		t.Fatal(err)
	}
	gotRoutes := map[string]string{}
	for _, rt := range routes {
		gotRoutes[rt.Key()] = rt.Function
	}
	wantRoutes := map[string]string{
		"GET /payments/success":    "PaymentSuccessFunction",
		"GET /payments/fail":       "PaymentFailFunction",
		"POST /payments/confirm":   "ConfirmPaymentFunction",
		"POST /confirm":            "ConfirmPaymentFunction",
		"POST /confirm/payment":    "ConfirmPaymentFunction",
		"POST /confirm/widget":     "ConfirmPaymentFunction",
		"POST /orders":             "CreateOrderFunction",
		"GET /orders/{orderId}":    "GetOrderFunction",
		"GET /orders":              "ListOrdersFunction",
		"DELETE /orders/{orderId}": "DeleteOrderFunction",
		"GET /checkout/{orderId}":  "CheckoutFunction",
		"POST /csp-reports":        "CheckoutFunction",

		"POST /payments/{paymentKey}/cancel": "CancelPaymentFunction",
		"POST /webhooks/toss":                "TossWebhookFunction",
	}
	if !reflect.DeepEqual(gotRoutes, wantRoutes) {
		t.Errorf("routes = %v\nwant %v", gotRoutes, wantRoutes)
	}

	// The tables the local stack creates from the YAML are the schemas the
	// code builds its own tables from.
	for _, tc := range []struct {
		id   string
		want *dynamodb.CreateTableInput
		ttl  *dynamodb.UpdateTimeToLiveInput
	}{
		{"OrdersTable", orders.TableDefinition("tossintl-dev-orders"), orders.TimeToLiveDefinition("tossintl-dev-orders")},
		{"IdempotencyTable", idempotency.TableDefinition("tossintl-dev-idempotency"), idempotency.TimeToLiveDefinition("tossintl-dev-idempotency")},
	} {
		tbl, err := r.Table(tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := jsonOf(t, tbl.Create), jsonOf(t, tc.want); a != b {
			t.Errorf("%s from the template:\n%s\nfrom the code:\n%s", tc.id, a, b)
		}
		if a, b := jsonOf(t, tbl.TTL), jsonOf(t, tc.ttl); a != b {
			t.Errorf("%s TTL from the template %s, from the code %s", tc.id, a, b)
		}
	}
	sec, err := r.Secret("TossKeysSecret")
	if err != nil || sec.Name != "tossintl/dev/keys" {
		t.Fatalf("secret = %+v, %v", sec, err)
	}

	stmts, err := r.Statements("ListOrdersFunction")
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 3 || stmts[0].Resources[0] != "arn:aws:dynamodb:us-east-1:123456789012:table/tossintl-dev-orders/index/createdSharded" ||
		stmts[1].Resources[0] != "arn:aws:dynamodb:us-east-1:123456789012:table/tossintl-dev-orders" ||
		stmts[2].Resources[0] != "tossintl/dev/keys" {
		t.Errorf("ListOrdersFunction statements = %+v", stmts)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every function logs to a log group of its own that the stack makes and
// keeps LogRetentionDays (90 by default), not to the group Lambda would
// make on first use, which keeps logs forever.
func TestRealTemplateLogGroups(t *testing.T) {
	tpl, r := loadTemplate(t, realTemplate)
	if p, ok := tpl.Parameters["LogRetentionDays"]; !ok || fmt.Sprint(p.Default) != "90" {
		t.Fatalf("LogRetentionDays parameter %+v", p)
	}
	groups := 0
	for _, res := range tpl.Resources {
		if res.Type == "AWS::Logs::LogGroup" {
			groups++
		}
	}
	if groups != len(tpl.Functions) {
		t.Errorf("%d log groups for %d functions", groups, len(tpl.Functions))
	}
	for _, fn := range tpl.Functions {
		cfg, _ := tpl.Resources[fn].Properties["LoggingConfig"].(map[string]any)
		ref, _ := cfg["LogGroup"].(map[string]any)
		id, _ := ref["Ref"].(string)
		group, ok := tpl.Resources[id]
		if !ok || group.Type != "AWS::Logs::LogGroup" {
			t.Errorf("%s: LoggingConfig.LogGroup %v is no log group of the template", fn, cfg["LogGroup"])
			continue
		}
		name, err := r.String(group.Properties["LogGroupName"])
		if err != nil || name != "/aws/lambda/tossintl-dev-"+fn {
			t.Errorf("%s: log group name %q, %v", fn, name, err)
		}
		days, err := r.String(group.Properties["RetentionInDays"])
		if err != nil || days != "90" {
			t.Errorf("%s: retention %q days, %v", fn, days, err)
		}
	}
}
