package pages

import (
	"io"
	"strings"
	"testing"
)

func TestCardCompanyName(t *testing.T) {
	// want is by language: ko, en, ja, zh.
	tests := []struct {
		name, code string
		want       [4]string
	}{
		{"visa", "4V", [4]string{"Visa", "Visa", "Visa", "Visa"}},
		{"mastercard", "4M", [4]string{"Mastercard", "Mastercard", "Mastercard", "Mastercard"}},
		{"jcb", "4J", [4]string{"JCB", "JCB", "JCB", "JCB"}},
		{"american express", "7A", [4]string{"American Express", "American Express", "American Express", "American Express"}},
		{"unionpay has a Chinese name", "3C", [4]string{"UnionPay", "UnionPay", "UnionPay", "银联"}},
		{"diners", "6D", [4]string{"Diners Club", "Diners Club", "Diners Club", "Diners Club"}},
		{"discover", "6I", [4]string{"Discover", "Discover", "Discover", "Discover"}},
		{"korean issuer", "41", [4]string{"신한카드", "Shinhan Card", "Shinhan Card", "Shinhan Card"}},
		{"korean issuer", "11", [4]string{"KB국민카드", "KB Kookmin Card", "KB Kookmin Card", "KB Kookmin Card"}},
		{"woori acquired by BC", "33", [4]string{"우리BC카드", "Woori BC Card", "Woori BC Card", "Woori BC Card"}},
		{"woori acquired by woori", "W1", [4]string{"우리카드", "Woori Card", "Woori Card", "Woori Card"}},
		{"letters in lower case", "w1", [4]string{"우리카드", "Woori Card", "Woori Card", "Woori Card"}},
		{"spaces around", " 4V ", [4]string{"Visa", "Visa", "Visa", "Visa"}},
		{"unknown code shown as it came", "9Z", [4]string{"9Z", "9Z", "9Z", "9Z"}},
		{"empty", "", [4]string{"", "", "", ""}},
		{"junk is cleaned and bounded", "a\u202e\nb" + strings.Repeat("x", 100), [4]string{
			"a b" + strings.Repeat("x", 61) + "…", "a b" + strings.Repeat("x", 61) + "…",
			"a b" + strings.Repeat("x", 61) + "…", "a b" + strings.Repeat("x", 61) + "…"}},
	}
	for _, tt := range tests {
		for i, l := range Langs {
			if got := cardCompanyName(l, tt.code); got != tt.want[i] {
				t.Errorf("%s: cardCompanyName(%s, %q) = %q, want %q", tt.name, l, tt.code, got, tt.want[i])
			}
		}
	}
	// A view built without a language reads as the default, Korean.
	if got := cardCompanyName("", "41"); got != "신한카드" {
		t.Errorf("no language: %q", got)
	}
}

// TestCardCompanyTable: every entry has an English name (the fallback of
// every other language) and a code of Toss's two-character shape.
func TestCardCompanyTable(t *testing.T) {
	if len(cardCompanies) < 30 {
		t.Errorf("%d codes: Toss's table has 31", len(cardCompanies))
	}
	for code, c := range cardCompanies {
		if len(code) != 2 || strings.ToUpper(code) != code || c.en == "" {
			t.Errorf("%q: %+v", code, c)
		}
	}
}

// TestReceiptNamesCardCompany: the receipt shows the company's name in the
// page's language, where the view carries Toss's code.
func TestReceiptNamesCardCompany(t *testing.T) {
	tests := []struct {
		lang       Lang
		code, want string
	}{
		{Korean, "4V", `<dd id="card-issuer">Visa</dd>`},
		{English, "4V", `<dd id="card-issuer">Visa</dd>`},
		{Japanese, "4M", `<dd id="card-issuer">Mastercard</dd>`},
		{Chinese, "4J", `<dd id="card-issuer">JCB</dd>`},
		{Chinese, "3C", `<dd id="card-issuer">银联</dd>`},
		{Korean, "61", `<dd id="card-issuer">현대카드</dd>`},
		{English, "61", `<dd id="card-issuer">Hyundai Card</dd>`},
		{Japanese, "61", `<dd id="card-issuer">Hyundai Card</dd>`},
		{Chinese, "61", `<dd id="card-issuer">Hyundai Card</dd>`},
		{English, "ZZ", `<dd id="card-issuer">ZZ</dd>`},
		{Korean, "<b>", `<dd id="card-issuer">&lt;b&gt;</dd>`},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang)+" "+tt.code, func(t *testing.T) {
			v := receiptView(tt.lang)
			v.CardIssuer = tt.code
			out := mustRender(t, func(w io.Writer) error { return Receipt(w, v) })
			mustContain(t, out, tt.want)
		})
	}
}
