package pages

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	testNonce = "dGVzdC1ub25jZS0xMjM0NTY=" // shaped like NewNonce's, but fixed
	testSDK   = "https://js.tosspayments.com/v2/standard"

	// Payloads that would run script if any value reached the page raw.
	xssTag  = `<script>alert(1)</script>`
	xssAttr = `"><img src=x onerror=alert(1)>`
	xssURL  = `javascript:alert(1)`
)

var approvedAt = time.Date(2024, 2, 13, 3, 18, 14, 0, time.UTC) // 12:18:14 KST

func checkoutView(l Lang) CheckoutView {
	return CheckoutView{
		Lang: l, Nonce: testNonce,
		OrderID: "order_123456", OrderName: "Wool scarf", Amount: 12000, Currency: "KRW",
		ClientKey: "test_ck_abc", CustomerKey: "cust_1",
		SuccessURL: "https://shop.example/pay/success", FailURL: "https://shop.example/pay/fail",
		SDKURL: testSDK,
	}
}

func receiptView(l Lang) ReceiptView {
	return ReceiptView{
		Lang: l, Nonce: testNonce, OrderID: "order_123456", OrderName: "Wool scarf",
		Amount: 12000, Currency: "KRW", CardNumber: "43301234****123*", CardIssuer: "4V",
		ApprovedAt: approvedAt, ReceiptURL: "https://dashboard.tosspayments.com/receipt/x",
	}
}

func mustRender(t testing.TB, f func(io.Writer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatalf("render: %v", err)
	}
	return b.String()
}

// pageCase renders one page in a given language. links are the URLs the
// page may point at; anything else in a src or href is an unexpected load.
type pageCase struct {
	name   string
	state  string
	links  []string
	render func(io.Writer, Lang) error
	want   map[Lang][]string // sentences only that language's page shows
}

var pageCases = []pageCase{
	{
		name: "checkout", state: "checkout", links: []string{testSDK},
		render: func(w io.Writer, l Lang) error { return Checkout(w, checkoutView(l)) },
		want: map[Lang][]string{
			Korean:   {"<title>결제하기</title>", "12,000원 결제하기"},
			English:  {"<title>Checkout</title>", "Pay ₩12,000"},
			Japanese: {"<title>お支払い</title>", "12,000ウォンを支払う"},
			Chinese:  {"<title>付款</title>", "支付 12,000韩元"},
		},
	},
	{
		name: "receipt", state: "done", links: []string{"https://dashboard.tosspayments.com/receipt/x"},
		render: func(w io.Writer, l Lang) error { return Receipt(w, receiptView(l)) },
		want: map[Lang][]string{
			Korean:   {"결제가 완료됐어요", "12,000원", "2024년 2월 13일 12:18 (KST, UTC&#43;9)"},
			English:  {"Payment complete", "₩12,000", "February 13, 2024, 12:18 (KST, UTC&#43;9)"},
			Japanese: {"お支払いが完了しました", "12,000ウォン", "2024年2月13日 12:18 (KST, UTC&#43;9)"},
			Chinese:  {"付款成功", "12,000韩元", "2024年2月13日 12:18 (KST, UTC&#43;9)"},
		},
	},
	{
		name: "processing", state: "processing", links: []string{"/pay/return?orderId=order_123456"},
		render: func(w io.Writer, l Lang) error {
			return Processing(w, ProcessingView{Lang: l, Nonce: testNonce, OrderID: "order_123456",
				RefreshURL: "/pay/return?orderId=order_123456", RefreshSeconds: 5})
		},
		want: map[Lang][]string{
			Korean:   {"결제를 확인하고 있어요"},
			English:  {"Confirming your payment"},
			Japanese: {"お支払いを確認しています"},
			Chinese:  {"正在确认您的付款"},
		},
	},
	{
		name: "declined", state: "declined", links: []string{"/checkout/order_123456"},
		render: func(w io.Writer, l Lang) error {
			return Declined(w, DeclinedView{Lang: l, Nonce: testNonce, OrderID: "order_123456",
				Code: "INVALID_CARD_EXPIRATION", Message: "Card expired", RetryURL: "/checkout/order_123456"})
		},
		want: map[Lang][]string{
			Korean:   {"결제가 승인되지 않았어요", "다시 결제하기"},
			English:  {"Payment declined", "Try again"},
			Japanese: {"お支払いが承認されませんでした", "もう一度支払う"},
			Chinese:  {"付款未获批准", "重新付款"},
		},
	},
	{
		name: "amount refused", state: "amount-refused", links: []string{"/checkout/order_123456"},
		render: func(w io.Writer, l Lang) error {
			return AmountRefused(w, AmountRefusedView{Lang: l, Nonce: testNonce, OrderID: "order_123456",
				CheckoutURL: "/checkout/order_123456"})
		},
		want: map[Lang][]string{
			Korean:   {"결제 금액이 주문과 달라요", "결제 페이지로 돌아가기"},
			English:  {"The amount did not match your order", "Back to checkout"},
			Japanese: {"お支払い金額がご注文と一致しません", "お支払いページに戻る"},
			Chinese:  {"支付金额与订单不符", "返回付款页面"},
		},
	},
	{
		name: "fail", state: "fail", links: []string{"/checkout/order_123456"},
		render: func(w io.Writer, l Lang) error {
			return Fail(w, FailView{Lang: l, Nonce: testNonce, Code: "PAY_PROCESS_CANCELED",
				Message: "Payment cancelled by the user.", CheckoutURL: "/checkout/order_123456"})
		},
		want: map[Lang][]string{
			Korean:   {"결제를 취소했어요", "결제된 금액은 없어요"},
			English:  {"Payment cancelled", "Nothing was charged"},
			Japanese: {"お支払いをキャンセルしました", "料金は請求されていません"},
			Chinese:  {"付款已取消", "未产生任何扣款"},
		},
	},
	{
		name: "notice", state: "not-found", links: []string{"/checkout/order_123456"},
		render: func(w io.Writer, l Lang) error {
			return Notice(w, NoticeView{Lang: l, Nonce: testNonce, Kind: NoticeNotFound,
				OrderID: "order_123456", CheckoutURL: "/checkout/order_123456"})
		},
		want: map[Lang][]string{
			Korean:   {"주문을 찾을 수 없어요"},
			English:  {"Order not found"},
			Japanese: {"ご注文が見つかりません"},
			Chinese:  {"未找到订单"},
		},
	},
}

