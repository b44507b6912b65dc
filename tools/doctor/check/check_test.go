package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/tossintl/backend/internal/testenv"
	"github.com/tossintl/backend/shared/logsink"
	"github.com/tossintl/backend/tools/doctor/check"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

var realTemplate = filepath.Join("..", "..", "..", "template.yaml")

// Every check's name, in the report's order.
var checkNames = []string{
	"API", "keys secret", "keys and PaymentMode", "Toss secret key", "merchant key",
	"orders table", "orders table TTL", "orders table point-in-time recovery",
	"idempotency table", "idempotency table TTL", "reconciler schedule", "webhook route",
	"alarm on TossConfigurationErrors", "alarm on CspViolations",
	"TossConfigurationErrors in the last hour", "CspViolations in the last hour",
}

// report is one doctor run: its exit code, its output, and each check's
// line by name.
type report struct {
	code  int
	out   string
	lines map[string]string // check name → whole line
}

func (r report) mark(name string) string {
	l, ok := r.lines[name]
	if !ok {
		return "(no line)"
	}
	m, _, _ := strings.Cut(l, " ")
	return m
}

func doctor(t *testing.T, env map[string]string, args ...string) report {
	t.Helper()
	var out, errOut bytes.Buffer
	code := check.Main(t.Context(), args, check.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }})
	r := report{code: code, out: out.String() + errOut.String(), lines: map[string]string{}}
	for _, l := range strings.Split(out.String(), "\n") {
		mark, rest, ok := strings.Cut(l, " ")
		if !ok || (mark != "✓" && mark != "✗" && mark != "-") {
			continue
		}
		name, _, _ := strings.Cut(rest, ": ")
		r.lines[name] = l
	}
	return r
}

// expect holds r to want (check name → mark, with a text its line must
// hold after each "|"); every check not named must pass, but the reconciler's
// schedule, which the local stack does not have.
func expect(t *testing.T, r report, wantCode int, want map[string]string) {
	t.Helper()
	if r.code != wantCode {
		t.Errorf("exit code %d, want %d", r.code, wantCode)
	}
	for _, name := range checkNames {
		w, ok := want[name]
		if !ok {
			w = "✓"
			// The local stack runs the schedule itself, and its DynamoDB
			// Local serves no point-in-time recovery.
			local := strings.HasPrefix(r.out, "doctor: local stack")
			if name == "reconciler schedule" || (local && name == "orders table point-in-time recovery") {
				w = "-"
			}
			// The local stack has no CloudWatch; a stack named by hand
			// (doctor -api-url) has no list of its alarms.
			cloud := strings.HasPrefix(name, "alarm on ") || strings.HasSuffix(name, " in the last hour")
			if cloud && (local || (strings.HasPrefix(r.out, "doctor: API ") && strings.HasPrefix(name, "alarm on "))) {
				w = "-"
			}
		}
		parts := strings.Split(w, "|")
		if got := r.mark(name); got != parts[0] {
			t.Errorf("%s: %s, want %s", name, r.lines[name], parts[0])
			continue
		}
		for _, text := range parts[1:] {
			if !strings.Contains(r.lines[name], text) {
				t.Errorf("%s: %q does not say %q", name, r.lines[name], text)
			}
		}
	}
	if t.Failed() {
		t.Logf("doctor said:\n%s", r.out)
	}
}

// noKeys fails if any of the keys appears in out.
func noKeys(t *testing.T, out string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if k != "" && strings.Contains(out, k) {
			t.Errorf("the report shows a key (%.10s…)", k)
		}
	}
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return port
}

