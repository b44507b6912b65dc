package tosstest

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/tools/tossrules"
)

func TestAuth(t *testing.T) {
	s := NewServer(t)
	b64 := func(v string) string { return base64.StdEncoding.EncodeToString([]byte(v)) }
	tests := []struct {
		name     string
		auth     string
		wantCode int
		wantErr  string
	}{
		{"secret key with colon", basicAuth(DefaultSecretKey), http.StatusNotFound, tossrules.CodeNotFoundPayment},
		{"scheme in lower case", "basic " + b64(DefaultSecretKey+":"), http.StatusNotFound, tossrules.CodeNotFoundPayment},
		{"password part ignored", "Basic " + b64(DefaultSecretKey+":x"), http.StatusNotFound, tossrules.CodeNotFoundPayment},
		{"no header", "", http.StatusUnauthorized, tossrules.CodeUnauthorizedKey},
		{"wrong key", basicAuth("test_sk_sandbox_wrong"), http.StatusUnauthorized, tossrules.CodeUnauthorizedKey},
		{"client key instead of secret key", basicAuth(DefaultClientKey), http.StatusUnauthorized, tossrules.CodeUnauthorizedKey},
		{"missing colon", "Basic " + b64(DefaultSecretKey), http.StatusForbidden, tossrules.CodeIncorrectBasicAuthFormat},
		{"wrong key without colon", "Basic " + b64("test_sk_other"), http.StatusForbidden, tossrules.CodeIncorrectBasicAuthFormat},
		{"bearer scheme", "Bearer " + DefaultSecretKey, http.StatusUnauthorized, tossrules.CodeUnauthorizedKey},
		{"not base64", "Basic !!!not-base64!!!", http.StatusUnauthorized, tossrules.CodeUnauthorizedKey},
		{"raw key not encoded", "Basic " + DefaultSecretKey + ":", http.StatusUnauthorized, tossrules.CodeUnauthorizedKey},
		{"UTF-8 BOM encoded with the key", "Basic " + b64("\ufeff"+DefaultSecretKey+":"), http.StatusUnauthorized, tossrules.CodeUnauthorizedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/tgen_unknown", Header: map[string]string{"Authorization": tt.auth}})
			wantError(t, a, tt.wantCode, tt.wantErr)
		})
	}
}

func TestRotateSecretKey(t *testing.T) {
	s := NewServer(t)
	old := s.SecretKey()
	key := s.Authorize("order-rotate-1", "Tea", 5000)
	get := func(secret string) answer {
		return mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/" + key, Header: map[string]string{"Authorization": basicAuth(secret)}})
	}
	wantOK(t, get(old))

	const rotated = "test_sk_sandbox_rotated_1111"
	s.RotateSecretKey(rotated)
	wantError(t, get(old), http.StatusUnauthorized, tossrules.CodeUnauthorizedKey)
	a := get(rotated)
	wantOK(t, a) // payments belong to the merchant and survive the rotation
	if s.SecretKey() != rotated {
		t.Fatalf("SecretKey() = %q after rotation", s.SecretKey())
	}
}

