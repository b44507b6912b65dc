package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/awsclient"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/tools/awsproxy"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// chaosAWS is the campaign's stack.Options.AWSProxy: each function's AWS
// calls pass through it, a hook of the stack's AWS proxy, on their way to
// DynamoDB Local and moto, and rules make chosen calls fail the way
// DynamoDB and Secrets Manager fail.
type chaosAWS struct {
	mu    sync.Mutex
	rules []*awsRule
	fired map[awsFault]int
	// claimed counts, per order, the claims DynamoDB applied: orders-table
	// UpdateItems writing CONFIRMING that it answered 200 (or applied
	// before a fault replaced its answer).
	claimed map[string]int
}

// awsFault is how a call fails.
type awsFault int

const (
	awsPass            awsFault = iota // passed on to its server (rules with hooks only)
	awsThrottle                        // 400 ProvisionedThroughputExceededException / ThrottlingException
	aws5xx                             // 500 InternalServerError / InternalServiceError, nothing applied
	awsDrop                            // the connection closes unanswered, nothing applied
	awsAppliedThen5xx                  // the server applies the call, then the caller gets a 500
	awsAppliedThenDrop                 // the server applies the call, then the connection closes
)

func (f awsFault) String() string {
	return [...]string{"pass", "throttling", "5xx", "dropped connections", "5xx after the write", "dropped connections after the write"}[f]
}

// awsRule picks calls and says what happens to them. Empty fields match
// anything.
type awsRule struct {
	function string // logical id of the calling function
	service  string // "dynamodb" or "secretsmanager"
	op       string // UpdateItem, PutItem, GetSecretValue, …
	step     string // orders-table UpdateItem: claim, complete or fail
	orderID  string // the orders-table item's id
	fault    awsFault
	times    int    // calls to fail; 0 until the rule is removed
	before   func() // runs when a call matches, before its fate
	after    func() // runs once the server answered a passed call
	hits     int
}

// chaosCall is what a rule looks at.
type chaosCall struct {
	function, service, op, table, step, orderID string
}

func newChaosAWS() *chaosAWS {
	return &chaosAWS{fired: map[awsFault]int{}, claimed: map[string]int{}}
}

// applied records a call the server answered.
func (a *chaosAWS) applied(c chaosCall, ans *awsproxy.Answer) {
	if c.step != "claim" || ans == nil || !ans.OK() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.claimed[c.orderID]++
}

// claimsOf is how many claims of orderID DynamoDB applied.
func (a *chaosAWS) claimsOf(orderID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.claimed[orderID]
}

// add installs a rule and returns a func removing it.
func (a *chaosAWS) add(r *awsRule) (remove func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rules = append(a.rules, r)
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		for i, x := range a.rules {
			if x == r {
				a.rules = append(a.rules[:i], a.rules[i+1:]...)
				return
			}
		}
	}
}

// hitsOf is how many calls r matched.
func (a *chaosAWS) hitsOf(r *awsRule) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return r.hits
}

func (a *chaosAWS) firedCounts() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for f, n := range a.fired {
		out[f.String()] += n
	}
	return out
}

// assignRE finds the "name = :value" assignments of an UpdateExpression:
// only SET assigns with "=", and a value placeholder starts with ":".
var assignRE = regexp.MustCompile(`([#\w.]+)\s*=\s*(:\w+)`)

// updateStep names an orders-table UpdateItem by the status it writes,
// read through the request's placeholders: the store builds its
// expressions with the SDK's expression builder, whose names ("#0", ":1")
// say nothing by themselves.
func updateStep(expr string, names map[string]string, values map[string]map[string]any) string {
	for _, m := range assignRE.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		if n, ok := names[name]; ok {
			name = n
		}
		if name != "status" {
			continue
		}
		switch values[m[2]]["S"] {
		case string(orders.StatusConfirming):
			return "claim"
		case string(orders.StatusDone):
			return "complete"
		case string(orders.StatusFailed):
			return "fail"
		}
	}
	return ""
}

