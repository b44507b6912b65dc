package api_test

// Round trips per request type: the DynamoDB and Secrets Manager calls each
// function makes, counted by awstest.Calls on its AWS clients, over
// DynamoDB Local and moto_server's Secrets Manager, with the production wiring (shared/app, as each function's
// main.go builds it) and the Toss sandbox. Each case runs in a fresh
// execution environment, so the counts include the keys' first load.
//
// The exact numbers are the design: a first confirm is one write to claim
// the order and one to record Toss's answer; a repeat of a finished
// confirm is one refused claim, which returns the order; an
// Idempotency-Key adds its lock and its completion; the keys cost one
// GetSecretValue per execution environment per cache period. A change that
// adds a call fails here; `make bench` prints the same counts.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/app"
	"github.com/tossintl/backend/shared/awsclient"
	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/internal/awstest"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// rtStack is DynamoDB Local with the tables, moto with the keys secret,
// and the sandbox.
type rtStack struct {
	t        *testing.T
	sb       *tosstest.Server
	merchant string // Authorization header value
}

func startRTStack(t *testing.T) *rtStack {
	t.Helper()
	servers, stop, err := awstest.StartServers(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	env := awsclient.Env{Region: "us-east-1", AccessKeyID: "testing", SecretAccessKey: "testing", DynamoDBEndpoint: servers.DynamoDB, SecretsEndpoint: servers.SecretsManager}
	ctx := context.Background()
	db := env.DynamoDB()
	ordersTable, idemTable, secretID := awstest.UniqueName("rt-orders"), awstest.UniqueName("rt-idempotency"), awstest.UniqueName("rt-keys")
	awstest.CreateTable(t, db, orders.TableDefinition(ordersTable))
	awstest.CreateTable(t, db, idempotency.TableDefinition(idemTable))
	sb := tosstest.NewServer(t)
	addSecret(sb.SecretKey())
	addSecret(merchantKey)
	secret, _ := json.Marshal(map[string]string{"tossSecretKey": sb.SecretKey(), "tossClientKey": sb.ClientKey(), "merchantApiKey": merchantKey})
	if _, err := env.SecretsManager().CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secretID), SecretString: aws.String(string(secret))}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": servers.DynamoDB, "AWS_ENDPOINT_URL_SECRETS_MANAGER": servers.SecretsManager, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"ORDERS_TABLE": ordersTable, "IDEMPOTENCY_TABLE": idemTable, "TOSS_SECRET_ID": secretID,
		"TOSS_API_BASE_URL": sb.URL, "PAYMENT_MODE": "test",
	} {
		t.Setenv(k, v)
	}
	return &rtStack{t: t, sb: sb, merchant: authHeader()}
}

// rtEnv is one execution environment of one function, its AWS calls counted.
type rtEnv struct {
	svc   *api.Service
	calls *awstest.Calls
}

// environment wires a function as its main.go does, with counting clients.
func (s *rtStack) environment(function string) *rtEnv {
	s.t.Helper()
	calls := &awstest.Calls{}
	var a *app.App
	with := func() *app.App {
		a = app.New(function)
		a.Env.APIOptions = append(a.Env.APIOptions, calls.Middleware)
		return a
	}
	switch function {
	case "ConfirmPaymentFunction":
		with().WithEngine().WithIdempotency()
	case "PaymentSuccessFunction":
		with().WithEngine()
	case "CheckoutFunction":
		with().WithOrders().WithKeys()
	case "CreateOrderFunction":
		with().WithOrders().WithIdempotency().WithKeys()
	case "PaymentFailFunction":
		with().WithOrders()
	default:
		s.t.Fatalf("no wiring for %s", function)
	}
	return &rtEnv{svc: a.Service(), calls: calls}
}

// rtCount is one request's calls.
type rtCount struct{ DynamoDB, SecretsManager int }

