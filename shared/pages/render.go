package pages

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
	"time"
)

var (
	//go:embed assets/style.css
	styleCSS string
	//go:embed assets/checkout.js
	checkoutJS string
	//go:embed templates/*.html
	templateFS embed.FS
)

// ErrInvalidView is returned, wrapped with the offending field, when a view
// cannot make a working page: no valid nonce (the page would render but its
// style and script would be blocked), or a checkout that would open the
// window wrongly.
var ErrInvalidView = errors.New("pages: invalid view")

// Page states, for #status's data-state: what browser tests and monitoring
// read instead of the wording.
const (
	StateCheckout      = "checkout"
	StateDone          = "done"
	StateProcessing    = "processing"
	StateDeclined      = "declined"
	StateAmountRefused = "amount-refused"
	StateFail          = "fail"
)

// NoticeKind says which notice to show. Its value is the page's data-state.
type NoticeKind string

// Notices.
const (
	NoticeNotFound    NoticeKind = "not-found"   // no such order (or not the buyer's to see)
	NoticeExpired     NoticeKind = "expired"     // the order can no longer be paid
	NoticeAlreadyPaid NoticeKind = "paid"        // nothing left to pay
	NoticeBadRequest  NoticeKind = "bad-request" // the link is malformed or incomplete
	NoticeUnavailable NoticeKind = "unavailable" // temporary trouble on our side: try again shortly
	// NoticePaymentsUnavailable: Toss refuses the merchant's configuration;
	// nothing was charged and the order stays payable.
	NoticePaymentsUnavailable NoticeKind = "payments-unavailable"
)

// CheckoutView is the order summary page that opens Toss's window.
type CheckoutView struct {
	Lang      Lang
	Nonce     string
	OrderID   string // Toss's rule: 6 to 64 of [A-Za-z0-9_-]
	OrderName string
	Amount    int64  // KRW, > 0
	Currency  string // "KRW" or empty: the international window charges KRW
	// No currency estimate of our own: checkout.js asks Toss's window to show
	// its own (card.showEstimatedAmount), at Toss's current rate.
	ClientKey     string // Toss client key (test_ck_ / live_ck_), public by design
	CustomerKey   string // empty: the SDK's anonymous customer
	CustomerEmail string // optional
	CustomerName  string // optional
	SuccessURL    string // absolute http(s)
	FailURL       string // absolute http(s)
	SDKURL        string // absolute http(s), e.g. https://js.tosspayments.com/v2/standard
}

// ReceiptView is the page after a confirmed payment.
type ReceiptView struct {
	Lang       Lang
	Nonce      string
	OrderID    string
	OrderName  string
	Amount     int64
	Currency   string
	CardNumber string    // masked, as Toss returns it
	CardIssuer string    // Toss's card company code (Payment.card.issuerCode, e.g. "4V"); empty when unknown
	ApprovedAt time.Time // zero hides it; shown in KST
	ReceiptURL string    // Toss's receipt; empty hides the link
}

// ProcessingView is shown while a payment's outcome is not yet known; it
// refreshes itself and offers a link to check at once.
type ProcessingView struct {
	Lang           Lang
	Nonce          string
	OrderID        string
	RefreshURL     string // a same-site path or an absolute http(s) URL; empty: this page
	RefreshSeconds int    // ≤ 0: DefaultRefreshSeconds
}

// DeclinedView is shown when Toss declined the confirm: nothing was taken,
// and the buyer may try again, perhaps with another card.
type DeclinedView struct {
	Lang     Lang
	Nonce    string
	OrderID  string
	Code     string // Toss's error code
	Message  string // Toss's message, shown as bounded text
	RetryURL string // empty hides the retry link
}

// AmountRefusedView is shown when the success redirect's amount did not
// match the order's: the confirm was never sent, nothing was charged.
type AmountRefusedView struct {
	Lang        Lang
	Nonce       string
	OrderID     string
	CheckoutURL string
}

