package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tossintl/backend/internal/merchantapi"
	"github.com/tossintl/backend/internal/testenv"
	"github.com/tossintl/backend/shared/logsink"
	"github.com/tossintl/backend/tools/dynamodblocal"
	"github.com/tossintl/backend/tools/moto"
)

// appBuild holds the test app's bootstraps, built once for every test;
// sharedDynamoDB and sharedMoto serve every test's stack (a JVM and a
// Python server take seconds of CPU to start on a shared machine). Under
// -short none of them is made, and the tests on them skip.
var appBuild, sharedDynamoDB, sharedMoto string

// localStack is what the tests on TestMain's servers and build run.
const localStack = "the local stack (DynamoDB Local, moto_server, the test app under aws-lambda-rie)"

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if testenv.Short() {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "samlocal-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		var aws Stack
		defer aws.Close()
		if err := aws.startAWS(context.Background(), Options{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		sharedDynamoDB, sharedMoto = aws.DynamoDBURL, aws.MotoURL
		tpl, err := LoadTemplate(appTemplate)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		var out bytes.Buffer
		if _, err := Build(context.Background(), tpl, BuildOptions{Dir: dir, Force: true, Output: &out}); err != nil {
			fmt.Fprintf(os.Stderr, "build the test app: %v\n%s", err, out.String())
			return 1
		}
		appBuild = dir
		return m.Run()
	}())
}

// startApp runs the test app on the package's DynamoDB Local and
// moto_server (TestMain's), a random Stage keeping each stack's tables and
// secret apart.
func startApp(t *testing.T, opts Options) (*Stack, *logsink.Buffer) {
	t.Helper()
	testenv.Skip(t, localStack)
	logs := &logsink.Buffer{}
	opts.Template, opts.BuildDir, opts.SkipBuild, opts.Logs = appTemplate, appBuild, true, logs
	if opts.DynamoDBURL == "" && opts.MotoURL == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		opts.DynamoDBURL, opts.MotoURL = sharedDynamoDB, sharedMoto
		opts.Parameters = map[string]string{"Stage": "t" + hex.EncodeToString(b)}
	}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, logs)
	}
	t.Cleanup(func() {
		var pids []int
		for _, id := range s.Template.Functions {
			if f := s.Function(id); f != nil {
				pids = append(pids, f.PIDs()...)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, pid := range pids {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				t.Errorf("function process %d still exists after Close", pid)
			}
		}
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	})
	return s, logs
}

var (
	do    = merchantapi.MustDo
	basic = merchantapi.Basic
)

