package apicall

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Auth", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write(append([]byte("got "), b...))
	}))
	defer srv.Close()
	r := Do(t, "POST", srv.URL, map[string]string{"Authorization": Basic("k1")}, []byte("hi"))
	if r.Status != http.StatusTeapot || string(r.Body) != "got hi" || r.Header.Get("X-Method") != "POST" {
		t.Errorf("Do = %d %q %v", r.Status, r.Body, r.Header)
	}
	if got := r.Header.Get("X-Auth"); got != "Basic azE6" {
		t.Errorf("Basic(k1) sent %q, want Basic azE6 (base64 of \"k1:\")", got)
	}
}