// FailView is the failUrl page. Code and Message come straight from the
// redirect's query, which anyone can write.
type FailView struct {
	Lang        Lang
	Nonce       string
	Code        string
	Message     string
	CheckoutURL string // empty hides the retry link
}

// NoticeView is a short friendly page for everything else. Links appear for
// the URLs that are set; which ones fit a kind is the caller's call.
type NoticeView struct {
	Lang        Lang
	Nonce       string
	Kind        NoticeKind // unknown kinds read as NoticeUnavailable
	OrderID     string
	CheckoutURL string
	ReceiptURL  string
}

// Refresh bounds for the processing page: often enough that the buyer sees
// the outcome soon, rarely enough not to hammer the lookup behind it.
const (
	DefaultRefreshSeconds = 3
	maxRefreshSeconds     = 300
)

// Link ids browser tests rely on.
const (
	idRetry   = "retry"
	idBack    = "back"
	idReceipt = "receipt"
)

// page is what the templates see: display-ready values only, so they hold
// no logic beyond "show if set". Every string is escaped by html/template for
// the place it lands in; only the package's own CSS and script are typed as
// trusted.
type page struct {
	kind     pageKind
	HTMLLang string
	T        *text
	Nonce    string
	CSS      template.CSS // styleCSS
	State    string
	Code     string
	Title    string

	Lead    string
	Message string
	OrderID string
	Links   []link

	OrderName, Amount, PayLabel string
	SDKURL                      string
	Data                        *checkoutData // escaped by html/template as a JSON value
	JS                          template.JS   // checkoutJS

	CardNumber, CardIssuer, ApprovedAt, ApprovedAtISO, ReceiptURL string

	RefreshSeconds int
	RefreshURL     string
}

// pageKind picks the body a page gets inside the layout.
type pageKind int

const (
	kindMessage pageKind = iota // declined, amount refused, fail, notices
	kindCheckout
	kindReceipt
	kindProcessing
)

// bodyFiles is the template in templates/ that defines each kind's "body"
// (and, for the checkout page, "scripts"); layout.html frames them all.
var bodyFiles = [...]string{
	kindMessage:    "message.html",
	kindCheckout:   "checkout.html",
	kindReceipt:    "receipt.html",
	kindProcessing: "processing.html",
}

// The templates are parsed on first use: functions that link this package
// only to answer JSON never pay for parsing. A parse error is a bug in the
// embedded templates, which every render test would report.
//
// A sync.Once called from render, rather than a package-level
// sync.OnceValues(parseTemplates): that would make the parser and the
// embedded templates reachable from this package's initialisation, so the
// linker would keep them (256 KiB, measured) in functions that never render.
var (
	templatesOnce sync.Once
	templates     [len(bodyFiles)]*template.Template
	templatesErr  error
)

func pageTemplates() ([len(bodyFiles)]*template.Template, error) {
	templatesOnce.Do(func() { templates, templatesErr = parseTemplates() })
	return templates, templatesErr
}

func parseTemplates() ([len(bodyFiles)]*template.Template, error) {
	var ts [len(bodyFiles)]*template.Template
	for kind, file := range bodyFiles {
		// Each kind gets its own set, because every body template defines
		// the same names.
		t, err := template.New(file).ParseFS(templateFS, "templates/layout.html", "templates/"+file)
		if err != nil {
			return ts, fmt.Errorf("pages: parse template %s: %w", file, err)
		}
		ts[kind] = t
	}
	return ts, nil
}

type link struct {
	ID, Href, Text string
	Primary        bool
}

// checkoutData is the JSON the checkout script reads.
type checkoutData struct {
	ClientKey     string        `json:"clientKey"`
	CustomerKey   string        `json:"customerKey,omitempty"`
	Amount        int64         `json:"amount"`
	Currency      string        `json:"currency"`
	OrderID       string        `json:"orderId"`
	OrderName     string        `json:"orderName"`
	SuccessURL    string        `json:"successUrl"`
	FailURL       string        `json:"failUrl"`
	CustomerEmail string        `json:"customerEmail,omitempty"`
	CustomerName  string        `json:"customerName,omitempty"`
	Language      string        `json:"language"`
	Text          checkoutTexts `json:"text"`
}