// TestDoctor runs make doctor's command against the local stack (the
// functions its checks reach, under aws-lambda-rie, DynamoDB Local,
// moto_server and the Toss sandbox): all clear, then each thing it checks broken in turn and
// repaired, then a "deployed" stack found through CloudFormation.
func TestDoctor(t *testing.T) {
	testenv.Skip(t, "the local stack (DynamoDB Local, moto_server, aws-lambda-rie)")
	logs := &logsink.Buffer{}
	s, err := stack.Start(t.Context(), stack.Options{
		Template: realTemplate, BuildDir: t.TempDir(), Logs: logs, MaxConcurrency: 2,
		Functions: []string{"CheckoutFunction", "ListOrdersFunction", "TossWebhookFunction"},
	})
	if err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, logs)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs)
		}
	})
	advert := s.Advert()
	advertPath := filepath.Join(t.TempDir(), stack.AdvertFile)
	writeAdvert := func(t *testing.T, a stack.Advert) {
		t.Helper()
		if err := stack.WriteAdvert(advertPath, a); err != nil {
			t.Fatal(err)
		}
	}
	writeAdvert(t, advert)
	if advert.OrdersTable != "tossintl-dev-orders" || advert.IdempotencyTable != "tossintl-dev-idempotency" ||
		advert.KeysSecret != "tossintl/dev/keys" || advert.PaymentMode != "test" || advert.TossAPIBaseURL != s.SandboxURL {
		t.Fatalf("the stack advertises %+v", advert)
	}

	creds := credentials.NewStaticCredentialsProvider(stack.LocalAccessKeyID, stack.LocalSecretAccessKey, "")
	db := dynamodb.New(dynamodb.Options{Region: stack.Region, Credentials: creds, BaseEndpoint: aws.String(s.AWSURL)})
	sm := secretsmanager.New(secretsmanager.Options{Region: stack.Region, Credentials: creds, BaseEndpoint: aws.String(s.AWSURL)})
	keys := s.Keys
	refused := "test_sk_doctor_refused_key_000000000000"
	putSecret := func(t *testing.T, v string) {
		t.Helper()
		if _, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(advert.KeysSecret), SecretString: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	secretJSON := func(sk, ck, mk string) string {
		b, _ := json.Marshal(map[string]string{"tossSecretKey": sk, "tossClientKey": ck, "merchantApiKey": mk})
		return string(b)
	}
	setTTL := func(t *testing.T, table string, on bool) {
		t.Helper()
		if _, err := db.UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(table),
			TimeToLiveSpecification: &dbtypes.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(on)}}); err != nil {
			t.Fatal(err)
		}
	}
	// An API that answers 502 to everything, as API Gateway does when a
	// function crashes.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(`{"message":"Internal Server Error"}`))
	}))
	t.Cleanup(broken.Close)
	withAdvert := func(f func(*stack.Advert)) func(*testing.T) {
		return func(t *testing.T) {
			a := advert
			f(&a)
			writeAdvert(t, a)
		}
	}

	for _, tc := range []struct {
		name   string
		env    map[string]string
		breaks func(*testing.T) // done before the run
		repair func(*testing.T) // undone after it
		code   int
		want   map[string]string
	}{
		{name: "all clear", want: map[string]string{
			"API":                  "✓|404 page",
			"keys secret":          "✓|tossintl/dev/keys holds the 3 keys",
			"keys and PaymentMode": "✓|test_sk_… and test_ck_…, merchant key of 40 characters, PaymentMode test",
			"Toss secret key":      "✓|NOT_FOUND_PAYMENT",
			"merchant key":         "✓|answers 200 to the key from the keys secret",
			"orders table TTL":     `✓|ENABLED on attribute "ttl"`,
			// DynamoDB Local serves no PITR: said, not passed.
			"orders table point-in-time recovery": "-|not available locally: DynamoDB Local serves no point-in-time recovery",
			"reconciler schedule":                 "-|deployed stacks only",
			"webhook route":                       "✓|answers 200",
		}},
		{name: "all clear with MERCHANT_API_KEY", env: map[string]string{"MERCHANT_API_KEY": keys.MerchantAPIKey},
			want: map[string]string{"merchant key": "✓|the key from MERCHANT_API_KEY"}},
		{name: "MERCHANT_API_KEY is not the secret's", env: map[string]string{"MERCHANT_API_KEY": "someone_elses_merchant_key_0000000"}, code: 1,
			want: map[string]string{"merchant key": "✗|401 UNAUTHORIZED_KEY — MERCHANT_API_KEY is not the secret's merchantApiKey"}},
		{name: "empty secret", code: 1,
			breaks: func(t *testing.T) { putSecret(t, secretJSON("", "", "")) },
			want: map[string]string{
				"keys secret":          "✗|is empty, as the stack created it",
				"keys and PaymentMode": "-", "Toss secret key": "-", "merchant key": "-",
			}},
		{name: "secret not JSON", code: 1,
			breaks: func(t *testing.T) { putSecret(t, "test_sk_not_json") },
			want:   map[string]string{"keys secret": "✗|is not a JSON object", "keys and PaymentMode": "-", "Toss secret key": "-", "merchant key": "-"}},
		{name: "secret missing a key", code: 1,
			breaks: func(t *testing.T) { putSecret(t, secretJSON(keys.TossSecretKey, "", keys.MerchantAPIKey)) },
			want:   map[string]string{"keys secret": "✗|has no tossClientKey", "keys and PaymentMode": "-"}},
		{name: "no such secret", code: 1,
			breaks: withAdvert(func(a *stack.Advert) { a.KeysSecret = "tossintl/nope/keys" }),
			want:   map[string]string{"keys secret": "✗|tossintl/nope/keys does not exist", "keys and PaymentMode": "-", "Toss secret key": "-", "merchant key": "-"}},
		{name: "a key Toss refuses", code: 1,
			breaks: func(t *testing.T) { putSecret(t, secretJSON(refused, keys.TossClientKey, keys.MerchantAPIKey)) },
			want:   map[string]string{"Toss secret key": "✗|refuses test_sk_…: 401 UNAUTHORIZED_KEY — put the international card MID's secret key"}},
		{name: "a live key in test mode", code: 1,
			breaks: func(t *testing.T) {
				putSecret(t, secretJSON("live_sk_doctor_0000000000000000", "live_ck_doctor_0000000000000000", keys.MerchantAPIKey))
			},
			want: map[string]string{
				"keys and PaymentMode": "✗|tossSecretKey is a live key (live_sk_) but the deployment is in test mode — put test keys in the secret, or deploy with PaymentMode=live",
				"Toss secret key":      "✗|refuses live_sk_…",
			}},
		{name: "a merchant key too short", code: 1,
			breaks: func(t *testing.T) { putSecret(t, secretJSON(keys.TossSecretKey, keys.TossClientKey, "short")) },
			// The functions still hold the good key in their cache.
			want: map[string]string{"keys and PaymentMode": "✗|merchantApiKey is shorter than 24 characters", "merchant key": "✗|refuses the key from the keys secret"}},
		{name: "Toss unreachable", code: 1,
			breaks: withAdvert(func(a *stack.Advert) { a.TossAPIBaseURL = "http://127.0.0.1:" + closedPort(t) }),
			want:   map[string]string{"Toss secret key": "✗|no answer from http://127.0.0.1:"}},
		{name: "orders TTL off", code: 1,
			breaks: func(t *testing.T) { setTTL(t, advert.OrdersTable, false) },
			repair: func(t *testing.T) { setTTL(t, advert.OrdersTable, true) },
			want:   map[string]string{"orders table TTL": `✗|TTL is off (DISABLED): expired rows are never deleted — turn TTL on for attribute "ttl": aws dynamodb update-time-to-live --table-name tossintl-dev-orders`}},
		{name: "idempotency TTL off", code: 1,
			breaks: func(t *testing.T) { setTTL(t, advert.IdempotencyTable, false) },
			repair: func(t *testing.T) { setTTL(t, advert.IdempotencyTable, true) },
			want:   map[string]string{"idempotency table TTL": "✗|TTL is off"}},
		{name: "no such table", code: 1,
			breaks: withAdvert(func(a *stack.Advert) { a.IdempotencyTable = "tossintl-nope-idempotency" }),
			want:   map[string]string{"idempotency table": "✗|tossintl-nope-idempotency does not exist", "idempotency table TTL": "-"}},
		{name: "API down", env: map[string]string{"LOCAL_API_PORT": closedPort(t)}, code: 1, want: map[string]string{
			"API":           "✗|no answer from http://127.0.0.1:",
			"merchant key":  "✗|no answer",
			"webhook route": "✗|no answer from http://127.0.0.1:|— is make local running? It serves the API on LOCAL_API_PORT",
		}},
		{name: "API answers 5xx", code: 1,
			breaks: withAdvert(func(a *stack.Advert) { a.APIURL = broken.URL }),
			want: map[string]string{
				"API":           "✗|answers 502 — read CheckoutFunction's logs",
				"merchant key":  "✗|answers 502 — read ListOrdersFunction's logs",
				"webhook route": "✗|answers 502 to a harmless probe — read TossWebhookFunction's logs",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			putSecret(t, secretJSON(keys.TossSecretKey, keys.TossClientKey, keys.MerchantAPIKey))
			writeAdvert(t, advert)
			if tc.breaks != nil {
				tc.breaks(t)
			}
			if tc.repair != nil {
				t.Cleanup(func() { tc.repair(t) })
			}
			r := doctor(t, tc.env, "-local", advertPath)
			expect(t, r, tc.code, tc.want)
			noKeys(t, r.out, keys.TossSecretKey, keys.TossClientKey, keys.MerchantAPIKey, refused, "live_sk_doctor_0000000000000000")
			if tc.code == 0 && !strings.Contains(r.out, "ready to take a payment") {
				t.Errorf("no verdict:\n%s", r.out)
			}
		})
	}
	putSecret(t, secretJSON(keys.TossSecretKey, keys.TossClientKey, keys.MerchantAPIKey))

	t.Run("no local stack", func(t *testing.T) {
		r := doctor(t, nil, "-local", filepath.Join(t.TempDir(), stack.AdvertFile))
		if r.code != 1 || !strings.Contains(r.out, "✗ local stack: nothing at") || !strings.Contains(r.out, "make local is not running") {
			t.Errorf("exit %d:\n%s", r.code, r.out)
		}
	})

	t.Run("the probes change nothing", func(t *testing.T) {
		// The webhook probe names an order that does not exist: the
		// orders table must still hold no item the doctor wrote.
		out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(advert.OrdersTable)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			if id, ok := it["id"].(*dbtypes.AttributeValueMemberS); ok && strings.HasPrefix(id.Value, "doctor_probe_") {
				t.Errorf("the doctor left order %s behind", id.Value)
			}
		}
		// Toss saw lookups only: 404 for its key, 401 for the others.
		answered := map[int]int{}
		for _, p := range s.Sandbox.Requests() {
			if p.Method != http.MethodGet || !strings.HasPrefix(p.Path, "/v1/payments/orders/doctor_probe_") {
				t.Errorf("the doctor sent Toss %s %s", p.Method, p.Path)
			}
			answered[p.Status]++
		}
		if answered[http.StatusNotFound] == 0 || answered[http.StatusUnauthorized] == 0 {
			t.Errorf("Toss's answers to the doctor's lookups: %v, want 404s and 401s", answered)
		}
	})

	t.Run("deployed stack through CloudFormation", func(t *testing.T) {
		deployedStack(t, s, creds)
	})
}

