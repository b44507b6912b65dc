package pages

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewNonce(t *testing.T) {
	seen := make(map[string]bool)
	for i := 0; i < 1000; i++ {
		n := NewNonce()
		raw, err := base64.StdEncoding.DecodeString(n)
		if err != nil || len(raw) != 16 {
			t.Fatalf("NewNonce() = %q: want 16 bytes of base64 (err %v, %d bytes)", n, err, len(raw))
		}
		if !validNonce(n) {
			t.Fatalf("NewNonce() = %q does not pass validNonce", n)
		}
		if seen[n] {
			t.Fatalf("NewNonce() repeated %q", n)
		}
		seen[n] = true
	}
}

func TestValidNonce(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"AAAAAAAAAAAAAAAAAAAAAA==", true},
		{"abc-def_ghi+jkl/mno=", true},
		{"", false},
		{"short", false},
		{strings.Repeat("a", 129), false},
		{"AAAAAAAAAAAAAAAA'; script-src *", false},
		{"AAAAAAAAAAAAAAAA\r\nSet-Cookie: x", false},
		{`AAAAAAAAAAAAAAAA"><script>`, false},
	}
	for _, tt := range tests {
		if got := validNonce(tt.in); got != tt.want {
			t.Errorf("validNonce(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSDKOrigin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://js.tosspayments.com/v2/standard", "https://js.tosspayments.com"},
		{"HTTPS://JS.TossPayments.com/v2/standard", "https://js.tosspayments.com"},
		{"http://127.0.0.1:4010/v2/standard", "http://127.0.0.1:4010"},
		{"http://localhost:4010/v2/standard?x=1#y", "http://localhost:4010"},
		{"http://[::1]:4010/v2/standard", "http://[::1]:4010"},
		{"https://js.tosspayments.com:443/v2/standard", "https://js.tosspayments.com:443"},
		{"", ""},
		{"js.tosspayments.com/v2/standard", ""}, // no scheme
		{"//js.tosspayments.com/v2/standard", ""},
		{"/v2/standard", ""},
		{"javascript:alert(1)", ""},
		{"data:text/javascript,alert(1)", ""},
		{"ftp://js.tosspayments.com/x", ""},
		{"https://user:pw@js.tosspayments.com/x", ""},
		{"https://js.toss payments.com/x", ""},
		{"https://js.tosspayments.com;script-src */x", ""},
		{"https://js.tosspayments.com'/x", ""},
		{"https://[fe80::1%25eth0]/x", ""},
		{"https://%6a%73.example/x", ""},
		{"https:///x", ""},
		{"https://js.tosspayments.com:99999999999/x", ""},
	}
	for _, tt := range tests {
		if got := sdkOrigin(tt.in); got != tt.want {
			t.Errorf("sdkOrigin(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// cspDirectives splits a policy into directive name → source list.
func cspDirectives(t *testing.T, policy string) map[string]string {
	t.Helper()
	d := make(map[string]string)
	for _, part := range strings.Split(policy, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			t.Errorf("empty directive in %q", policy)
			continue
		}
		name, value, _ := strings.Cut(part, " ")
		if _, dup := d[name]; dup {
			t.Errorf("directive %s twice in %q", name, policy)
		}
		d[name] = value
	}
	return d
}

func TestSecurityHeaders(t *testing.T) {
	const nonce = "AAAAAAAAAAAAAAAAAAAAAA=="
	const sdk = "https://js.tosspayments.com/v2/standard"
	common := map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
	}
	tests := []struct {
		name       string
		nonce, sdk string
		checkout   bool
		coop       string
		directives map[string]string
	}{
		{
			name: "checkout", nonce: nonce, sdk: sdk, checkout: true,
			coop: "same-origin-allow-popups",
			directives: map[string]string{
				"default-src":     "'none'",
				"script-src":      "'nonce-" + nonce + "' https://js.tosspayments.com",
				"style-src":       "'nonce-" + nonce + "'",
				"connect-src":     "https://js.tosspayments.com https://*.tosspayments.com",
				"frame-src":       "https://js.tosspayments.com https://*.tosspayments.com",
				"form-action":     "'self' https://js.tosspayments.com https://*.tosspayments.com",
				"img-src":         "'self' data:",
				"base-uri":        "'none'",
				"frame-ancestors": "'none'",
			},
		},
		{
			name: "checkout against the local sandbox", nonce: nonce, sdk: "http://127.0.0.1:4010/v2/standard", checkout: true,
			coop: "same-origin-allow-popups",
			directives: map[string]string{
				"default-src":     "'none'",
				"script-src":      "'nonce-" + nonce + "' http://127.0.0.1:4010",
				"style-src":       "'nonce-" + nonce + "'",
				"connect-src":     "http://127.0.0.1:4010 https://*.tosspayments.com",
				"frame-src":       "http://127.0.0.1:4010 https://*.tosspayments.com",
				"form-action":     "'self' http://127.0.0.1:4010 https://*.tosspayments.com",
				"img-src":         "'self' data:",
				"base-uri":        "'none'",
				"frame-ancestors": "'none'",
			},
		},
		{
			name: "checkout with a malformed SDK URL: no extra origin", nonce: nonce, sdk: "https://js.tosspayments.com;script-src *", checkout: true,
			coop: "same-origin-allow-popups",
			directives: map[string]string{
				"default-src":     "'none'",
				"script-src":      "'nonce-" + nonce + "'",
				"style-src":       "'nonce-" + nonce + "'",
				"connect-src":     "https://*.tosspayments.com",
				"frame-src":       "https://*.tosspayments.com",
				"form-action":     "'self' https://*.tosspayments.com",
				"img-src":         "'self' data:",
				"base-uri":        "'none'",
				"frame-ancestors": "'none'",
			},
		},
		{
			name: "other pages: no script, no Toss", nonce: nonce, sdk: sdk, checkout: false,
			coop: "same-origin",
			directives: map[string]string{
				"default-src":     "'none'",
				"style-src":       "'nonce-" + nonce + "'",
				"form-action":     "'self'",
				"img-src":         "'self' data:",
				"base-uri":        "'none'",
				"frame-ancestors": "'none'",
			},
		},
		{
			name: "checkout with an invalid nonce: only the SDK may run", nonce: "", sdk: sdk, checkout: true,
			coop: "same-origin-allow-popups",
			directives: map[string]string{
				"default-src":     "'none'",
				"script-src":      "https://js.tosspayments.com",
				"style-src":       "'none'",
				"connect-src":     "https://js.tosspayments.com https://*.tosspayments.com",
				"frame-src":       "https://js.tosspayments.com https://*.tosspayments.com",
				"form-action":     "'self' https://js.tosspayments.com https://*.tosspayments.com",
				"img-src":         "'self' data:",
				"base-uri":        "'none'",
				"frame-ancestors": "'none'",
			},
		},
		{
			name: "invalid nonce fails closed", nonce: "x'; script-src *; '", sdk: sdk, checkout: false,
			coop: "same-origin",
			directives: map[string]string{
				"default-src":     "'none'",
				"style-src":       "'none'",
				"form-action":     "'self'",
				"img-src":         "'self' data:",
				"base-uri":        "'none'",
				"frame-ancestors": "'none'",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := SecurityHeaders(tt.nonce, tt.sdk, tt.checkout)
			for k, want := range common {
				if h[k] != want {
					t.Errorf("%s = %q, want %q", k, h[k], want)
				}
			}
			if got := h["Cross-Origin-Opener-Policy"]; got != tt.coop {
				t.Errorf("Cross-Origin-Opener-Policy = %q, want %q", got, tt.coop)
			}
			if len(h) != len(common)+2 {
				t.Errorf("got %d headers, want %d: %v", len(h), len(common)+2, h)
			}
			policy := h["Content-Security-Policy"]
			got := cspDirectives(t, policy)
			for name, want := range tt.directives {
				if got[name] != want {
					t.Errorf("%s = %q, want %q (policy %q)", name, got[name], want, policy)
				}
			}
			for name := range got {
				if _, ok := tt.directives[name]; !ok {
					t.Errorf("unexpected directive %s in %q", name, policy)
				}
			}
			for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*;", "\r", "\n"} {
				if strings.Contains(policy, bad) {
					t.Errorf("policy contains %q: %q", bad, policy)
				}
			}
		})
	}
}

func TestSecurityHeadersFreshMap(t *testing.T) {
	a := SecurityHeaders(NewNonce(), "", false)
	a["X-Frame-Options"] = "changed"
	if b := SecurityHeaders(NewNonce(), "", false); b["X-Frame-Options"] != "DENY" {
		t.Fatal("a caller's change leaked into the next call's headers")
	}
}