type checkoutTexts struct {
	Load     string `json:"load"`
	Request  string `json:"request"`
	Canceled string `json:"canceled"`
	Busy     string `json:"busy"`
	Detail   string `json:"detail"`
}

func newPage(l Lang, nonce, state string) (*page, error) {
	if !validNonce(nonce) {
		return nil, fmt.Errorf("%w: nonce must be base64, 16 to 128 characters (use NewNonce)", ErrInvalidView)
	}
	l = l.orDefault()
	return &page{HTMLLang: l.HTMLLang(), T: texts()[l], Nonce: nonce, CSS: template.CSS(styleCSS), State: state}, nil
}

// shownOrderID hides an id that is not a valid order id (see validOrderID).
func shownOrderID(id string) string {
	if validOrderID(id) {
		return id
	}
	return ""
}

// checkoutPage builds the Checkout page.
func checkoutPage(v CheckoutView) (*page, error) {
	p, err := newPage(v.Lang, v.Nonce, StateCheckout)
	if err != nil {
		return nil, err
	}
	// These would otherwise surface only when a buyer taps the button, as a
	// window that refuses to open or, worse, charges the wrong currency.
	switch {
	case v.Amount <= 0:
		return nil, fmt.Errorf("%w: amount %d is not positive", ErrInvalidView, v.Amount)
	case v.Currency != "" && v.Currency != "KRW":
		return nil, fmt.Errorf("%w: currency %q: the international window charges KRW only", ErrInvalidView, v.Currency)
	case !validOrderID(v.OrderID):
		return nil, fmt.Errorf("%w: order id %q", ErrInvalidView, v.OrderID)
	case strings.TrimSpace(v.OrderName) == "":
		return nil, fmt.Errorf("%w: empty order name", ErrInvalidView)
	case v.ClientKey == "":
		return nil, fmt.Errorf("%w: empty client key", ErrInvalidView)
	case !absoluteHTTPURL(v.SuccessURL), !absoluteHTTPURL(v.FailURL):
		return nil, fmt.Errorf("%w: success and fail URLs must be absolute http(s) URLs", ErrInvalidView)
	case !absoluteHTTPURL(v.SDKURL):
		return nil, fmt.Errorf("%w: SDK URL must be an absolute http(s) URL", ErrInvalidView)
	}
	l := v.Lang.orDefault()
	t := p.T
	amount := FormatAmount(l, v.Amount, "KRW")
	p.Title = t.CheckoutTitle
	p.OrderID = v.OrderID
	p.OrderName = v.OrderName
	p.Amount = amount
	p.PayLabel = fmt.Sprintf(t.PayFmt, amount)
	p.SDKURL = v.SDKURL
	p.JS = template.JS(checkoutJS)
	p.Data = &checkoutData{
		ClientKey:     v.ClientKey,
		CustomerKey:   v.CustomerKey,
		Amount:        v.Amount,
		Currency:      "KRW",
		OrderID:       v.OrderID,
		OrderName:     v.OrderName,
		SuccessURL:    v.SuccessURL,
		FailURL:       v.FailURL,
		CustomerEmail: v.CustomerEmail,
		CustomerName:  v.CustomerName,
		Language:      l.TossCode(),
		Text: checkoutTexts{
			Load:     t.ErrLoad,
			Request:  t.ErrRequest,
			Canceled: t.ErrCanceled,
			Busy:     t.PayBusy,
			Detail:   t.ErrDetail,
		},
	}
	p.kind = kindCheckout
	return p, nil
}