var (
	attrURLPattern = regexp.MustCompile(`\b(?:src|href)="([^"]*)"`)
	scriptTag      = regexp.MustCompile(`<script[^>]*>`)
)

// TestPagesInEveryLanguage renders every page in every language and checks
// what all pages promise: the language, the state, the nonce on the one
// style, a phone-sized viewport, and nothing loaded from elsewhere.
func TestPagesInEveryLanguage(t *testing.T) {
	htmlLang := map[Lang]string{Korean: "ko", English: "en", Japanese: "ja", Chinese: "zh-Hans"}
	for _, pc := range pageCases {
		for _, l := range Langs {
			t.Run(pc.name+"/"+string(l), func(t *testing.T) {
				out := mustRender(t, func(w io.Writer) error { return pc.render(w, l) })
				mustContain(t, out,
					"<!doctype html>\n<html lang=\""+htmlLang[l]+"\">",
					`<meta charset="utf-8">`,
					`<meta name="viewport" content="width=device-width, initial-scale=1">`,
					`<main id="status" data-state="`+pc.state+`"`,
					`<style nonce="`+testNonce+`">`,
				)
				mustContain(t, out, pc.want[l]...)
				if n := strings.Count(out, "<style"); n != 1 {
					t.Errorf("%d style elements, want the one nonced", n)
				}
				if strings.Contains(out, "style=") {
					t.Error("inline style attribute: the CSP would block it")
				}
				if l != Korean && strings.IndexFunc(out, isHangul) >= 0 {
					i := strings.IndexFunc(out, isHangul)
					t.Errorf("Korean text on a %s page: %q", l, out[i:min(len(out), i+40)])
				}
				for _, m := range attrURLPattern.FindAllStringSubmatch(out, -1) {
					if u := m[1]; u != "data:," && !contains(pc.links, u) {
						t.Errorf("unexpected URL in %s", m[0])
					}
				}
				checkScripts(t, out, pc.name == "checkout")
			})
		}
	}
}

