package check

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// The template's names doctor looks a deployed stack up by (template.yaml:
// its Outputs, its resources' logical ids, its Parameters). SAM names the
// rule of a Schedule event <function's logical id><event's name>.
const (
	outputAPIURL         = "ApiUrl"
	outputKeysSecret     = "TossKeysSecretArn"
	outputOrdersTable    = "OrdersTableName"
	resourceOrdersTable  = "OrdersTable"
	resourceIdempotency  = "IdempotencyTable"
	resourceKeysSecret   = "TossKeysSecret"
	reconcilerRulePrefix = "ReconcileFunction"
	typeEventsRule       = "AWS::Events::Rule"
	typeAlarm            = "AWS::CloudWatch::Alarm"
	parameterPaymentMode = "PaymentMode"
	parameterTossAPIBase = "TossApiBaseUrl"
	defaultPaymentMode   = "test"
	deployedAPIHint      = "is the stack deployed and its ApiUrl reachable from here?"
)

// FromStack finds a deployed stack's API, tables, secret, schedule rule
// and settings through CloudFormation (DescribeStacks for its Outputs and
// Parameters, ListStackResources for the rest), and gives the checks
// clients made from cfg.
func FromStack(ctx context.Context, cfg aws.Config, name string) (Target, error) {
	cf := cloudformation.NewFromConfig(cfg)
	d, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return Target{}, fmt.Errorf("describe stack %s in %s: %w", name, cfg.Region, err)
	}
	if len(d.Stacks) == 0 {
		return Target{}, fmt.Errorf("stack %s in %s does not exist", name, cfg.Region)
	}
	st := d.Stacks[0]
	outputs, params := map[string]string{}, map[string]string{}
	for _, o := range st.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	for _, p := range st.Parameters {
		params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	resources := map[string]string{}
	var rule string
	var alarms []string
	pages := cloudformation.NewListStackResourcesPaginator(cf, &cloudformation.ListStackResourcesInput{StackName: aws.String(name)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return Target{}, fmt.Errorf("list the resources of stack %s: %w", name, err)
		}
		for _, r := range page.StackResourceSummaries {
			id, physical := aws.ToString(r.LogicalResourceId), aws.ToString(r.PhysicalResourceId)
			resources[id] = physical
			if aws.ToString(r.ResourceType) == typeEventsRule && strings.HasPrefix(id, reconcilerRulePrefix) {
				rule = physical
			}
			if aws.ToString(r.ResourceType) == typeAlarm && physical != "" {
				alarms = append(alarms, physical) // an alarm's physical id is its name
			}
		}
	}
	first := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	t := Target{
		Label:            fmt.Sprintf("stack %s (%s, %s)", name, cfg.Region, st.StackStatus),
		APIURL:           outputs[outputAPIURL],
		APIHint:          deployedAPIHint,
		OrdersTable:      first(outputs[outputOrdersTable], resources[resourceOrdersTable]),
		IdempotencyTable: resources[resourceIdempotency],
		KeysSecret:       first(outputs[outputKeysSecret], resources[resourceKeysSecret]),
		PaymentMode:      first(params[parameterPaymentMode], defaultPaymentMode),
		TossAPIBaseURL:   first(params[parameterTossAPIBase], toss.DefaultBaseURL),
		ScheduleRule:     rule,
		AlarmNames:       alarms,
		AlarmPrefix:      name + "-",
		DynamoDB:         dynamodb.NewFromConfig(cfg),
		Secrets:          secretsmanager.NewFromConfig(cfg),
		Events:           eventbridge.NewFromConfig(cfg),
		CloudWatch:       newCloudWatch(cfg),
	}
	var missing []string
	for _, m := range []struct{ what, v string }{
		{"output " + outputAPIURL, t.APIURL},
		{"table " + resourceOrdersTable, t.OrdersTable},
		{"table " + resourceIdempotency, t.IdempotencyTable},
		{"secret " + resourceKeysSecret, t.KeysSecret},
		{"the reconciler's schedule rule", t.ScheduleRule},
	} {
		if m.v == "" {
			missing = append(missing, m.what)
		}
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("stack %s (%s) has no %s: is it this backend's stack, fully deployed?", name, st.StackStatus, strings.Join(missing, ", "))
	}
	return t, nil
}