// receiptPage builds the Receipt page.
func receiptPage(v ReceiptView) (*page, error) {
	p, err := newPage(v.Lang, v.Nonce, StateDone)
	if err != nil {
		return nil, err
	}
	l := v.Lang.orDefault()
	p.Title = p.T.ReceiptTitle
	p.OrderID = shownOrderID(v.OrderID)
	p.OrderName = v.OrderName
	p.Amount = FormatAmount(l, v.Amount, v.Currency)
	p.CardNumber = cleanMessage(v.CardNumber, 32)
	// The buyer reads a name ("Visa", "신한카드"), not Toss's code.
	p.CardIssuer = cardCompanyName(l, v.CardIssuer)
	if !v.ApprovedAt.IsZero() {
		p.ApprovedAt = formatApproval(l, v.ApprovedAt)
		p.ApprovedAtISO = v.ApprovedAt.In(kst).Format(time.RFC3339)
	}
	p.ReceiptURL = vetHref(v.ReceiptURL)
	p.kind = kindReceipt
	return p, nil
}

// processingPage builds the Processing page.
func processingPage(v ProcessingView) (*page, error) {
	p, err := newPage(v.Lang, v.Nonce, StateProcessing)
	if err != nil {
		return nil, err
	}
	p.Title = p.T.ProcessingTitle
	p.OrderID = shownOrderID(v.OrderID)
	p.RefreshSeconds = v.RefreshSeconds
	if p.RefreshSeconds <= 0 {
		p.RefreshSeconds = DefaultRefreshSeconds
	}
	p.RefreshSeconds = min(p.RefreshSeconds, maxRefreshSeconds)
	p.RefreshURL = refreshTarget(v.RefreshURL)
	p.kind = kindProcessing
	return p, nil
}

// declinedPage builds the Declined page.
func declinedPage(v DeclinedView) (*page, error) {
	p, err := newPage(v.Lang, v.Nonce, StateDeclined)
	if err != nil {
		return nil, err
	}
	t := p.T
	p.Code = cleanCode(v.Code)
	p.Title, p.Lead = t.DeclinedTitle, t.TryAgainOrOtherCard
	if p.Code == "REJECT_CARD_COMPANY" {
		p.Title, p.Lead = t.RejectedTitle, t.RejectedLead
	}
	p.Message = cleanMessage(v.Message, maxMessageRunes)
	p.OrderID = shownOrderID(v.OrderID)
	p.Links = appendLink(p.Links, idRetry, v.RetryURL, t.TryAgain, true)
	p.kind = kindMessage
	return p, nil
}

// amountRefusedPage builds the AmountRefused page.
func amountRefusedPage(v AmountRefusedView) (*page, error) {
	p, err := newPage(v.Lang, v.Nonce, StateAmountRefused)
	if err != nil {
		return nil, err
	}
	t := p.T
	p.Title, p.Lead = t.AmountRefusedTitle, t.AmountRefusedLead
	p.OrderID = shownOrderID(v.OrderID)
	p.Links = appendLink(p.Links, idBack, v.CheckoutURL, t.BackToCheckout, true)
	p.kind = kindMessage
	return p, nil
}

// failPage builds the Fail page.
func failPage(v FailView) (*page, error) {
	p, err := newPage(v.Lang, v.Nonce, StateFail)
	if err != nil {
		return nil, err
	}
	t := p.T
	p.Code = cleanCode(v.Code)
	switch p.Code {
	case "PAY_PROCESS_CANCELED":
		p.Title, p.Lead = t.CanceledTitle, t.ErrCanceled
	case "PAY_PROCESS_ABORTED":
		p.Title, p.Lead = t.AbortedTitle, t.TryAgainOrOtherCard
	case "REJECT_CARD_COMPANY":
		p.Title, p.Lead = t.RejectedTitle, t.RejectedLead
	default:
		p.Title, p.Lead = t.FailTitle, t.FailLead
	}
	p.Message = cleanMessage(v.Message, maxMessageRunes)
	p.Links = appendLink(p.Links, idRetry, v.CheckoutURL, t.TryAgain, true)
	p.kind = kindMessage
	return p, nil
}

