package pages

import (
	"bytes"
	"encoding/json"
	"html/template"
	"os"
	"strings"
	"testing"
)

// The pages' markup is specified by the html/template templates in
// testdata/templates, and the markup writers must produce exactly what
// html/template produces from them, byte for byte, for every page in every
// language and for hostile values. html/template stays the oracle for the
// markup and its escaping contexts; the functions just do not link it
// (see markup.go). To change a page, change its template here and its
// writer in markup.go until this test passes.

// oraclePage is what the templates see: page's fields with the trusted
// constants typed for html/template and the checkout data as a value it
// escapes itself.
type oraclePage struct {
	HTMLLang string
	T        *text
	Nonce    string
	CSS      template.CSS
	State    string
	Code     string
	Title    string

	Lead    string
	Message string
	OrderID string
	Links   []link

	OrderName, Amount, Estimate, PayLabel string
	SDKURL                                string
	Data                                  *checkoutData
	JS                                    template.JS

	CardNumber, CardIssuer, ApprovedAt, ApprovedAtISO, ReceiptURL string

	RefreshSeconds int
	RefreshURL     string
}

func oracleRender(t *testing.T, p *page) string {
	t.Helper()
	file := map[pageKind]string{kindCheckout: "checkout.html", kindReceipt: "receipt.html",
		kindProcessing: "processing.html", kindMessage: "message.html"}[p.kind]
	tmpl := template.Must(template.New(file).ParseFS(os.DirFS("testdata/templates"), "layout.html", file)).Lookup("layout")
	o := oraclePage{
		HTMLLang: p.HTMLLang, T: p.T, Nonce: p.Nonce, CSS: template.CSS(p.CSS), State: p.State, Code: p.Code, Title: p.Title,
		Lead: p.Lead, Message: p.Message, OrderID: p.OrderID, Links: p.Links,
		OrderName: p.OrderName, Amount: p.Amount, Estimate: p.Estimate, PayLabel: p.PayLabel, SDKURL: p.SDKURL,
		JS:         template.JS(p.JS),
		CardNumber: p.CardNumber, CardIssuer: p.CardIssuer, ApprovedAt: p.ApprovedAt, ApprovedAtISO: p.ApprovedAtISO,
		ReceiptURL: p.ReceiptURL, RefreshSeconds: p.RefreshSeconds, RefreshURL: p.RefreshURL,
	}
	if p.DataJSON != "" {
		o.Data = new(checkoutData)
		if err := json.Unmarshal([]byte(p.DataJSON), o.Data); err != nil {
			t.Fatalf("checkout data: %v", err)
		}
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, o); err != nil {
		t.Fatalf("oracle: %v", err)
	}
	return b.String()
}