func TestConfirmHappyPath(t *testing.T) {
	for _, tt := range []struct {
		name, acceptLanguage, method, cardType, ownerType string
	}{
		{"korean", "", "카드", "신용", "개인"},
		{"english", "en-US", "card", "credit", "personal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t)
			key := s.Authorize("order-happy-1", "Korean tea set <gift>", 15000, WithCardBrand(Master))
			c := confirmCall(key, "order-happy-1", 15000, "idem-happy-1")
			c.Header["Accept-Language"] = tt.acceptLanguage
			a := mustSend(t, s, c)
			wantOK(t, a)

			wantStr := map[string]string{
				"version": PaymentVersion, "paymentKey": key, "type": "NORMAL", "orderId": "order-happy-1",
				"orderName": "Korean tea set <gift>", "mId": DefaultMID, "currency": "KRW", "method": tt.method,
				"status": StatusDone, "country": "KR",
			}
			for k, want := range wantStr {
				if got := a.str(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if a.num("totalAmount") != 15000 || a.num("balanceAmount") != 15000 {
				t.Errorf("amounts: total %d balance %d", a.num("totalAmount"), a.num("balanceAmount"))
			}
			if a.num("vat") != 1364 || a.num("suppliedAmount") != 13636 {
				t.Errorf("vat %d supplied %d, want 1364 and 13636", a.num("vat"), a.num("suppliedAmount"))
			}
			for _, k := range []string{"requestedAt", "approvedAt"} {
				v := a.str(k)
				if !strings.HasSuffix(v, "+09:00") {
					t.Errorf("%s = %q, want a +09:00 offset", k, v)
				}
				if _, err := time.Parse(time.RFC3339, v); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			}
			for _, k := range []string{"easyPay", "cancels", "failure", "virtualAccount", "transfer", "metadata"} {
				v, present := a.JSON[k]
				if !present || v != nil {
					t.Errorf("%s = %v (present %v), want null", k, v, present)
				}
			}
			for _, k := range []string{"receipt", "checkout"} {
				obj, _ := a.JSON[k].(map[string]any)
				if u, _ := obj["url"].(string); !strings.HasPrefix(u, s.URL+"/") {
					t.Errorf("%s.url = %q, want under %s", k, u, s.URL)
				}
			}
			card, _ := a.JSON["card"].(map[string]any)
			if card == nil {
				t.Fatalf("no card: %s", a.Body)
			}
			if card["amount"] != float64(15000) || card["installmentPlanMonths"] != float64(0) ||
				card["issuerCode"] != "4M" || card["acquirerCode"] != "4M" || card["acquireStatus"] != "READY" ||
				card["cardType"] != tt.cardType || card["ownerType"] != tt.ownerType {
				t.Errorf("card = %v", card)
			}
			if n, _ := card["number"].(string); !regexp.MustCompile(`^\d{7}\*{4}\d{4}$`).MatchString(n) {
				t.Errorf("card.number = %q, want masked like 4330123****1234", n)
			}
			if n, _ := card["approveNo"].(string); !regexp.MustCompile(`^\d{8}$`).MatchString(n) {
				t.Errorf("card.approveNo = %q", n)
			}
			if a.str("lastTransactionKey") == "" {
				t.Error("no lastTransactionKey")
			}

			if got := s.ConfirmsExecuted("order-happy-1"); got != 1 {
				t.Errorf("ConfirmsExecuted = %d, want 1", got)
			}
			info, ok := s.Payment(key)
			if !ok || info.Status != StatusDone || info.ApprovedAt.IsZero() || info.CardBrand != Master {
				t.Errorf("Payment = %+v, %v", info, ok)
			}
		})
	}
}

func TestConfirmRejections(t *testing.T) {
	const order, amount = "order-reject-1", int64(15000)
	tests := []struct {
		name     string
		body     func(key string) string
		wantCode int
		wantErr  string
	}{
		{"not json", func(string) string { return `{"paymentKey":` }, 400, tossrules.CodeInvalidRequest},
		{"empty body", func(string) string { return `` }, 400, tossrules.CodeInvalidRequest},
		{"missing paymentKey", func(string) string { return `{"orderId":"order-reject-1","amount":15000}` }, 400, tossrules.CodeInvalidRequest},
		{"paymentKey over 200", func(string) string { return confirmJSON(strings.Repeat("k", 201), order, amount) }, 400, tossrules.CodeInvalidRequest},
		{"paymentKey not a string", func(string) string { return `{"paymentKey":12,"orderId":"order-reject-1","amount":15000}` }, 400, tossrules.CodeInvalidRequest},
		{"orderId too short", func(k string) string { return confirmJSON(k, "ab-12", amount) }, 400, tossrules.CodeInvalidRequest},
		{"orderId too long", func(k string) string { return confirmJSON(k, strings.Repeat("a", 65), amount) }, 400, tossrules.CodeInvalidRequest},
		{"orderId bad character", func(k string) string { return confirmJSON(k, "order#reject", amount) }, 400, tossrules.CodeInvalidRequest},
		{"amount zero", func(k string) string { return confirmJSON(k, order, 0) }, 400, tossrules.CodeInvalidRequest},
		{"amount negative", func(k string) string { return confirmJSON(k, order, -15000) }, 400, tossrules.CodeInvalidRequest},
		{"amount as a formatted string", func(k string) string {
			return `{"paymentKey":"` + k + `","orderId":"order-reject-1","amount":"15,000"}`
		}, 400, tossrules.CodeInvalidRequest},
		{"amount as a signed string", func(k string) string {
			return `{"paymentKey":"` + k + `","orderId":"order-reject-1","amount":"+15000"}`
		}, 400, tossrules.CodeInvalidRequest},
		{"amount as an empty string", func(k string) string { return `{"paymentKey":"` + k + `","orderId":"order-reject-1","amount":""}` }, 400, tossrules.CodeInvalidRequest},
		{"amount fractional", func(k string) string { return `{"paymentKey":"` + k + `","orderId":"order-reject-1","amount":15000.5}` }, 400, tossrules.CodeInvalidRequest},
		{"amount exponent", func(k string) string { return `{"paymentKey":"` + k + `","orderId":"order-reject-1","amount":1.5e4}` }, 400, tossrules.CodeInvalidRequest},
		{"amount missing", func(k string) string { return `{"paymentKey":"` + k + `","orderId":"order-reject-1"}` }, 400, tossrules.CodeInvalidRequest},
		{"unknown paymentKey", func(string) string { return confirmJSON("tgen_20250101000000unknown", order, amount) }, 404, tossrules.CodeNotFoundPaymentSession},
		{"orderId differs", func(k string) string { return confirmJSON(k, "order-other-1", amount) }, 403, tossrules.CodeForbiddenRequest},
		{"amount tampered lower", func(k string) string { return confirmJSON(k, order, 100) }, 400, tossrules.CodeInvalidRequest},
		{"amount tampered higher", func(k string) string { return confirmJSON(k, order, 15001) }, 400, tossrules.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t)
			key := s.Authorize(order, "Tea", amount)
			a := mustSend(t, s, call{Method: http.MethodPost, Path: "/v1/payments/confirm", Body: tt.body(key)})
			wantError(t, a, tt.wantCode, tt.wantErr)
			if n := s.ConfirmsExecuted(order); n != 0 {
				t.Errorf("ConfirmsExecuted = %d after a rejection", n)
			}
			if info, _ := s.Payment(key); info.Status != StatusInProgress {
				t.Errorf("status = %s after a rejection", info.Status)
			}
			// The rejection cost nothing: the genuine confirm still works.
			wantOK(t, mustSend(t, s, confirmCall(key, order, amount, "")))
		})
	}
}