func isHangul(r rune) bool { return unicode.Is(unicode.Hangul, r) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func mustContain(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

// checkScripts: no script anywhere but the checkout page, which has exactly
// the JSON data block, the SDK and the one nonced inline script.
func checkScripts(t *testing.T, out string, checkout bool) {
	t.Helper()
	tags := scriptTag.FindAllString(out, -1)
	if !checkout {
		if len(tags) != 0 {
			t.Errorf("scripts on a page that needs none: %q", tags)
		}
		return
	}
	want := []string{
		`<script type="application/json" id="checkout-data">`,
		`<script src="` + testSDK + `">`,
		`<script nonce="` + testNonce + `">`,
	}
	if !reflect.DeepEqual(tags, want) {
		t.Errorf("script tags = %q, want %q", tags, want)
	}
}

// checkoutData extracts and parses the JSON block the way a browser ends it:
// at the first "</script".
func checkoutDataOf(t *testing.T, out string) map[string]any {
	t.Helper()
	const open = `<script type="application/json" id="checkout-data">`
	i := strings.Index(out, open)
	if i < 0 {
		t.Fatal("no checkout-data block")
	}
	body := out[i+len(open):]
	end := strings.Index(strings.ToLower(body), "</script")
	if end < 0 {
		t.Fatal("checkout-data block not closed")
	}
	body = body[:end]
	if strings.ContainsAny(body, "<>&") {
		t.Errorf("raw <, > or & in the data block: %s", body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("data block is not JSON: %v\n%s", err, body)
	}
	return m
}

func TestCheckoutData(t *testing.T) {
	// Everything a JSON string can hold that could end a script element or
	// confuse a parser.
	nasty := `Scarf </script><script>alert(1)</script> <!-- "q" 'a' \ ` + "\u2028\u2029 & 한글 ✓"
	for _, l := range Langs {
		t.Run(string(l), func(t *testing.T) {
			v := checkoutView(l)
			v.OrderName = nasty
			v.CustomerName = nasty
			v.CustomerEmail = "buyer+1@example.com"
			v.SuccessURL = "https://shop.example/pay/success?a=1&b=</script>"
			out := mustRender(t, func(w io.Writer) error { return Checkout(w, v) })
			got := checkoutDataOf(t, out)
			want := map[string]any{
				"clientKey": v.ClientKey, "customerKey": v.CustomerKey,
				"amount": float64(12000), "currency": "KRW",
				"orderId": v.OrderID, "orderName": nasty,
				"successUrl": v.SuccessURL, "failUrl": v.FailURL,
				"customerEmail": v.CustomerEmail, "customerName": nasty,
				"language": l.TossCode(),
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %#v, want %#v", k, got[k], w)
				}
			}
			text, _ := got["text"].(map[string]any)
			for _, k := range []string{"load", "request", "canceled", "busy", "detail"} {
				if s, _ := text[k].(string); s == "" {
					t.Errorf("text.%s missing", k)
				}
			}
			// The script must read only what the block provides.
			for _, m := range regexp.MustCompile(`\bdata\.(\w+)`).FindAllStringSubmatch(checkoutJS, -1) {
				if _, ok := got[m[1]]; !ok {
					t.Errorf("checkout.js reads data.%s, which the block lacks", m[1])
				}
			}
			for _, m := range regexp.MustCompile(`\btext\.(\w+)`).FindAllStringSubmatch(checkoutJS, -1) {
				if _, ok := text[m[1]]; !ok {
					t.Errorf("checkout.js reads text.%s, which the block lacks", m[1])
				}
			}
			if strings.Count(strings.ToLower(out), "</script") != 3 {
				t.Error("a value closed a script element early")
			}
		})
	}
}

func TestCheckoutDataOmitsEmptyOptionals(t *testing.T) {
	v := checkoutView(English)
	v.CustomerKey, v.CustomerEmail, v.CustomerName = "", "", ""
	got := checkoutDataOf(t, mustRender(t, func(w io.Writer) error { return Checkout(w, v) }))
	for _, k := range []string{"customerKey", "customerEmail", "customerName"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s present though empty: the SDK would get an empty value", k)
		}
	}
}

func TestCheckoutScript(t *testing.T) {
	// The request the window needs, as Toss documents it.
	for _, s := range []string{
		`method: "CARD"`,
		`useInternationalCardOnly: true`,
		`language: data.language`,
		`showEstimatedAmount: true`,
		`amount: { currency: data.currency, value: data.amount }`,
		`.requestPayment(params)`,
		`window.TossPayments(data.clientKey).payment(`,
		`getElementById("pay")`,
		`getElementById("error")`,
		`button.disabled = busy`,
	} {
		if !strings.Contains(checkoutJS, s) {
			t.Errorf("checkout.js lacks %q", s)
		}
	}
	// Error text goes in as text, never as markup or code.
	for _, s := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(checkoutJS, s) {
			t.Errorf("checkout.js uses %s", s)
		}
	}
	if strings.Contains(strings.ToLower(checkoutJS), "</script") || strings.Contains(strings.ToLower(styleCSS), "</style") {
		t.Error("an embedded asset would end its own element")
	}
}

