package tosstest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/tools/tossrules"
)

// windowQuery is what the SDK stand-in sends to the window.
func windowQuery(s *Server, mod func(url.Values)) url.Values {
	q := url.Values{
		"clientKey":   {s.ClientKey()},
		"customerKey": {"@@ANONYMOUS"},
		"orderId":     {"order-window-page-1"},
		"orderName":   {"Korean tea set"},
		"amount":      {"15000"},
		"currency":    {"KRW"},
		"successUrl":  {"https://shop.example/pay/success?cart=42"},
		"failUrl":     {"https://shop.example/pay/fail?from=window"},
	}
	if mod != nil {
		mod(q)
	}
	return q
}

type page struct {
	status int
	header http.Header
	body   string
}

// noRedirect lets a test see the window's redirects instead of following
// them to the merchant's (nonexistent) pages.
func noRedirect(s *Server) *http.Client {
	c := *s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func getPage(t *testing.T, s *Server, path string, q url.Values, acceptLanguage string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := noRedirect(s).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

var sessionField = regexp.MustCompile(`name="session" value="([0-9a-f]+)"`)

func postWindow(t *testing.T, s *Server, form url.Values) *http.Response {
	t.Helper()
	resp, err := noRedirect(s).PostForm(s.URL+windowPath, form)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// openWindow renders the window and returns its session id.
func openWindow(t *testing.T, s *Server, q url.Values) string {
	t.Helper()
	p := getPage(t, s, windowPath, q, "")
	if p.status != http.StatusOK {
		t.Fatalf("window: %d %s", p.status, p.body)
	}
	m := sessionField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no session field in %s", p.body)
	}
	return m[1]
}

func TestWindowPage(t *testing.T) {
	s := NewServer(t)
	tests := []struct {
		name, language, acceptLanguage string
		wantLang, wantTitle, wantPay   string
	}{
		{"korean", "KO", "", "ko", "해외카드 결제", "결제하기"},
		{"english", "EN", "", "en", "International card payment", "Pay"},
		{"japanese", "JA", "", "ja", "海外カード決済", "支払う"},
		{"chinese", "ZH", "", "zh", "境外卡支付", "支付"},
		{"browser language when none given", "", "ja-JP,ja;q=0.9,en;q=0.8", "ja", "海外カード決済", "支払う"},
		{"second browser language", "", "fr-FR,zh-CN;q=0.8", "zh", "境外卡支付", "支付"},
		{"korean by default", "", "", "ko", "해외카드 결제", "결제하기"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := windowQuery(s, func(q url.Values) {
				q.Set("orderName", `<script>alert("x")</script> & tea`)
				q.Set("customerName", `<img src=x onerror=alert(1)>`)
				q.Set("showEstimatedAmount", "true")
				if tt.language != "" {
					q.Set("language", tt.language)
				}
			})
			p := getPage(t, s, windowPath, q, tt.acceptLanguage)
			if p.status != http.StatusOK {
				t.Fatalf("%d %s", p.status, p.body)
			}
			for _, want := range []string{
				`<html lang="` + tt.wantLang + `">`,
				tt.wantTitle,
				`id="approve">` + tt.wantPay + `<`,
				`id="close"`, `id="decline"`,
				`value="VISA"`, `value="MASTER"`, `value="JCB"`,
				"₩15,000",
				`<dd id="amount-usd">≈ US$10.87</dd>`,
				"1,380",
				`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; tea`,
				`&lt;img src=x onerror=alert(1)&gt;`,
			} {
				if !strings.Contains(p.body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			for _, bad := range []string{"<script", "<img", s.SecretKey()} {
				if strings.Contains(p.body, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
			if ct := p.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("CSP %q", csp)
			}
		})
	}
	// The sandbox's fixed-rate estimate appears only when the request asks
	// for it with card.showEstimatedAmount: true.
	for _, tt := range []struct {
		name, value string // value "": parameter absent
		shown       bool
	}{
		{"estimate shown when asked for", "true", true},
		{"no estimate by default", "", false},
		{"no estimate when declined", "false", false},
		{"no estimate for anything but true", "yes", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := getPage(t, s, windowPath, windowQuery(s, func(q url.Values) {
				q.Set("language", "EN")
				if tt.value != "" {
					q.Set("showEstimatedAmount", tt.value)
				}
			}), "")
			if p.status != 200 || !strings.Contains(p.body, "₩15,000") {
				t.Fatalf("%d %s", p.status, p.body)
			}
			// Shown, the estimate says whose it is: the sandbox's, at a
			// fixed rate, not Toss's.
			for _, want := range []string{`<dd id="amount-usd">≈ US$10.87</dd>`, `id="rate-note"`, "the sandbox&#39;s fixed rate"} {
				if got := strings.Contains(p.body, want); got != tt.shown {
					t.Errorf("%q shown = %v, want %v", want, got, tt.shown)
				}
			}
		})
	}
}

func TestWindowRejectsBadRequests(t *testing.T) {
	s := NewServer(t)
	tests := []struct {
		name string
		mod  func(url.Values)
	}{
		{"another client key", func(q url.Values) { q.Set("clientKey", "test_ck_someone_else") }},
		{"no client key", func(q url.Values) { q.Del("clientKey") }},
		{"orderId too short", func(q url.Values) { q.Set("orderId", "abc") }},
		{"orderId bad character", func(q url.Values) { q.Set("orderId", "order/../1") }},
		{"amount zero", func(q url.Values) { q.Set("amount", "0") }},
		{"amount fractional", func(q url.Values) { q.Set("amount", "10.5") }},
		{"currency USD", func(q url.Values) { q.Set("currency", "USD") }},
		{"no orderName", func(q url.Values) { q.Del("orderName") }},
		{"orderName over 100", func(q url.Values) { q.Set("orderName", strings.Repeat("차", 101)) }},
		{"ftp successUrl", func(q url.Values) { q.Set("successUrl", "ftp://shop.example/ok") }},
		{"relative failUrl", func(q url.Values) { q.Set("failUrl", "/pay/fail") }},
		{"javascript successUrl", func(q url.Values) { q.Set("successUrl", "javascript:alert(1)") }},
		{"unsupported language", func(q url.Values) { q.Set("language", "FR") }},
		{"orderId with +", func(q url.Values) { q.Set("orderId", "order+window+1") }},
		{"unknown windowTarget", func(q url.Values) { q.Set("windowTarget", "popup") }},
		{"framed without parentOrigin", func(q url.Values) { q.Set("windowTarget", "iframe") }},
		{"framed with a parentOrigin path", func(q url.Values) {
			q.Set("windowTarget", "iframe")
			q.Set("parentOrigin", "https://shop.example/checkout")
		}},
		{"framed with a javascript parentOrigin", func(q url.Values) {
			q.Set("windowTarget", "iframe")
			q.Set("parentOrigin", "javascript:alert(1)")
		}},
		{"framed with a wildcard parentOrigin", func(q url.Values) {
			q.Set("windowTarget", "iframe")
			q.Set("parentOrigin", "*")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := getPage(t, s, windowPath, windowQuery(s, tt.mod), "")
			if p.status != http.StatusBadRequest || strings.Contains(p.body, `id="approve"`) {
				t.Fatalf("%d %s", p.status, p.body)
			}
		})
	}
}

func TestWindowActions(t *testing.T) {
	tests := []struct {
		name, action, brand, language string
		wantURL                       string
		want                          map[string]string // query parameters; "" means absent
	}{
		{"approve", "approve", "JCB", "EN", "https://shop.example/pay/success", map[string]string{
			"paymentType": "NORMAL", "orderId": "order-window-page-1", "amount": "15000", "cart": "42", "code": "",
		}},
		{"approve with default brand", "approve", "", "KO", "https://shop.example/pay/success", map[string]string{
			"paymentType": "NORMAL", "amount": "15000",
		}},
		{"decline", "decline", "", "EN", "https://shop.example/pay/fail", map[string]string{
			"code": tossrules.CodeRejectCardCompany, "message": "The card company declined the payment.",
			"orderId": "order-window-page-1", "from": "window", "paymentKey": "",
		}},
		{"close", "close", "", "KO", "https://shop.example/pay/fail", map[string]string{
			"code": tossrules.CodePayProcessCanceled, "message": "사용자에 의해 결제가 취소되었습니다.",
			"orderId": "", "from": "window", "paymentKey": "",
		}},
		{"close in japanese", "close", "", "JA", "https://shop.example/pay/fail", map[string]string{
			"code": tossrules.CodePayProcessCanceled, "message": "購入者が決済をキャンセルしました。", "orderId": "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t)
			session := openWindow(t, s, windowQuery(s, func(q url.Values) { q.Set("language", tt.language) }))
			form := url.Values{"session": {session}, "action": {tt.action}}
			if tt.brand != "" {
				form.Set("brand", tt.brand)
			}
			resp := postWindow(t, s, form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d", resp.StatusCode)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != tt.wantURL {
				t.Fatalf("redirect to %s, want %s", got, tt.wantURL)
			}
			q := loc.Query()
			for k, want := range tt.want {
				if want == "" {
					if q.Has(k) {
						t.Errorf("%s present: %q", k, q.Get(k))
					}
				} else if q.Get(k) != want {
					t.Errorf("%s = %q, want %q", k, q.Get(k), want)
				}
			}

			payments := s.OrderPayments("order-window-page-1")
			if tt.action != "approve" {
				if len(payments) != 0 {
					t.Fatalf("a %s recorded a payment", tt.action)
				}
				return
			}
			key := q.Get("paymentKey")
			if !regexp.MustCompile(`^tgen_\d{14}[A-Za-z0-9]+$`).MatchString(key) || len(key) > 200 {
				t.Fatalf("paymentKey %q", key)
			}
			wantBrand := Visa
			if tt.brand != "" {
				wantBrand = CardBrand(tt.brand)
			}
			if len(payments) != 1 || payments[0].PaymentKey != key || payments[0].Status != StatusInProgress ||
				payments[0].TotalAmount != 15000 || payments[0].CardBrand != wantBrand {
				t.Fatalf("payments %+v", payments)
			}
			// What the browser brought back confirms at the API.
			wantOK(t, mustSend(t, s, confirmCall(key, q.Get("orderId"), 15000, "")))

			// The same form sent again (refresh, back button) approves nothing.
			again := postWindow(t, s, form)
			if again.StatusCode != http.StatusBadRequest || len(s.OrderPayments("order-window-page-1")) != 1 {
				t.Fatalf("resubmitted form: %d, %d payments", again.StatusCode, len(s.OrderPayments("order-window-page-1")))
			}
		})
	}
}

func TestWindowPostRejects(t *testing.T) {
	tests := []struct {
		name    string
		form    func(session string) url.Values
		advance time.Duration
	}{
		{"unknown session", func(string) url.Values { return url.Values{"session": {"deadbeef"}, "action": {"approve"}} }, 0},
		{"no session", func(string) url.Values { return url.Values{"action": {"approve"}} }, 0},
		{"unknown action", func(s string) url.Values { return url.Values{"session": {s}, "action": {"refund"}} }, 0},
		{"unknown brand", func(s string) url.Values { return url.Values{"session": {s}, "action": {"approve"}, "brand": {"AMEX"}} }, 0},
		{"expired window", func(s string) url.Values { return url.Values{"session": {s}, "action": {"approve"}} }, 11 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t, WithClock(fixedClock()))
			session := openWindow(t, s, windowQuery(s, nil))
			s.Advance(tt.advance)
			if resp := postWindow(t, s, tt.form(session)); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if n := len(s.OrderPayments("order-window-page-1")); n != 0 {
				t.Fatalf("%d payments recorded", n)
			}
		})
	}
}

// TestWindowIgnoresForgedFields: the window's parameters live in its
// session, so fields added to the form cannot change what is authenticated.
func TestWindowIgnoresForgedFields(t *testing.T) {
	s := NewServer(t)
	session := openWindow(t, s, windowQuery(s, nil))
	resp := postWindow(t, s, url.Values{"session": {session}, "action": {"approve"},
		"amount": {"1"}, "orderId": {"order-forged-1"}, "successUrl": {"https://evil.example/"}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Host != "shop.example" || loc.Query().Get("amount") != "15000" {
		t.Fatalf("%d %s", resp.StatusCode, loc)
	}
	ps := s.OrderPayments("order-window-page-1")
	if len(ps) != 1 || ps[0].TotalAmount != 15000 || len(s.OrderPayments("order-forged-1")) != 0 {
		t.Fatalf("payments %+v", ps)
	}
}

func TestFormatUSDEstimate(t *testing.T) {
	tests := []struct {
		krw  int64
		want string
	}{
		{1, "US$0.00"},
		{690, "US$0.50"},
		{1380, "US$1.00"},
		{15000, "US$10.87"},
		{1380000, "US$1,000.00"},
		{123456789, "US$89,461.44"},
	}
	for _, tt := range tests {
		if got := formatUSDEstimate(tt.krw); got != tt.want {
			t.Errorf("formatUSDEstimate(%d) = %s, want %s", tt.krw, got, tt.want)
		}
	}
	if got := formatKRW(1234567); got != "₩1,234,567" {
		t.Errorf("formatKRW = %s", got)
	}
}

func TestPagesAroundTheWindow(t *testing.T) {
	s := NewServer(t)
	key := s.Authorize("order-receipt-1", `<b>Tea</b>`, 2500)
	wantOK(t, mustSend(t, s, confirmCall(key, "order-receipt-1", 2500, "")))
	tests := []struct {
		path       string
		wantStatus int
		want       string
	}{
		{"/receipt/" + key, 200, "&lt;b&gt;Tea&lt;/b&gt;"},
		{"/checkout/" + key, 200, "₩2,500"},
		{"/receipt/tgen_nope", 404, "not found"},
		{"/", 200, s.ClientKey()},
		{"/healthz", 200, "ok"},
		{"/nothing-here", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := getPage(t, s, tt.path, nil, "")
			if p.status != tt.wantStatus || !strings.Contains(p.body, tt.want) || strings.Contains(p.body, s.SecretKey()) {
				t.Fatalf("%d %s", p.status, p.body)
			}
		})
	}
}

// TestWindowOrderIDWithEquals: Toss's orderId rule allows "=", so the
// window opens for one and hands it back intact.
func TestWindowOrderIDWithEquals(t *testing.T) {
	s := NewServer(t)
	for _, id := range []string{"order=window=1", "======", "a=b-c_d"} {
		t.Run(id, func(t *testing.T) {
			session := openWindow(t, s, windowQuery(s, func(q url.Values) { q.Set("orderId", id) }))
			resp := postWindow(t, s, url.Values{"session": {session}, "action": {"approve"}})
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || resp.StatusCode != http.StatusSeeOther || loc.Query()["orderId"][0] != id {
				t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			ps := s.OrderPayments(id)
			if len(ps) != 1 {
				t.Fatalf("payments for %s: %+v", id, ps)
			}
			// Toss's confirm takes the orderId its window approved.
			wantOK(t, mustSend(t, s, confirmCall(ps[0].PaymentKey, id, ps[0].TotalAmount, "")))
		})
	}
}

// TestWindowRedirectKeepsMerchantQuery: Toss appends its parameters to
// successUrl's and failUrl's own query; the merchant's stay exactly as
// written, in order and encoding, even under a name Toss also uses.
func TestWindowRedirectKeepsMerchantQuery(t *testing.T) {
	tests := []struct {
		name, action, successURL, failURL string
		want                              string // {key} stands for the paymentKey
	}{
		{"approve", "approve", "https://shop.example/pay/success?lang=ko&cart=42", "",
			"https://shop.example/pay/success?lang=ko&cart=42&paymentType=NORMAL&orderId=order-window-page-1&paymentKey={key}&amount=15000"},
		{"approve without a query", "approve", "https://shop.example/pay/success", "",
			"https://shop.example/pay/success?paymentType=NORMAL&orderId=order-window-page-1&paymentKey={key}&amount=15000"},
		{"approve with a name Toss uses", "approve", "https://shop.example/s?orderId=mine&amount=1", "",
			"https://shop.example/s?orderId=mine&amount=1&paymentType=NORMAL&orderId=order-window-page-1&paymentKey={key}&amount=15000"},
		{"approve keeps encoding, order and a bare key", "approve", "https://shop.example/s?z=%7E&a=b+c&flag&", "",
			"https://shop.example/s?z=%7E&a=b+c&flag&paymentType=NORMAL&orderId=order-window-page-1&paymentKey={key}&amount=15000"},
		{"approve keeps the fragment last", "approve", "https://shop.example/s?x=1#done", "",
			"https://shop.example/s?x=1&paymentType=NORMAL&orderId=order-window-page-1&paymentKey={key}&amount=15000#done"},
		{"decline", "decline", "", "https://shop.example/pay/fail?lang=en&orderId=order-window-page-1",
			"https://shop.example/pay/fail?lang=en&orderId=order-window-page-1&code=REJECT_CARD_COMPANY&message=The+card+company+declined+the+payment.&orderId=order-window-page-1"},
		{"close in the page", "close", "", "https://shop.example/pay/fail?lang=en",
			"https://shop.example/pay/fail?lang=en&code=PAY_PROCESS_CANCELED&message=The+buyer+canceled+the+payment."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t)
			session := openWindow(t, s, windowQuery(s, func(q url.Values) {
				q.Set("language", "EN")
				if tt.successURL != "" {
					q.Set("successUrl", tt.successURL)
				}
				if tt.failURL != "" {
					q.Set("failUrl", tt.failURL)
				}
			}))
			resp := postWindow(t, s, url.Values{"session": {session}, "action": {tt.action}})
			want := tt.want
			if ps := s.OrderPayments("order-window-page-1"); len(ps) == 1 {
				want = strings.ReplaceAll(want, "{key}", ps[0].PaymentKey)
			}
			if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != want {
				t.Fatalf("%d\n got %s\nwant %s", resp.StatusCode, got, want)
			}
		})
	}
}

// TestFramedWindow: opened by the SDK in an iframe over the merchant's page,
// the window takes the whole page to the redirects when the buyer pays or is
// declined, and when the buyer closes it tells only the merchant's page,
// which the SDK turns into USER_CANCEL (TestSDKUserCancel): nothing goes to
// failUrl, nothing is recorded.
func TestFramedWindow(t *testing.T) {
	framed := func(s *Server, lang string) url.Values {
		return windowQuery(s, func(q url.Values) {
			q.Set("windowTarget", "iframe")
			q.Set("parentOrigin", "https://shop.example:8443")
			q.Set("language", lang)
		})
	}

	t.Run("page", func(t *testing.T) {
		s := NewServer(t)
		p := getPage(t, s, windowPath, framed(s, "EN"), "")
		mustHave := []string{`<form method="post" action="` + s.URL + `/window" target="_top">`, `id="close" formtarget="_self"`}
		for _, want := range mustHave {
			if !strings.Contains(p.body, want) {
				t.Errorf("framed window lacks %q", want)
			}
		}
		// In the page itself, the form just submits.
		p = getPage(t, s, windowPath, windowQuery(s, nil), "")
		if strings.Contains(p.body, "target=") || !strings.Contains(p.body, `<form method="post" action="`+s.URL+`/window">`) {
			t.Errorf("unframed window: %s", p.body)
		}
	})

	for _, tt := range []struct{ action, wantPrefix string }{
		{"approve", "https://shop.example/pay/success?cart=42&paymentType=NORMAL&"},
		{"decline", "https://shop.example/pay/fail?from=window&code=REJECT_CARD_COMPANY&"},
	} {
		t.Run(tt.action, func(t *testing.T) {
			s := NewServer(t)
			resp := postWindow(t, s, url.Values{"session": {openWindow(t, s, framed(s, "EN"))}, "action": {tt.action}})
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, tt.wantPrefix) {
				t.Fatalf("%d %s", resp.StatusCode, loc)
			}
		})
	}

	for _, tt := range []struct{ lang, wantMessage string }{
		{"KO", "사용자에 의해 결제가 취소되었습니다."},
		{"EN", "The buyer canceled the payment."},
		{"JA", "購入者が決済をキャンセルしました。"},
		{"ZH", "买家取消了支付。"},
	} {
		t.Run("close "+tt.lang, func(t *testing.T) {
			s := NewServer(t)
			form := url.Values{"session": {openWindow(t, s, framed(s, tt.lang))}, "action": {"close"}}
			resp, err := noRedirect(s).PostForm(s.URL+windowPath, form)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := string(b)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
				t.Fatalf("%d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			m := cancelPostJSON.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no message: %s", body)
			}
			var post userCancelPost
			if err := json.Unmarshal([]byte(m[1]), &post); err != nil {
				t.Fatal(err)
			}
			if post.TargetOrigin != "https://shop.example:8443" || post.Data.Type != userCancelMessage ||
				post.Data.Code != "USER_CANCEL" || post.Data.Message != tt.wantMessage {
				t.Fatalf("message %+v", post)
			}
			// The page's one script runs under its nonce and nothing else.
			csp := resp.Header.Get("Content-Security-Policy")
			nonce := regexp.MustCompile(`script-src 'nonce-([0-9a-f]{32})'`).FindStringSubmatch(csp)
			if nonce == nil || !strings.Contains(csp, "default-src 'none'") ||
				strings.Count(body, "<script") != 2 || !strings.Contains(body, `<script nonce="`+nonce[1]+`">`) {
				t.Fatalf("CSP %q for %s", csp, body)
			}
			if n := len(s.OrderPayments("order-window-page-1")); n != 0 {
				t.Fatalf("%d payments after a close", n)
			}
			// The session is spent: the same close again is refused.
			if again := postWindow(t, s, form); again.StatusCode != http.StatusBadRequest {
				t.Fatalf("second close: %d", again.StatusCode)
			}
		})
	}
}
