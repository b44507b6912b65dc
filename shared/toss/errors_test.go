package toss

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestErrorAnswers runs every kind of failed answer through a real server,
// with three tries allowed, and checks what the caller gets and how many
// requests were made for it.
func TestErrorAnswers(t *testing.T) {
	huge := `{"paymentKey":"` + strings.Repeat("a", maxBodyBytes) + `"}`
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantCode    string
		wantMessage string
		wantTrace   string
		wantClass   Class
		wantErr     error // in Err; nil means Err must be nil
		anyErr      bool  // Err must be set, whatever it is
		wantTries   int
	}{
		{name: "definitive REJECT_CARD_COMPANY", status: 403,
			body:     `{"code":"REJECT_CARD_COMPANY","message":"Card company rejected the payment."}`,
			wantCode: CodeRejectCardCompany, wantMessage: "Card company rejected the payment.", wantClass: ClassDefinitive, wantTries: 1},
		{name: "definitive NOT_FOUND_PAYMENT_SESSION", status: 404,
			body:     `{"code":"NOT_FOUND_PAYMENT_SESSION","message":"결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다."}`,
			wantCode: CodeNotFoundPaymentSession, wantMessage: "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.", wantClass: ClassDefinitive, wantTries: 1},
		{name: "definitive FORBIDDEN_REQUEST", status: 403,
			body:     `{"code":"FORBIDDEN_REQUEST","message":"m"}`,
			wantCode: CodeForbiddenRequest, wantMessage: "m", wantClass: ClassDefinitive, wantTries: 1},
		{name: "retryable PROVIDER_ERROR although 400", status: 400,
			body:     `{"code":"PROVIDER_ERROR","message":"m"}`,
			wantCode: CodeProviderError, wantMessage: "m", wantClass: ClassRetryable, wantTries: 3},
		{name: "retryable 500", status: 500,
			body:     `{"code":"FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING","message":"m"}`,
			wantCode: CodeFailedPaymentInternalSystem, wantMessage: "m", wantClass: ClassRetryable, wantTries: 3},
		{name: "retryable 500 with an undocumented code", status: 500,
			body:     `{"code":"SOMETHING_NEW","message":"m"}`,
			wantCode: "SOMETHING_NEW", wantMessage: "m", wantClass: ClassRetryable, wantTries: 3},
		{name: "retryable 429", status: 429,
			body:     `{"code":"TOO_MANY_REQUESTS","message":"m"}`,
			wantCode: CodeTooManyRequests, wantMessage: "m", wantClass: ClassRetryable, wantTries: 3},
		{name: "retryable 409 IDEMPOTENT_REQUEST_PROCESSING", status: 409,
			body:     `{"code":"IDEMPOTENT_REQUEST_PROCESSING","message":"이전 멱등 요청이 처리중입니다."}`,
			wantCode: CodeIdempotentRequestProcessing, wantMessage: "이전 멱등 요청이 처리중입니다.", wantClass: ClassRetryable, wantTries: 3},
		{name: "unknown ALREADY_PROCESSED_PAYMENT is not retried", status: 400,
			body:     `{"code":"ALREADY_PROCESSED_PAYMENT","message":"m"}`,
			wantCode: CodeAlreadyProcessedPayment, wantMessage: "m", wantClass: ClassUnknown, wantTries: 1},
		{name: "v2 error shape", status: 400,
			body:     `{"version":"2022-11-16","traceId":"a1b2c3","entityType":"error","error":{"code":"INVALID_REQUEST","message":"bad"}}`,
			wantCode: CodeInvalidRequest, wantMessage: "bad", wantTrace: "a1b2c3", wantClass: ClassDefinitive, wantTries: 1},
		{name: "v2 error shape, retryable", status: 500,
			body:     `{"version":"2022-11-16","traceId":"t9","error":{"code":"UNKNOWN_PAYMENT_ERROR","message":"m"}}`,
			wantCode: CodeUnknownPaymentError, wantMessage: "m", wantTrace: "t9", wantClass: ClassRetryable, wantTries: 3},
		{name: "unknown fields in an error body", status: 403,
			body:     `{"code":"REJECT_CARD_COMPANY","message":"m","data":{"x":1},"extra":[1,2]}`,
			wantCode: CodeRejectCardCompany, wantMessage: "m", wantClass: ClassDefinitive, wantTries: 1},
		{name: "HTML from a proxy", status: 502, contentType: "text/html",
			body:      "<html><body>Bad Gateway</body></html>",
			wantClass: ClassRetryable, anyErr: true, wantTries: 3},
		{name: "plain text 400", status: 400, contentType: "text/plain",
			body:      "bad request",
			wantClass: ClassDefinitive, anyErr: true, wantTries: 1},
		{name: "empty 500", status: 500,
			wantClass: ClassRetryable, anyErr: true, wantTries: 3},
		{name: "JSON without a code", status: 403, body: `{"message":"no code"}`,
			wantMessage: "no code", wantClass: ClassDefinitive, anyErr: true, wantTries: 1},
		{name: "error member of another type", status: 400, body: `{"error":"boom"}`,
			wantClass: ClassDefinitive, anyErr: true, wantTries: 1},
		{name: "JSON array body", status: 400, body: `[1,2]`,
			wantClass: ClassDefinitive, anyErr: true, wantTries: 1},
		{name: "200 that is not JSON may have charged", status: 200, body: "<html>",
			wantClass: ClassUnknown, anyErr: true, wantTries: 1},
		{name: "200 with an empty body", status: 200,
			wantClass: ClassUnknown, anyErr: true, wantTries: 1},
		{name: "200 over the size limit", status: 200, body: huge,
			wantClass: ClassUnknown, anyErr: true, wantTries: 1},
		{name: "200 with a wrongly typed amount", status: 200, body: `{"paymentKey":"` + pk + `","totalAmount":"15000"}`,
			wantClass: ClassUnknown, anyErr: true, wantTries: 1},
		{name: "200 about another order (reused idempotency key)", status: 200, body: paymentJSON(pk, "order_someone_else", amt),
			wantClass: ClassUnknown, wantErr: ErrResponseMismatch, wantTries: 1},
		{name: "200 with another amount", status: 200, body: paymentJSON(pk, order, 1),
			wantClass: ClassUnknown, wantErr: ErrResponseMismatch, wantTries: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				ct := tt.contentType
				if ct == "" {
					ct = "application/json"
				}
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			c := newClient(t, srv, nil)
			p, err := c.Confirm(context.Background(), ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, "idem-err")
			if p != nil {
				t.Errorf("payment = %+v alongside an error", p)
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %#v, want *Error", err)
			}
			if te.Status != tt.status || te.Code != tt.wantCode || te.Message != tt.wantMessage || te.TraceID != tt.wantTrace {
				t.Errorf("got status %d code %q message %q trace %q, want %d %q %q %q",
					te.Status, te.Code, te.Message, te.TraceID, tt.status, tt.wantCode, tt.wantMessage, tt.wantTrace)
			}
			if te.Method != http.MethodPost || te.Path != "/v1/payments/confirm" {
				t.Errorf("Method/Path = %s %s", te.Method, te.Path)
			}
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("err = %v, want it to wrap %v", err, tt.wantErr)
			case tt.anyErr && te.Err == nil:
				t.Error("Err is nil, want the reason the answer was unusable")
			case tt.wantErr == nil && !tt.anyErr && te.Err != nil:
				t.Errorf("Err = %v, want nil", te.Err)
			}
			if got := Classify(err); got != tt.wantClass {
				t.Errorf("class = %v, want %v", got, tt.wantClass)
			}
			if got := rec.count(); got != tt.wantTries {
				t.Errorf("requests = %d, want %d", got, tt.wantTries)
			}
			if len(err.Error()) > 2000 {
				t.Errorf("error string is %d bytes; the body must not be copied into it", len(err.Error()))
			}
		})
	}
}