// FromAdvert is the local stack that advertised itself (`make local`),
// reached with the local stack's own fake credentials. localAPIPort, when
// set (LOCAL_API_PORT), says where its API is.
func FromAdvert(a stack.Advert, localAPIPort string) Target {
	creds := credentials.NewStaticCredentialsProvider(stack.LocalAccessKeyID, stack.LocalSecretAccessKey, "")
	api := a.APIURL
	if localAPIPort != "" {
		api = "http://127.0.0.1:" + localAPIPort
	}
	port := localAPIPort
	if port == "" {
		port = "unset, so the advertised " + a.APIURL
	}
	return Target{
		Label:            fmt.Sprintf("local stack at %s (AWS endpoint %s)", api, a.AWSEndpoint),
		Local:            true,
		APIURL:           api,
		APIHint:          fmt.Sprintf("is make local running? It serves the API on LOCAL_API_PORT (%s here)", port),
		OrdersTable:      a.OrdersTable,
		IdempotencyTable: a.IdempotencyTable,
		KeysSecret:       a.KeysSecret,
		PaymentMode:      a.PaymentMode,
		TossAPIBaseURL:   a.TossAPIBaseURL,
		ScheduleNote:     "not checked: make local runs the schedule itself and prints its rate (deployed stacks only)",
		PITRNote:         "not available locally: DynamoDB Local serves no point-in-time recovery (deployed stacks only)",
		CloudWatchNote:   "not checked: the local stack has no CloudWatch; its functions' metrics are the EMF lines in make local's output (deployed stacks only)",
		DynamoDB:         dynamodb.New(dynamodb.Options{Region: a.Region, Credentials: creds, BaseEndpoint: aws.String(a.AWSEndpoint)}),
		Secrets:          secretsmanager.New(secretsmanager.Options{Region: a.Region, Credentials: creds, BaseEndpoint: aws.String(a.AWSEndpoint)}),
	}
}

// Names are the stack's names given by hand (make doctor API_URL=…).
type Names struct {
	Stage            string // names not given follow the template's: tossintl-<Stage>-orders, …
	OrdersTable      string
	IdempotencyTable string
	KeysSecret       string
	ScheduleRule     string // empty: the schedule is not checked
	PaymentMode      string
	TossAPIBaseURL   string
}

// FromFlags is a deployed stack named by hand, with clients made from cfg.
func FromFlags(cfg aws.Config, apiURL string, n Names) (Target, error) {
	if n.Stage == "" {
		n.Stage = "dev"
	}
	if n.OrdersTable == "" {
		n.OrdersTable = "tossintl-" + n.Stage + "-orders"
	}
	if n.IdempotencyTable == "" {
		n.IdempotencyTable = "tossintl-" + n.Stage + "-idempotency"
	}
	if n.KeysSecret == "" {
		n.KeysSecret = "tossintl/" + n.Stage + "/keys"
	}
	if n.PaymentMode == "" {
		n.PaymentMode = defaultPaymentMode
	}
	if n.PaymentMode != "test" && n.PaymentMode != "live" {
		return Target{}, fmt.Errorf("payment mode %q: want test or live", n.PaymentMode)
	}
	if n.TossAPIBaseURL == "" {
		n.TossAPIBaseURL = toss.DefaultBaseURL
	}
	if !strings.HasPrefix(apiURL, "https://") && !strings.HasPrefix(apiURL, "http://") {
		return Target{}, errors.New("API_URL must be the stack's ApiUrl, https://…")
	}
	t := Target{
		Label:            fmt.Sprintf("API %s (%s)", apiURL, cfg.Region),
		APIURL:           strings.TrimRight(apiURL, "/"),
		APIHint:          deployedAPIHint,
		OrdersTable:      n.OrdersTable,
		IdempotencyTable: n.IdempotencyTable,
		KeysSecret:       n.KeysSecret,
		PaymentMode:      n.PaymentMode,
		TossAPIBaseURL:   n.TossAPIBaseURL,
		ScheduleRule:     n.ScheduleRule,
		ScheduleNote:     "not checked: give -rule <the reconciler's rule> (STACK= finds it)",
		AlarmsNote:       "not checked: STACK= finds the stack's alarms",
		DynamoDB:         dynamodb.NewFromConfig(cfg),
		Secrets:          secretsmanager.NewFromConfig(cfg),
		CloudWatch:       newCloudWatch(cfg),
	}
	if n.ScheduleRule != "" {
		t.Events = eventbridge.NewFromConfig(cfg)
	}
	return t, nil
}

// newCloudWatch speaks CloudWatch's Query protocol rather than the SDK's
// default CBOR: every CloudWatch endpoint takes it, moto's too (which
// answers CBOR with 404), and a handful of calls gain nothing from CBOR.
func newCloudWatch(cfg aws.Config) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	})
}
