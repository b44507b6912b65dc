package pages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The pages are written by the Go code below rather than by html/template.
// html/template looks methods up by name at run time, which makes the
// linker keep every exported method of every type in the binary: about 2 MiB
// on each page function. html/template still defines the pages: the
// templates in testdata/templates are their specification, and
// TestMarkupMatchesHTMLTemplate renders every page, in every language and
// with hostile values, both ways and requires the same bytes.
// FuzzEscapeHTML and FuzzURLAttribute hold the two escapers below to
// html/template's own. Each value goes through one door, chosen by where it
// lands:
//
//   - text and quoted attribute values: escapeHTML (& < > " ' + and NUL);
//   - URLs in href and src: only those vetHref or refreshTarget accept (a
//     same-site path or an absolute http(s) URL), then normalizeURL and
//     escapeHTML; a link whose URL fails is not rendered at all; a meta
//     refresh's URL is vetted and escaped the same way but not normalized
//     (html/template does not treat that attribute as a URL);
//   - data for the checkout script: JSON with < > & U+2028 U+2029 escaped,
//     inside <script type="application/json">, read by JSON.parse.
//
// Nothing else is written unescaped but this file's own constants, the
// embedded CSS and script, and numbers.

// markup accumulates one page.
type markup struct{ b *bytes.Buffer }

// raw writes trusted markup: constants of this package only.
func (m markup) raw(s string) { m.b.WriteString(s) }

// text writes s escaped for HTML text or a quoted attribute value.
func (m markup) text(s string) { escapeHTML(m.b, s) }

func (m markup) int(n int) { m.b.WriteString(strconv.Itoa(n)) }

// url writes a vetted URL (vetHref, refreshTarget, absoluteHTTPURL) as the
// value of an href or src attribute: normalized as html/template does, then
// escaped. An empty URL writes nothing.
func (m markup) url(s string) {
	var n bytes.Buffer
	normalizeURL(&n, s)
	escapeHTML(m.b, n.String())
}