// TestCheckoutShowsNoEstimateOfItsOwn: the estimate in another currency is
// Toss's, in its window (showEstimatedAmount, held by TestCheckoutScript); one
// of ours at a fixed rate would go stale unnoticed.
func TestCheckoutShowsNoEstimateOfItsOwn(t *testing.T) {
	for _, l := range Langs {
		out := mustRender(t, func(w io.Writer) error { return Checkout(w, checkoutView(l)) })
		for _, s := range []string{"US$", "USD", "≈", `id="estimate"`} {
			if strings.Contains(out, s) {
				t.Errorf("%s checkout page shows %q", l, s)
			}
		}
	}
}

func TestCheckoutRejectsViewsThatCannotWork(t *testing.T) {
	tests := []struct {
		name string
		edit func(*CheckoutView)
	}{
		{"zero amount", func(v *CheckoutView) { v.Amount = 0 }},
		{"negative amount", func(v *CheckoutView) { v.Amount = -100 }},
		{"USD", func(v *CheckoutView) { v.Currency = "USD" }},
		{"lower-case krw", func(v *CheckoutView) { v.Currency = "krw" }},
		{"short order id", func(v *CheckoutView) { v.OrderID = "abc" }},
		{"markup order id", func(v *CheckoutView) { v.OrderID = xssAttr }},
		{"empty order name", func(v *CheckoutView) { v.OrderName = " " }},
		{"no client key", func(v *CheckoutView) { v.ClientKey = "" }},
		{"relative success URL", func(v *CheckoutView) { v.SuccessURL = "/pay/success" }},
		{"script fail URL", func(v *CheckoutView) { v.FailURL = xssURL }},
		{"no SDK URL", func(v *CheckoutView) { v.SDKURL = "" }},
		{"script SDK URL", func(v *CheckoutView) { v.SDKURL = xssURL }},
		{"no nonce", func(v *CheckoutView) { v.Nonce = "" }},
		{"nonce that breaks out", func(v *CheckoutView) { v.Nonce = `AAAAAAAAAAAAAAAA">` }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := checkoutView(English)
			tt.edit(&v)
			var b bytes.Buffer
			err := Checkout(&b, v)
			if !errors.Is(err, ErrInvalidView) {
				t.Fatalf("err = %v, want ErrInvalidView", err)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", b.Len())
			}
		})
	}
	// Empty currency means KRW.
	v := checkoutView(English)
	v.Currency = ""
	if err := Checkout(io.Discard, v); err != nil {
		t.Errorf("empty currency: %v", err)
	}
}

func TestEveryPageNeedsANonce(t *testing.T) {
	for _, nonce := range []string{"", "short", `AAAAAAAAAAAAAAAA"><script>`} {
		renders := map[string]func() error{
			"receipt":    func() error { v := receiptView(English); v.Nonce = nonce; return Receipt(io.Discard, v) },
			"processing": func() error { return Processing(io.Discard, ProcessingView{Nonce: nonce}) },
			"declined":   func() error { return Declined(io.Discard, DeclinedView{Nonce: nonce}) },
			"refused":    func() error { return AmountRefused(io.Discard, AmountRefusedView{Nonce: nonce}) },
			"fail":       func() error { return Fail(io.Discard, FailView{Nonce: nonce}) },
			"notice":     func() error { return Notice(io.Discard, NoticeView{Nonce: nonce}) },
		}
		for name, f := range renders {
			if err := f(); !errors.Is(err, ErrInvalidView) {
				t.Errorf("%s with nonce %q: err = %v, want ErrInvalidView", name, nonce, err)
			}
		}
	}
}

