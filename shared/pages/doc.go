// Package pages renders every HTML page a buyer sees: the checkout page that
// opens Toss's multilingual payment window, the pages after the success
// redirect (receipt, still processing, declined, amount refused), the
// fail-redirect page and friendly notices.
//
// The markup is specified by html/template templates (testdata/templates)
// and written by plain Go functions (markup.go) that a test holds to the
// same bytes: html/template's run-time method lookup would make the linker
// keep about 2 MiB of unused methods in each page function. CSS and the
// checkout script are embedded with go:embed.
//
// Every value a page shows may come from a URL a stranger crafted (Toss's
// fail redirect carries free text), so values only ever reach a page through
// escapeHTML (text and quoted attributes), vetHref and normalizeURL (link
// targets) or jsonForScript (the checkout script's data), each byte for byte
// what html/template writes in that place, never concatenated raw into
// markup or script.
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