// deployedStack deploys, into the local stack's moto_server, a
// CloudFormation stack with the template's logical ids, Outputs and
// Parameters for what doctor looks up (the tables, the keys secret, the
// reconciler's rule; the API is the local one), and runs doctor
// -stack against it through the standard credential chain, pointed at
// moto by AWS_ENDPOINT_URL. moto stands in for an AWS account here:
// it serves CloudFormation's and EventBridge's real query and JSON
// protocols, and its CloudFormation creates the tables in its own
// DynamoDB, the one local server with point-in-time recovery, so the
// doctor's PITR check is exercised here (the local stack's DynamoDB Local
// has none). Its CloudFormation neither creates secrets nor applies TTL
// and point-in-time recovery, so the test does, as CloudFormation would
// from template.yaml.
func deployedStack(t *testing.T, s *stack.Stack, creds aws.CredentialsProvider) {
	tpl, err := stack.LoadTemplate(realTemplate)
	if err != nil {
		t.Fatal(err)
	}
	schedules, err := tpl.Schedules()
	if err != nil {
		t.Fatal(err)
	}
	var reconcile stack.Schedule
	for _, sc := range schedules {
		if sc.Function == "ReconcileFunction" {
			reconcile = sc
		}
	}
	if reconcile.Event == "" {
		t.Fatalf("the template has no schedule for ReconcileFunction: %+v", schedules)
	}
	ruleID := reconcile.Function + reconcile.Event // as SAM names it
	for _, id := range []string{"OrdersTable", "IdempotencyTable", "TossKeysSecret"} {
		if _, ok := tpl.Resources[id]; !ok {
			t.Fatalf("template.yaml has no %s", id)
		}
	}
	const (
		name        = "tossintl-doctor"
		ordersTable = "tossintl-doctor-orders"
		idemTable   = "tossintl-doctor-idempotency"
		secretName  = "tossintl/doctor/keys"
	)
	key := func(n string) map[string]any {
		return map[string]any{"Type": "AWS::DynamoDB::Table", "Properties": map[string]any{
			"TableName": n, "BillingMode": "PAY_PER_REQUEST",
			"AttributeDefinitions": []any{map[string]any{"AttributeName": "id", "AttributeType": "S"}},
			"KeySchema":            []any{map[string]any{"AttributeName": "id", "KeyType": "HASH"}},
		}}
	}
	body, err := json.Marshal(map[string]any{
		"Parameters": map[string]any{
			"PaymentMode":    map[string]any{"Type": "String", "Default": "test"},
			"TossApiBaseUrl": map[string]any{"Type": "String", "Default": s.SandboxURL},
		},
		"Resources": map[string]any{
			"OrdersTable":      key(ordersTable),
			"IdempotencyTable": key(idemTable),
			ruleID: map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{
				"ScheduleExpression": fmt.Sprintf("rate(%d minutes)", int(reconcile.Every/time.Minute)), "State": "ENABLED"}},
		},
		"Outputs": map[string]any{
			"ApiUrl":            map[string]any{"Value": s.URL},
			"TossKeysSecretArn": map[string]any{"Value": secretName},
			"OrdersTableName":   map[string]any{"Value": map[string]any{"Ref": "OrdersTable"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := aws.Config{Region: stack.Region, Credentials: creds, BaseEndpoint: aws.String(s.MotoURL)}
	cf := cloudformation.NewFromConfig(cfg)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(string(body))}); err != nil {
		t.Fatal(err)
	}
	db, sm, eb := dynamodb.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg)
	keys := s.Keys
	secret, _ := json.Marshal(map[string]string{"tossSecretKey": keys.TossSecretKey, "tossClientKey": keys.TossClientKey, "merchantApiKey": keys.MerchantAPIKey})
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secretName), SecretString: aws.String(string(secret))}); err != nil {
		t.Fatal(err)
	}
	for _, tb := range []string{ordersTable, idemTable} {
		if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(tb),
			TimeToLiveSpecification: &dbtypes.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(ordersTable),
		PointInTimeRecoverySpecification: &dbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}

	// The stack's alarms as CloudFormation names them (moto's CloudFormation
	// makes none), and one of another stack whose name starts the same.
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801) })
	for _, a := range []struct{ name, metric string }{
		{name + "-CspViolationsAlarm-A1B2C3", "CspViolations"},
		{name + "-TossConfigurationErrorsAlarm-D4E5F6", "TossConfigurationErrors"},
		{name + "-dev-CspViolationsAlarm-G7H8I9", "CspViolations"},
	} {
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(a.name), Namespace: aws.String("TossIntl"),
			MetricName: aws.String(a.metric), Statistic: cwtypes.StatisticSum, Period: aws.Int32(900), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold}); err != nil {
			t.Fatal(err)
		}
	}

	// The standard chain, and nothing of this machine's own AWS setup.
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": s.MotoURL, "AWS_ACCESS_KEY_ID": stack.LocalAccessKeyID, "AWS_SECRET_ACCESS_KEY": stack.LocalSecretAccessKey,
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}

	r := doctor(t, nil, "-stack", name, "-region", stack.Region)
	expect(t, r, 0, map[string]string{
		"keys secret":         "✓|tossintl/doctor/keys holds the 3 keys",
		"orders table":        "✓|tossintl-doctor-orders is ACTIVE",
		"idempotency table":   "✓|tossintl-doctor-idempotency is ACTIVE",
		"reconciler schedule": "✓|rate(5 minutes), ENABLED",
	})
	if !strings.HasPrefix(r.out, "doctor: stack tossintl-doctor (us-east-1, CREATE_COMPLETE)") {
		t.Errorf("header: %q", strings.SplitN(r.out, "\n", 2)[0])
	}

	rule := ""
	res, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range res.StackResources {
		if aws.ToString(x.LogicalResourceId) == ruleID {
			rule = aws.ToString(x.PhysicalResourceId)
		}
	}
	if _, err := eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String(rule)}); err != nil {
		t.Fatal(err)
	}
	r = doctor(t, nil, "-stack", name, "-region", stack.Region)
	expect(t, r, 1, map[string]string{"reconciler schedule": "✗|is DISABLED: lapsed confirms are never settled — aws events enable-rule --name " + rule})
	if _, err := eb.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String(rule)}); err != nil {
		t.Fatal(err)
	}

	// Point-in-time recovery turned off is a failure with its fix.
	setPITR := func(on bool) {
		if _, err := db.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(ordersTable),
			PointInTimeRecoverySpecification: &dbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(on)}}); err != nil {
			t.Fatal(err)
		}
	}
	setPITR(false)
	r = doctor(t, nil, "-stack", name, "-region", stack.Region)
	expect(t, r, 1, map[string]string{"reconciler schedule": "✓",
		"orders table point-in-time recovery": "✗|off: a bad write to the payments' record could not be undone|— aws dynamodb update-continuous-backups --table-name " + ordersTable})
	setPITR(true)
	if _, err := eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String(rule)}); err != nil {
		t.Fatal(err)
	}

	// The same stack named by hand: the rule only when given.
	r = doctor(t, nil, "-api-url", s.URL, "-stage", "doctor", "-toss-api-url", s.SandboxURL, "-region", stack.Region, "-secret", secretName)
	expect(t, r, 0, map[string]string{"orders table": "✓|tossintl-doctor-orders", "reconciler schedule": "-|give -rule"})
	r = doctor(t, nil, "-api-url", s.URL, "-stage", "doctor", "-toss-api-url", s.SandboxURL, "-region", stack.Region, "-secret", secretName, "-rule", rule)
	expect(t, r, 1, map[string]string{"reconciler schedule": "✗|DISABLED"})

	// Browsers reported what the checkout page's policy blocked in the
	// last hour: the report says how many, and what to read.
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("TossIntl"), MetricData: []cwtypes.MetricDatum{
		{MetricName: aws.String("CspViolations"), Value: aws.Float64(3), Timestamp: aws.Time(time.Now().Add(-10 * time.Minute)),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("Function"), Value: aws.String("CheckoutFunction")}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String(rule)}); err != nil {
		t.Fatal(err)
	}
	r = doctor(t, nil, "-stack", name, "-region", stack.Region)
	expect(t, r, 1, map[string]string{"reconciler schedule": "✓",
		"alarm on CspViolations":         "✓|" + name + "-CspViolationsAlarm-A1B2C3 is",
		"CspViolations in the last hour": "✗|3 reports of the checkout page's policy|csp violation"})

	r = doctor(t, nil, "-stack", "tossintl-nope", "-region", stack.Region)
	if r.code != 1 || !strings.Contains(r.out, "✗ stack tossintl-nope: describe stack tossintl-nope in us-east-1") {
		t.Errorf("unknown stack: exit %d\n%s", r.code, r.out)
	}
}