// TestReflectedValuesAreEscaped puts markup and script URLs into every value
// a page shows and checks none survives as markup.
func TestReflectedValuesAreEscaped(t *testing.T) {
	tests := []struct {
		name    string
		render  func(io.Writer) error
		escaped []string // proof the value was shown, escaped
		absent  []string // links left out: their URL is not one a link may have
	}{
		{
			name: "checkout",
			render: func(w io.Writer) error {
				v := checkoutView(Lang(xssTag))
				v.OrderName = xssTag + xssAttr
				v.CustomerName, v.CustomerEmail = xssTag, xssAttr
				v.ClientKey, v.CustomerKey = xssAttr, xssTag
				v.SuccessURL = "https://shop.example/s?x=" + xssAttr
				v.SDKURL = testSDK + `?"><script>alert(1)</script>`
				return Checkout(w, v)
			},
			escaped: []string{"&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"},
		},
		{
			name: "receipt",
			render: func(w io.Writer) error {
				return Receipt(w, ReceiptView{Lang: English, Nonce: testNonce, OrderID: xssAttr, OrderName: xssTag,
					Amount: 1000, Currency: xssTag, CardNumber: xssTag, CardIssuer: xssAttr, ReceiptURL: xssURL})
			},
			escaped: []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"},
			absent:  []string{`id="receipt"`},
		},
		{
			name: "processing",
			render: func(w io.Writer) error {
				return Processing(w, ProcessingView{Lang: English, Nonce: testNonce, OrderID: xssTag, RefreshURL: xssURL})
			},
		},
		{
			name: "processing with markup in a same-site path",
			render: func(w io.Writer) error {
				return Processing(w, ProcessingView{Lang: English, Nonce: testNonce, RefreshURL: "/p?x=" + xssAttr + xssTag})
			},
		},
		{
			name: "declined",
			render: func(w io.Writer) error {
				return Declined(w, DeclinedView{Lang: English, Nonce: testNonce, OrderID: xssTag, Code: xssAttr,
					Message: xssTag + xssAttr, RetryURL: xssURL})
			},
			escaped: []string{"&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"},
			absent:  []string{`id="retry"`},
		},
		{
			name: "amount refused",
			render: func(w io.Writer) error {
				return AmountRefused(w, AmountRefusedView{Lang: English, Nonce: testNonce, OrderID: xssAttr, CheckoutURL: xssURL})
			},
			absent: []string{`id="back"`},
		},
		{
			name: "fail",
			render: func(w io.Writer) error {
				return Fail(w, FailView{Lang: English, Nonce: testNonce, Code: xssTag, Message: xssAttr + xssTag,
					CheckoutURL: " " + strings.ToUpper(xssURL)})
			},
			escaped: []string{"&#34;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(1)&lt;/script&gt;"},
			absent:  []string{`id="retry"`},
		},
		{
			name: "notice",
			render: func(w io.Writer) error {
				return Notice(w, NoticeView{Lang: English, Nonce: testNonce, Kind: NoticeKind(xssAttr), OrderID: xssTag,
					CheckoutURL: xssURL, ReceiptURL: "data:text/html," + xssTag})
			},
			absent: []string{`id="back"`, `id="receipt"`, "<a "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mustRender(t, tt.render)
			lower := strings.ToLower(out)
			for _, bad := range []string{xssTag, xssAttr, "<img", "<script>alert", `="javascript:`, `=javascript:`, "url=javascript:", `="data:text`, "zgotmplz"} {
				if strings.Contains(lower, strings.ToLower(bad)) {
					t.Errorf("raw %q in the page", bad)
				}
			}
			mustContain(t, out, tt.escaped...)
			for _, a := range tt.absent {
				if strings.Contains(out, a) {
					t.Errorf("page has %q, want it left out", a)
				}
			}
		})
	}
}

// TestLinksToElsewhereAreLeftOut: every link a page may offer is left out
// when its URL is not a same-site path or an absolute http(s) URL, instead
// of reaching html/template, which would make it a dead "#ZgotmplZ" link.
func TestLinksToElsewhereAreLeftOut(t *testing.T) {
	links := []struct {
		id     string
		render func(w io.Writer, href string) error
	}{
		{"retry", func(w io.Writer, href string) error {
			return Fail(w, FailView{Lang: English, Nonce: testNonce, Code: "PAY_PROCESS_CANCELED", CheckoutURL: href})
		}},
		{"retry", func(w io.Writer, href string) error {
			return Declined(w, DeclinedView{Lang: English, Nonce: testNonce, OrderID: "order_123456", RetryURL: href})
		}},
		{"back", func(w io.Writer, href string) error {
			return AmountRefused(w, AmountRefusedView{Lang: English, Nonce: testNonce, OrderID: "order_123456", CheckoutURL: href})
		}},
		{"back", func(w io.Writer, href string) error {
			return Notice(w, NoticeView{Lang: English, Nonce: testNonce, Kind: NoticeExpired, CheckoutURL: href})
		}},
		{"receipt", func(w io.Writer, href string) error {
			return Notice(w, NoticeView{Lang: English, Nonce: testNonce, Kind: NoticeAlreadyPaid, ReceiptURL: href})
		}},
		{"receipt", func(w io.Writer, href string) error {
			v := receiptView(English)
			v.ReceiptURL = href
			return Receipt(w, v)
		}},
	}
	dropped := []string{xssURL, " javascript:alert(1)", "JAVASCRIPT:alert(1)", "vbscript:msgbox", "data:text/html," + xssTag,
		"//evil.example/x", `/\evil.example/x`, "https://user:pass@shop.example/", "checkout/ord_1", "ftp://shop.example/"}
	kept := []string{"/checkout/order_123456?lang=ja", "https://shop.example/checkout/order_123456"}
	for _, l := range links {
		for _, href := range dropped {
			out := mustRender(t, func(w io.Writer) error { return l.render(w, href) })
			if strings.Contains(out, `id="`+l.id+`"`) || strings.Contains(out, "ZgotmplZ") {
				t.Errorf("#%s shown for %q", l.id, href)
			}
		}
		for _, href := range kept {
			out := mustRender(t, func(w io.Writer) error { return l.render(w, href) })
			if !strings.Contains(out, `id="`+l.id+`"`) || !strings.Contains(out, `href="`+strings.ReplaceAll(href, "&", "&amp;")+`"`) {
				t.Errorf("#%s missing for %q", l.id, href)
			}
		}
	}
}

