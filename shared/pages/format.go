package pages

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// kst is Korea Standard Time. A fixed zone rather than time.LoadLocation:
// Korea has kept UTC+9 without daylight saving since 1988, and a fixed zone
// does not depend on tzdata being present in the Lambda image.
var kst = time.FixedZone("KST", 9*60*60)

// currencyFormat says how to show a currency other than KRW. Amounts arrive
// in the currency's minor unit, as the orders package stores them.
type currencyFormat struct {
	symbol   string
	decimals int
}

// otherCurrencies are shown with symbols no language reads as its own
// currency ("US$", not "$"), so one form serves every page language.
var otherCurrencies = map[string]currencyFormat{
	"USD": {"US$", 2},
	"EUR": {"€", 2},
	"JPY": {"JP¥", 0},
	"CNY": {"CN¥", 2},
}

// FormatAmount formats an amount, given in the currency's minor unit, the
// way a reader of l expects: 12,000원, ₩12,000, 12,000ウォン, 12,000韩元.
// KRW has no minor unit and is the default when currency is empty. A
// currency we have no rule for is shown with two decimals (ISO 4217's usual
// exponent) and its code, which is never wrong about which currency it is.
func FormatAmount(l Lang, amount int64, currency string) string {
	cur := strings.ToUpper(strings.TrimSpace(currency))
	if cur == "" || cur == "KRW" {
		n := groupDigits(amount, 0)
		switch l.orDefault() {
		case English:
			return signed(n, "₩")
		case Japanese:
			return n + "ウォン"
		case Chinese:
			return n + "韩元"
		}
		return n + "원"
	}
	if f, ok := otherCurrencies[cur]; ok {
		return signed(groupDigits(amount, f.decimals), f.symbol)
	}
	if !isCurrencyCode(cur) {
		cur = "¤" // never echo junk as if it were a currency
	}
	return groupDigits(amount, 2) + " " + cur
}

// signed puts a prefix symbol after the minus sign: -₩500, not ₩-500.
func signed(n, symbol string) string {
	if strings.HasPrefix(n, "-") {
		return "-" + symbol + n[1:]
	}
	return symbol + n
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// groupDigits renders v/10^decimals with thousands separators. All four
// page languages group by thousands with ',' and use '.' for decimals.
func groupDigits(v int64, decimals int) string {
	// uint64(-v) is right even for math.MinInt64, whose negation overflows
	// back to itself.
	u, neg := uint64(v), v < 0
	if neg {
		u = uint64(-v)
	}
	digits := strconv.FormatUint(u, 10)
	if len(digits) <= decimals {
		digits = strings.Repeat("0", decimals-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-decimals], digits[len(digits)-decimals:]

	var b strings.Builder
	b.Grow(len(digits) + len(digits)/3 + 2)
	if neg {
		b.WriteByte('-')
	}
	for i := 0; i < len(whole); i++ {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(whole[i])
	}
	if decimals > 0 {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

var monthsEN = [12]string{"January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December"}

// formatApproval shows an instant as Korean wall-clock time with the zone
// spelled out: Toss and the merchant both work in KST, and a buyer abroad
// must not mistake it for their own local time.
func formatApproval(l Lang, t time.Time) string {
	t = t.In(kst)
	y, m, d := t.Date()
	hm := twoDigits(t.Hour()) + ":" + twoDigits(t.Minute())
	const zone = " (KST, UTC+9)"
	switch l.orDefault() {
	case English:
		return monthsEN[m-1] + " " + strconv.Itoa(d) + ", " + strconv.Itoa(y) + ", " + hm + zone
	case Japanese, Chinese:
		return strconv.Itoa(y) + "年" + strconv.Itoa(int(m)) + "月" + strconv.Itoa(d) + "日 " + hm + zone
	}
	return strconv.Itoa(y) + "년 " + strconv.Itoa(int(m)) + "월 " + strconv.Itoa(d) + "일 " + hm + zone
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// maxMessageRunes bounds the provider's message on a page. The fail
// redirect's message is whatever the URL says, so an unbounded one would let
// anyone fill our page with their own text.
const maxMessageRunes = 200

// cleanMessage makes free text from a URL or a provider fit to show: valid
// UTF-8, control, invisible-format and white-space characters folded to one
// space, trimmed, and at most maxRunes runes, plus an ellipsis when cut. Escaping
// is left to html/template.
func cleanMessage(s string, maxRunes int) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) || isInvisibleFormat(r) {
			space = b.Len() > 0
			continue
		}
		need := 1
		if space {
			need = 2
		}
		if n+need > maxRunes {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// isInvisibleFormat catches bidirectional overrides and zero-width
// characters, which could make provider text read differently from what it
// says.
func isInvisibleFormat(r rune) bool {
	return unicode.Is(unicode.Cf, r)
}

// cleanCode keeps an error code only if it looks like one of Toss's
// (UPPER_SNAKE_CASE, bounded). A code is shown to the buyer and put in a
// data attribute, so anything else from the URL is dropped.
func cleanCode(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return ""
		}
	}
	return s
}

// validOrderID is Toss's orderId rule (6 to 64 of letters, digits, '-' and
// '_'). Pages show an order id only if it passes, so a crafted link cannot
// make a notice print arbitrary text next to "Order number".
func validOrderID(s string) bool {
	if len(s) < 6 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// absoluteHTTPURL reports whether s is an http or https URL with a host and
// no credentials: what Toss requires of successUrl and failUrl and what a
// script src must be.
func absoluteHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// refreshTarget vets a same-site URL: for a meta refresh, and (through
// vetHref) for links. A same-site path or an absolute http(s) URL passes;
// anything else is dropped (a refresh then reloads the page itself).
func refreshTarget(s string) string {
	if s == "" {
		return ""
	}
	if absoluteHTTPURL(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, `/\`) {
		return ""
	}
	return s
}

// vetHref returns s if a link may point there: an absolute http(s) URL with
// a host and no credentials, or a same-site path ("/…", but not "//host" or
// "/\host", which browsers read as another site). Anything else, notably
// javascript: and data: URLs, gives "", and the page leaves the link out:
// html/template would neuter such a URL to "#ZgotmplZ", a link that goes
// nowhere, and a buyer should never be offered one. The rule is a refresh
// target's: a link and a refresh may lead to the same places.
func vetHref(s string) string { return refreshTarget(s) }
