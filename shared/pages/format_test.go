package pages

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		lang     Lang
		amount   int64
		currency string
		want     string
	}{
		{Korean, 12000, "KRW", "12,000원"},
		{English, 12000, "KRW", "₩12,000"},
		{Japanese, 12000, "KRW", "12,000ウォン"},
		{Chinese, 12000, "KRW", "12,000韩元"},
		{Korean, 12000, "", "12,000원"},       // KRW is the default
		{English, 12000, " krw ", "₩12,000"}, // code case and spaces do not matter
		{"", 12000, "KRW", "12,000원"},        // unknown language: Korean
		{English, 0, "KRW", "₩0"},
		{English, 999, "KRW", "₩999"},
		{English, 1000, "KRW", "₩1,000"},
		{Korean, 1234567890, "KRW", "1,234,567,890원"},
		{English, -500, "KRW", "-₩500"},
		{Korean, -1500, "KRW", "-1,500원"},
		{English, math.MaxInt64, "KRW", "₩9,223,372,036,854,775,807"},
		{English, math.MinInt64, "KRW", "-₩9,223,372,036,854,775,808"},
		// Other currencies: minor units, one form in every language.
		{English, 870, "USD", "US$8.70"},
		{Korean, 870, "USD", "US$8.70"},
		{Japanese, 5, "USD", "US$0.05"},
		{English, 123456789, "USD", "US$1,234,567.89"},
		{English, -5, "USD", "-US$0.05"},
		{Chinese, 1200, "JPY", "JP¥1,200"},
		{English, 1999, "EUR", "€19.99"},
		{English, 100, "CNY", "CN¥1.00"},
		{English, 123456, "GBP", "1,234.56 GBP"}, // no rule: code and two decimals
		{English, 100, "<b>", "1.00 ¤"},          // junk is not echoed
		{English, 100, "dollars", "1.00 ¤"},      // neither is a non-code
		{English, 7, "SGD", "0.07 SGD"},
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.lang, tt.amount, tt.currency); got != tt.want {
			t.Errorf("FormatAmount(%q, %d, %q) = %q, want %q", tt.lang, tt.amount, tt.currency, got, tt.want)
		}
	}
}

func TestFormatApproval(t *testing.T) {
	// 03:18 UTC is 12:18 in Seoul; the zone must be spelled out.
	at := time.Date(2024, 2, 13, 3, 18, 14, 0, time.UTC)
	// Just before midnight UTC is the next day in Seoul.
	late := time.Date(2024, 12, 31, 15, 5, 0, 0, time.UTC)
	tests := []struct {
		lang Lang
		at   time.Time
		want string
	}{
		{Korean, at, "2024년 2월 13일 12:18 (KST, UTC+9)"},
		{English, at, "February 13, 2024, 12:18 (KST, UTC+9)"},
		{Japanese, at, "2024年2月13日 12:18 (KST, UTC+9)"},
		{Chinese, at, "2024年2月13日 12:18 (KST, UTC+9)"},
		{English, late, "January 1, 2025, 00:05 (KST, UTC+9)"},
		{Korean, late, "2025년 1월 1일 00:05 (KST, UTC+9)"},
		// Toss's own +09:00 timestamps come out unchanged.
		{English, time.Date(2024, 2, 13, 12, 18, 0, 0, time.FixedZone("", 9*3600)), "February 13, 2024, 12:18 (KST, UTC+9)"},
	}
	for _, tt := range tests {
		if got := formatApproval(tt.lang, tt.at); got != tt.want {
			t.Errorf("formatApproval(%q, %v) = %q, want %q", tt.lang, tt.at, got, tt.want)
		}
	}
}