// Toss's sample frontends send the amount as the string they read from the
// success URL, and Toss confirms it: so does the sandbox.
func TestConfirmAmountAsDigitString(t *testing.T) {
	s := NewServer(t)
	key := s.Authorize("order-string-1", "Tea", 15000)
	wantOK(t, mustSend(t, s, call{Method: http.MethodPost, Path: "/v1/payments/confirm",
		Body: `{"paymentKey":"` + key + `","orderId":"order-string-1","amount":"15000"}`}))
	if n := s.ConfirmsExecuted("order-string-1"); n != 1 {
		t.Fatalf("ConfirmsExecuted = %d", n)
	}
}

func TestConfirmSessionWindow(t *testing.T) {
	tests := []struct {
		name       string
		ttl        time.Duration
		advance    time.Duration
		wantStatus int
		wantCode   string
		wantRead   string // status GET answers before the confirm
	}{
		{"just authenticated", 0, 0, 200, "", StatusInProgress},
		{"nine minutes later", 0, 9 * time.Minute, 200, "", StatusInProgress},
		{"exactly ten minutes later", 0, 10 * time.Minute, 200, "", StatusInProgress},
		{"ten minutes and a second later", 0, 10*time.Minute + time.Second, 404, tossrules.CodeNotFoundPaymentSession, StatusExpired},
		{"a day later", 0, 24 * time.Hour, 404, tossrules.CodeNotFoundPaymentSession, StatusExpired},
		{"custom window of one minute", time.Minute, 2 * time.Minute, 404, tossrules.CodeNotFoundPaymentSession, StatusExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t, WithClock(fixedClock()), WithSessionTTL(tt.ttl))
			key := s.Authorize("order-window-1", "Tea", 9900)
			s.Advance(tt.advance)
			read := mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/" + key})
			wantOK(t, read)
			if read.str("status") != tt.wantRead {
				t.Errorf("status before confirm = %s, want %s", read.str("status"), tt.wantRead)
			}
			a := mustSend(t, s, confirmCall(key, "order-window-1", 9900, ""))
			if tt.wantCode == "" {
				wantOK(t, a)
				return
			}
			wantError(t, a, tt.wantStatus, tt.wantCode)
			if s.ConfirmsExecuted("order-window-1") != 0 {
				t.Error("an expired session was confirmed")
			}
		})
	}
}

