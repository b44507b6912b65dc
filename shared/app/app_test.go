package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"

	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/secrets"
)

// Settings as template.yaml gives them.
var allSettings = map[string]string{
	"ORDERS_TABLE":      "orders-dev",
	"IDEMPOTENCY_TABLE": "idempotency-dev",
	"LIMITS_TABLE":      "limits-dev",
	"TOSS_SECRET_ID":    "toss-keys-dev",
	"AWS_REGION":        "ap-northeast-2",
}

func only(names ...string) map[string]string {
	vars := map[string]string{"AWS_REGION": allSettings["AWS_REGION"]}
	for _, n := range names {
		vars[n] = allSettings[n]
	}
	return vars
}

// exited is what the test's exit panics with, where os.Exit would end the process.
type exited struct{ code int }

// wiring is the outcome of wiring an App as a main does.
type wiring struct {
	app  *App
	exit int // -1: did not exit
	log  string
}

// wire runs newApp and then the With... calls in build, with the environment
// vars and the AWS clients' requests answered by fake (nil: none made).
func wire(t *testing.T, vars map[string]string, fake *fakeAWS, build func(*App)) (w wiring) {
	t.Helper()
	var out bytes.Buffer
	w.exit = -1
	defer func() {
		w.log = out.String()
		if r := recover(); r != nil {
			e, ok := r.(exited)
			if !ok {
				panic(r)
			}
			w.exit = e.code
		}
	}()
	w.app = newApp("TestFunction", func(k string) string { return vars[k] }, &out, func(code int) { panic(exited{code}) })
	if fake != nil {
		w.app.Env.APIOptions = append(w.app.Env.APIOptions, fake.middleware)
	}
	build(w.app)
	return w
}

// TestWithBuildsOnlyWhatItNeeds: each wiring, given only the settings it
// needs, starts; and it builds only its pieces, and only the AWS clients
// those pieces use.
func TestWithBuildsOnlyWhatItNeeds(t *testing.T) {
	tests := []struct {
		name  string
		vars  map[string]string
		build func(*App)
		// want
		orders, guard, keys, engine bool
		dynamoClient                bool // a DynamoDB client was built
	}{
		{
			name:  "New alone: no settings, no clients",
			vars:  only(),
			build: func(a *App) {},
		},
		{
			name:   "WithOrders (PaymentFailFunction, a page): no keys, no Secrets Manager client, no TOSS_SECRET_ID",
			vars:   only("ORDERS_TABLE"),
			build:  func(a *App) { a.WithOrders() },
			orders: true, dynamoClient: true,
		},
		{
			name:  "WithKeys alone: no DynamoDB client, no table settings",
			vars:  only("TOSS_SECRET_ID"),
			build: func(a *App) { a.WithKeys() },
			keys:  true,
		},
		{
			name:  "WithIdempotency alone: no orders table",
			vars:  only("IDEMPOTENCY_TABLE"),
			build: func(a *App) { a.WithIdempotency() },
			guard: true, dynamoClient: true,
		},
		{
			name:   "WithOrders and WithKeys (CheckoutFunction, Get/List/DeleteOrderFunction): no IDEMPOTENCY_TABLE",
			vars:   only("ORDERS_TABLE", "TOSS_SECRET_ID"),
			build:  func(a *App) { a.WithOrders().WithKeys() },
			orders: true, keys: true, dynamoClient: true,
		},
		{
			name:   "WithEngine (PaymentSuccess, Reconcile, TossWebhookFunction): orders and keys, no idempotency",
			vars:   only("ORDERS_TABLE", "TOSS_SECRET_ID"),
			build:  func(a *App) { a.WithEngine() },
			orders: true, keys: true, engine: true, dynamoClient: true,
		},
		{
			name:   "WithEngine and WithCeiling (PaymentSuccess, TossWebhookFunction): the ceiling's table, no idempotency",
			vars:   only("ORDERS_TABLE", "TOSS_SECRET_ID", "LIMITS_TABLE"),
			build:  func(a *App) { a.WithEngine().WithCeiling() },
			orders: true, keys: true, engine: true, dynamoClient: true,
		},
		{
			name:   "WithEngine and WithIdempotency (Confirm, CancelPaymentFunction)",
			vars:   only("ORDERS_TABLE", "IDEMPOTENCY_TABLE", "TOSS_SECRET_ID"),
			build:  func(a *App) { a.WithEngine().WithIdempotency() },
			orders: true, guard: true, keys: true, engine: true, dynamoClient: true,
		},
		{
			name:   "WithOrders, WithIdempotency and WithKeys (CreateOrderFunction): no engine",
			vars:   only("ORDERS_TABLE", "IDEMPOTENCY_TABLE", "TOSS_SECRET_ID"),
			build:  func(a *App) { a.WithOrders().WithIdempotency().WithKeys() },
			orders: true, guard: true, keys: true, dynamoClient: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := wire(t, tt.vars, nil, tt.build)
			if w.exit != -1 {
				t.Fatalf("exited %d: %s", w.exit, w.log)
			}
			if w.log != "" {
				t.Errorf("logged at init: %s", w.log)
			}
			svc := w.app.Service()
			for _, c := range []struct {
				piece     string
				got, want bool
			}{
				{"Orders", svc.Orders != nil, tt.orders},
				{"Guard", svc.Guard != nil, tt.guard},
				{"Keys (and so a Secrets Manager client)", svc.Keys != nil, tt.keys},
				{"Engine", svc.Engine != nil, tt.engine},
				{"a DynamoDB client", w.app.db != nil, tt.dynamoClient},
			} {
				if c.got != c.want {
					t.Errorf("%s built: %v, want %v", c.piece, c.got, c.want)
				}
			}
		})
	}
}

