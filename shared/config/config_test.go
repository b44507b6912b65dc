package config

import (
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestLoadDefaults: an empty environment is a valid test-mode configuration
// with the documented defaults.
func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load(empty) error: %v", err)
	}
	want := Config{
		Live:             false,
		TossAPIBaseURL:   "https://api.tosspayments.com",
		TossSDKURL:       "https://js.tosspayments.com/v2/standard",
		UnpaidWindow:     1440 * time.Minute,
		ExpiredRetention: 7 * 24 * time.Hour,
		MaxOrderAmount:   10_000_000,
		SecretCacheTTL:   300 * time.Second,

		AnonymousTossCallsPerMinute: 600,
	}
	if c != want {
		t.Fatalf("Load(empty) =\n%+v\nwant\n%+v", c, want)
	}
	if DefaultTossAPIBaseURL != want.TossAPIBaseURL || DefaultTossSDKURL != want.TossSDKURL {
		t.Fatalf("Default constants %q, %q differ from the defaults applied", DefaultTossAPIBaseURL, DefaultTossSDKURL)
	}
}

// TestLoadSettings: each setting, set to a valid value, lands in its field
// (and only there), surrounding spaces trimmed.
func TestLoadSettings(t *testing.T) {
	defaults, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		value string
		want  func(*Config) // applied to the defaults
	}{
		{"ORDERS_TABLE", "orders-dev", func(c *Config) { c.OrdersTable = "orders-dev" }},
		{"ORDERS_TABLE", "  orders-dev\n", func(c *Config) { c.OrdersTable = "orders-dev" }},
		{"IDEMPOTENCY_TABLE", "idem-dev", func(c *Config) { c.IdempotencyTable = "idem-dev" }},
		{"LIMITS_TABLE", "limits-dev", func(c *Config) { c.LimitsTable = "limits-dev" }},
		{"ANONYMOUS_TOSS_CALLS_PER_MINUTE", "1", func(c *Config) { c.AnonymousTossCallsPerMinute = 1 }},
		{"ANONYMOUS_TOSS_CALLS_PER_MINUTE", "120000", func(c *Config) { c.AnonymousTossCallsPerMinute = 120000 }},
		{"TOSS_SECRET_ID", "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:toss-AbCdEf", func(c *Config) {
			c.SecretID = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:toss-AbCdEf"
		}},
		{"PAYMENT_MODE", "test", func(c *Config) {}},
		{"PAYMENT_MODE", "live", func(c *Config) { c.Live = true }},
		{"PAYMENT_MODE", " live ", func(c *Config) { c.Live = true }},
		{"CHECKOUT_CSP_MODE", "enforce", func(c *Config) {}},
		{"CHECKOUT_CSP_MODE", "report-only", func(c *Config) { c.CheckoutCSPReportOnly = true }},
		{"TOSS_API_BASE_URL", "http://127.0.0.1:8089", func(c *Config) { c.TossAPIBaseURL = "http://127.0.0.1:8089" }},
		{"TOSS_API_BASE_URL", "https://sandbox.example/toss//", func(c *Config) { c.TossAPIBaseURL = "https://sandbox.example/toss" }},
		{"TOSS_SDK_URL", "http://127.0.0.1:8089/v2/standard", func(c *Config) { c.TossSDKURL = "http://127.0.0.1:8089/v2/standard" }},
		{"TOSS_SDK_URL", "https://js.example/sdk/", func(c *Config) { c.TossSDKURL = "https://js.example/sdk/" }}, // a script URL is kept as given
		{"PUBLIC_BASE_URL", "https://pay.example.com/", func(c *Config) { c.PublicBaseURL = "https://pay.example.com" }},
		{"PUBLIC_BASE_URL", "https://abc.execute-api.ap-northeast-2.amazonaws.com/prod", func(c *Config) {
			c.PublicBaseURL = "https://abc.execute-api.ap-northeast-2.amazonaws.com/prod"
		}},
		{"UNPAID_ORDER_WINDOW_MINUTES", "15", func(c *Config) { c.UnpaidWindow = 15 * time.Minute }},
		{"UNPAID_ORDER_WINDOW_MINUTES", "43200", func(c *Config) { c.UnpaidWindow = 30 * 24 * time.Hour }},
		{"UNPAID_ORDER_WINDOW_MINUTES", " 60 ", func(c *Config) { c.UnpaidWindow = time.Hour }},
		{"EXPIRED_ORDER_RETENTION_DAYS", "1", func(c *Config) { c.ExpiredRetention = 24 * time.Hour }},
		{"EXPIRED_ORDER_RETENTION_DAYS", "365", func(c *Config) { c.ExpiredRetention = 365 * 24 * time.Hour }},
		{"MAX_ORDER_AMOUNT", "100", func(c *Config) { c.MaxOrderAmount = 100 }},
		{"MAX_ORDER_AMOUNT", "1000000000000", func(c *Config) { c.MaxOrderAmount = 1_000_000_000_000 }},
		{"SECRET_CACHE_SECONDS", "1", func(c *Config) { c.SecretCacheTTL = time.Second }},
		{"SECRET_CACHE_SECONDS", "86400", func(c *Config) { c.SecretCacheTTL = 24 * time.Hour }},
		{"TOSS_ACCEPT_LANGUAGE", "en-US", func(c *Config) { c.TossAcceptLang = "en-US" }},
		{"TOSS_TEST_CODE", "INVALID_CARD_EXPIRATION", func(c *Config) { c.TossTestCode = "INVALID_CARD_EXPIRATION" }},
		{"TOSS_TEST_CODE", "   ", func(c *Config) {}}, // blank is unset
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			got, err := Load(env(map[string]string{tt.name: tt.value}))
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			want := defaults
			tt.want(&want)
			if got != want {
				t.Fatalf("got\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestLoadRefuses: each bad value is refused with a message naming the
// setting, its accepted range and the value given, prefixed "config: ".
func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		vars map[string]string
		want string // the whole error message
	}{
		{map[string]string{"PAYMENT_MODE": "prod"}, `config: PAYMENT_MODE must be test or live, got "prod"`},
		{map[string]string{"PAYMENT_MODE": "LIVE"}, `config: PAYMENT_MODE must be test or live, got "LIVE"`},
		{map[string]string{"CHECKOUT_CSP_MODE": "report"}, `config: CHECKOUT_CSP_MODE must be enforce or report-only, got "report"`},
		{map[string]string{"UNPAID_ORDER_WINDOW_MINUTES": "14"}, `config: UNPAID_ORDER_WINDOW_MINUTES must be an integer from 15 to 43200, got "14"`},
		{map[string]string{"UNPAID_ORDER_WINDOW_MINUTES": "43201"}, `config: UNPAID_ORDER_WINDOW_MINUTES must be an integer from 15 to 43200, got "43201"`},
		{map[string]string{"UNPAID_ORDER_WINDOW_MINUTES": "1h"}, `config: UNPAID_ORDER_WINDOW_MINUTES must be an integer from 15 to 43200, got "1h"`},
		{map[string]string{"UNPAID_ORDER_WINDOW_MINUTES": "60.5"}, `config: UNPAID_ORDER_WINDOW_MINUTES must be an integer from 15 to 43200, got "60.5"`},
		{map[string]string{"EXPIRED_ORDER_RETENTION_DAYS": "0"}, `config: EXPIRED_ORDER_RETENTION_DAYS must be an integer from 1 to 365, got "0"`},
		{map[string]string{"EXPIRED_ORDER_RETENTION_DAYS": "366"}, `config: EXPIRED_ORDER_RETENTION_DAYS must be an integer from 1 to 365, got "366"`},
		{map[string]string{"EXPIRED_ORDER_RETENTION_DAYS": "-1"}, `config: EXPIRED_ORDER_RETENTION_DAYS must be an integer from 1 to 365, got "-1"`},
		{map[string]string{"MAX_ORDER_AMOUNT": "99"}, `config: MAX_ORDER_AMOUNT must be an integer from 100 to 1000000000000, got "99"`},
		{map[string]string{"MAX_ORDER_AMOUNT": "1000000000001"}, `config: MAX_ORDER_AMOUNT must be an integer from 100 to 1000000000000, got "1000000000001"`},
		{map[string]string{"MAX_ORDER_AMOUNT": "10,000,000"}, `config: MAX_ORDER_AMOUNT must be an integer from 100 to 1000000000000, got "10,000,000"`},
		{map[string]string{"MAX_ORDER_AMOUNT": "99999999999999999999"}, `config: MAX_ORDER_AMOUNT must be an integer from 100 to 1000000000000, got "99999999999999999999"`},
		// 0 would not mean "no cache": the keys' Provider reads a zero TTL as its 5-minute default.
		{map[string]string{"ANONYMOUS_TOSS_CALLS_PER_MINUTE": "0"}, `config: ANONYMOUS_TOSS_CALLS_PER_MINUTE must be an integer from 1 to 1000000, got "0"`},
		{map[string]string{"SECRET_CACHE_SECONDS": "0"}, `config: SECRET_CACHE_SECONDS must be an integer from 1 to 86400, got "0"`},
		{map[string]string{"SECRET_CACHE_SECONDS": "86401"}, `config: SECRET_CACHE_SECONDS must be an integer from 1 to 86400, got "86401"`},
		{map[string]string{"SECRET_CACHE_SECONDS": "5m"}, `config: SECRET_CACHE_SECONDS must be an integer from 1 to 86400, got "5m"`},
		{map[string]string{"TOSS_API_BASE_URL": "api.tosspayments.com"}, `config: TOSS_API_BASE_URL must be an absolute http(s) URL, got "api.tosspayments.com"`},
		{map[string]string{"TOSS_API_BASE_URL": "ftp://api.tosspayments.com"}, `config: TOSS_API_BASE_URL must be an absolute http(s) URL, got "ftp://api.tosspayments.com"`},
		{map[string]string{"TOSS_API_BASE_URL": "https://"}, `config: TOSS_API_BASE_URL must be an absolute http(s) URL, got "https:"`},
		{map[string]string{"TOSS_API_BASE_URL": "http://bad host"}, `config: TOSS_API_BASE_URL must be an absolute http(s) URL, got "http://bad host"`},
		{map[string]string{"TOSS_SDK_URL": "/v2/standard"}, `config: TOSS_SDK_URL must be an absolute http(s) URL, got "/v2/standard"`},
		{map[string]string{"TOSS_SDK_URL": "javascript:alert(1)"}, `config: TOSS_SDK_URL must be an absolute http(s) URL, got "javascript:alert(1)"`},
		{map[string]string{"PUBLIC_BASE_URL": "pay.example.com"}, `config: PUBLIC_BASE_URL must be an absolute http(s) URL, got "pay.example.com"`},
		{map[string]string{"PAYMENT_MODE": "live", "TOSS_TEST_CODE": "INVALID_CARD_EXPIRATION"}, `config: TOSS_TEST_CODE must not be set with PAYMENT_MODE=live`},
		// Live keys are sent with every call: never in clear.
		{map[string]string{"PAYMENT_MODE": "live", "TOSS_API_BASE_URL": "http://api.tosspayments.com"},
			`config: TOSS_API_BASE_URL must be https with PAYMENT_MODE=live (every call carries the live secret key), got "http://api.tosspayments.com"`},
		{map[string]string{"PAYMENT_MODE": "live", "TOSS_API_BASE_URL": "HTTP://127.0.0.1:8080"},
			`config: TOSS_API_BASE_URL must be https with PAYMENT_MODE=live (every call carries the live secret key), got "HTTP://127.0.0.1:8080"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Load(env(tt.vars))
			if err == nil {
				t.Fatalf("Load(%v) accepted", tt.vars)
			}
			if err.Error() != tt.want {
				t.Fatalf("error\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

// TestLoadReportsEveryError: a misconfigured deployment learns all its
// mistakes from one cold start, listed in the same order every time, and
// the settings that were fine are still read.
func TestLoadReportsEveryError(t *testing.T) {
	vars := map[string]string{
		"ORDERS_TABLE":                "orders",
		"PAYMENT_MODE":                "live",
		"TOSS_TEST_CODE":              "X",
		"UNPAID_ORDER_WINDOW_MINUTES": "0",
		"MAX_ORDER_AMOUNT":            "1",
		"TOSS_API_BASE_URL":           "nope",
		"TOSS_SDK_URL":                "nope",
		"PUBLIC_BASE_URL":             "nope",
	}
	want := strings.Join([]string{
		`config: UNPAID_ORDER_WINDOW_MINUTES must be an integer from 15 to 43200, got "0"`,
		`MAX_ORDER_AMOUNT must be an integer from 100 to 1000000000000, got "1"`,
		`TOSS_API_BASE_URL must be an absolute http(s) URL, got "nope"`,
		`TOSS_SDK_URL must be an absolute http(s) URL, got "nope"`,
		`PUBLIC_BASE_URL must be an absolute http(s) URL, got "nope"`,
		`TOSS_TEST_CODE must not be set with PAYMENT_MODE=live`,
	}, "\n")
	for i := 0; i < 20; i++ { // map iteration order would show within a few runs
		c, err := Load(env(vars))
		if err == nil || err.Error() != want {
			t.Fatalf("run %d: error\n%v\nwant\n%s", i, err, want)
		}
		if c.OrdersTable != "orders" || !c.Live || c.UnpaidWindow != 1440*time.Minute || c.MaxOrderAmount != 10_000_000 {
			t.Fatalf("run %d: config %+v: good settings lost or bad ones not defaulted", i, c)
		}
	}
}

// TestFromEnv: FromEnv is Load over the process environment.
func TestFromEnv(t *testing.T) {
	t.Setenv("ORDERS_TABLE", "orders-from-env")
	t.Setenv("PAYMENT_MODE", "live")
	t.Setenv("TOSS_TEST_CODE", "")
	t.Setenv("SECRET_CACHE_SECONDS", "60")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.OrdersTable != "orders-from-env" || !c.Live || c.SecretCacheTTL != time.Minute {
		t.Fatalf("FromEnv = %+v", c)
	}
	t.Setenv("PAYMENT_MODE", "staging")
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), `PAYMENT_MODE must be test or live, got "staging"`) {
		t.Fatalf("FromEnv with a bad PAYMENT_MODE: %v", err)
	}
}

func TestRequire(t *testing.T) {
	full := Config{OrdersTable: "o", IdempotencyTable: "i", SecretID: "s"}
	tests := []struct {
		name  string
		c     Config
		names []string
		want  string // "" for no error
	}{
		{"nothing required", Config{}, nil, ""},
		{"all present", full, []string{"ORDERS_TABLE", "IDEMPOTENCY_TABLE", "TOSS_SECRET_ID"}, ""},
		{"orders table missing", Config{SecretID: "s"}, []string{"ORDERS_TABLE", "TOSS_SECRET_ID"}, "config: ORDERS_TABLE must be set"},
		{"idempotency table missing", Config{OrdersTable: "o"}, []string{"IDEMPOTENCY_TABLE"}, "config: IDEMPOTENCY_TABLE must be set"},
		{"secret missing", Config{OrdersTable: "o"}, []string{"ORDERS_TABLE", "TOSS_SECRET_ID"}, "config: TOSS_SECRET_ID must be set"},
		{"every missing one named, in the order asked", Config{}, []string{"TOSS_SECRET_ID", "ORDERS_TABLE", "IDEMPOTENCY_TABLE"}, "config: TOSS_SECRET_ID, ORDERS_TABLE, IDEMPOTENCY_TABLE must be set"},
		{"only what is asked", Config{OrdersTable: "o"}, []string{"ORDERS_TABLE"}, ""},
		{"unknown setting", full, []string{"ORDERS_TABLE", "ORDER_TABLE"}, "config: unknown setting ORDER_TABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Require(tt.names...)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestRequireAfterLoad: the table and secret settings come from the
// environment, trimmed, so a blank value counts as missing.
func TestRequireAfterLoad(t *testing.T) {
	c, err := Load(env(map[string]string{"ORDERS_TABLE": " ", "TOSS_SECRET_ID": "keys"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Require("ORDERS_TABLE", "TOSS_SECRET_ID"); err == nil || err.Error() != "config: ORDERS_TABLE must be set" {
		t.Fatalf("Require: %v", err)
	}
}

// TestLoadTakesPlainHTTPInTestMode: test keys may go to a local sandbox
// over plain HTTP (make local); only live mode insists on https.
func TestLoadTakesPlainHTTPInTestMode(t *testing.T) {
	for _, vars := range []map[string]string{
		{"TOSS_API_BASE_URL": "http://127.0.0.1:8080"},
		{"PAYMENT_MODE": "test", "TOSS_API_BASE_URL": "http://tosssandbox:8080"},
		{"PAYMENT_MODE": "live", "TOSS_API_BASE_URL": "https://api.tosspayments.com"},
	} {
		if _, err := Load(env(vars)); err != nil {
			t.Errorf("Load(%v): %v", vars, err)
		}
	}
}
