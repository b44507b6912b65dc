package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

// tossLanguages is the Accept-Language of each request that reached the
// sandbox since before (confirms and lookups alike).
func (h *harness) tossLanguages(before int) []string {
	var out []string
	for _, r := range h.sb.Requests()[before:] {
		out = append(out, r.AcceptLanguage)
	}
	return out
}

// TestTossSpeaksTheBuyersLanguage: Toss writes its messages (a decline's
// reason, shown to the buyer and kept on the order) in Korean or English
// only. Every call made for a buyer whose page is not Korean asks for
// English; a Korean page asks for Korean, whatever the deployment's
// default; a JSON caller's Accept-Language counts as its page's.
func TestTossSpeaksTheBuyersLanguage(t *testing.T) {
	tests := []struct {
		name   string
		page   bool
		lang   string // the success URL's lang (page) or nothing
		header string // the request's Accept-Language
		want   string
	}{
		{"page in English", true, "en", "", "en-US"},
		{"page in Japanese", true, "ja", "", "en-US"},
		{"page in Chinese from the browser's language", true, "", "zh-CN,zh;q=0.9", "en-US"},
		{"page in Korean", true, "ko", "en-US", "ko-KR"},
		{"page with no language named: Korean", true, "", "", "ko-KR"},
		{"JSON confirm, English", false, "", "en-US,en;q=0.9", "en-US"},
		{"JSON confirm, Japanese", false, "", "ja-JP", "en-US"},
		{"JSON confirm, Korean", false, "", "ko-KR", "ko-KR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			o := h.createOrder("Hanbok", 39000)
			key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount, tosstest.WithCardBrand(tosstest.Visa))
			before := len(h.sb.Requests())
			hd := map[string]string{}
			if tt.header != "" {
				hd["accept-language"] = tt.header
			}
			if tt.page {
				q := url.Values{"paymentType": {"NORMAL"}, "orderId": {o.OrderID}, "paymentKey": {key}, "amount": {"39000"}}
				if tt.lang != "" {
					q.Set("lang", tt.lang)
				}
				wantPage(t, h.page(h.svc.PaymentSuccess, rq{Method: "GET", Path: "/payments/success", Query: q.Encode(), Headers: hd}), 200, "done")
			} else {
				hd["content-type"] = "application/json"
				wantEntity(t, h.json(h.svc.ConfirmPayment, rq{Method: "POST", Path: "/payments/confirm", Headers: hd, Body: confirmBody(key, o.OrderID, o.Amount)}), 200, "payment", nil)
			}
			got := h.tossLanguages(before)
			if len(got) == 0 {
				t.Fatal("nothing reached Toss")
			}
			for _, l := range got {
				if l != tt.want {
					t.Errorf("Accept-Language %q sent to Toss, want %q (all: %q)", l, tt.want, got)
				}
			}
		})
	}
}

// A foreign buyer reads the decline's reason in English, on the page and
// in what the merchant reads of the order.
func TestDeclineReasonInEnglish(t *testing.T) {
	h := newHarness(t)
	h.answering(toss.CodeRejectCardCompany)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	resp := h.success(o.OrderID, key, o.Amount) // lang=en
	wantPage(t, resp, http.StatusOK, "declined")
	if !strings.Contains(resp.Body, "The card company rejected the payment.") {
		t.Errorf("the decline's reason is not Toss's English message:\n%s", resp.Body)
	}
	if f := h.getOrder(o.OrderID).LastFailure; f == nil || f.Message != "The card company rejected the payment." {
		t.Errorf("the order keeps %+v", f)
	}
}
