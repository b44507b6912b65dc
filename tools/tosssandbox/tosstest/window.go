package tosstest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tossintl/backend/tools/tossrules"
)

// windowPath serves the payment window: GET renders it, POST takes the
// buyer's choice.
const windowPath = "/window"

const maxOrderNameLen = 100

//go:embed sdk.js
var sdkSource string

//go:embed window.html
var windowHTML string

var (
	windowTmpl = template.Must(template.New("window").Parse(windowHTML))
	pageTmpl   = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><main><h1>{{.Title}}</h1>{{range .Lines}}<p>{{.}}</p>{{end}}</main></body></html>
`))
)

// sdkConfigPlaceholder is valid JavaScript on its own, so sdk.js passes
// `node --check` before and after substitution.
const sdkConfigPlaceholder = "/*SANDBOX_CONFIG*/null"

// serveSDK serves the stand-in for https://js.tosspayments.com/v2/standard.
func (s *Sandbox) serveSDK(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	cfg, err := json.Marshal(map[string]string{
		"clientKey": s.ClientKey(),
		"windowUrl": s.baseURL(r) + windowPath,
	})
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// json.Marshal escapes <, > and &, so nothing in cfg can close the script.
	src := strings.Replace(sdkSource, sdkConfigPlaceholder, string(cfg), 1)
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// The merchant's checkout page loads this from another origin.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	_, _ = w.Write([]byte(src))
}

// windowParams is what requestPayment hands the window.
type windowParams struct {
	ClientKey     string
	CustomerKey   string
	OrderID       string
	OrderName     string
	Amount        int64
	SuccessURL    string
	FailURL       string
	CustomerEmail string
	CustomerName  string
	Lang          string // ko, en, ja or zh
	ShowEstimate  bool   // card.showEstimatedAmount was true
	// InFrame: the SDK opened the window in an iframe over the merchant's
	// page (windowTarget "iframe") rather than in the page itself ("self",
	// and any request that does not say).
	InFrame bool
	// ParentOrigin is the merchant page's origin, which alone may receive
	// the framed window's cancel message; set when InFrame.
	ParentOrigin string
}

type windowSession struct {
	params    windowParams
	createdAt time.Time
}

// windowLangs maps the SDK's card.language values to page languages.
var windowLangs = map[string]string{"KO": "ko", "EN": "en", "JA": "ja", "ZH": "zh"}

// pickLang uses card.language when given, else the browser's first
// supported Accept-Language, else Korean (Toss's default).
func pickLang(param, acceptLanguage string) (string, bool) {
	if param != "" {
		l, ok := windowLangs[strings.ToUpper(param)]
		return l, ok
	}
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if l, ok := windowLangs[strings.ToUpper(primary)]; ok {
			return l, true
		}
	}
	return "ko", true
}

func absoluteHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// httpOrigin reports whether raw is an http(s) origin and nothing more, as
// the SDK's location.origin is: a postMessage target must be exactly one.
func httpOrigin(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Scheme+"://"+u.Host == raw
}

// parseWindowParams repeats the SDK's checks on the server: the query is
// as easy to forge as any URL.
func (s *Sandbox) parseWindowParams(q url.Values, acceptLanguage string) (windowParams, string, error) {
	lang, ok := pickLang(q.Get("language"), acceptLanguage)
	if !ok {
		return windowParams{}, "ko", fmt.Errorf("language must be one of KO, EN, JA, ZH")
	}
	p := windowParams{
		ClientKey:     q.Get("clientKey"),
		CustomerKey:   q.Get("customerKey"),
		OrderID:       q.Get("orderId"),
		OrderName:     q.Get("orderName"),
		SuccessURL:    q.Get("successUrl"),
		FailURL:       q.Get("failUrl"),
		CustomerEmail: q.Get("customerEmail"),
		CustomerName:  q.Get("customerName"),
		Lang:          lang,
		ShowEstimate:  q.Get("showEstimatedAmount") == "true",
	}
	if p.ClientKey != s.ClientKey() {
		return p, lang, fmt.Errorf("clientKey is not this sandbox's client key")
	}
	if c := q.Get("currency"); c != "" && c != "KRW" {
		return p, lang, fmt.Errorf("currency must be KRW")
	}
	amount, err := strconv.ParseInt(q.Get("amount"), 10, 64)
	if err != nil || amount <= 0 || amount > maxAmount {
		return p, lang, fmt.Errorf("amount must be a positive integer")
	}
	p.Amount = amount
	if !orderIDPattern.MatchString(p.OrderID) {
		return p, lang, fmt.Errorf("orderId must be 6 to 64 characters of A-Z, a-z, 0-9, -, _ and =")
	}
	if strings.TrimSpace(p.OrderName) == "" || utf8.RuneCountInString(p.OrderName) > maxOrderNameLen {
		return p, lang, fmt.Errorf("orderName is required (100 characters at most)")
	}
	if !absoluteHTTPURL(p.SuccessURL) || !absoluteHTTPURL(p.FailURL) {
		return p, lang, fmt.Errorf("successUrl and failUrl must be absolute http(s) URLs")
	}
	switch q.Get("windowTarget") {
	case "", "self":
	case "iframe":
		p.InFrame, p.ParentOrigin = true, q.Get("parentOrigin")
		if !httpOrigin(p.ParentOrigin) {
			return p, lang, fmt.Errorf("parentOrigin must be the http(s) origin of the page that frames the window")
		}
	default:
		return p, lang, fmt.Errorf("windowTarget must be iframe or self")
	}
	return p, lang, nil
}

// windowText is the window's wording in one language.
type windowText struct {
	Title, Banner, Order, Amount, Estimate, RateNote, Brand, Approve, Decline, Close string
	Expired, Invalid                                                                 string
	CanceledMsg, DeclinedMsg                                                         string
}

var windowTexts = map[string]windowText{
	"ko": {
		Title: "해외카드 결제", Banner: "테스트 결제창(샌드박스)입니다. 실제로 결제되지 않습니다.",
		Order: "주문명", Amount: "결제 금액", Estimate: "예상 결제 금액 (USD)",
		RateNote: "샌드박스 고정 환율 1 USD = 1,380 KRW 기준 추정치이며 실제 청구 금액과 다를 수 있습니다.",
		Brand:    "카드 브랜드", Approve: "결제하기", Decline: "카드사 거절 시뮬레이션", Close: "닫기",
		Expired: "결제창이 만료되었거나 이미 사용되었습니다.", Invalid: "결제 요청이 올바르지 않습니다.",
		CanceledMsg: "사용자에 의해 결제가 취소되었습니다.", DeclinedMsg: "카드사에서 결제를 거절했습니다.",
	},
	"en": {
		Title: "International card payment", Banner: "Sandbox payment window: no real payment is made.",
		Order: "Order", Amount: "Amount", Estimate: "Estimated amount (USD)",
		RateNote: "Estimate at the sandbox's fixed rate of 1 USD = 1,380 KRW; the amount charged may differ.",
		Brand:    "Card brand", Approve: "Pay", Decline: "Simulate card decline", Close: "Close",
		Expired: "This payment window has expired or was already used.", Invalid: "The payment request is invalid.",
		CanceledMsg: "The buyer canceled the payment.", DeclinedMsg: "The card company declined the payment.",
	},
	"ja": {
		Title: "海外カード決済", Banner: "サンドボックスの決済画面です。実際の決済は行われません。",
		Order: "ご注文", Amount: "お支払い金額", Estimate: "米ドル換算の目安 (USD)",
		RateNote: "サンドボックスの固定レート 1 USD = 1,380 KRW による目安です。実際の請求額とは異なる場合があります。",
		Brand:    "カードブランド", Approve: "支払う", Decline: "カード会社の拒否をシミュレート", Close: "閉じる",
		Expired: "この決済画面は期限切れか、すでに使用されています。", Invalid: "決済リクエストが正しくありません。",
		CanceledMsg: "購入者が決済をキャンセルしました。", DeclinedMsg: "カード会社が決済を拒否しました。",
	},
	"zh": {
		Title: "境外卡支付", Banner: "沙盒支付窗口：不会产生实际扣款。",
		Order: "订单", Amount: "支付金额", Estimate: "预估金额 (USD)",
		RateNote: "按沙盒固定汇率 1 USD = 1,380 KRW 估算，实际扣款金额可能不同。",
		Brand:    "卡组织", Approve: "支付", Decline: "模拟发卡机构拒绝", Close: "关闭",
		Expired: "该支付窗口已过期或已被使用。", Invalid: "支付请求无效。",
		CanceledMsg: "买家取消了支付。", DeclinedMsg: "发卡机构拒绝了该支付。",
	},
}

// groupThousands writes n with comma separators.
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func formatKRW(amount int64) string { return "₩" + groupThousands(amount) }

// formatUSDEstimate converts at EstimatedKRWPerUSD, rounded to the cent.
func formatUSDEstimate(amount int64) string {
	cents := (amount*100 + EstimatedKRWPerUSD/2) / EstimatedKRWPerUSD
	return fmt.Sprintf("US$%s.%02d", groupThousands(cents/100), cents%100)
}

type brandChoice struct {
	Value CardBrand
	ID    string
	Label string
}

var brandChoices = []brandChoice{
	{Visa, "visa", "Visa"},
	{Master, "master", "Mastercard"},
	{JCB, "jcb", "JCB"},
}

func setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// No script runs in the window; the form may lead to the merchant's URLs.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action http: https:; base-uri 'none'")
}

func (s *Sandbox) servePage(w http.ResponseWriter, status int, lang, title string, lines ...string) {
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, map[string]any{"Lang": lang, "Title": title, "Lines": lines}); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w.Header())
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Sandbox) serveWindow(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.windowGet(w, r)
	case http.MethodPost:
		s.windowPost(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Sandbox) windowGet(w http.ResponseWriter, r *http.Request) {
	p, lang, err := s.parseWindowParams(r.URL.Query(), r.Header.Get("Accept-Language"))
	t := windowTexts[lang]
	if err != nil {
		s.servePage(w, http.StatusBadRequest, lang, t.Invalid, err.Error())
		return
	}
	now := s.Now()
	id := randomHex(16)
	s.mu.Lock()
	for k, ws := range s.sessions {
		if now.Sub(ws.createdAt) > s.sessionTTL {
			delete(s.sessions, k)
		}
	}
	s.sessions[id] = &windowSession{params: p, createdAt: now}
	s.mu.Unlock()

	var buf bytes.Buffer
	err = windowTmpl.Execute(&buf, map[string]any{
		"Lang":         lang,
		"T":            t,
		"OrderName":    p.OrderName,
		"CustomerName": p.CustomerName,
		"AmountKRW":    formatKRW(p.Amount),
		"AmountUSD":    formatUSDEstimate(p.Amount),
		"ShowEstimate": p.ShowEstimate,
		"Action":       s.baseURL(r) + windowPath,
		"InFrame":      p.InFrame,
		"Session":      id,
		"Brands":       brandChoices,
	})
	if err != nil {
		s.servePage(w, http.StatusInternalServerError, lang, t.Invalid)
		return
	}
	setPageHeaders(w.Header())
	_, _ = w.Write(buf.Bytes())
}

// windowPost acts on a button. The window's parameters come from the
// server-side session, not the form, so a forged form cannot change the
// amount, and each session works once, so a resubmitted form cannot
// approve twice.
func (s *Sandbox) windowPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.servePage(w, http.StatusBadRequest, "ko", windowTexts["ko"].Invalid)
		return
	}
	action := r.PostForm.Get("action")
	brand := CardBrand(r.PostForm.Get("brand"))
	if brand == "" {
		brand = Visa
	}
	if _, ok := cardProfiles[brand]; !ok || (action != "approve" && action != "decline" && action != "close") {
		s.servePage(w, http.StatusBadRequest, "ko", windowTexts["ko"].Invalid)
		return
	}

	now := s.Now()
	id := r.PostForm.Get("session")
	s.mu.Lock()
	ws, ok := s.sessions[id]
	delete(s.sessions, id)
	s.mu.Unlock()
	if !ok || now.Sub(ws.createdAt) > s.sessionTTL {
		lang, _ := pickLang("", r.Header.Get("Accept-Language"))
		s.servePage(w, http.StatusBadRequest, lang, windowTexts[lang].Expired)
		return
	}
	p := ws.params
	t := windowTexts[p.Lang]

	if action == "close" && p.InFrame {
		s.serveUserCancel(w, p)
		return
	}

	var target string
	var err error
	switch action {
	case "approve":
		key := s.Authorize(p.OrderID, p.OrderName, p.Amount, WithCardBrand(brand), WithCustomerName(p.CustomerName))
		target, err = appendQuery(p.SuccessURL, "paymentType", "NORMAL", "orderId", p.OrderID,
			"paymentKey", key, "amount", strconv.FormatInt(p.Amount, 10))
	case "decline":
		target, err = appendQuery(p.FailURL, "code", tossrules.CodeRejectCardCompany, "message", t.DeclinedMsg, "orderId", p.OrderID)
	default:
		// The window replaced the merchant's page (windowTarget "self"), so
		// no Promise is left to reject: Toss reports the close on failUrl,
		// without an orderId (docs/toss-api.md#the-international-card-window).
		target, err = appendQuery(p.FailURL, "code", tossrules.CodePayProcessCanceled, "message", t.CanceledMsg)
	}
	if err != nil {
		s.servePage(w, http.StatusBadRequest, p.Lang, t.Invalid)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// appendQuery appends kv pairs, in order, after raw's own query, as Toss
// does with successUrl and failUrl: the merchant's parameters stay exactly
// as written (order, encoding, even a name Toss also uses, which then
// appears twice), and a fragment stays last.
func appendQuery(raw string, kv ...string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse redirect url: %w", err)
	}
	var b strings.Builder
	b.WriteString(u.RawQuery)
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "&") {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	u.RawQuery, u.ForceQuery = b.String(), false
	return u.String(), nil
}

// userCancelMessage is what the framed window posts to the merchant's page
// when the buyer closes it; sdk.js rejects requestPayment's Promise with
// USER_CANCEL on it.
const userCancelMessage = "tosssandbox:user-cancel"

// userCancelTmpl is the framed window's last page. Its one script posts the
// message to the merchant's page, the only script the window ever runs:
// the data sits in a JSON block (html/template escapes it as a JSON value)
// and the script carries a nonce, so nothing reflected can run.
var userCancelTmpl = template.Must(template.New("cancel").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><main><p id="canceled">{{.Message}}</p></main>
<script type="application/json" id="sandbox-message">{{.Post}}</script>
<script nonce="{{.Nonce}}">
(function () {
  "use strict";
  var m = JSON.parse(document.getElementById("sandbox-message").textContent);
  window.parent.postMessage(m.data, m.targetOrigin);
})();
</script>
</body></html>
`))

