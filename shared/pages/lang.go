package pages

import "strings"

// Lang is a page language: a lower-case ISO 639-1 code.
type Lang string

// The languages Toss's international window speaks, and so do our pages.
const (
	Korean   Lang = "ko"
	English  Lang = "en"
	Japanese Lang = "ja"
	Chinese  Lang = "zh"
)

// DefaultLang is used when nothing the buyer sent names a language we speak:
// the merchant and Toss's window default to Korean.
const DefaultLang = Korean

// Langs lists the supported languages in a stable order.
var Langs = []Lang{Korean, English, Japanese, Chinese}

// Valid reports whether l is one of the supported languages.
func (l Lang) Valid() bool {
	switch l {
	case Korean, English, Japanese, Chinese:
		return true
	}
	return false
}

// orDefault lets views built with a zero or unknown Lang still render.
func (l Lang) orDefault() Lang {
	if l.Valid() {
		return l
	}
	return DefaultLang
}

// TossCode is the value for requestPayment's card.language.
func (l Lang) TossCode() string {
	switch l.orDefault() {
	case English:
		return "EN"
	case Japanese:
		return "JA"
	case Chinese:
		return "ZH"
	}
	return "KO"
}

// HTMLLang is the value for <html lang>. Chinese is marked as Simplified
// (the script our Chinese text and Toss's window use) because browsers pick
// Han glyph shapes by it, and a bare "zh" leaves that to guesswork.
func (l Lang) HTMLLang() string {
	if l.orDefault() == Chinese {
		return "zh-Hans"
	}
	return string(l.orDefault())
}

// Bounds on what Negotiate reads. Browsers send a few dozen bytes; anything
// far longer is junk or an attack, and parsing it whole would be wasted work
// on every request.
const (
	maxAcceptLanguage = 1024 // bytes of Accept-Language considered
	maxLangRanges     = 32   // language ranges considered
	maxLangTag        = 35   // longest tag accepted (RFC 5646 suggests 35)
)

// Negotiate picks the page language. A valid ?lang= wins (ko, en, ja, zh in
// any case, optionally with a region such as en-US or zh-CN), because the
// buyer chose it on purpose; then the Accept-Language range with the highest
// q-value that we speak (the first one on a tie); then Korean.
func Negotiate(acceptLanguage, langParam string) Lang {
	if l, ok := parseTag(strings.TrimSpace(langParam)); ok {
		return l
	}
	return fromAcceptLanguage(acceptLanguage)
}

// parseTag maps a language tag to a supported language by its primary
// subtag. Any region or script of a supported language is accepted: a
// zh-TW reader is better served by Simplified Chinese than by Korean.
func parseTag(tag string) (Lang, bool) {
	if tag == "" || len(tag) > maxLangTag {
		return "", false
	}
	primary, rest, hasRest := cutAny(tag, "-_")
	if len(primary) != 2 {
		return "", false
	}
	if hasRest && !validSubtags(rest) {
		return "", false
	}
	l := Lang(strings.ToLower(primary))
	return l, l.Valid()
}

func cutAny(s, seps string) (before, after string, found bool) {
	if i := strings.IndexAny(s, seps); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// validSubtags accepts '-' or '_' separated runs of 1 to 8 ASCII letters or
// digits, so "en-US" passes and "en-<script>" does not.
func validSubtags(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == '_':
			if n == 0 {
				return false
			}
			n = 0
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			n++
			if n > 8 {
				return false
			}
		default:
			return false
		}
	}
	return n > 0
}

// fromAcceptLanguage implements RFC 9110 §12.5.4 for our four languages.
// Malformed ranges are skipped rather than failing the whole header, since a
// browser extension or proxy mangling one entry should not cost the buyer
// their language. The wildcard is ignored: it names no language, and an
// explicitly listed one tells us more.
func fromAcceptLanguage(h string) Lang {
	if len(h) > maxAcceptLanguage {
		h = h[:maxAcceptLanguage]
		// Drop the range the cut went through: "en-US" cut to "e" must not
		// count as anything.
		if i := strings.LastIndexByte(h, ','); i >= 0 {
			h = h[:i]
		} else {
			h = ""
		}
	}
	best, bestQ := DefaultLang, 0
	for n := 0; h != "" && n < maxLangRanges; n++ {
		var part string
		part, h, _ = strings.Cut(h, ",")
		tag, params, _ := strings.Cut(part, ";")
		l, ok := parseTag(strings.TrimSpace(tag))
		if !ok {
			continue
		}
		q, ok := parseQ(params)
		if !ok || q <= bestQ {
			continue
		}
		best, bestQ = l, q
	}
	return best
}

// parseQ reads the parameters after a range ("q=0.8", " q=1") as a weight in
// thousandths. No parameters means 1. Anything that is not a well-formed
// qvalue makes the range unusable.
func parseQ(params string) (int, bool) {
	params = strings.TrimSpace(params)
	if params == "" {
		return 1000, true
	}
	name, v, ok := strings.Cut(params, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
		return 0, false
	}
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 5 {
		return 0, false
	}
	whole, frac, dot := strings.Cut(v, ".")
	if whole != "0" && whole != "1" {
		return 0, false
	}
	if dot && len(frac) > 3 {
		return 0, false
	}
	q := 0
	if whole == "1" {
		q = 1000
	}
	scale := 100
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}
