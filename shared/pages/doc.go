// Package pages renders every HTML page a buyer sees: the checkout page that
// opens Toss's multilingual payment window, the pages after the success
// redirect (receipt, still processing, declined, amount refused), the
// fail-redirect page and friendly notices.
//
// Pages are rendered by html/template from the templates in templates/,
// embedded with go:embed beside the CSS and the checkout script (assets/)
// and parsed once, on first use.
//
// Every value a page shows may come from a URL a stranger crafted (Toss's
// fail redirect carries free text), so values reach a page only through
// html/template's contextual escaping: text, attributes, URLs and the
// checkout script's JSON data are each escaped for where they land. Only
// the package's own CSS and script are marked trusted. Link targets are
// vetted in Go first (vetHref, refreshTarget): a link to anywhere but a
// same-site path or an absolute http(s) URL is left out, rather than shown
// as the dead "#ZgotmplZ" link html/template would make of it.
//
// Per response, the HTTP layer does:
//
//	nonce := pages.NewNonce()
//	lang := pages.Negotiate(req.Header("Accept-Language"), req.Query("lang"))
//	for k, v := range pages.SecurityHeaders(nonce, sdkURL, isCheckout) { ... }
//	err := pages.Receipt(&body, pages.ReceiptView{Lang: lang, Nonce: nonce, ...})
//
// Browser tests can rely on these: #status carries data-state (the State*
// constants and NoticeKind values) and, on fail and declined pages,
// data-code; #pay and #error on the checkout page; #retry (fail, declined),
// #back (to the checkout), #receipt and #refresh links.
package pages