func (e *rtEnv) do(t *testing.T, handler api.LambdaHandler, req apigw.Request, wantStatus int) (apigw.Response, rtCount) {
	t.Helper()
	e.calls.Reset()
	resp, err := handler(context.Background(), req)
	if err != nil || resp.StatusCode != wantStatus {
		t.Fatalf("%s: status %d (want %d), error %v: %.300s", req.RouteKey, resp.StatusCode, wantStatus, err, resp.Body)
	}
	if err := apiContract.CheckEvent(req, resp); err != nil {
		t.Errorf("contract: %v", err)
	}
	addExposed(t.Name()+" "+req.RouteKey, responseText(resp))
	sm := e.calls.Count("GetSecretValue")
	return resp, rtCount{DynamoDB: e.calls.Count() - sm, SecretsManager: sm}
}

// createOrder makes an order through a CreateOrderFunction environment of its own.
func (s *rtStack) createOrder(t *testing.T) (id string, amount int64) {
	t.Helper()
	e := s.environment("CreateOrderFunction")
	req := rtRequest("POST", "/orders", "", nil, createBody("Hanbok rental, 1 day", 39000), "authorization", s.merchant, "content-type", "application/json")
	resp, _ := e.do(t, e.svc.JSON(e.svc.CreateOrder), req, 200)
	var o orderView
	wantEntity(t, resp, 200, "order", &o)
	return o.OrderID, o.Amount
}

func rtRequest(method, path, query string, params map[string]string, body string, headers ...string) apigw.Request {
	h := map[string]string{"host": apiHost}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	r := apigw.Request{Version: "2.0", RouteKey: method + " " + path, RawPath: path, RawQueryString: query, Headers: h, PathParameters: params, Body: body}
	r.RequestContext.RequestID = fmt.Sprintf("rt-%s-%s", strings.ToLower(method), strings.ReplaceAll(path, "/", "-"))
	r.RequestContext.DomainName = apiHost
	r.RequestContext.Stage = "$default"
	r.RequestContext.HTTP.Method, r.RequestContext.HTTP.Path = method, path
	return r
}

// rtCase is one request type's expected calls in a fresh environment.
type rtCase struct {
	name string
	want rtCount
	got  rtCount
}

