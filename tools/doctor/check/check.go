// Package check holds make doctor's checks: whether a stack, deployed or
// local, can take a payment, found without making or cancelling one. Each
// check reads (the keys secret, the tables' settings, the schedule rule,
// the alarms and the last hour of metrics of what only the real Toss, SDK
// and browsers cause) or
// sends a request that changes nothing: the checkout page and a webhook
// about an order that does not exist, a Toss lookup of an orderId nobody
// used, one page of the merchant's order list.
//
// A Target says where the stack is; FromStack, FromAdvert and FromFlags
// build one from CloudFormation, from a running `make local`, or from names
// given by hand. Run runs every check against it and Print shows the results.
package check

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Status is how a check ended.
type Status int

// Statuses.
const (
	Pass Status = iota
	Fail
	Skip // not run: not applicable here, or what it needs failed first
)

// Result is one check's outcome: one line of the report.
type Result struct {
	Name   string // what was checked, e.g. "orders table TTL"
	Status Status
	Detail string // what was found
	Fix    string // on failure: what to do
}

// DynamoDBAPI is what the table checks call.
type DynamoDBAPI interface {
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	DescribeContinuousBackups(context.Context, *dynamodb.DescribeContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
}

// SecretsAPI is what the keys check calls.
type SecretsAPI interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// EventsAPI is what the schedule check calls.
type EventsAPI interface {
	DescribeRule(context.Context, *eventbridge.DescribeRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
}

// Target is the stack under check.
type Target struct {
	Label   string // how the report names it, e.g. "stack tossintl-dev (eu-west-2)"
	Local   bool   // the local stack: fixes name make local rather than the AWS CLI
	APIURL  string // the HTTP API's base URL
	APIHint string // what to do when the API cannot be reached

	OrdersTable      string
	IdempotencyTable string
	KeysSecret       string // name or ARN
	PaymentMode      string // "test" or "live", as the functions run
	TossAPIBaseURL   string
	// ScheduleRule is the reconciler's EventBridge rule; empty skips its
	// check, with ScheduleNote as the reason.
	ScheduleRule string
	ScheduleNote string
	// PITRNote, when set, skips the point-in-time recovery check with it
	// as the reason: the local stack's DynamoDB Local serves none.
	PITRNote string
	// MerchantAPIKey, when set (MERCHANT_API_KEY), is the key the merchant
	// check presents; otherwise it presents the secret's own.
	MerchantAPIKey string

	// AlarmNames are the stack's CloudWatch alarms (its resources of that
	// type), AlarmPrefix how CloudFormation begins their names; AlarmsNote,
	// when set, skips the alarm checks with it as the reason (a stack named
	// by hand has no list of its alarms).
	AlarmNames  []string
	AlarmPrefix string // "<stack>-": see stackAlarms
	AlarmsNote  string
	// CloudWatchNote is why the alarm and metric checks are skipped when
	// CloudWatch is nil (the local stack has none).
	CloudWatchNote string

	DynamoDB   DynamoDBAPI
	Secrets    SecretsAPI
	Events     EventsAPI     // nil: no schedule check
	CloudWatch CloudWatchAPI // nil: no alarm or metric checks
	HTTP       *http.Client  // nil: NewHTTPClient()
	Now        func() time.Time
}

func (t Target) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// checkTimeout bounds each check, so one that hangs cannot hold the rest.
const checkTimeout = 20 * time.Second

// NewHTTPClient is the client the API and Toss checks use: bounded, and
// never following a redirect (a redirect would resend Authorization).
func NewHTTPClient() *http.Client {
	return &http.Client{
		Timeout:       checkTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run runs every check against t, in the report's order.
func Run(ctx context.Context, t Target) []Result {
	if t.HTTP == nil {
		t.HTTP = NewHTTPClient()
	}
	var out []Result
	out = append(out, checkAPI(ctx, t))
	keys, res := checkSecret(ctx, t)
	out = append(out, res...)
	out = append(out, checkTossKey(ctx, t, keys), checkMerchantKey(ctx, t, keys))
	out = append(out, checkTables(ctx, t)...)
	out = append(out, checkSchedule(ctx, t), checkWebhook(ctx, t))
	out = append(out, checkAlarms(ctx, t)...)
	out = append(out, checkMetrics(ctx, t)...)
	return out
}

// Failed reports whether any result failed.
func Failed(results []Result) bool {
	for _, r := range results {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

// probeID is an id no order and no payment has: a checkout page, a Toss
// lookup and a webhook about it find nothing, so change nothing. Its
// prefix tells whoever reads the logs where it came from.
func probeID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "doctor_probe_" + hex.EncodeToString(b)
}