// TestWithRefusesMissingSettings: a wiring whose settings are missing or
// invalid stops the function at init (exit 1) with one JSON log line that
// says what is wrong and which wiring needs it.
func TestWithRefusesMissingSettings(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		build    func(*App)
		wantErr  string
		neededBy string // "" when New refuses
	}{
		{"WithOrders without ORDERS_TABLE", only("TOSS_SECRET_ID", "IDEMPOTENCY_TABLE"),
			func(a *App) { a.WithOrders() }, "config: ORDERS_TABLE must be set", "WithOrders"},
		{"WithIdempotency without IDEMPOTENCY_TABLE", only("ORDERS_TABLE", "TOSS_SECRET_ID"),
			func(a *App) { a.WithOrders().WithIdempotency() }, "config: IDEMPOTENCY_TABLE must be set", "WithIdempotency"},
		{"WithKeys without TOSS_SECRET_ID", only("ORDERS_TABLE"),
			func(a *App) { a.WithOrders().WithKeys() }, "config: TOSS_SECRET_ID must be set", "WithKeys"},
		{"WithEngine without TOSS_SECRET_ID", only("ORDERS_TABLE"),
			func(a *App) { a.WithEngine() }, "config: TOSS_SECRET_ID must be set", "WithKeys"},
		{"WithEngine without ORDERS_TABLE", only("TOSS_SECRET_ID"),
			func(a *App) { a.WithEngine() }, "config: ORDERS_TABLE must be set", "WithOrders"},
		{"WithCeiling without LIMITS_TABLE", only("ORDERS_TABLE", "TOSS_SECRET_ID"),
			func(a *App) { a.WithEngine().WithCeiling() }, "config: LIMITS_TABLE must be set", "WithCeiling"},
		{"New with an invalid setting", map[string]string{"ORDERS_TABLE": "o", "PAYMENT_MODE": "prod"},
			func(a *App) { t.Error("New returned") }, `config: PAYMENT_MODE must be test or live, got "prod"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := wire(t, tt.vars, nil, tt.build)
			if w.exit != 1 {
				t.Fatalf("exit %d, want 1; log: %s", w.exit, w.log)
			}
			lines := strings.Split(strings.TrimSpace(w.log), "\n")
			if len(lines) != 1 {
				t.Fatalf("log has %d lines, want 1: %s", len(lines), w.log)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Fatalf("log line is not JSON: %v: %s", err, lines[0])
			}
			if rec["level"] != "ERROR" || rec["msg"] != "configuration" || rec["error"] != tt.wantErr || rec["function"] != "TestFunction" {
				t.Errorf("log line %s, want level ERROR, msg configuration, error %q", lines[0], tt.wantErr)
			}
			if got, _ := rec["neededBy"].(string); got != tt.neededBy {
				t.Errorf("neededBy %q, want %q", got, tt.neededBy)
			}
		})
	}
}

// fakeAWS answers the AWS clients' operations inside the SDK (an
// Initialize-step middleware that never calls the next handler) and records
// which table or secret each one named.
type fakeAWS struct {
	secret string // GetSecretValue's SecretString

	mu    sync.Mutex
	calls []string // "GetItem orders-dev", "GetSecretValue toss-keys-dev", ...
}

var errFake = errors.New("fake AWS refuses")

func (f *fakeAWS) middleware(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("fakeAWS",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			var (
				call   string
				result any
				err    error
			)
			switch p := in.Parameters.(type) {
			case *dynamodb.GetItemInput:
				call, result = "GetItem "+aws.ToString(p.TableName), &dynamodb.GetItemOutput{}
			case *dynamodb.PutItemInput:
				call, err = "PutItem "+aws.ToString(p.TableName), errFake
			case *dynamodb.UpdateItemInput:
				call, err = "UpdateItem "+aws.ToString(p.TableName), errFake
			case *dynamodb.DeleteItemInput:
				call, result = "DeleteItem "+aws.ToString(p.TableName), &dynamodb.DeleteItemOutput{}
			case *dynamodb.QueryInput:
				call, result = "Query "+aws.ToString(p.TableName), &dynamodb.QueryOutput{}
			case *secretsmanager.GetSecretValueInput:
				call, result = "GetSecretValue "+aws.ToString(p.SecretId), &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.secret)}
			default:
				call, err = "unexpected", errFake
			}
			f.mu.Lock()
			f.calls = append(f.calls, call)
			f.mu.Unlock()
			return middleware.InitializeOutput{Result: result}, middleware.Metadata{}, err
		}), middleware.Before)
}

func (f *fakeAWS) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func secretJSON(t *testing.T, tossSecretKey string) string {
	t.Helper()
	clientKey := strings.Replace(tossSecretKey, "_sk_", "_ck_", 1)
	b, err := json.Marshal(map[string]string{
		secrets.FieldTossSecretKey: tossSecretKey, secrets.FieldTossClientKey: clientKey,
		secrets.FieldMerchantAPIKey: "merchant-key-0123456789abcdef",
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWiringUsesItsSettings: each piece talks to the table, secret and Toss
// origin its settings name, with the keys from that secret.
func TestWiringUsesItsSettings(t *testing.T) {
	type tossRequest struct{ path, user, acceptLanguage, testCode string }
	var (
		mu   sync.Mutex
		seen []tossRequest
	)
	tossAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := r.BasicAuth()
		mu.Lock()
		seen = append(seen, tossRequest{r.URL.Path, user, r.Header.Get("Accept-Language"), r.Header.Get("TossPayments-Test-Code")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code":"NOT_FOUND_PAYMENT","message":"not found"}`))
	}))
	defer tossAPI.Close()

	vars := map[string]string{
		"ORDERS_TABLE": "orders-dev", "IDEMPOTENCY_TABLE": "idempotency-dev", "TOSS_SECRET_ID": "toss-keys-dev",
		"TOSS_API_BASE_URL": tossAPI.URL + "/", "TOSS_ACCEPT_LANGUAGE": "en-US", "TOSS_TEST_CODE": "INVALID_CARD_EXPIRATION",
		"AWS_REGION": "ap-northeast-2",
	}
	fake := &fakeAWS{secret: secretJSON(t, "test_sk_0123456789abcdef")}
	w := wire(t, vars, fake, func(a *App) { a.WithEngine().WithIdempotency().WithKeys() })
	if w.exit != -1 {
		t.Fatalf("exited %d: %s", w.exit, w.log)
	}
	svc := w.app.Service()
	ctx := context.Background()

	if _, err := svc.Orders.Get(ctx, "ord_0123456789", time.Now()); !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("Orders.Get: %v, want ErrNotFound from the fake's empty answer", err)
	}
	if got := fake.take(); strings.Join(got, ";") != "GetItem orders-dev" {
		t.Errorf("Orders.Get made %q, want GetItem on ORDERS_TABLE", got)
	}

	_, _, err := svc.Guard.Do(ctx, idempotency.Request{Caller: "m", Method: "POST", Path: "/orders", Key: "k1", Body: []byte("{}")},
		func(context.Context) (idempotency.Response, error) {
			t.Error("handler ran although the lock write failed")
			return idempotency.Response{}, nil
		})
	if !errors.Is(err, errFake) {
		t.Fatalf("Guard.Do: %v, want the fake's PutItem error", err)
	}
	if got := fake.take(); strings.Join(got, ";") != "PutItem idempotency-dev" {
		t.Errorf("Guard.Do made %q, want PutItem on IDEMPOTENCY_TABLE", got)
	}

	keys, err := svc.Keys.Keys(ctx)
	if err != nil || keys.TossSecretKey != "test_sk_0123456789abcdef" {
		t.Fatalf("Keys: %v, %v", keys.Mode(), err)
	}
	// The engine's Toss client reads its key from the same Provider: one
	// GetSecretValue serves both.
	if _, err := svc.Engine.Toss.Payment(ctx, "pay_1"); err == nil {
		t.Fatal("Toss.Payment succeeded against a 404")
	}
	if got := fake.take(); strings.Join(got, ";") != "GetSecretValue toss-keys-dev" {
		t.Errorf("Keys and Toss made %q, want one GetSecretValue of TOSS_SECRET_ID", got)
	}
	mu.Lock()
	defer mu.Unlock()
	want := tossRequest{path: "/v1/payments/pay_1", user: "test_sk_0123456789abcdef", acceptLanguage: "en-US", testCode: "INVALID_CARD_EXPIRATION"}
	if len(seen) != 1 || seen[0] != want {
		t.Errorf("Toss API saw %+v, want one %+v", seen, want)
	}
	if svc.Engine.Orders != svc.Orders {
		t.Error("the engine has its own orders store")
	}
}

