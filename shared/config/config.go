// Package config reads the functions' settings from the environment that
// template.yaml (or env.json locally) gives them, with defaults and checks,
// so a misconfigured deployment fails at init with a clear message rather
// than at a buyer's payment.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is every setting a function may read. Each function uses only what
// it needs.
type Config struct {
	OrdersTable      string // ORDERS_TABLE
	IdempotencyTable string // IDEMPOTENCY_TABLE
	LimitsTable      string // LIMITS_TABLE (the ceiling's counters)
	// AnonymousTossCallsPerMinute is the ceiling on Toss calls callers
	// without a checkout token cause across all orders, per calendar
	// minute: ANONYMOUS_TOSS_CALLS_PER_MINUTE (default 600).
	AnonymousTossCallsPerMinute int
	SecretID                    string        // TOSS_SECRET_ID
	Live                        bool          // PAYMENT_MODE=live (default test)
	TossAPIBaseURL              string        // TOSS_API_BASE_URL (default https://api.tosspayments.com; https only when Live)
	TossSDKURL                  string        // TOSS_SDK_URL (default https://js.tosspayments.com/v2/standard)
	PublicBaseURL               string        // PUBLIC_BASE_URL (optional; default: the request's host)
	UnpaidWindow                time.Duration // UNPAID_ORDER_WINDOW_MINUTES (default 1440)
	ExpiredRetention            time.Duration // EXPIRED_ORDER_RETENTION_DAYS (default 7)
	MaxOrderAmount              int64         // MAX_ORDER_AMOUNT (default 10,000,000)
	SecretCacheTTL              time.Duration // SECRET_CACHE_SECONDS (default 300; from 1, as secrets.New reads 0 as its default)
	TossAcceptLang              string        // TOSS_ACCEPT_LANGUAGE (optional, e.g. en-US)
	TossTestCode                string        // TOSS_TEST_CODE (test keys only; for local fault drills)
	EventBusName                string        // EVENT_BUS_NAME (the order events' bus; OrderEventsFunction only)
	APIURL                      string        // API_URL (the API's own URL, for links made outside a request: order events)
	// CheckoutCSPReportOnly sends the checkout page's policy as
	// Content-Security-Policy-Report-Only: CHECKOUT_CSP_MODE=report-only
	// (default enforce).
	CheckoutCSPReportOnly bool
}

// Defaults.
const (
	DefaultTossAPIBaseURL = "https://api.tosspayments.com"
	DefaultTossSDKURL     = "https://js.tosspayments.com/v2/standard"
	// DefaultAnonymousTossCallsPerMinute: 10 a second across all orders
	// (README, "Abuse limits", has the reasoning).
	DefaultAnonymousTossCallsPerMinute = 600
)

// FromEnv reads Config from the process environment.
func FromEnv() (Config, error) { return Load(os.Getenv) }

// Load reads Config through getenv and validates it.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	str := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	num := func(name string, def, lo, hi int64) int64 {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%s must be an integer from %d to %d, got %q", name, lo, hi, v))
			return def
		}
		return n
	}
	c := Config{
		OrdersTable:                 str("ORDERS_TABLE", ""),
		IdempotencyTable:            str("IDEMPOTENCY_TABLE", ""),
		LimitsTable:                 str("LIMITS_TABLE", ""),
		AnonymousTossCallsPerMinute: int(num("ANONYMOUS_TOSS_CALLS_PER_MINUTE", DefaultAnonymousTossCallsPerMinute, 1, 1_000_000)),
		SecretID:                    str("TOSS_SECRET_ID", ""),
		TossAPIBaseURL:              strings.TrimRight(str("TOSS_API_BASE_URL", DefaultTossAPIBaseURL), "/"),
		TossSDKURL:                  str("TOSS_SDK_URL", DefaultTossSDKURL),
		PublicBaseURL:               strings.TrimRight(str("PUBLIC_BASE_URL", ""), "/"),
		UnpaidWindow:                time.Duration(num("UNPAID_ORDER_WINDOW_MINUTES", 1440, 15, 43200)) * time.Minute,
		ExpiredRetention:            time.Duration(num("EXPIRED_ORDER_RETENTION_DAYS", 7, 1, 365)) * 24 * time.Hour,
		MaxOrderAmount:              num("MAX_ORDER_AMOUNT", 10_000_000, 100, 1_000_000_000_000),
		SecretCacheTTL:              time.Duration(num("SECRET_CACHE_SECONDS", 300, 1, 86400)) * time.Second,
		TossAcceptLang:              str("TOSS_ACCEPT_LANGUAGE", ""),
		TossTestCode:                str("TOSS_TEST_CODE", ""),
		EventBusName:                str("EVENT_BUS_NAME", ""),
		APIURL:                      strings.TrimRight(str("API_URL", ""), "/"),
	}
	switch mode := str("PAYMENT_MODE", "test"); mode {
	case "test":
	case "live":
		c.Live = true
	default:
		errs = append(errs, fmt.Errorf("PAYMENT_MODE must be test or live, got %q", mode))
	}
	switch mode := str("CHECKOUT_CSP_MODE", "enforce"); mode {
	case "enforce":
	case "report-only":
		c.CheckoutCSPReportOnly = true
	default:
		errs = append(errs, fmt.Errorf("CHECKOUT_CSP_MODE must be enforce or report-only, got %q", mode))
	}
	// A slice, not a map: the errors come out in the same order every time.
	for _, s := range []struct{ name, v string }{{"TOSS_API_BASE_URL", c.TossAPIBaseURL}, {"TOSS_SDK_URL", c.TossSDKURL}, {"PUBLIC_BASE_URL", c.PublicBaseURL}} {
		if s.v == "" && s.name == "PUBLIC_BASE_URL" {
			continue
		}
		if u, err := url.Parse(s.v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an absolute http(s) URL, got %q", s.name, s.v))
		}
	}
	// Every Toss call carries the secret key; in live mode that key moves
	// real money, so it never crosses the network in clear (a plain-HTTP
	// URL is for the local sandbox and its test keys).
	if u, err := url.Parse(c.TossAPIBaseURL); c.Live && err == nil && u.Host != "" && u.Scheme == "http" {
		errs = append(errs, fmt.Errorf("TOSS_API_BASE_URL must be https with PAYMENT_MODE=live (every call carries the live secret key), got %q", c.TossAPIBaseURL))
	}
	if c.Live && c.TossTestCode != "" {
		errs = append(errs, errors.New("TOSS_TEST_CODE must not be set with PAYMENT_MODE=live"))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return c, nil
}

// Require fails unless every named setting is non-empty (tables and secret
// ids are needed only by the functions that use them).
func (c Config) Require(names ...string) error {
	var missing []string
	for _, n := range names {
		var v string
		switch n {
		case "ORDERS_TABLE":
			v = c.OrdersTable
		case "IDEMPOTENCY_TABLE":
			v = c.IdempotencyTable
		case "LIMITS_TABLE":
			v = c.LimitsTable
		case "TOSS_SECRET_ID":
			v = c.SecretID
		case "EVENT_BUS_NAME":
			v = c.EventBusName
		case "PUBLIC_BASE_URL or API_URL":
			v = c.PublicBaseURL + c.APIURL
		default:
			return fmt.Errorf("config: unknown setting %s", n)
		}
		if v == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("config: %s must be set", strings.Join(missing, ", "))
	}
	return nil
}