func TestRoundTrips(t *testing.T) {
	s := startRTStack(t)
	var results []rtCase
	check := func(name string, got, want rtCount) {
		t.Helper()
		results = append(results, rtCase{name: name, want: want, got: got})
		if got != want {
			t.Errorf("%s: %d DynamoDB and %d Secrets Manager calls, want %d and %d", name, got.DynamoDB, got.SecretsManager, want.DynamoDB, want.SecretsManager)
		}
	}
	confirmReq := func(orderID, paymentKey string, amount int64, idemKey string) apigw.Request {
		h := []string{"content-type", "application/json"}
		if idemKey != "" {
			h = append(h, "idempotency-key", idemKey)
		}
		return rtRequest("POST", "/payments/confirm", "", nil, confirmBody(paymentKey, orderID, amount), h...)
	}

	t.Run("confirm", func(t *testing.T) {
		id, amount := s.createOrder(t)
		key := s.sb.Authorize(id, "Hanbok rental, 1 day", amount)
		e := s.environment("ConfirmPaymentFunction")
		h := e.svc.JSON(e.svc.ConfirmPayment)
		_, got := e.do(t, h, confirmReq(id, key, amount, ""), 200)
		check("first confirm (POST /payments/confirm)", got, rtCount{DynamoDB: 2, SecretsManager: 1})
		_, got = e.do(t, h, confirmReq(id, key, amount, ""), 200)
		check("repeat of a finished confirm", got, rtCount{DynamoDB: 1})

		// The same environment, warm keys: the Idempotency-Key's lock and
		// completion on top of the confirm's own two writes.
		id, amount = s.createOrder(t)
		key = s.sb.Authorize(id, "Hanbok rental, 1 day", amount)
		_, got = e.do(t, h, confirmReq(id, key, amount, "rt-confirm-1"), 200)
		check("first confirm with Idempotency-Key (warm keys)", got, rtCount{DynamoDB: 4})
		_, got = e.do(t, h, confirmReq(id, key, amount, "rt-confirm-1"), 200)
		check("replay of a confirm by Idempotency-Key", got, rtCount{DynamoDB: 1})
	})

	// POST /confirm, as Toss's sample success page sends it (the amount a
	// string): the same two writes, and a repeat is the one refused claim
	// whose ALL_OLD carries the Payment object it answers with.
	t.Run("toss-sample-confirm", func(t *testing.T) {
		id, amount := s.createOrder(t)
		key := s.sb.Authorize(id, "Hanbok rental, 1 day", amount)
		e := s.environment("ConfirmPaymentFunction")
		body := fmt.Sprintf(`{"paymentKey":%q,"orderId":%q,"amount":"%d"}`, key, id, amount)
		req := rtRequest("POST", "/confirm", "", nil, body, "content-type", "application/json")
		first, got := e.do(t, e.svc.ConfirmHandler(), req, 200)
		check("first confirm (POST /confirm, Toss's sample shape)", got, rtCount{DynamoDB: 2, SecretsManager: 1})
		again, got := e.do(t, e.svc.ConfirmHandler(), req, 200)
		check("repeat of a finished confirm (POST /confirm)", got, rtCount{DynamoDB: 1})
		if again.Body != first.Body || !strings.Contains(first.Body, `"status":"DONE"`) {
			t.Errorf("repeat answered %s\nfirst %s", again.Body, first.Body)
		}
	})

	t.Run("success", func(t *testing.T) {
		id, amount := s.createOrder(t)
		key := s.sb.Authorize(id, "Hanbok rental, 1 day", amount)
		e := s.environment("PaymentSuccessFunction")
		q := url.Values{"lang": {"en"}, "paymentType": {"NORMAL"}, "orderId": {id}, "paymentKey": {key}, "amount": {fmt.Sprint(amount)}}.Encode()
		req := rtRequest("GET", "/payments/success", q, nil, "")
		_, got := e.do(t, e.svc.Page(e.svc.PaymentSuccess), req, 200)
		check("first confirm (GET /payments/success)", got, rtCount{DynamoDB: 2, SecretsManager: 1})
		_, got = e.do(t, e.svc.Page(e.svc.PaymentSuccess), req, 200)
		check("refresh of a finished success page", got, rtCount{DynamoDB: 1})
	})

	t.Run("checkout", func(t *testing.T) {
		id, _ := s.createOrder(t)
		e := s.environment("CheckoutFunction")
		req := rtRequest("GET", "/checkout/"+id, "lang=en", map[string]string{"orderId": id}, "")
		_, got := e.do(t, e.svc.Page(e.svc.Checkout), req, 200)
		check("checkout page", got, rtCount{DynamoDB: 1, SecretsManager: 1})
		_, got = e.do(t, e.svc.Page(e.svc.Checkout), req, 200)
		check("checkout page (warm keys)", got, rtCount{DynamoDB: 1})
	})

	t.Run("create-order", func(t *testing.T) {
		e := s.environment("CreateOrderFunction")
		h := e.svc.JSON(e.svc.CreateOrder)
		body := createBody("Hanbok rental, 1 day", 39000)
		_, got := e.do(t, h, rtRequest("POST", "/orders", "", nil, body, "authorization", s.merchant, "content-type", "application/json"), 200)
		check("create-order", got, rtCount{DynamoDB: 1, SecretsManager: 1})
		_, got = e.do(t, h, rtRequest("POST", "/orders", "", nil, body, "authorization", s.merchant, "content-type", "application/json", "idempotency-key", "rt-create-1"), 200)
		check("create-order with Idempotency-Key (warm keys)", got, rtCount{DynamoDB: 3})
	})

	t.Run("fail", func(t *testing.T) {
		id, _ := s.createOrder(t)
		e := s.environment("PaymentFailFunction")
		q := url.Values{"lang": {"en"}, "orderId": {id}, "code": {"REJECT_CARD_COMPANY"}, "message": {"declined"}}.Encode()
		_, got := e.do(t, e.svc.Page(e.svc.PaymentFail), rtRequest("GET", "/payments/fail", q, nil, ""), 200)
		check("fail page", got, rtCount{DynamoDB: 1})
	})

	// One attribute per case for `make bench` (go test -json's attr events).
	for _, r := range results {
		b, _ := json.Marshal(map[string]any{"case": r.name, "dynamodb": r.got.DynamoDB, "secretsmanager": r.got.SecretsManager})
		t.Attr("roundtrips", string(b))
	}
}