// TestKeysFollowPaymentMode: PAYMENT_MODE reaches the keys' Provider, which
// refuses keys of the other mode.
func TestKeysFollowPaymentMode(t *testing.T) {
	// Obviously fake keys, split so nothing in the tree is shaped like a live secret key.
	const tail = "0123456789abcdef"
	tests := []struct {
		mode, key string
		ok        bool
	}{
		{"test", "test_sk_" + tail, true},
		{"test", "live_sk_" + tail, false},
		{"live", "live_sk_" + tail, true},
		{"live", "test_sk_" + tail, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode+" "+tt.key[:8], func(t *testing.T) {
			fake := &fakeAWS{secret: secretJSON(t, tt.key)}
			w := wire(t, map[string]string{"TOSS_SECRET_ID": "keys", "PAYMENT_MODE": tt.mode}, fake, func(a *App) { a.WithKeys() })
			if w.exit != -1 {
				t.Fatalf("exited %d: %s", w.exit, w.log)
			}
			_, err := w.app.Service().Keys.Keys(context.Background())
			if (err == nil) != tt.ok {
				t.Fatalf("Keys error %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, secrets.ErrInvalidSecret) {
				t.Fatalf("Keys error %v, want ErrInvalidSecret", err)
			}
		})
	}
}

// TestPiecesAreBuiltOnce: wiring a piece twice, or through WithEngine, reuses
// it: one DynamoDB client for both tables, one keys cache.
func TestPiecesAreBuiltOnce(t *testing.T) {
	w := wire(t, only("ORDERS_TABLE", "IDEMPOTENCY_TABLE", "TOSS_SECRET_ID"), nil, func(a *App) {
		a.WithOrders()
		db, store := a.db, a.svc.Orders
		a.WithKeys()
		keys := a.svc.Keys
		a.WithEngine().WithIdempotency().WithOrders().WithKeys()
		if a.db != db {
			t.Error("a second DynamoDB client was built")
		}
		if a.svc.Orders != store || a.svc.Engine.Orders != store {
			t.Error("the orders store was rebuilt")
		}
		if a.svc.Keys != keys {
			t.Error("the keys Provider was rebuilt")
		}
	})
	if w.exit != -1 {
		t.Fatalf("exited %d: %s", w.exit, w.log)
	}
}

// TestNewReadsTheProcessEnvironment: New is newApp over os.Getenv.
func TestNewReadsTheProcessEnvironment(t *testing.T) {
	t.Setenv("ORDERS_TABLE", "orders-from-env")
	t.Setenv("PAYMENT_MODE", "live")
	t.Setenv("TOSS_TEST_CODE", "")
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	a := New("EnvFunction").WithOrders()
	if a.Config.OrdersTable != "orders-from-env" || !a.Config.Live {
		t.Errorf("Config = %+v", a.Config)
	}
	if a.Env.Region != "eu-west-3" || a.Env.DynamoDBEndpoint != "http://127.0.0.1:1" {
		t.Errorf("Env = %+v", a.Env)
	}
	if a.Name != "EnvFunction" || a.Log == nil || a.Metrics == nil {
		t.Errorf("App = %+v", a)
	}
}