// userCancelPost is the JSON block of userCancelTmpl.
type userCancelPost struct {
	Data struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"data"`
	TargetOrigin string `json:"targetOrigin"`
}

// serveUserCancel answers the close button of a framed window. With the
// SDK's Promise flow the real SDK closes its overlay and rejects with
// USER_CANCEL, leaving the buyer on the merchant's page to try again;
// nothing goes to failUrl (docs/toss-api.md#the-international-card-window
// describes the redirect flow's PAY_PROCESS_CANCELED).
func (s *Sandbox) serveUserCancel(w http.ResponseWriter, p windowParams) {
	t := windowTexts[p.Lang]
	var post userCancelPost
	post.Data.Type, post.Data.Code, post.Data.Message = userCancelMessage, "USER_CANCEL", t.CanceledMsg
	post.TargetOrigin = p.ParentOrigin
	nonce := randomHex(16)
	var buf bytes.Buffer
	err := userCancelTmpl.Execute(&buf, map[string]any{
		"Lang": p.Lang, "Title": t.Title, "Message": t.CanceledMsg, "Post": post, "Nonce": nonce,
	})
	if err != nil {
		s.servePage(w, http.StatusInternalServerError, p.Lang, t.Invalid)
		return
	}
	h := w.Header()
	setPageHeaders(h)
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; form-action 'none'; base-uri 'none'")
	_, _ = w.Write(buf.Bytes())
}

// serveReceipt is where a Payment's receipt.url and checkout.url lead.
func (s *Sandbox) serveReceipt(w http.ResponseWriter, r *http.Request) {
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	info, ok := s.Payment(key)
	if !ok {
		s.servePage(w, http.StatusNotFound, "en", "Payment not found")
		return
	}
	lines := []string{
		"Order: " + info.OrderName + " (" + info.OrderID + ")",
		"Amount: " + formatKRW(info.TotalAmount) + ", balance " + formatKRW(info.BalanceAmount),
		"Status: " + info.Status,
		"Card: " + string(info.CardBrand),
	}
	s.servePage(w, http.StatusOK, "en", "Sandbox receipt", lines...)
}

// serveIndex tells a developer who opens the standalone sandbox what it serves.
func (s *Sandbox) serveIndex(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	s.servePage(w, http.StatusOK, "en", "Toss Payments sandbox",
		"API base URL: "+base+" (POST /v1/payments/confirm, GET /v1/payments/{paymentKey}, GET /v1/payments/orders/{orderId}, POST /v1/payments/{paymentKey}/cancel)",
		"SDK stand-in: "+base+"/v2/standard",
		"Client key: "+s.ClientKey(),
		"The secret key is never shown here.")
}
