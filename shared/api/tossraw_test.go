package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tossintl/backend/shared/api"
)

// everyPaymentField is every top-level field of Toss's Payment object
// (API version 2022-11-16) that docs/toss-api.md names, and every field of
// its card: the fixture must carry each, so that a field lost on the way is
// a failed comparison, not a field nobody sent.
var (
	everyPaymentField = []string{
		"paymentKey", "type", "orderId", "orderName", "mId", "currency", "method", "totalAmount",
		"balanceAmount", "suppliedAmount", "vat", "status", "requestedAt", "approvedAt", "card", "cancels",
		"receipt", "checkout", "failure", "country", "lastTransactionKey", "isPartialCancelable", "metadata",
		"version", "cultureExpense", "discount", "useEscrow", "taxExemptionAmount", "taxFreeAmount",
		"virtualAccount", "transfer", "mobilePhone", "giftCertificate", "cashReceipt", "cashReceipts",
		"easyPay", "secret",
	}
	everyCardField = []string{
		"amount", "issuerCode", "acquirerCode", "number", "installmentPlanMonths", "approveNo", "cardType",
		"ownerType", "acquireStatus", "interestPayer", "isInterestFree", "useCardPoint",
	}
)

// tossAnswers is a server in front of the sandbox that answers each
// approved confirm with the fixture's text (Toss's layout: indented, a
// trailing newline, '&' and '<' unescaped, Korean as UTF-8, \u escapes
// in strings) filled with the payment the sandbox approved. It records
// what it sent, per paymentKey.
type tossAnswers struct {
	t        *testing.T
	fixture  string
	mu       sync.Mutex
	answered map[string][]byte
}

func newTossAnswers(t *testing.T) *tossAnswers {
	t.Helper()
	b, err := os.ReadFile("testdata/toss-payment-every-field.json")
	if err != nil {
		t.Fatal(err)
	}
	return &tossAnswers{t: t, fixture: string(b), answered: map[string][]byte{}}
}

// front starts the server in front of the sandbox at sandboxURL.
func (a *tossAnswers) front(sandboxURL string) string {
	target, err := url.Parse(sandboxURL)
	if err != nil {
		a.t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/v1/payments/confirm" || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		var p struct {
			PaymentKey, OrderID string
			TotalAmount         int64
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		vat := (p.TotalAmount*10/11 + 5) / 10
		out := strings.NewReplacer(
			"{{paymentKey}}", p.PaymentKey, "{{orderId}}", p.OrderID,
			"{{amount}}", strconv.FormatInt(p.TotalAmount, 10),
			"{{supplied}}", strconv.FormatInt(p.TotalAmount-vat, 10), "{{vat}}", strconv.FormatInt(vat, 10),
		).Replace(a.fixture)
		a.mu.Lock()
		a.answered[p.PaymentKey] = []byte(out)
		a.mu.Unlock()
		resp.Body = io.NopCloser(strings.NewReader(out))
		resp.ContentLength = int64(len(out))
		resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	a.t.Cleanup(srv.Close)
	return srv.URL
}

// sent is the JSON text Toss answered the confirm of paymentKey with (the
// body without the whitespace around the object, which is no part of it).
func (a *tossAnswers) sent(paymentKey string) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return bytes.TrimSpace(a.answered[paymentKey])
}

func TestTossPaymentFixtureHasEveryDocumentedField(t *testing.T) {
	b, err := os.ReadFile("testdata/toss-payment-every-field.json")
	if err != nil {
		t.Fatal(err)
	}
	filled := strings.NewReplacer("{{amount}}", "1", "{{supplied}}", "1", "{{vat}}", "0").Replace(string(b))
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(filled), &p); err != nil {
		t.Fatal(err)
	}
	var card map[string]json.RawMessage
	if err := json.Unmarshal(p["card"], &card); err != nil {
		t.Fatal(err)
	}
	for _, set := range []struct {
		name   string
		fields []string
		got    map[string]json.RawMessage
	}{{"Payment", everyPaymentField, p}, {"card", everyCardField, card}} {
		for _, f := range set.fields {
			if _, ok := set.got[f]; !ok {
				t.Errorf("the fixture's %s has no %q", set.name, f)
			}
		}
		if len(set.got) != len(set.fields) {
			t.Errorf("the fixture's %s has %d fields, the list %d: keep both to docs/toss-api.md", set.name, len(set.got), len(set.fields))
		}
	}
}