func TestCleanMessage(t *testing.T) {
	long := strings.Repeat("가", 1000)
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"empty", "", 200, ""},
		{"plain", "카드 한도를 초과했습니다.", 200, "카드 한도를 초과했습니다."},
		{"trimmed", "  hello  ", 200, "hello"},
		{"white space runs folded", "a \t\n\r  b", 200, "a b"},
		{"control characters dropped", "a\x00\x07b\x1bc", 200, "a b c"},
		{"bidi override dropped", "abc\u202Egnp.exe", 200, "abc gnp.exe"},
		{"zero-width dropped", "pa\u200Bypal", 200, "pa ypal"},
		{"invalid UTF-8 dropped", "ok\xff\xfeok", 200, "ok ok"},
		{"markup kept as text (escaping is html/template's)", "<b>x</b>", 200, "<b>x</b>"},
		{"exactly at the limit", strings.Repeat("x", 5), 5, "xxxxx"},
		{"one over the limit", strings.Repeat("x", 6), 5, "xxxxx…"},
		{"a space does not end up last", "xxxx yyyy", 5, "xxxx…"},
		{"long Korean", long, maxMessageRunes, strings.Repeat("가", maxMessageRunes) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cleanMessage(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("cleanMessage(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if n := utf8.RuneCountInString(strings.TrimSuffix(got, "…")); n > tt.max {
				t.Errorf("%d runes, limit %d", n, tt.max)
			}
		})
	}
}

func TestCleanCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"PAY_PROCESS_CANCELED", "PAY_PROCESS_CANCELED"},
		{" REJECT_CARD_COMPANY ", "REJECT_CARD_COMPANY"},
		{"E404", "E404"},
		{"", ""},
		{"pay_process_canceled", ""},
		{"<script>alert(1)</script>", ""},
		{"A B", ""},
		{"A\"B", ""},
		{strings.Repeat("A", 64), strings.Repeat("A", 64)},
		{strings.Repeat("A", 65), ""},
	}
	for _, tt := range tests {
		if got := cleanCode(tt.in); got != tt.want {
			t.Errorf("cleanCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidOrderID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"order_123456", true},
		{"a-b_C9", true},
		{"abcde", false}, // Toss wants at least 6
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"order 12345", false},
		{"order<12345>", false},
		{"주문번호123456", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := validOrderID(tt.in); got != tt.want {
			t.Errorf("validOrderID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRefreshTarget(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"/pay/return?orderId=order_123456", "/pay/return?orderId=order_123456"},
		{"https://shop.example/pay/return", "https://shop.example/pay/return"},
		{"http://localhost:3000/pay/return", "http://localhost:3000/pay/return"},
		{"javascript:alert(1)", ""},
		{"JavaScript:alert(1)", ""},
		{" javascript:alert(1)", ""},
		{"data:text/html,<script>alert(1)</script>", ""},
		{"//evil.example/x", ""}, // scheme-relative: another site
		{`/\evil.example/x`, ""}, // browsers read a backslash as a slash
		{"https://user:pw@shop.example/", ""},
		{"relative/path", ""},
		{"https:///nohost", ""},
	}
	for _, tt := range tests {
		if got := refreshTarget(tt.in); got != tt.want {
			t.Errorf("refreshTarget(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Only same-site paths and absolute http(s) URLs may become links.
func TestVetHref(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://shop.example/checkout/ord_1?lang=en", "https://shop.example/checkout/ord_1?lang=en"},
		{"http://127.0.0.1:3000/checkout/ord_1", "http://127.0.0.1:3000/checkout/ord_1"},
		{"/checkout/ord_1?lang=ja", "/checkout/ord_1?lang=ja"},
		{"", ""},
		{"javascript:alert(1)", ""},
		{"JavaScript:alert(1)", ""},
		{" javascript:alert(1)", ""},
		{"data:text/html,<script>alert(1)</script>", ""},
		{"//evil.example/x", ""},
		{`/\evil.example/x`, ""},
		{"https://user:pass@shop.example/", ""},
		{"checkout/ord_1", ""},
		{"vbscript:msgbox", ""},
	} {
		if got := vetHref(tt.in); got != tt.want {
			t.Errorf("vetHref(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
