package pages

import (
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
)

// tossOrigins is where Toss's real window talks to and frames from: the SDK
// loads its window and calls its APIs on subdomains of tosspayments.com,
// which need not be the SDK script's own origin.
const tossOrigins = "https://*.tosspayments.com"

// NewNonce returns a fresh CSP nonce: 128 random bits, base64. Use one per
// response, in both SecurityHeaders and the view.
func NewNonce() string {
	var b [16]byte
	// crypto/rand.Read never returns an error (it aborts the program if the
	// system's random source fails), so there is nothing to handle.
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// validNonce accepts what CSP's base64-value grammar allows, with bounds. A
// nonce goes into a header, so anything else (a ';' or a quote) could
// rewrite the policy; NewNonce always passes.
func validNonce(n string) bool {
	if len(n) < 16 || len(n) > 128 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// sdkOrigin returns scheme://host[:port] of the SDK URL, lower-cased, or ""
// when the URL is not an absolute http(s) URL with a plain host name or IP.
// The result goes into a header, so the host is rebuilt from checked
// characters rather than copied from the URL.
func sdkOrigin(sdkURL string) string {
	u, err := url.Parse(strings.TrimSpace(sdkURL))
	if err != nil || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return ""
	}
	ipv6 := strings.Contains(host, ":")
	for i := 0; i < len(host); i++ {
		c := host[i]
		ok := '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || c == '.' || c == ':'
		if !ipv6 {
			ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || c == '.' || c == '-'
		}
		if !ok {
			return ""
		}
	}
	if ipv6 {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" {
		// url.Parse has checked the port is digits, not that it is a port.
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return ""
		}
		host += ":" + p
	}
	return u.Scheme + "://" + host
}

// directive appends "; name sources…", skipping empty sources, and 'none'
// when none is left ('none' next to other sources would be ignored).
func directive(b *strings.Builder, name string, sources ...string) {
	b.WriteString("; ")
	b.WriteString(name)
	n := 0
	for _, s := range sources {
		if s != "" {
			b.WriteByte(' ')
			b.WriteString(s)
			n++
		}
	}
	if n == 0 {
		b.WriteString(" 'none'")
	}
}

// SecurityHeaders returns the headers every page response carries, in a new
// map the caller may change. nonce must be the one given to the view; sdkURL
// is the SDK script's URL (used on the checkout page only).
//
// The policy allows nothing by default. Pages other than checkout run no
// script at all, so they get no script-src. The checkout page may run its
// nonced inline script and the SDK, and lets the SDK reach and frame Toss
// (connect-src, frame-src) and submit to it (form-action), or the real window
// cannot open. An invalid nonce or SDK URL is left out rather than trusted:
// the page then fails closed (unstyled, no inline script), which a browser
// test notices, instead of running under a policy an attacker could shape.
//
// COOP: the checkout page needs same-origin-allow-popups, or Toss's popup
// loses its opener and the window fails; other pages isolate fully.
func SecurityHeaders(nonce, sdkURL string, checkout bool) map[string]string {
	nonceSrc := ""
	if validNonce(nonce) {
		nonceSrc = "'nonce-" + nonce + "'"
	}
	sdk := ""
	if checkout {
		sdk = sdkOrigin(sdkURL)
	}

	var csp strings.Builder
	csp.Grow(512)
	csp.WriteString("default-src 'none'")
	if checkout {
		directive(&csp, "script-src", nonceSrc, sdk)
		directive(&csp, "connect-src", sdk, tossOrigins)
		directive(&csp, "frame-src", sdk, tossOrigins)
		directive(&csp, "form-action", "'self'", sdk, tossOrigins)
	} else {
		directive(&csp, "form-action", "'self'")
	}
	directive(&csp, "style-src", nonceSrc)
	csp.WriteString("; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'")

	coop := "same-origin"
	if checkout {
		coop = "same-origin-allow-popups"
	}
	return map[string]string{
		"Content-Type":               "text/html; charset=utf-8",
		"Cache-Control":              "no-store",
		"Referrer-Policy":            "no-referrer",
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"Content-Security-Policy":    csp.String(),
		"Cross-Origin-Opener-Policy": coop,
	}
}
