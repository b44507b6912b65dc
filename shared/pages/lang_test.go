package pages

import (
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, header, param string
		want                Lang
	}{
		{"nothing: Korean", "", "", Korean},
		{"param alone", "", "en", English},
		{"param is case-insensitive", "", "JA", Japanese},
		{"param with region", "", "en-US", English},
		{"param zh-CN", "", "zh-CN", Chinese},
		{"param ja-JP", "", "ja-JP", Japanese},
		{"param with underscore region", "", "ja_JP", Japanese},
		{"param with spaces around", "", "  zh  ", Chinese},
		{"param beats header", "en-US,en;q=0.9", "ja", Japanese},
		{"unknown param falls back to header", "en", "fr", English},
		{"malformed param falls back to header", "ja", "en-<script>", Japanese},
		{"param with empty subtag is malformed", "ja", "en-", Japanese},
		{"param that only starts like a language", "ja", "english", Japanese},
		{"overlong param ignored", "zh", "en-" + strings.Repeat("a", 100), Chinese},
		{"first listed wins at equal weight", "en-US,en;q=0.9,ko;q=0.8", "", English},
		{"q-values decide", "ko;q=0.5, ja;q=0.8", "", Japanese},
		{"unsupported first, supported later", "fr-FR, de;q=0.9, ja;q=0.1", "", Japanese},
		{"tie keeps the earlier", "ja;q=0.8, en;q=0.8", "", Japanese},
		{"q=1 beats implicit order", "en;q=0.9, zh;q=1", "", Chinese},
		{"nothing supported", "fr, de", "", Korean},
		{"wildcard alone", "*", "", Korean},
		{"wildcard ignored for a named language", "*;q=1, en;q=0.5", "", English},
		{"q=0 means not acceptable", "en;q=0", "", Korean},
		{"q=0 skipped, next used", "en;q=0, ja;q=0.2", "", Japanese},
		{"q=0.000 is zero", "zh;q=0.000", "", Korean},
		{"q=1.000 is fine", "ko;q=0.9, ja;q=1.000", "", Japanese},
		{"q=1. is fine", "ko;q=0.9, en;q=1.", "", English},
		{"malformed q skips the range", "en;q=abc, ja;q=0.3", "", Japanese},
		{"q above one skips", "en;q=1.5, ja;q=0.3", "", Japanese},
		{"q with four decimals skips", "en;q=0.1234, ja;q=0.1", "", Japanese},
		{"empty q skips", "en;q=, ja;q=0.1", "", Japanese},
		{"other parameter skips", "en;level=1, ja;q=0.1", "", Japanese},
		{"spaces everywhere", "  en-US ; q=0.5 , ko ; q = 0.4 ", "", English},
		{"upper-case tags", "EN-us", "", English},
		{"script and region subtags", "zh-Hant-TW", "", Chinese},
		{"garbage", ";;;,,,==", "", Korean},
		{"markup in header", "<script>alert(1)</script>, ja", "", Japanese},
		{"three-letter primary is not ours", "kor, eng", "", Korean},
		{"nul bytes", "en\x00, ja", "", Japanese},
		{"invalid UTF-8", "\xff\xfe, zh", "", Chinese},
		{
			"very long header: a language past the byte limit is not read",
			strings.Repeat("xx-XX,", 1000) + "en", "", Korean,
		},
		{
			"very long header: a language before the limit is read",
			"ja," + strings.Repeat("xx-XX;q=0.5,", 1000), "", Japanese,
		},
		{
			"very long header: the range cut by the limit does not count",
			strings.Repeat(" ", maxAcceptLanguage-2) + "en-US", "", Korean,
		},
		{
			"too many ranges: later ones are not read",
			strings.Repeat("fr,", maxLangRanges) + "en", "", Korean,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Negotiate(tt.header, tt.param); got != tt.want {
				t.Errorf("Negotiate(%q, %q) = %q, want %q", tt.header, tt.param, got, tt.want)
			}
		})
	}
}

func TestLangCodes(t *testing.T) {
	tests := []struct {
		lang           Lang
		toss, htmlLang string
		valid          bool
	}{
		{Korean, "KO", "ko", true},
		{English, "EN", "en", true},
		{Japanese, "JA", "ja", true},
		{Chinese, "ZH", "zh-Hans", true},
		{"", "KO", "ko", false},      // zero value renders as the default
		{"fr", "KO", "ko", false},    // unknown renders as the default
		{"EN", "KO", "ko", false},    // Lang values are lower case; Negotiate makes them
		{"<x>", "KO", "ko", false},   // never echoed
		{"zh-CN", "KO", "ko", false}, // a tag is not a Lang
	}
	for _, tt := range tests {
		t.Run(string(tt.lang), func(t *testing.T) {
			if got := tt.lang.TossCode(); got != tt.toss {
				t.Errorf("TossCode() = %q, want %q", got, tt.toss)
			}
			if got := tt.lang.HTMLLang(); got != tt.htmlLang {
				t.Errorf("HTMLLang() = %q, want %q", got, tt.htmlLang)
			}
			if got := tt.lang.Valid(); got != tt.valid {
				t.Errorf("Valid() = %v, want %v", got, tt.valid)
			}
		})
	}
}