func TestStackEndToEnd(t *testing.T) {
	calls := &AWSRecorder{}
	s, logs := startApp(t, Options{AWSProxy: calls.Proxy})
	auth := map[string]string{"Authorization": basic(DefaultMerchantAPIKey), "Content-Type": "application/json"}

	t.Run("environment", func(t *testing.T) {
		env := s.Env("OrdersFunction")
		stage, _ := s.Resolver.Param("Stage")
		for k, v := range map[string]string{
			"ORDERS_TABLE":          "app-" + stage + "-orders",
			"TOSS_SECRET_ID":        "app/" + stage + "/keys",
			"TOSS_API_BASE_URL":     s.SandboxURL,
			"TOSS_SDK_URL":          s.SandboxURL + "/v2/standard",
			"AWS_ACCESS_KEY_ID":     "testing",
			"AWS_SECRET_ACCESS_KEY": "testing",
			"AWS_REGION":            "us-east-1",
		} {
			if env[k] != v {
				t.Errorf("%s = %q, want %q", k, env[k], v)
			}
		}
		if ep := env["AWS_ENDPOINT_URL"]; ep == "" || ep == s.AWSURL || ep == s.Env("EchoFunction")["AWS_ENDPOINT_URL"] {
			t.Errorf("AWS_ENDPOINT_URL = %q: want an endpoint of this function's own", ep)
		}
	})

	t.Run("tables and TTL in DynamoDB Local, the secret in moto", func(t *testing.T) {
		db, sm := s.DynamoDB(), secretsClient(s.MotoURL)
		name, err := s.TableName("OrdersTable")
		if err != nil {
			t.Fatal(err)
		}
		ttl, err := db.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if d := ttl.TimeToLiveDescription; string(d.TimeToLiveStatus) != "ENABLED" || aws.ToString(d.AttributeName) != "ttl" {
			t.Errorf("TTL = %s on %q", d.TimeToLiveStatus, aws.ToString(d.AttributeName))
		}
		sec, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.Env("OrdersFunction")["TOSS_SECRET_ID"])})
		if err != nil {
			t.Fatal(err)
		}
		var keys Keys
		if err := json.Unmarshal([]byte(aws.ToString(sec.SecretString)), &keys); err != nil || keys != DefaultKeys() {
			t.Errorf("secret holds other keys than the defaults (%v)", err)
		}
	})

	t.Run("sandbox", func(t *testing.T) {
		if s.Sandbox == nil {
			t.Fatal("no in-process sandbox")
		}
		if r := do(t, "GET", s.SandboxURL+"/v2/standard", nil, nil); r.Status != 200 {
			t.Errorf("sandbox SDK script: %d", r.Status)
		}
	})

	var orderID string
	t.Run("merchant API through DynamoDB and Secrets Manager", func(t *testing.T) {
		if r := do(t, "POST", s.URL+"/orders", map[string]string{"Authorization": basic("wrong")}, []byte(`{"amount":1}`)); r.Status != 401 {
			t.Errorf("wrong key: %d %s", r.Status, r.Body)
		}
		r := do(t, "POST", s.URL+"/orders", auth, []byte(`{"orderName":"Tea","amount":15000}`))
		if r.Status != 200 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var created struct {
			Order struct{ OrderID, CheckoutURL string } `json:"entityBody"`
		}
		if err := json.Unmarshal(r.Body, &created); err != nil {
			t.Fatal(err)
		}
		orderID = created.Order.OrderID
		if want := s.URL + "/checkout/" + orderID; created.Order.CheckoutURL != want {
			t.Errorf("checkoutUrl = %q, want %q (the API's own host)", created.Order.CheckoutURL, want)
		}
		r = do(t, "GET", s.URL+"/orders/"+orderID, auth, nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), `"orderName":"Tea"`) {
			t.Errorf("get: %d %s", r.Status, r.Body)
		}
		if r := do(t, "GET", s.URL+"/orders/ord_missing", auth, nil); r.Status != 404 {
			t.Errorf("get missing: %d", r.Status)
		}
		if !strings.Contains(logs.String(), "[OrdersFunction] order created "+orderID+"\n") {
			t.Errorf("function log line missing or unprefixed")
		}
	})

	t.Run("every AWS call is one the template grants", func(t *testing.T) {
		var actions []string
		for _, c := range calls.Calls("OrdersFunction") {
			actions = append(actions, c.Action)
			if ok, err := s.Resolver.Allows("OrdersFunction", c); err != nil || !ok {
				t.Errorf("OrdersFunction called %s on %s, which its Policies do not grant (%v)", c.Action, c.Resource, err)
			}
		}
		for _, want := range []string{"secretsmanager:GetSecretValue", "dynamodb:PutItem", "dynamodb:GetItem"} {
			if !slices.Contains(actions, want) {
				t.Errorf("OrdersFunction never called %s (calls: %v)", want, actions)
			}
		}
		if n := len(calls.Calls("EchoFunction")); n != 0 {
			t.Errorf("EchoFunction made %d AWS calls", n)
		}
	})

	t.Run("request translation", func(t *testing.T) {
		req, _ := http.NewRequest("PUT", s.URL+"/echo/a/b%2Fc?x=1&x=2&y=%C3%A9", strings.NewReader(`{"k":"v"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("X-Repeat", "1")
		req.Header.Add("X-Repeat", "2")
		req.AddCookie(&http.Cookie{Name: "s", Value: "1"})
		req.AddCookie(&http.Cookie{Name: "t", Value: "2"})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ev events.APIGatewayV2HTTPRequest
		if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
			t.Fatalf("%d: %v", resp.StatusCode, err)
		}
		if ev.RouteKey != "ANY /echo/{proxy+}" || ev.RawPath != "/echo/a/b%2Fc" || ev.RawQueryString != "x=1&x=2&y=%C3%A9" ||
			ev.PathParameters["proxy"] != "a/b/c" || ev.QueryStringParameters["x"] != "1,2" || ev.QueryStringParameters["y"] != "é" ||
			!reflect.DeepEqual(ev.Cookies, []string{"s=1", "t=2"}) || ev.Headers["x-repeat"] != "1,2" ||
			ev.Headers["content-type"] != "application/json" || ev.Body != `{"k":"v"}` || ev.IsBase64Encoded ||
			ev.RequestContext.HTTP.Method != "PUT" || ev.RequestContext.Stage != "$default" || ev.RequestContext.RequestID == "" {
			t.Errorf("event = %+v", ev)
		}
		if resp.Header.Get("Apigw-Requestid") != ev.RequestContext.RequestID {
			t.Errorf("Apigw-Requestid %q, event's requestId %q", resp.Header.Get("Apigw-Requestid"), ev.RequestContext.RequestID)
		}

		r := do(t, "POST", s.URL+"/echo/bin", map[string]string{"Content-Type": "image/png"}, []byte{0x89, 'P', 'N', 'G', 0})
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatal(err)
		}
		if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G', 0}) {
			t.Errorf("binary body arrived as %q base64=%v", ev.Body, ev.IsBase64Encoded)
		}

		for path, key := range map[string]string{"/items/special": "GET /items/special", "/items/5": "GET /items/{id}"} {
			r := do(t, "GET", s.URL+path, nil, nil)
			if err := json.Unmarshal(r.Body, &ev); err != nil || ev.RouteKey != key {
				t.Errorf("%s went to %q (%v)", path, ev.RouteKey, err)
			}
		}
	})

	t.Run("response translation and API Gateway's own answers", func(t *testing.T) {
		r := do(t, "GET", s.URL+"/echo/x?mode=cookies", nil, nil)
		if r.Status != 200 || string(r.Body) != "ok" || !reflect.DeepEqual(r.Header.Values("Set-Cookie"), []string{"a=1; Path=/", "b=2"}) ||
			!reflect.DeepEqual(r.Header.Values("X-Multi"), []string{"1", "2"}) || r.Header.Get("X-Single") != "s" {
			t.Errorf("cookies: %d %q %v", r.Status, r.Body, r.Header)
		}
		r = do(t, "GET", s.URL+"/echo/x?mode=binary", nil, nil)
		if r.Status != 201 || !bytes.Equal(r.Body, []byte{0, 1, 2, 255}) {
			t.Errorf("binary: %d %v", r.Status, r.Body)
		}
		r = do(t, "GET", s.URL+"/echo/x?mode=raw", nil, nil)
		if r.Status != 200 || string(r.Body) != `{"hello":"world"}` || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("raw: %d %s %v", r.Status, r.Body, r.Header)
		}
		for _, mode := range []string{"error", "sleep", "bad"} {
			r = do(t, "GET", s.URL+"/echo/x?mode="+mode, nil, nil)
			if r.Status != 500 || string(r.Body) != `{"message":"Internal Server Error"}` {
				t.Errorf("%s: %d %s", mode, r.Status, r.Body)
			}
		}
		if l := logs.String(); !strings.Contains(l, "boom: 500") || !strings.Contains(l, "Task timed out after 1.00 seconds") {
			t.Errorf("failures not logged:\n%s", l)
		}
		// The timed-out process was replaced.
		if r := do(t, "GET", s.URL+"/echo/x?mode=raw", nil, nil); r.Status != 200 {
			t.Errorf("after a timeout: %d", r.Status)
		}
		if r := do(t, "GET", s.URL+"/nope", nil, nil); r.Status != 404 || string(r.Body) != `{"message":"Not Found"}` {
			t.Errorf("unknown route: %d %s", r.Status, r.Body)
		}
		if r := do(t, "DELETE", s.URL+"/orders", nil, nil); r.Status != 404 {
			t.Errorf("unknown method: %d", r.Status)
		}
	})

	t.Run("Invoke", func(t *testing.T) {
		res, err := s.Invoke(context.Background(), "EchoFunction", []byte(`{"queryStringParameters":{"mode":"raw"}}`))
		if err != nil || res.Error != nil || string(res.Payload) != `{"hello":"world"}` {
			t.Errorf("Invoke = %s, %v, %v", res.Payload, res.Error, err)
		}
		if _, err := s.Invoke(context.Background(), "NoSuchFunction", nil); err == nil {
			t.Error("Invoke of an unknown function: no error")
		}
	})
}

func TestStartRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"live key", Options{Keys: Keys{TossSecretKey: "live_sk_abc"}}, "test key"},
		{"unknown function", Options{Functions: []string{"NoSuchFunction"}}, "NoSuchFunction is not an AWS::Serverless::Function"},
		{"unknown parameter", Options{Parameters: map[string]string{"Nope": "1"}}, "no such parameter"},
		{"missing env file", Options{EnvFile: "testdata/none.json"}, "env file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Template, tc.opts.BuildDir, tc.opts.SkipBuild = appTemplate, appBuild, true
			s, err := Start(context.Background(), tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMissingMotoSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background(), Options{Template: appTemplate, BuildDir: appBuild, SkipBuild: true, Logs: io.Discard})
	if !errors.Is(err, moto.ErrNotInstalled) || !strings.Contains(err.Error(), "pip install 'moto[server]'") {
		t.Fatalf("err = %v, want moto.ErrNotInstalled with the pip command", err)
	}
}

func TestMissingJavaSaysWhatToInstall(t *testing.T) {
	testenv.Skip(t, "moto_server") // TestMain's, so that only java is missing
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background(), Options{Template: appTemplate, BuildDir: appBuild, SkipBuild: true, Logs: io.Discard, MotoURL: sharedMoto})
	if !errors.Is(err, dynamodblocal.ErrNoJava) || !strings.Contains(err.Error(), "apt-get install openjdk-17-jre-headless") {
		t.Fatalf("err = %v, want dynamodblocal.ErrNoJava with the apt-get command", err)
	}
}

func TestKeysNeverPrint(t *testing.T) {
	k := DefaultKeys()
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(out, k.TossSecretKey) || strings.Contains(out, k.MerchantAPIKey) {
			t.Errorf("Keys printed its values: %s", out)
		}
	}
}