func TestFailGuidance(t *testing.T) {
	tests := []struct {
		code, title, lead, dataCode string
	}{
		{"PAY_PROCESS_CANCELED", "Payment cancelled", "You closed the payment window. Nothing was charged.", "PAY_PROCESS_CANCELED"},
		{"PAY_PROCESS_ABORTED", "The payment could not be completed", "Nothing was charged. Please try again or use another card.", "PAY_PROCESS_ABORTED"},
		{"REJECT_CARD_COMPANY", "Your card company declined the payment", "Check the card details or use another card. Nothing was charged.", "REJECT_CARD_COMPANY"},
		{"INVALID_CARD_NUMBER", "Payment not completed", "Nothing was charged. Please try again in a moment.", "INVALID_CARD_NUMBER"},
		{"", "Payment not completed", "Nothing was charged. Please try again in a moment.", ""},
		{"pay_process_canceled", "Payment not completed", "Nothing was charged. Please try again in a moment.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			out := mustRender(t, func(w io.Writer) error {
				return Fail(w, FailView{Lang: English, Nonce: testNonce, Code: tt.code, CheckoutURL: "/checkout/order_123456"})
			})
			mustContain(t, out, "<h1>"+tt.title+"</h1>", `<p class="lead">`+tt.lead+"</p>",
				`<a id="retry" class="button primary" href="/checkout/order_123456">`)
			if tt.dataCode != "" {
				mustContain(t, out, `data-state="fail" data-code="`+tt.dataCode+`"`, `<dd id="code" class="code">`+tt.dataCode+`</dd>`)
			} else if strings.Contains(out, "data-code") || strings.Contains(out, `id="code"`) {
				t.Error("a code that is not one of Toss's was shown")
			}
			if strings.Contains(out, `id="message"`) {
				t.Error("message block shown without a message")
			}
		})
	}
}

func TestFailWithoutCheckoutURL(t *testing.T) {
	out := mustRender(t, func(w io.Writer) error {
		return Fail(w, FailView{Lang: English, Nonce: testNonce, Code: "PAY_PROCESS_CANCELED"})
	})
	if strings.Contains(out, `id="retry"`) || strings.Contains(out, "<a ") {
		t.Error("a link with nowhere to go")
	}
}

func TestMessageIsBounded(t *testing.T) {
	long := strings.Repeat("카드사 응답: 한도 초과 ", 100)
	out := mustRender(t, func(w io.Writer) error {
		return Fail(w, FailView{Lang: English, Nonce: testNonce, Code: "REJECT_CARD_COMPANY", Message: long})
	})
	m := regexp.MustCompile(`<blockquote id="message">([^<]*)</blockquote>`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("message not shown")
	}
	if n := utf8.RuneCountInString(m[1]); n > maxMessageRunes+1 || n < maxMessageRunes-1 || !strings.HasSuffix(m[1], "…") {
		t.Errorf("message has %d runes, want %d and an ellipsis: %q", n, maxMessageRunes, m[1])
	}
	// A message of only white space and control characters shows nothing.
	out = mustRender(t, func(w io.Writer) error {
		return Fail(w, FailView{Lang: English, Nonce: testNonce, Message: " \t\x00\u202e "})
	})
	if strings.Contains(out, `id="message"`) {
		t.Error("empty message block shown")
	}
}

