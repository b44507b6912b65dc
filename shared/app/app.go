// Package app builds the pieces a function's main wires together, from the
// environment, so every main stays a few lines that say which pieces (and
// so which AWS permissions) its function uses.
package app

import (
	"log/slog"
	"os"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/awsclient"
	"github.com/tossintl/backend/shared/config"
	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/obs"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/secrets"
	"github.com/tossintl/backend/shared/toss"
)

// App is a function's wiring in progress.
type App struct {
	Name    string
	Config  config.Config
	Env     awsclient.Env
	Log     *slog.Logger
	Metrics *obs.Metrics
	svc     api.Service
	db      *dynamoDB // shared by the stores; see dynamoDB()
}

// New reads the configuration; requires names the settings this function needs.
// A bad configuration stops the function at init with a clear log line.
func New(name string, requires ...string) *App {
	log := obs.NewLogger(os.Stdout, name)
	cfg, err := config.FromEnv()
	if err == nil {
		err = cfg.Require(requires...)
	}
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	a := &App{Name: name, Config: cfg, Env: awsclient.FromEnv(), Log: log, Metrics: obs.NewMetrics(os.Stdout, name)}
	a.svc = api.Service{Config: cfg, Log: log, Metrics: a.Metrics}
	return a
}

// WithOrders adds the orders table.
func (a *App) WithOrders() *App {
	a.svc.Orders = orders.NewDynamoStore(a.dynamoDB(), a.Config.OrdersTable)
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
	a.svc.Guard = idempotency.New(idempotency.NewDynamoStore(a.dynamoDB(), a.Config.IdempotencyTable), idempotency.Options{})
	return a
}

// WithKeys adds the keys secret.
func (a *App) WithKeys() *App {
	a.svc.Keys = a.keys()
	return a
}

func (a *App) keys() *secrets.Provider {
	if p, ok := a.svc.Keys.(*secrets.Provider); ok {
		return p
	}
	p := secrets.New(newSecretsManager(a.Env.SecretsManager()), a.Config.SecretID, secrets.Options{TTL: a.Config.SecretCacheTTL, Live: a.Config.Live, Logger: a.Log})
	a.svc.Keys = p
	return p
}

// WithEngine adds the confirm engine: orders, keys and the Toss client.
func (a *App) WithEngine() *App {
	if a.svc.Orders == nil {
		a.WithOrders()
	}
	client, err := toss.New(toss.Options{
		BaseURL:        a.Config.TossAPIBaseURL,
		SecretKey:      a.keys().TossSecretKey,
		AcceptLanguage: a.Config.TossAcceptLang,
		TestCode:       a.Config.TossTestCode,
		Logger:         a.Log,
	})
	if err != nil {
		a.Log.Error("toss client", "error", err)
		os.Exit(1)
	}
	a.svc.Engine = &payments.Engine{Orders: a.svc.Orders, Toss: client, Logger: a.Log, Metrics: a.Metrics}
	return a
}

// Service is the wired service.
func (a *App) Service() *api.Service { return &a.svc }
