package merchantapi

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
)

// The client reads the envelopes the API writes: a success's entity and an
// error's code, from shared/api's own Entity and Error.
func TestEnvelopesAreTheAPIs(t *testing.T) {
	req := &apigw.Request{Headers: map[string]string{"accept-language": "en"}}
	req.RequestContext.RequestID = "trace-1"
	ok := api.Entity(req, http.StatusOK, "order", map[string]any{"orderId": "ord_1", "amount": 39000})
	r := Response{Status: ok.StatusCode, Body: []byte(ok.Body)}
	var order struct {
		OrderID string `json:"orderId"`
		Amount  int64  `json:"amount"`
	}
	if err := r.Entity(&order); err != nil || order.OrderID != "ord_1" || order.Amount != 39000 {
		t.Errorf("Entity of %s = %+v, %v", ok.Body, order, err)
	}
	if e, err := Decode(r.Body); err != nil || e.TraceID != "trace-1" || e.EntityType != "order" || e.Version != api.Version || r.Code() != "" {
		t.Errorf("Decode(%s) = %+v, %v; Code %q", ok.Body, e, err, r.Code())
	}

	fail := api.Error(req, api.CodeNotFoundOrder, "")
	r = Response{Status: fail.StatusCode, Body: []byte(fail.Body)}
	if r.Code() != api.CodeNotFoundOrder {
		t.Errorf("Code of %s = %q", fail.Body, r.Code())
	}
	var apiErr *Error
	if err := r.Entity(&order); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Code != api.CodeNotFoundOrder ||
		apiErr.Message != "The order was not found." {
		t.Errorf("Entity of %s = %v, want a 404 NOT_FOUND_ORDER *Error with its message", fail.Body, err)
	}
	page := Response{Status: http.StatusOK, Body: []byte("<!doctype html><p>paid</p>")}
	if page.Code() != "" || page.Entity(&order) == nil {
		t.Errorf("a page read as an envelope: code %q", page.Code())
	}
}

func TestClientSendsTheMerchantsCredentialsAndJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		user, pass, ok := r.BasicAuth()
		w.Header().Set("X-Got", strings.Join([]string{r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), r.Header.Get("Idempotency-Key"),
			user, pass, map[bool]string{true: "basic", false: "none"}[ok], string(b)}, "|"))
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL, Key: "mk_1"}
	r, err := c.Do(t.Context(), "POST", "/orders?x=1", map[string]int{"amount": 1}, http.Header{"Idempotency-Key": {"k1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Header.Get("X-Got"), `POST|/orders?x=1|application/json|k1|mk_1||basic|{"amount":1}`; r.Status != http.StatusTeapot || got != want {
		t.Errorf("sent %d %q, want 418 %q", r.Status, got, want)
	}
	// A buyer's client sends no credentials; raw bytes go as they are.
	r, err = (&Client{URL: srv.URL}).Do(t.Context(), "POST", "/confirm", []byte("a=1"), http.Header{"content-type": {"text/plain"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Header.Get("X-Got"), `POST|/confirm|text/plain||||none|a=1`; got != want {
		t.Errorf("sent %q, want %q", got, want)
	}
}

func TestMustDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Type", r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write(append([]byte("got "), b...))
	}))
	defer srv.Close()
	r := MustDo(t, "POST", srv.URL, map[string]string{"Authorization": Basic("k1")}, []byte("hi"))
	if r.Status != http.StatusTeapot || string(r.Body) != "got hi" || r.Header.Get("X-Type") != "" {
		t.Errorf("MustDo = %d %q %v", r.Status, r.Body, r.Header)
	}
	if got := r.Header.Get("X-Auth"); got != "Basic azE6" {
		t.Errorf("Basic(k1) sent %q, want Basic azE6 (base64 of \"k1:\")", got)
	}
}