func TestTransportFailure(t *testing.T) {
	for _, cl := range calls {
		t.Run(cl.name, func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) { hangUp(w) })
			c := newClient(t, srv, nil)
			_, err := cl.do(context.Background(), c)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %#v, want *Error", err)
			}
			if te.Status != 0 || te.Err == nil || te.Code != "" {
				t.Errorf("got status %d code %q Err %v, want 0, no code, Err set", te.Status, te.Code, te.Err)
			}
			if got := Classify(err); got != ClassUnknown {
				t.Errorf("class = %v, want unknown", got)
			}
			// Retried on POST too: the Idempotency-Key makes it safe.
			if got := rec.count(); got != fastRetry.MaxAttempts {
				t.Errorf("requests = %d, want %d", got, fastRetry.MaxAttempts)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Method: "POST", Path: "/v1/payments/confirm", Status: 403, Code: "REJECT_CARD_COMPANY", Message: "m", TraceID: "t1"},
			"toss: POST /v1/payments/confirm: 403 REJECT_CARD_COMPANY: m (traceId t1)"},
		{&Error{Method: "GET", Path: "/v1/payments/x", Status: 502, Err: errors.New("error body is not JSON")},
			"toss: GET /v1/payments/x: 502: error body is not JSON"},
		{&Error{Method: "GET", Path: "/v1/payments/x", Err: errors.New("EOF")},
			"toss: GET /v1/payments/x: no response: EOF"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, ClassNone},
		{"deadline", context.DeadlineExceeded, ClassUnknown},
		{"wrapped cancel", errors.Join(errors.New("x"), context.Canceled), ClassUnknown},
		{"not Toss's answer", errors.New("x"), ClassUnknown},
		{"a storage error wrapped", fmt.Errorf("record: %w", errors.New("ProvisionedThroughputExceededException")), ClassUnknown},
		{"never sent: key", fmt.Errorf("x: %w", ErrInvalidIdempotencyKey), ClassDefinitive},
		{"never sent: argument", fmt.Errorf("x: %w", ErrInvalidArgument), ClassDefinitive},
		{"never sent: secret", fmt.Errorf("x: %w", ErrSecretKey), ClassDefinitive},
		{"2xx unusable", &Error{Status: 200, Err: errors.New("x")}, ClassUnknown},
		{"redirect", &Error{Status: 302}, ClassDefinitive},
		{"503 no code", &Error{Status: 503}, ClassRetryable},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("%s: Classify = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A 2xx about another payment is never handed over as the one asked for.
func TestMismatchedPayment(t *testing.T) {
	for _, cl := range calls {
		t.Run(cl.name, func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				writeJSON(w, 200, paymentJSON("tgen_other", "order_other", amt))
			})
			p, err := cl.do(context.Background(), newClient(t, srv, nil))
			if p != nil || !errors.Is(err, ErrResponseMismatch) || Classify(err) != ClassUnknown {
				t.Errorf("got %+v, %v (class %v); want ErrResponseMismatch, unknown", p, err, Classify(err))
			}
			if got := rec.count(); got != 1 {
				t.Errorf("requests = %d, want 1", got)
			}
		})
	}
}