// noticePage builds the Notice page.
func noticePage(v NoticeView) (*page, error) {
	kind := v.Kind
	switch kind {
	case NoticeNotFound, NoticeExpired, NoticeAlreadyPaid, NoticeBadRequest, NoticeUnavailable, NoticePaymentsUnavailable:
	default:
		kind = NoticeUnavailable
	}
	p, err := newPage(v.Lang, v.Nonce, string(kind))
	if err != nil {
		return nil, err
	}
	t := p.T
	switch kind {
	case NoticeNotFound:
		p.Title, p.Lead = t.NotFoundTitle, t.NotFoundLead
	case NoticeExpired:
		p.Title, p.Lead = t.ExpiredTitle, t.ExpiredLead
	case NoticeAlreadyPaid:
		p.Title, p.Lead = t.PaidTitle, t.PaidLead
	case NoticeBadRequest:
		p.Title, p.Lead = t.BadRequestTitle, t.BadRequestLead
	case NoticePaymentsUnavailable:
		p.Title, p.Lead = t.NoPaymentsTitle, t.NoPaymentsLead
	default:
		p.Title, p.Lead = t.UnavailableTitle, t.UnavailableLead
	}
	p.OrderID = shownOrderID(v.OrderID)
	p.Links = appendLink(p.Links, idReceipt, v.ReceiptURL, t.ViewReceipt, true)
	p.Links = appendLink(p.Links, idBack, v.CheckoutURL, t.BackToCheckout, len(p.Links) == 0)
	p.kind = kindMessage
	return p, nil
}

// Checkout renders the checkout page.
func Checkout(w io.Writer, v CheckoutView) error {
	p, err := checkoutPage(v)
	if err != nil {
		return err
	}
	return render(w, p)
}

// Receipt renders the page for a completed payment.
func Receipt(w io.Writer, v ReceiptView) error {
	p, err := receiptPage(v)
	if err != nil {
		return err
	}
	return render(w, p)
}

// Processing renders the self-refreshing page for an outcome not yet known.
func Processing(w io.Writer, v ProcessingView) error {
	p, err := processingPage(v)
	if err != nil {
		return err
	}
	return render(w, p)
}

// Declined renders the page for a confirm Toss declined.
func Declined(w io.Writer, v DeclinedView) error {
	p, err := declinedPage(v)
	if err != nil {
		return err
	}
	return render(w, p)
}

// AmountRefused renders the page for a success redirect whose amount did
// not match the order.
func AmountRefused(w io.Writer, v AmountRefusedView) error {
	p, err := amountRefusedPage(v)
	if err != nil {
		return err
	}
	return render(w, p)
}

// Fail renders the failUrl page, with guidance chosen by Toss's code.
func Fail(w io.Writer, v FailView) error {
	p, err := failPage(v)
	if err != nil {
		return err
	}
	return render(w, p)
}

// Notice renders a friendly notice.
func Notice(w io.Writer, v NoticeView) error {
	p, err := noticePage(v)
	if err != nil {
		return err
	}
	return render(w, p)
}

// appendLink adds a link if href is one a link may point to (vetHref): a
// link to anywhere else is left out rather than shown dead (html/template
// would write it as href="#ZgotmplZ").
func appendLink(links []link, id, href, label string, primary bool) []link {
	href = vetHref(href)
	if href == "" {
		return links
	}
	return append(links, link{ID: id, Href: href, Text: label, Primary: primary})
}

// bufPool recycles render buffers: a page is a few kilobytes, rendered on
// every request.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes the page into a buffer first, so a failed render never
// leaves half a page on the wire and the caller can still answer with an
// error.
func render(w io.Writer, p *page) error {
	ts, err := pageTemplates()
	if err != nil {
		return err
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 { // keep one odd huge page from pinning memory
			bufPool.Put(buf)
		}
	}()
	if err := ts[p.kind].ExecuteTemplate(buf, "layout", p); err != nil {
		return fmt.Errorf("pages: render %s page: %w", p.State, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("pages: write %s page: %w", p.State, err)
	}
	return nil
}