// normalizeURL writes s with every byte percent-encoded (lower-case hex)
// but RFC 3986's unreserved and reserved characters and valid %xx escapes:
// byte for byte html/template's URL normalizer, so a quote, a space or a
// non-ASCII byte never reaches the attribute raw.
func normalizeURL(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		case strings.IndexByte("-._~!#$&*+,/:;=?@[]", c) >= 0:
			continue
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			continue
		}
		b.WriteString(s[last:i])
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
		last = i + 1
	}
	b.WriteString(s[last:])
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// escapeHTML writes s with the characters that could end a text node or a
// quoted attribute replaced by references, byte for byte as html/template's
// escaper does (+ included; NUL becomes U+FFFD).
func escapeHTML(b *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&#34;"
		case '\'':
			rep = "&#39;"
		case '+':
			rep = "&#43;"
		case 0:
			rep = "\uFFFD"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(rep)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// vetHref returns s if a link may point there: an absolute http(s) URL with
// a host and no credentials, or a same-site path ("/…", but not "//host" or
// "/\host", which browsers read as another site). Anything else, notably
// javascript: and data: URLs, gives "".
func vetHref(s string) string {
	if absoluteHTTPURL(s) {
		return s
	}
	return refreshTarget(s)
}

// jsonForScript encodes v for a <script type="application/json"> element:
// encoding/json already writes <, > and & as \u escapes, so no value can
// close the element; U+2028 and U+2029 are escaped too.
func jsonForScript(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("pages: encode checkout data: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// writePage writes p: the layout around the body its kind calls for.
func writePage(m markup, p *page) {
	switch p.kind {
	case kindCheckout:
		layout(m, p, checkoutBody, checkoutScripts)
	case kindReceipt:
		layout(m, p, receiptBody, nil)
	case kindProcessing:
		layout(m, p, processingBody, nil)
	default:
		layout(m, p, messageBody, nil)
	}
}

// layout writes the frame every page shares around body; scripts, when
// set, ends the body (the checkout page only). #status carries the page's
// machine-readable state for browser tests and monitoring.
func layout(m markup, p *page, body, scripts func(markup, *page)) {
	m.raw("<!doctype html>\n<html lang=\"")
	m.text(p.HTMLLang)
	m.raw("\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" +
		"<meta name=\"robots\" content=\"noindex, nofollow\">\n" +
		"<meta name=\"color-scheme\" content=\"light dark\">")
	if p.RefreshSeconds > 0 {
		m.raw("\n<meta http-equiv=\"refresh\" content=\"")
		m.int(p.RefreshSeconds)
		if u := refreshTarget(p.RefreshURL); u != "" {
			m.raw(";url=")
			m.text(u)
		}
		m.raw("\">")
	}
	m.raw("\n<title>")
	m.text(p.Title)
	m.raw("</title>\n<link rel=\"icon\" href=\"data:,\">\n<style nonce=\"")
	m.text(p.Nonce)
	m.raw("\">")
	m.raw(p.CSS)
	m.raw("</style>\n</head>\n<body>\n<main id=\"status\" data-state=\"")
	m.text(p.State)
	m.raw("\"")
	if p.Code != "" {
		m.raw(" data-code=\"")
		m.text(p.Code)
		m.raw("\"")
	}
	m.raw(">\n\n")
	body(m, p)
	m.raw("\n\n</main>\n<footer>")
	m.text(p.T.Footer)
	m.raw("</footer>")
	if scripts != nil {
		scripts(m, p)
	}
	m.raw("\n</body>\n</html>\n")
}

// row writes one <dt>/<dd> pair; id names the <dd> for browser tests.
func row(m markup, class, label, id, ddClass, value string) {
	m.raw("\n<div")
	if class != "" {
		m.raw(" class=\"" + class + "\"")
	}
	m.raw("><dt>")
	m.text(label)
	m.raw("</dt><dd id=\"" + id + "\"")
	if ddClass != "" {
		m.raw(" class=\"" + ddClass + "\"")
	}
	m.raw(">")
	m.text(value)
	m.raw("</dd></div>")
}

func checkoutBody(m markup, p *page) {
	t := p.T
	m.raw("<h1>")
	m.text(t.CheckoutTitle)
	m.raw("</h1>\n<dl>")
	row(m, "", t.OrderLabel, "order-name", "", p.OrderName)
	row(m, "", t.OrderIDLabel, "order-id", "code", p.OrderID)
	row(m, "total", t.AmountLabel, "amount", "", p.Amount)
	if p.Estimate != "" {
		row(m, "", t.EstimateLabel, "estimate", "", p.Estimate)
	}
	m.raw("\n</dl>")
	if p.Estimate != "" {
		m.raw("\n<p class=\"note\">")
		m.text(t.EstimateNote)
		m.raw("</p>")
	}
	m.raw("\n<p class=\"note\">")
	m.text(t.CardsNote)
	m.raw("</p>\n<div class=\"actions\">\n<button id=\"pay\" type=\"button\" class=\"button primary\">")
	m.text(p.PayLabel)
	m.raw("</button>\n</div>\n<div id=\"error\" class=\"error\" role=\"alert\" hidden></div>\n<noscript><p class=\"error\">")
	m.text(t.NoScript)
	m.raw("</p></noscript>")
}

func checkoutScripts(m markup, p *page) {
	m.raw("\n\n<script type=\"application/json\" id=\"checkout-data\">")
	m.raw(p.DataJSON) // jsonForScript: cannot close the element
	m.raw("</script>\n<script src=\"")
	m.url(p.SDKURL) // absoluteHTTPURL, checked by Checkout
	m.raw("\"></script>\n<script nonce=\"")
	m.text(p.Nonce)
	m.raw("\">")
	m.raw(p.JS)
	m.raw("</script>\n")
}

func receiptBody(m markup, p *page) {
	t := p.T
	m.raw("<div class=\"badge\" aria-hidden=\"true\">✓</div>\n<h1>")
	m.text(t.ReceiptTitle)
	m.raw("</h1>\n<p class=\"lead\">")
	m.text(t.ReceiptLead)
	m.raw("</p>\n<dl>")
	row(m, "total", t.AmountLabel, "amount", "", p.Amount)
	if p.OrderName != "" {
		row(m, "", t.OrderLabel, "order-name", "", p.OrderName)
	}
	if p.OrderID != "" {
		row(m, "", t.OrderIDLabel, "order-id", "code", p.OrderID)
	}
	if p.CardNumber != "" {
		row(m, "", t.CardLabel, "card-number", "code", p.CardNumber)
	}
	if p.CardIssuer != "" {
		row(m, "", t.IssuerLabel, "card-issuer", "", p.CardIssuer)
	}
	if p.ApprovedAt != "" {
		m.raw("\n<div><dt>")
		m.text(t.ApprovedLabel)
		m.raw("</dt><dd><time id=\"approved-at\" datetime=\"")
		m.text(p.ApprovedAtISO)
		m.raw("\">")
		m.text(p.ApprovedAt)
		m.raw("</time></dd></div>")
	}
	m.raw("\n</dl>")
	if u := vetHref(p.ReceiptURL); u != "" {
		m.raw("\n<div class=\"actions\">\n<a id=\"receipt\" class=\"button\" href=\"")
		m.url(u)
		m.raw("\" target=\"_blank\" rel=\"noopener noreferrer\">")
		m.text(t.TossReceipt)
		m.raw("<span class=\"sr-only\"> ")
		m.text(t.NewWindow)
		m.raw("</span></a>\n</div>")
	}
}

func processingBody(m markup, p *page) {
	t := p.T
	m.raw("<div class=\"spinner\" aria-hidden=\"true\"></div>\n<h1>")
	m.text(t.ProcessingTitle)
	m.raw("</h1>\n<p class=\"lead\" role=\"status\">")
	m.text(t.ProcessingLead)
	m.raw("</p>")
	if p.OrderID != "" {
		m.raw("\n<dl>")
		row(m, "", t.OrderIDLabel, "order-id", "code", p.OrderID)
		m.raw("\n</dl>")
	}
	m.raw("\n<div class=\"actions\">\n<a id=\"refresh\" class=\"button primary\" href=\"")
	m.url(refreshTarget(p.RefreshURL)) // "": this page
	m.raw("\">")
	m.text(t.CheckNow)
	m.raw("</a>\n</div>")
}

// messageBody is the one layout for every page that ends without a
// payment (declined, amount refused, fail redirect) and for notices: a
// headline, what it means for the buyer, the provider's words if any,
// references for support, and the way on.
func messageBody(m markup, p *page) {
	t := p.T
	m.raw("<h1>")
	m.text(p.Title)
	m.raw("</h1>\n<p class=\"lead\">")
	m.text(p.Lead)
	m.raw("</p>")
	if p.Message != "" {
		m.raw("\n<figure class=\"provider\">\n<figcaption>")
		m.text(t.ProviderMessageLabel)
		m.raw("</figcaption>\n<blockquote id=\"message\">")
		m.text(p.Message)
		m.raw("</blockquote>\n</figure>")
	}
	if p.OrderID != "" || p.Code != "" {
		m.raw("\n<dl>")
		if p.OrderID != "" {
			row(m, "", t.OrderIDLabel, "order-id", "code", p.OrderID)
		}
		if p.Code != "" {
			row(m, "", t.CodeLabel, "code", "code", p.Code)
		}
		m.raw("\n</dl>")
	}
	if len(p.Links) > 0 {
		m.raw("\n<div class=\"actions\">")
		for _, l := range p.Links {
			m.raw("\n<a id=\"" + l.ID + "\" class=\"button")
			if l.Primary {
				m.raw(" primary")
			}
			m.raw("\" href=\"")
			m.url(l.Href) // vetted by appendLink
			m.raw("\">")
			m.text(l.Text)
			m.raw("</a>")
		}
		m.raw("\n</div>")
	}
}