func TestMarkupMatchesHTMLTemplate(t *testing.T) {
	type build func() (*page, error)
	cases := map[string]build{}
	for _, l := range []Lang{Korean, English, Japanese, Chinese} {
		l := l
		cases["checkout/"+string(l)] = func() (*page, error) { return checkoutPage(checkoutView(l)) }
		cases["checkout without estimate/"+string(l)] = func() (*page, error) {
			v := checkoutView(l)
			v.USDEstimate = ""
			return checkoutPage(v)
		}
		cases["receipt/"+string(l)] = func() (*page, error) {
			return receiptPage(ReceiptView{Lang: l, Nonce: testNonce, OrderID: "order_123456", OrderName: "Wool scarf",
				Amount: 12000, Currency: "KRW", CardNumber: "43301234****123*", CardIssuer: "VISA", ApprovedAt: approvedAt,
				ReceiptURL: "https://dashboard.tosspayments.com/receipt/redirection?transactionId=tx_1&ref=PX"})
		}
		cases["bare receipt/"+string(l)] = func() (*page, error) {
			return receiptPage(ReceiptView{Lang: l, Nonce: testNonce, Amount: 1000})
		}
		cases["processing/"+string(l)] = func() (*page, error) {
			return processingPage(ProcessingView{Lang: l, Nonce: testNonce, OrderID: "order_123456", RefreshURL: "/payments/success?orderId=order_123456&amount=1000"})
		}
		cases["declined/"+string(l)] = func() (*page, error) {
			return declinedPage(DeclinedView{Lang: l, Nonce: testNonce, OrderID: "order_123456", Code: "REJECT_CARD_COMPANY",
				Message: "카드사에서 거절했습니다.", RetryURL: "https://shop.example/checkout/order_123456?lang=" + string(l)})
		}
		cases["amount refused/"+string(l)] = func() (*page, error) {
			return amountRefusedPage(AmountRefusedView{Lang: l, Nonce: testNonce, OrderID: "order_123456", CheckoutURL: "/checkout/order_123456"})
		}
		cases["fail/"+string(l)] = func() (*page, error) {
			return failPage(FailView{Lang: l, Nonce: testNonce, Code: "PAY_PROCESS_CANCELED", Message: "사용자에 의해 결제가 취소되었습니다.",
				CheckoutURL: "https://shop.example/checkout/order_123456"})
		}
		for _, k := range []NoticeKind{NoticeNotFound, NoticeExpired, NoticeAlreadyPaid, NoticeBadRequest, NoticeUnavailable} {
			k := k
			cases["notice "+string(k)+"/"+string(l)] = func() (*page, error) {
				return noticePage(NoticeView{Lang: l, Nonce: testNonce, Kind: k, OrderID: "order_123456",
					CheckoutURL: "https://shop.example/checkout/order_123456", ReceiptURL: "https://receipt.example/r?a=1&b=2"})
			}
		}
	}
	// Hostile values, in every context a value can land in.
	cases["hostile checkout"] = func() (*page, error) {
		v := checkoutView(English)
		v.OrderName = xssTag + xssAttr + "+&'"
		v.USDEstimate = xssAttr
		v.CustomerName, v.CustomerEmail = xssTag, xssAttr
		v.ClientKey, v.CustomerKey = xssAttr, xssTag+"\u2028"
		v.SuccessURL = "https://shop.example/s?x=" + xssAttr
		v.SDKURL = testSDK + `?"><script>alert(1)</script>`
		return checkoutPage(v)
	}
	cases["hostile receipt"] = func() (*page, error) {
		return receiptPage(ReceiptView{Lang: English, Nonce: testNonce, OrderID: xssAttr, OrderName: xssTag + "\x00",
			Amount: 1000, Currency: xssTag, CardNumber: xssTag, CardIssuer: xssAttr, ApprovedAt: approvedAt, ReceiptURL: xssURL})
	}
	cases["hostile processing"] = func() (*page, error) {
		return processingPage(ProcessingView{Lang: English, Nonce: testNonce, OrderID: xssTag, RefreshURL: "/p?x=" + xssAttr + xssTag, RefreshSeconds: 9999})
	}
	cases["hostile declined"] = func() (*page, error) {
		return declinedPage(DeclinedView{Lang: English, Nonce: testNonce, OrderID: xssTag, Code: xssAttr, Message: xssTag + xssAttr, RetryURL: xssURL})
	}
	cases["hostile fail"] = func() (*page, error) {
		return failPage(FailView{Lang: Japanese, Nonce: testNonce, Code: xssTag, Message: xssAttr + xssTag + " +1", CheckoutURL: "/checkout/x?a=" + xssAttr})
	}
	cases["hostile notice"] = func() (*page, error) {
		return noticePage(NoticeView{Lang: Chinese, Nonce: testNonce, Kind: NoticeKind(xssAttr), OrderID: xssTag,
			CheckoutURL: xssURL, ReceiptURL: "data:text/html," + xssTag})
	}

	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := b()
			if err != nil {
				t.Fatal(err)
			}
			want := oracleRender(t, p)
			var buf bytes.Buffer
			writePage(markup{b: &buf}, p)
			got := buf.String()
			if got != want {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				from := max(0, i-80)
				t.Fatalf("markup differs from html/template's at byte %d:\n got: %q\nwant: %q", i,
					got[from:min(len(got), i+80)], want[from:min(len(want), i+80)])
			}
			if !strings.Contains(got, "</html>") {
				t.Fatal("no page")
			}
		})
	}
}
