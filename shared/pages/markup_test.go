package pages

import (
	"bytes"
	"html/template"
	"strings"
	"testing"
)

// escapeHTML must write exactly what html/template writes for a value in
// HTML text, so moving the pages off html/template changed no byte a
// browser sees.
func FuzzEscapeHTML(f *testing.F) {
	for _, s := range []string{"", "plain", `<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`,
		"a'b\"c&d+e", "\x00nul", "한국어 日本語 中文", "\u2028\u2029", "&amp;", "\xff\xfe invalid"} {
		f.Add(s)
	}
	ref := template.Must(template.New("").Parse(`{{.}}`))
	f.Fuzz(func(t *testing.T, s string) {
		var want, got bytes.Buffer
		if err := ref.Execute(&want, s); err != nil {
			t.Fatal(err)
		}
		escapeHTML(&got, s)
		if got.String() != want.String() {
			t.Fatalf("escapeHTML(%q) = %q, html/template writes %q", s, got.String(), want.String())
		}
	})
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

// The checkout data cannot end its <script> element, whatever the order
// name or customer fields hold.
func TestJSONForScriptCannotCloseTheElement(t *testing.T) {
	out, err := jsonForScript(map[string]string{"orderName": "</script><script>alert(1)</script>", "x": "a&b\u2028c"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<", ">", "&", "\u2028"} {
		if strings.Contains(out, bad) {
			t.Errorf("%q in %s", bad, out)
		}
	}
}

// A vetted URL in href or src must come out exactly as html/template
// writes it there (normalized, then escaped). A leading "/" keeps
// html/template's scheme filter out of the comparison: vetHref does that
// part, and TestVetHref holds it.
func FuzzURLAttribute(f *testing.F) {
	for _, s := range []string{"", "checkout/ord_1?lang=ko", `p?x="><img src=x onerror=alert(1)>`, "a b%20c%zz%4", "주문?q=한국어",
		"x?a=1&b=2#frag", "'()*<>\\^`{|}", "\x00\x7f\xff"} {
		f.Add(s)
	}
	ref := template.Must(template.New("").Parse(`<a href="{{.}}">`))
	f.Fuzz(func(t *testing.T, s string) {
		s = "/" + s
		var want, got bytes.Buffer
		if err := ref.Execute(&want, s); err != nil {
			t.Fatal(err)
		}
		markup{b: &got}.url(s)
		w := strings.TrimSuffix(strings.TrimPrefix(want.String(), `<a href="`), `">`)
		if got.String() != w {
			t.Fatalf("url(%q) = %q, html/template writes %q", s, got.String(), w)
		}
	})
}
