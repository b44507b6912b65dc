// Package app builds the pieces a function's main wires together, from the
// environment, so every main stays a few lines that say which pieces (and
// so which AWS permissions) its function uses.
package app

import (
	"io"
	"log/slog"
	"os"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/awsclient"
	"github.com/tossintl/backend/shared/config"
	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/obs"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/ratelimit"
	"github.com/tossintl/backend/shared/secrets"
	"github.com/tossintl/backend/shared/toss"
)

// App is a function's wiring in progress. Each With... builds only its
// piece, requires only that piece's settings, and builds an AWS client only
// when its piece needs one: a function without keys builds no Secrets
// Manager client and needs no TOSS_SECRET_ID.
type App struct {
	Name    string
	Config  config.Config
	Env     awsclient.Env // read at New; the clients are built from it when first needed
	Log     *slog.Logger
	Metrics *obs.Metrics
	svc     api.Service
	db      *dynamoDB      // shared by the stores; see dynamoDB()
	exit    func(code int) // os.Exit; tests stop here instead
}

// New reads the configuration. Each With... call then requires the
// settings of its own piece. A bad configuration stops the function at init
// with a clear log line.
func New(name string) *App {
	return newApp(name, os.Getenv, os.Stdout, os.Exit)
}

func newApp(name string, getenv func(string) string, out io.Writer, exit func(int)) *App {
	a := &App{Name: name, Log: obs.NewLogger(out, name), Metrics: obs.NewMetrics(out, name), exit: exit}
	cfg, err := config.Load(getenv)
	if err != nil {
		a.fail("configuration", err)
	}
	a.Config, a.Env = cfg, awsclient.Load(getenv)
	a.svc = api.Service{Config: cfg, Log: a.Log, Metrics: a.Metrics}
	return a
}

// fail logs why the function cannot start and stops it: Lambda reports the
// init error and never sends it a request.
func (a *App) fail(what string, err error, args ...any) {
	a.Log.Error(what, append([]any{"error", err}, args...)...)
	a.exit(1)
}

// require stops the function unless the settings piece needs are set.
func (a *App) require(piece string, names ...string) {
	if err := a.Config.Require(names...); err != nil {
		a.fail("configuration", err, "neededBy", piece)
	}
}

// WithOrders adds the orders table.
func (a *App) WithOrders() *App {
	if a.svc.Orders != nil {
		return a
	}
	a.require("WithOrders", "ORDERS_TABLE")
	a.svc.Orders = orders.Validated(orders.NewDynamoStore(a.dynamoDB(), a.Config.OrdersTable))
	return a
}

// dynamoDB is the function's one DynamoDB client, shared by its stores so
// they share one connection pool: a cold start opens one TLS connection to
// DynamoDB, not one per table.
func (a *App) dynamoDB() dynamoDB {
	if a.db == nil {
		db := newDynamoDB(a.Env.DynamoDB())
		a.db = &db
	}
	return *a.db
}

// WithIdempotency adds the idempotency table.
func (a *App) WithIdempotency() *App {
	if a.svc.Guard != nil {
		return a
	}
	a.require("WithIdempotency", "IDEMPOTENCY_TABLE")
	a.svc.Guard = idempotency.New(idempotency.NewDynamoStore(a.dynamoDB(), a.Config.IdempotencyTable), idempotency.Options{})
	return a
}

// WithKeys adds the keys secret.
func (a *App) WithKeys() *App {
	a.keys()
	return a
}

// keys is the function's one keys Provider, shared by the routes and the
// Toss client so one cache serves both.
func (a *App) keys() *secrets.Provider {
	if p, ok := a.svc.Keys.(*secrets.Provider); ok {
		return p
	}
	a.require("WithKeys", "TOSS_SECRET_ID")
	p := secrets.New(newSecretsManager(a.Env.SecretsManager()), a.Config.SecretID, secrets.Options{TTL: a.Config.SecretCacheTTL, Live: a.Config.Live, Logger: a.Log})
	a.svc.Keys = p
	return p
}

// WithEngine adds the confirm engine: orders, keys and the Toss client.
func (a *App) WithEngine() *App {
	if a.svc.Engine != nil {
		return a
	}
	a.WithOrders()
	client, err := toss.New(toss.Options{
		BaseURL:        a.Config.TossAPIBaseURL,
		SecretKey:      a.keys().TossSecretKey,
		AcceptLanguage: a.Config.TossAcceptLang,
		TestCode:       a.Config.TossTestCode,
		Logger:         a.Log,
		Metrics:        a.Metrics,
	})
	if err != nil {
		a.fail("toss client", err)
	}
	a.svc.Engine = &payments.Engine{Orders: a.svc.Orders, Toss: client, Logger: a.Log, Metrics: a.Metrics}
	return a
}

// WithCeiling adds, to the engine (built if need be), the ceiling on Toss
// calls that callers without an order's checkout token cause across all
// orders: ANONYMOUS_TOSS_CALLS_PER_MINUTE, counted in LIMITS_TABLE. For
// the functions anonymous callers reach (success redirect, confirm,
// webhooks); the reconciler's and the merchant's calls never count.
func (a *App) WithCeiling() *App {
	a.WithEngine()
	if a.svc.Engine.Ceiling != nil {
		return a
	}
	a.require("WithCeiling", "LIMITS_TABLE")
	a.svc.Engine.Ceiling = &ratelimit.Ceiling{
		Name:      "anonymousTossCalls",
		PerMinute: a.Config.AnonymousTossCallsPerMinute,
		Counter:   ratelimit.NewDynamoCounter(a.dynamoDB(), a.Config.LimitsTable),
	}
	return a
}

// Service is the wired service.
func (a *App) Service() *api.Service { return &a.svc }