func TestAlreadyProcessed(t *testing.T) {
	s := NewServer(t)
	const order = "order-twice-1"
	key := s.Authorize(order, "Tea", 20000)
	wantOK(t, mustSend(t, s, confirmCall(key, order, 20000, "first-key")))

	for _, tt := range []struct{ name, idem string }{
		{"another idempotency key", "second-key"},
		{"no idempotency key", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, mustSend(t, s, confirmCall(key, order, 20000, tt.idem)), 400, tossrules.CodeAlreadyProcessedPayment)
		})
	}
	if n := s.ConfirmsExecuted(order); n != 1 {
		t.Fatalf("ConfirmsExecuted = %d, want 1", n)
	}
}

func TestOneApprovedPaymentPerOrder(t *testing.T) {
	s := NewServer(t)
	const order = "order-retry-1"
	// The buyer's card was declined in the window, so they tried again:
	// the order now has two authenticated payments.
	first := s.Authorize(order, "Tea", 30000)
	second := s.Authorize(order, "Tea", 30000, WithCardBrand(JCB))

	byOrder := mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/orders/" + order})
	wantOK(t, byOrder)
	if byOrder.str("paymentKey") != second || byOrder.str("status") != StatusInProgress {
		t.Fatalf("before any confirm, the order reads as %s %s, want the latest attempt", byOrder.str("paymentKey"), byOrder.str("status"))
	}

	wantOK(t, mustSend(t, s, confirmCall(first, order, 30000, "")))
	wantError(t, mustSend(t, s, confirmCall(second, order, 30000, "")), 400, tossrules.CodeAlreadyProcessedPayment)
	if n := s.ConfirmsExecuted(order); n != 1 {
		t.Fatalf("ConfirmsExecuted = %d, want 1", n)
	}

	byOrder = mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/orders/" + order})
	wantOK(t, byOrder)
	if byOrder.str("paymentKey") != first || byOrder.str("status") != StatusDone {
		t.Fatalf("the order reads as %s %s, want the approved payment", byOrder.str("paymentKey"), byOrder.str("status"))
	}
	if ps := s.OrderPayments(order); len(ps) != 2 || ps[1].Status != StatusInProgress {
		t.Fatalf("OrderPayments = %+v", ps)
	}
}

