package obs

import (
	"strings"
	"testing"
)

// redactCases: what is scrubbed and what is left alone. "" as want means
// the value is logged unchanged.
var redactCases = []struct{ in, want string }{
	// Ordinary values are never touched.
	{"", ""},
	{"ord_abc123", ""},
	{"POST /payments/confirm", ""},
	{"REJECT_CARD_COMPANY", ""},
	{"tgen_20261122120000event00001", ""},
	// Secret keys, any letter case, the widget's gsk too.
	{"test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R", "[redacted]"},
	{"key LIVE_SK_abc in the middle", "key [redacted] in the middle"},
	{"live_gsk_x", "[redacted]"},
	{"TEST_GSK_Y", "[redacted]"},
	{"test_sK_abc", "[redacted]"},
	{"카드사에서 거절했습니다 test_sk_abc", "카드사에서 거절했습니다 [redacted]"},
	{"test_sk_a test_sk_b", "[redacted] [redacted]"},
	{"xtest_sk_atest_sk_b", "x[redacted]"},
	// Basic credentials: any whitespace, 8 or more base64 characters.
	{"Basic dGVzdF9za19", "[redacted]"},
	{"basic\tAAAAAAAAAAAA", "[redacted]"},
	{"BASIC  abcdefgh12", "[redacted]"},
	{"bAsIc abcdefgh", "[redacted]"},
	{"Basic Basic abcdefghij", "Basic [redacted]"},
	{"basicbasic abcdefghijk", "basic[redacted]"},
	// Near misses: no key material, too short, not whitespace (\v, NUL),
	// non-ASCII look-alikes (ſ, the Kelvin sign) that no key contains.
	{"test_sk_", ""},
	{"test_gsk_", ""},
	{"test_skx", ""},
	{"live_sk_é", ""},
	{"_sk", ""},
	{"basi", ""},
	{"Basic", ""},
	{"Basic abcdefg", ""},
	{"Basic\v12345678", ""},
	{"Basic \x0012345678", ""},
	{"test_ſk_abc", ""},
	{"live_gſk_x", ""},
	{"test_s\u212a_abc", ""},
}

func TestRedactSecrets(t *testing.T) {
	for _, c := range redactCases {
		got, ok := redactSecrets(c.in)
		want := c.want
		if want == "" {
			want = c.in
		}
		if got != want || ok != (c.want != "") {
			t.Errorf("redactSecrets(%q) = %q, %v; want %q, %v", c.in, got, ok, want, c.want != "")
		}
	}
}

// FuzzRedactSecrets checks what scrubbing promises whatever surrounds a
// secret: no panic, a key or credential placed in the value never comes
// out whole, nothing secret-shaped is left, and ok says whether the value
// changed.
func FuzzRedactSecrets(f *testing.F) {
	for _, c := range redactCases {
		f.Add(c.in)
	}
	secrets := []string{"test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R", "live_gsk_Q1w2e3", "Basic dGVzdF9za196WExrOg=="}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := redactSecrets(s)
		if ok == (out == s) {
			t.Fatalf("redactSecrets(%q) = %q, ok %v", s, out, ok)
		}
		if secretPattern.MatchString(out) {
			t.Fatalf("redactSecrets(%q) = %q still holds a secret", s, out)
		}
		for _, secret := range secrets {
			if out, _ := redactSecrets(s + secret + s); strings.Contains(out, secret) {
				t.Fatalf("%q survives in %q", secret, out)
			}
		}
	})
}

// BenchmarkRedactSecrets is the cost per log value: most hold no secret and
// should stop at the prefilter.
func BenchmarkRedactSecrets(b *testing.B) {
	values := map[string]string{
		"id":      "ord_20261122abc123",
		"error":   "toss: POST /v1/payments/confirm: 403 REJECT_CARD_COMPANY: card company refused the payment",
		"korean":  "카드사에서 거절했습니다",
		"secret":  "key is test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R",
		"stack4k": strings.Repeat("goroutine 1 [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e\n", 40),
	}
	for name, v := range values {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				redactSecrets(v)
			}
		})
	}
}