func TestDeclined(t *testing.T) {
	tests := []struct {
		name      string
		v         DeclinedView
		want      []string
		wantNoRef bool
	}{
		{
			name: "card company refused",
			v: DeclinedView{Lang: English, Nonce: testNonce, OrderID: "order_123456", Code: "REJECT_CARD_COMPANY",
				Message: "한도초과", RetryURL: "/checkout/order_123456"},
			want: []string{"<h1>Your card company declined the payment</h1>", `data-state="declined" data-code="REJECT_CARD_COMPANY"`,
				`<blockquote id="message">한도초과</blockquote>`, `<dd id="order-id" class="code">order_123456</dd>`,
				`<a id="retry" class="button primary" href="/checkout/order_123456">Try again</a>`},
		},
		{
			name: "other decline",
			v:    DeclinedView{Lang: Japanese, Nonce: testNonce, Code: "INVALID_STOPPED_CARD", RetryURL: "/checkout/order_123456"},
			want: []string{"お支払いが承認されませんでした", "別のカードをご利用ください", `id="retry"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustContain(t, mustRender(t, func(w io.Writer) error { return Declined(w, tt.v) }), tt.want...)
		})
	}
}

func TestNotice(t *testing.T) {
	tests := []struct {
		kind       NoticeKind
		state      string
		title      string
		receipt    string
		checkout   string
		wantLinks  []string
		noLinkText string
	}{
		{NoticeNotFound, "not-found", "Order not found", "", "", nil, "<a "},
		{NoticeExpired, "expired", "This order has expired", "", "", nil, "<a "},
		{NoticeAlreadyPaid, "paid", "This order is already paid", "/receipt/order_123456", "",
			[]string{`<a id="receipt" class="button primary" href="/receipt/order_123456">View payment</a>`}, `id="back"`},
		{NoticeBadRequest, "bad-request", "We couldn&#39;t process this request", "", "/checkout/order_123456",
			[]string{`<a id="back" class="button primary" href="/checkout/order_123456">Back to checkout</a>`}, `id="receipt"`},
		{NoticeUnavailable, "unavailable", "Temporarily unavailable", "/receipt/order_123456", "/checkout/order_123456",
			[]string{`<a id="receipt" class="button primary"`, `<a id="back" class="button" href="/checkout/order_123456">`}, ""},
		{"", "unavailable", "Temporarily unavailable", "", "", nil, "<a "},
		{"mystery", "unavailable", "Temporarily unavailable", "", "", nil, "mystery"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			out := mustRender(t, func(w io.Writer) error {
				return Notice(w, NoticeView{Lang: English, Nonce: testNonce, Kind: tt.kind, OrderID: "order_123456",
					ReceiptURL: tt.receipt, CheckoutURL: tt.checkout})
			})
			mustContain(t, out, `data-state="`+tt.state+`"`, "<h1>"+tt.title+"</h1>", `<dd id="order-id" class="code">order_123456</dd>`)
			mustContain(t, out, tt.wantLinks...)
			if tt.noLinkText != "" && strings.Contains(out, tt.noLinkText) {
				t.Errorf("page contains %q", tt.noLinkText)
			}
		})
	}
}

func TestNoticeHidesInvalidOrderID(t *testing.T) {
	out := mustRender(t, func(w io.Writer) error {
		return Notice(w, NoticeView{Lang: English, Nonce: testNonce, Kind: NoticeNotFound, OrderID: "Call +1-555-0100 for a refund"})
	})
	if strings.Contains(out, "refund") || strings.Contains(out, `id="order-id"`) {
		t.Error("free text shown as an order number")
	}
}

func TestProcessingRefresh(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		seconds int
		meta    string
		href    string
	}{
		{"path", "/pay/return?orderId=order_123456&x=1", 5, `content="5;url=/pay/return?orderId=order_123456&amp;x=1"`, `href="/pay/return?orderId=order_123456&amp;x=1"`},
		{"absolute", "https://shop.example/pay/return", 10, `content="10;url=https://shop.example/pay/return"`, `href="https://shop.example/pay/return"`},
		{"default seconds", "/r", 0, `content="3;url=/r"`, `href="/r"`},
		{"negative seconds", "/r", -5, `content="3;url=/r"`, `href="/r"`},
		{"capped seconds", "/r", 100000, `content="300;url=/r"`, `href="/r"`},
		{"no URL: this page", "", 5, `content="5">`, `href=""`},
		{"script URL dropped", xssURL, 5, `content="5">`, `href=""`},
		{"other site via // dropped", "//evil.example/", 5, `content="5">`, `href=""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mustRender(t, func(w io.Writer) error {
				return Processing(w, ProcessingView{Lang: English, Nonce: testNonce, OrderID: "order_123456",
					RefreshURL: tt.url, RefreshSeconds: tt.seconds})
			})
			mustContain(t, out, `<meta http-equiv="refresh" `+tt.meta, `<a id="refresh" class="button primary" `+tt.href)
		})
	}
}

