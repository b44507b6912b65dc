package stack

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tossintl/backend/tools/awsproxy"
)

func TestAWSRecorderNamesCallsAsIAMDoes(t *testing.T) {
	var rec AWSRecorder
	var forwarded []string
	hook := rec.Proxy("F")
	for _, tc := range []struct{ target, body string }{
		{"DynamoDB_20120810.GetItem", `{"TableName":"app-test-orders","Key":{}}`},
		{"DynamoDB_20120810.Query", `{"TableName":"app-test-orders","IndexName":"created"}`},
		{"secretsmanager.GetSecretValue", `{"SecretId":"app/test/keys"}`},
		{"AWSEvents.PutEvents", `{"Entries":[{"EventBusName":"tossintl-dev-orders"}]}`},
		{"AWSCognito.Whatever", `{}`},
	} {
		h := http.Header{}
		h.Set("X-Amz-Target", tc.target)
		hook(awsproxy.NewCall(t.Context(), "F", h, "/", []byte(tc.body)), func(c *awsproxy.Call) *awsproxy.Answer {
			forwarded = append(forwarded, string(c.Body))
			return &awsproxy.Answer{Status: 200}
		})
	}
	want := []AWSCall{
		{"dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/app-test-orders"},
		{"dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/app-test-orders/index/created"},
		{"secretsmanager:GetSecretValue", "app/test/keys"},
		{"events:PutEvents", EventBusARN("tossintl-dev-orders")},
		{"unknown:AWSCognito.Whatever", ""},
	}
	if got := rec.Calls("F"); !reflect.DeepEqual(got, want) {
		t.Errorf("Calls = %+v\nwant %+v", got, want)
	}
	if len(forwarded) != 5 || forwarded[0] != `{"TableName":"app-test-orders","Key":{}}` {
		t.Errorf("passed on %q: each body, unchanged", forwarded)
	}
	if got := rec.Calls("Other"); len(got) != 0 {
		t.Errorf("another function's calls: %v", got)
	}
}

func TestResolverAllows(t *testing.T) {
	_, app := loadTemplate(t, appTemplate)
	tpl, err := ParseTemplate([]byte(`
Globals: {Function: {Runtime: provided.al2023, Handler: bootstrap}}
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - {Effect: Allow, Action: [dynamodb:GetItem, dynamodb:DeleteItem], Resource: arn:t}
            - {Effect: Deny, Action: dynamodb:DeleteItem, Resource: arn:t}
  G:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBReadPolicy: {TableName: !Ref T}
  T:
    Type: AWS::DynamoDB::Table
    Properties: {TableName: t}
`))
	if err != nil {
		t.Fatal(err)
	}
	denying, err := tpl.Resolver(nil)
	if err != nil {
		t.Fatal(err)
	}
	table := "arn:aws:dynamodb:us-east-1:123456789012:table/app-test-orders"
	for _, tc := range []struct {
		name string
		r    *Resolver
		fn   string
		call AWSCall
		want bool
	}{
		{"granted", app, "OrdersFunction", AWSCall{"dynamodb:PutItem", table}, true},
		{"granted secret", app, "OrdersFunction", AWSCall{"secretsmanager:GetSecretValue", "app/test/keys"}, true},
		{"action not granted", app, "OrdersFunction", AWSCall{"dynamodb:DeleteItem", table}, false},
		{"other resource", app, "OrdersFunction", AWSCall{"dynamodb:GetItem", table + "-other"}, false},
		{"a function without Policies", app, "EchoFunction", AWSCall{"dynamodb:GetItem", table}, false},
		{"allowed", denying, "F", AWSCall{"dynamodb:GetItem", "arn:t"}, true},
		{"an explicit Deny wins", denying, "F", AWSCall{"dynamodb:DeleteItem", "arn:t"}, false},
		{"a policy template, expanded", denying, "G", AWSCall{"dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/byDate"}, true},
		{"beyond the policy template", denying, "G", AWSCall{"dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/t"}, false},
	} {
		got, err := tc.r.Allows(tc.fn, tc.call)
		if err != nil || got != tc.want {
			t.Errorf("%s: Allows = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := app.Allows("NoSuchFunction", AWSCall{"dynamodb:GetItem", table}); err == nil || !strings.Contains(err.Error(), "NoSuchFunction") {
		t.Errorf("an unknown function: err = %v", err)
	}
}