// Every sample route answers a confirm with Toss's own text, byte for
// byte: on the first confirm, on a repeat (a refresh of the success page,
// which never reaches Toss) and on a replay under the same
// Idempotency-Key. Re-encoding Toss's answer from a struct loses every
// field the struct does not model (and reorders, compacts and escapes the
// rest).
func TestTossSampleConfirmAnswersTossBytes(t *testing.T) {
	for _, route := range api.TossSampleRoutes {
		path := strings.TrimPrefix(route, "POST ")
		for _, key := range []string{"", "sample-raw-1"} {
			t.Run(path+" key="+key, func(t *testing.T) {
				answers := newTossAnswers(t)
				h := newHarness(t, withTossFront(answers.front))
				o := h.createOrder("Hanbok rental & tea <2 items>", 39000)
				paymentKey := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
				body, _ := json.Marshal(map[string]any{"paymentKey": paymentKey, "orderId": o.OrderID, "amount": "39000"})
				headers := map[string]string{"content-type": "application/json"}
				if key != "" {
					headers["idempotency-key"] = key
				}
				post := func() string {
					resp := h.call(h.svc.ConfirmHandler(), h.request(rq{Method: "POST", Path: path, Headers: headers, Body: string(body)}))
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("%s: %d %s", path, resp.StatusCode, resp.Body)
					}
					return resp.Body
				}
				first := post()
				want := answers.sent(paymentKey)
				if len(want) == 0 {
					t.Fatal("Toss was not asked")
				}
				if first != string(want) {
					t.Fatalf("the answer is not Toss's text:\n got %s\nwant %s", first, want)
				}
				before := h.tossRequests()
				if again := post(); again != first {
					t.Errorf("repeat:\n got %s\nwant %s", again, first)
				}
				if n := h.tossRequests() - before; n != 0 {
					t.Errorf("the repeat reached Toss %d times", n)
				}
				// The order keeps the text it answers with.
				if raw := h.storedOrder(o.OrderID).Payment.Raw; !bytes.Equal(bytes.TrimSpace(raw), want) {
					t.Errorf("the order keeps %s", raw)
				}
			})
		}
	}
}

// The sample routes are one confirm: a payment confirmed on one is paid
// on the others (the same Payment object, no second confirm at Toss), and
// each refuses what the others refuse, in Toss's error shape.
func TestTossSampleRoutesAnswerAlike(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	paymentKey := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	body, _ := json.Marshal(map[string]any{"paymentKey": paymentKey, "orderId": o.OrderID, "amount": "39000"})
	tampered, _ := json.Marshal(map[string]any{"paymentKey": paymentKey, "orderId": o.OrderID, "amount": "100"})
	var answers []string
	for _, route := range api.TossSampleRoutes {
		path := strings.TrimPrefix(route, "POST ")
		call := func(body []byte) (int, string) {
			resp := h.call(h.svc.ConfirmHandler(), h.request(rq{Method: "POST", Path: path, Headers: map[string]string{"content-type": "application/json"}, Body: string(body)}))
			return resp.StatusCode, resp.Body
		}
		status, got := call(body)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, status, got)
		}
		answers = append(answers, got)
		status, refused := call(tampered)
		var e map[string]any
		if json.Unmarshal([]byte(refused), &e) != nil || status != http.StatusBadRequest || e["code"] != "INVALID_REQUEST" || len(e) != 2 {
			t.Errorf("%s, a tampered amount: %d %s", path, status, refused)
		}
		_, malformed := call([]byte(`{"paymentKey":`))
		if !strings.Contains(malformed, `"code":"INVALID_REQUEST"`) {
			t.Errorf("%s, malformed: %s", path, malformed)
		}
	}
	if len(slices.Compact(slices.Clone(answers))) != 1 {
		t.Errorf("the routes answer differently: %q", answers)
	}
	if n := h.sb.ConfirmsExecuted(o.OrderID); n != 1 {
		t.Errorf("%d confirms executed", n)
	}
}