func TestGetPayment(t *testing.T) {
	s := NewServer(t)
	key := s.Authorize("order-get-1", "Tea", 1000)
	tests := []struct {
		name, path string
		wantStatus int
		wantCode   string
		wantKey    string
	}{
		{"by paymentKey", "/v1/payments/" + key, 200, "", key},
		{"by orderId", "/v1/payments/orders/order-get-1", 200, "", key},
		{"unknown paymentKey", "/v1/payments/tgen_nope", 404, tossrules.CodeNotFoundPayment, ""},
		{"unknown orderId", "/v1/payments/orders/order-none-1", 404, tossrules.CodeNotFoundPayment, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustSend(t, s, call{Method: http.MethodGet, Path: tt.path})
			if tt.wantCode != "" {
				wantError(t, a, tt.wantStatus, tt.wantCode)
				return
			}
			wantOK(t, a)
			if a.str("paymentKey") != tt.wantKey || a.str("status") != StatusInProgress {
				t.Fatalf("got %s", a.Body)
			}
			if v, present := a.JSON["approvedAt"]; !present || v != nil {
				t.Errorf("approvedAt = %v, want null before the confirm", v)
			}
			if v, present := a.JSON["card"]; !present || v != nil {
				t.Errorf("card = %v, want null before the confirm", v)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	s := NewServer(t)
	tests := []struct {
		method, path string
		wantStatus   int
		wantCode     string
	}{
		{http.MethodGet, "/v1/payments/confirm", 405, tossrules.CodeMethodNotAllowed},
		{http.MethodPost, "/v1/payments/tgen_x", 405, tossrules.CodeMethodNotAllowed},
		{http.MethodGet, "/v1/payments/tgen_x/cancel", 405, tossrules.CodeMethodNotAllowed},
		{http.MethodPost, "/v1/payments/orders/order-1234", 405, tossrules.CodeMethodNotAllowed},
		{http.MethodGet, "/v1/payments/", 404, tossrules.CodeNotFound},
		{http.MethodGet, "/v1/billing/x", 404, tossrules.CodeNotFound},
		{http.MethodGet, "/v1/payments/a/b/c", 404, tossrules.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			wantError(t, mustSend(t, s, call{Method: tt.method, Path: tt.path, Body: "{}"}), tt.wantStatus, tt.wantCode)
		})
	}
}

func TestCancel(t *testing.T) {
	type step struct {
		body        string
		wantStatus  int
		wantCode    string
		wantPayment string // payment status after the step
		wantBalance int64
	}
	reason := func(amount string) string {
		if amount == "" {
			return `{"cancelReason":"buyer asked"}`
		}
		return `{"cancelReason":"buyer asked","cancelAmount":` + amount + `}`
	}
	tests := []struct {
		name    string
		confirm bool
		steps   []step
	}{
		{"full", true, []step{
			{reason(""), 200, "", StatusCanceled, 0},
			{reason(""), 400, tossrules.CodeAlreadyCanceledPayment, StatusCanceled, 0},
			{reason("1000"), 400, tossrules.CodeAlreadyCanceledPayment, StatusCanceled, 0},
		}},
		{"null amount is full", true, []step{
			{`{"cancelReason":"r","cancelAmount":null}`, 200, "", StatusCanceled, 0},
		}},
		{"partial to zero", true, []step{
			{reason("4000"), 200, "", StatusPartialCanceled, 6000},
			{reason("6001"), 403, tossrules.CodeNotCancelableAmount, StatusPartialCanceled, 6000},
			{reason("1000"), 200, "", StatusPartialCanceled, 5000},
			{reason(""), 200, "", StatusCanceled, 0},
			{reason("1"), 400, tossrules.CodeAlreadyCanceledPayment, StatusCanceled, 0},
		}},
		{"over balance", true, []step{
			{reason("10001"), 403, tossrules.CodeNotCancelableAmount, StatusDone, 10000},
		}},
		{"not confirmed", false, []step{
			{reason(""), 403, tossrules.CodeNotCancelablePayment, StatusInProgress, 10000},
		}},
		{"invalid bodies", true, []step{
			{`{}`, 400, tossrules.CodeInvalidRequest, StatusDone, 10000},
			{`{"cancelReason":"   "}`, 400, tossrules.CodeInvalidRequest, StatusDone, 10000},
			{`{"cancelReason":"` + strings.Repeat("이", 201) + `"}`, 400, tossrules.CodeInvalidRequest, StatusDone, 10000},
			{reason("0"), 400, tossrules.CodeInvalidRequest, StatusDone, 10000},
			{reason("-5"), 400, tossrules.CodeInvalidRequest, StatusDone, 10000},
			{reason(`"500"`), 400, tossrules.CodeInvalidRequest, StatusDone, 10000},
			{`not json`, 400, tossrules.CodeInvalidRequest, StatusDone, 10000},
			{`{"cancelReason":"` + strings.Repeat("이", 200) + `","cancelAmount":1}`, 200, "", StatusPartialCanceled, 9999},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t)
			key := s.Authorize("order-cancel-1", "Tea", 10000)
			if tt.confirm {
				wantOK(t, mustSend(t, s, confirmCall(key, "order-cancel-1", 10000, "")))
			}
			var okCancels int
			for i, st := range tt.steps {
				a := mustSend(t, s, call{Method: http.MethodPost, Path: "/v1/payments/" + key + "/cancel", Body: st.body})
				if st.wantCode != "" {
					wantError(t, a, st.wantStatus, st.wantCode)
				} else {
					wantOK(t, a)
					okCancels++
					if a.str("status") != st.wantPayment || a.num("balanceAmount") != st.wantBalance {
						t.Fatalf("step %d: status %s balance %d", i, a.str("status"), a.num("balanceAmount"))
					}
					cancels, _ := a.JSON["cancels"].([]any)
					if len(cancels) != okCancels {
						t.Fatalf("step %d: %d cancels, want %d", i, len(cancels), okCancels)
					}
					last, _ := cancels[len(cancels)-1].(map[string]any)
					if last["cancelStatus"] != "DONE" || last["refundableAmount"] != float64(st.wantBalance) ||
						last["transactionKey"] == "" || last["transactionKey"] != a.str("lastTransactionKey") ||
						!strings.HasSuffix(last["canceledAt"].(string), "+09:00") || last["cancelReason"] == "" {
						t.Fatalf("step %d: cancel entry %v", i, last)
					}
					if a.num("suppliedAmount")+a.num("vat") != st.wantBalance {
						t.Fatalf("step %d: supplied %d + vat %d != balance", i, a.num("suppliedAmount"), a.num("vat"))
					}
				}
				info, _ := s.Payment(key)
				if info.Status != st.wantPayment || info.BalanceAmount != st.wantBalance {
					t.Fatalf("step %d: payment %s balance %d, want %s %d", i, info.Status, info.BalanceAmount, st.wantPayment, st.wantBalance)
				}
			}
		})
	}
	t.Run("unknown payment", func(t *testing.T) {
		s := NewServer(t)
		a := mustSend(t, s, call{Method: http.MethodPost, Path: "/v1/payments/tgen_nope/cancel", Body: reason("")})
		wantError(t, a, 404, tossrules.CodeNotFoundPayment)
	})
}

func TestAcceptLanguage(t *testing.T) {
	s := NewServer(t)
	tests := []struct {
		acceptLanguage string
		want           string
	}{
		{"", "존재하지 않는 결제 정보 입니다."},
		{"ko-KR", "존재하지 않는 결제 정보 입니다."},
		{"en-US", "Payment not found."},
		{"en", "Payment not found."},
		{"ja-JP", "존재하지 않는 결제 정보 입니다."},
	}
	for _, tt := range tests {
		t.Run("lang="+tt.acceptLanguage, func(t *testing.T) {
			a := mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/tgen_nope", Header: map[string]string{"Accept-Language": tt.acceptLanguage}})
			wantError(t, a, 404, tossrules.CodeNotFoundPayment)
			if a.str("message") != tt.want {
				t.Fatalf("message = %q, want %q", a.str("message"), tt.want)
			}
		})
	}
}

func TestTestCodeHeader(t *testing.T) {
	tests := []struct {
		code       string
		wantStatus int
		wantCode   string
	}{
		{"REJECT_CARD_COMPANY", 403, "REJECT_CARD_COMPANY"},
		{"PROVIDER_ERROR", 400, "PROVIDER_ERROR"},
		{"NOT_FOUND_PAYMENT_SESSION", 404, "NOT_FOUND_PAYMENT_SESSION"},
		{"FAILED_INTERNAL_SYSTEM_PROCESSING", 500, "FAILED_INTERNAL_SYSTEM_PROCESSING"},
		{"INVALID_CARD_EXPIRATION", 400, "INVALID_CARD_EXPIRATION"},
		{"UNAUTHORIZED_KEY", 401, "UNAUTHORIZED_KEY"},
		{"SOME_CODE_NOBODY_KNOWS", 400, "SOME_CODE_NOBODY_KNOWS"},
		{"not a code", 400, tossrules.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			s := NewServer(t)
			key := s.Authorize("order-testcode-1", "Tea", 7000)
			c := confirmCall(key, "order-testcode-1", 7000, "")
			c.Header = map[string]string{"TossPayments-Test-Code": tt.code}
			wantError(t, mustSend(t, s, c), tt.wantStatus, tt.wantCode)
			if n := s.ConfirmsExecuted("order-testcode-1"); n != 0 {
				t.Fatalf("a test-code answer executed the confirm (%d)", n)
			}
		})
	}
	t.Run("ignored with a live key", func(t *testing.T) {
		// Live keys ignore the header (docs/toss-api.md#other-request-headers).
		// The key is fake; only its prefix matters.
		s := NewServer(t, WithKeys("live_sk_sandbox_fake_never_real", "live_ck_sandbox_fake_never_real"))
		key := s.Authorize("order-testcode-2", "Tea", 7000)
		c := confirmCall(key, "order-testcode-2", 7000, "")
		c.Header = map[string]string{"TossPayments-Test-Code": "REJECT_CARD_COMPANY"}
		wantOK(t, mustSend(t, s, c))
	})
}

// SetPaymentVersion changes the version Payment objects name, as a MID set
// to another API version would; Reset restores it.
func TestSetPaymentVersion(t *testing.T) {
	s := NewServer(t)
	key := s.Authorize("order-version-1", "Tea", 7000)
	version := func() string {
		t.Helper()
		a := mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/" + key})
		v, _ := a.JSON["version"].(string)
		return v
	}
	if v := version(); v != PaymentVersion {
		t.Fatalf("version %q", v)
	}
	s.SetPaymentVersion("1.4")
	if v := version(); v != "1.4" {
		t.Fatalf("version %q, want 1.4", v)
	}
	s.SetPaymentVersion("")
	if v := version(); v != PaymentVersion {
		t.Fatalf("version %q after restoring", v)
	}
}