func TestReceipt(t *testing.T) {
	out := mustRender(t, func(w io.Writer) error { return Receipt(w, receiptView(English)) })
	mustContain(t, out,
		`<dd id="amount">₩12,000</dd>`,
		`<dd id="order-name">Wool scarf</dd>`,
		`<dd id="order-id" class="code">order_123456</dd>`,
		`<dd id="card-number" class="code">43301234****123*</dd>`,
		`<dd id="card-issuer">Visa</dd>`, // Toss's code 4V, named
		`<time id="approved-at" datetime="2024-02-13T12:18:14&#43;09:00">February 13, 2024, 12:18 (KST, UTC&#43;9)</time>`,
		`<a id="receipt" class="button" href="https://dashboard.tosspayments.com/receipt/x" target="_blank" rel="noopener noreferrer">`,
	)

	// Only the amount is required; the rest hides when unknown.
	out = mustRender(t, func(w io.Writer) error {
		return Receipt(w, ReceiptView{Lang: English, Nonce: testNonce, Amount: 870, Currency: "USD"})
	})
	mustContain(t, out, `<dd id="amount">US$8.70</dd>`)
	for _, id := range []string{"order-name", "order-id", "card-number", "card-issuer", "approved-at", "receipt"} {
		if strings.Contains(out, `id="`+id+`"`) {
			t.Errorf("#%s shown though empty", id)
		}
	}
}

// TestTemplatesParse: the embedded templates are part of the program, so a
// template that does not parse is a bug this test names before any page
// fails on it.
func TestTemplatesParse(t *testing.T) {
	ts, err := pageTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for kind, tmpl := range ts {
		for _, name := range []string{"layout", "body", "scripts"} {
			if tmpl == nil || tmpl.Lookup(name) == nil {
				t.Errorf("%s: no %q template", bodyFiles[kind], name)
			}
		}
	}
}

// TestTextsComplete: every language has every sentence.
func TestTextsComplete(t *testing.T) {
	if len(texts()) != len(Langs) {
		t.Fatalf("texts has %d languages, Langs %d", len(texts()), len(Langs))
	}
	for _, l := range Langs {
		tx, ok := texts()[l]
		if !ok {
			t.Fatalf("no texts for %s", l)
		}
		v := reflect.ValueOf(*tx)
		for i := 0; i < v.NumField(); i++ {
			if strings.TrimSpace(v.Field(i).String()) == "" {
				t.Errorf("%s: %s is empty", l, v.Type().Field(i).Name)
			}
		}
		if !strings.Contains(tx.PayFmt, "%s") || strings.Count(tx.PayFmt, "%") != 1 {
			t.Errorf("%s: PayFmt %q must hold exactly one %%s", l, tx.PayFmt)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestWriteErrorIsReturned(t *testing.T) {
	if err := Receipt(failingWriter{}, receiptView(English)); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v, want the writer's error", err)
	}
}

// TestConcurrentRenders runs renders side by side under -race: templates and
// the buffer pool are shared by every request a Lambda instance serves.
func TestConcurrentRenders(t *testing.T) {
	var wg sync.WaitGroup
	want := mustRender(t, func(w io.Writer) error { return Checkout(w, checkoutView(Japanese)) })
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				var b bytes.Buffer
				if err := Checkout(&b, checkoutView(Japanese)); err != nil || b.String() != want {
					t.Errorf("concurrent checkout render differs (err %v)", err)
					return
				}
				for _, pc := range pageCases {
					if err := pc.render(io.Discard, Langs[j%len(Langs)]); err != nil {
						t.Errorf("%s: %v", pc.name, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCheckout(b *testing.B) {
	v := checkoutView(English)
	b.ReportAllocs()
	for b.Loop() {
		if err := Checkout(io.Discard, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReceipt(b *testing.B) {
	v := receiptView(Japanese)
	b.ReportAllocs()
	for b.Loop() {
		if err := Receipt(io.Discard, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFail(b *testing.B) {
	v := FailView{Lang: Korean, Nonce: testNonce, Code: "REJECT_CARD_COMPANY",
		Message: strings.Repeat("카드사 응답 ", 40), CheckoutURL: "/checkout/order_123456"}
	b.ReportAllocs()
	for b.Loop() {
		if err := Fail(io.Discard, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNegotiate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Negotiate("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7,ko;q=0.6", "")
	}
}