func parseChaosCall(call *awsproxy.Call) chaosCall {
	c := chaosCall{function: call.Function, op: call.Op}
	var in struct {
		TableName                 string
		UpdateExpression          string
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues map[string]map[string]any
		Key                       map[string]map[string]any
	}
	_ = json.Unmarshal(call.Body, &in) // what does not decode matches only rules without a table, step or order
	switch call.Service {
	case awsproxy.DynamoDB:
		c.service, c.table = "dynamodb", in.TableName
		if strings.HasSuffix(in.TableName, "-orders") {
			c.orderID, _ = in.Key["id"]["S"].(string)
			if call.Op == "UpdateItem" {
				c.step = updateStep(in.UpdateExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
			}
		}
	case awsproxy.SecretsManager:
		c.service = "secretsmanager"
	}
	return c
}

func (r *awsRule) matches(c chaosCall) bool {
	return (r.function == "" || r.function == c.function) && (r.service == "" || r.service == c.service) &&
		(r.op == "" || r.op == c.op) && (r.step == "" || r.step == c.step) && (r.orderID == "" || r.orderID == c.orderID) &&
		(r.times == 0 || r.hits < r.times)
}

func (a *chaosAWS) proxy(fn string) awsproxy.Hook {
	return func(c *awsproxy.Call, next awsproxy.Next) *awsproxy.Answer {
		call := parseChaosCall(c)
		var rule awsRule
		a.mu.Lock()
		for _, x := range a.rules {
			if x.matches(call) {
				x.hits++
				rule = *x
				if x.fault != awsPass {
					a.fired[x.fault]++
				}
				break
			}
		}
		a.mu.Unlock()
		if rule.before != nil {
			rule.before()
		}
		switch rule.fault {
		case awsThrottle, aws5xx:
			return awsError(call.service, rule.fault)
		case awsDrop:
			return &awsproxy.Answer{Hangup: true}
		case awsAppliedThen5xx:
			a.applied(call, next(c))
			return awsError(call.service, aws5xx)
		case awsAppliedThenDrop:
			a.applied(call, next(c))
			return &awsproxy.Answer{Hangup: true}
		}
		ans := next(c)
		a.applied(call, ans)
		if rule.after != nil {
			rule.after()
		}
		return ans
	}
}

// awsError answers as the service does when it throttles or fails.
func awsError(service string, f awsFault) *awsproxy.Answer {
	switch {
	case service == "dynamodb" && f == awsThrottle:
		return awsproxy.Error(http.StatusBadRequest, "1.0", "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
			"The level of configured provisioned throughput for the table was exceeded.")
	case service == "dynamodb":
		return awsproxy.Error(http.StatusInternalServerError, "1.0", "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error")
	case f == awsThrottle:
		return awsproxy.Error(http.StatusBadRequest, "1.1", "ThrottlingException", "Rate exceeded")
	}
	return awsproxy.Error(http.StatusInternalServerError, "1.1", "InternalServiceError", "An error occurred on the server side.")
}

// TestChaosRulesSeeTheStoresWrites holds parseChaosCall to the orders
// store's real requests: when the store's wire format changes, the fault
// matrix's rules would stop matching and its cells would only report that
// their faults never fired, minutes into the campaign. This says why in a
// second.
func TestChaosRulesSeeTheStoresWrites(t *testing.T) {
	var mu sync.Mutex
	var seen []chaosCall
	dynamo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		seen = append(seen, parseChaosCall(awsproxy.NewCall(r.Context(), "Fn", r.Header, r.URL.Path, body)))
		mu.Unlock()
		// Refused, so each store call ends at its first request.
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazon.coral.validate#ValidationException","message":"refused by the test"}`)
	}))
	defer dynamo.Close()
	env := awsclient.Env{Region: stack.Region, AccessKeyID: stack.LocalAccessKeyID, SecretAccessKey: stack.LocalSecretAccessKey,
		DynamoDBEndpoint: dynamo.URL, RetryMaxAttempts: 1}
	store := orders.Validated(orders.NewDynamoStore(env.DynamoDB(), "tossintl-dev-orders"))
	id, pk, now := orders.NewID(), "tgen_20261122120000chaos0001", time.Now()
	pay := orders.Payment{Status: "DONE", TotalAmount: 1000, BalanceAmount: 1000, ApprovedAt: now}
	for _, tc := range []struct {
		name  string
		write func() error
		step  string
	}{
		{"Claim", func() error {
			_, err := store.Claim(t.Context(), orders.Claim{OrderID: id, PaymentKey: pk, Amount: 1000, Now: now, Until: now.Add(time.Minute)})
			return err
		}, "claim"},
		{"Complete", func() error { _, err := store.Complete(t.Context(), id, pk, pay, now); return err }, "complete"},
		{"SettleFromToss", func() error { _, err := store.SettleFromToss(t.Context(), id, pk, pay, now); return err }, "complete"},
		{"Fail", func() error {
			_, err := store.Fail(t.Context(), id, pk, orders.Failure{Code: "REJECT_CARD_COMPANY", PaymentKey: pk, Amount: 1000, At: now}, now)
			return err
		}, "fail"},
		{"RecordFailure", func() error {
			_, err := store.RecordFailure(t.Context(), id, orders.Failure{Code: "REJECT_CARD_COMPANY", At: now}, now)
			return err
		}, ""},
	} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		if err := tc.write(); err == nil {
			t.Fatalf("%s: the refused request succeeded", tc.name)
		}
		mu.Lock()
		calls := seen
		mu.Unlock()
		if len(calls) == 0 {
			t.Fatalf("%s: no request reached DynamoDB", tc.name)
		}
		want := chaosCall{function: "Fn", service: "dynamodb", op: "UpdateItem", table: "tossintl-dev-orders", step: tc.step, orderID: id}
		if calls[0] != want {
			t.Errorf("%s: the rules see %+v, want %+v", tc.name, calls[0], want)
		}
	}
}
