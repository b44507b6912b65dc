package contract

import (
	"bytes"
	"io"
	"net/http"
)

// maxChecked bounds what the middleware keeps of a body: API Gateway's
// own limit on requests, far above any answer of this API.
const maxChecked = 11 << 20

// Handler checks every exchange that passes through next, an HTTP API
// (the local stack's), and hands report each failure: whatever client sent
// the request (a test's, a browser, a script), its answer is checked.
func (a *API) Handler(next http.Handler, report func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readAll(r.Body, maxChecked)
		if err != nil {
			report(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.header == nil {
			rec.header = w.Header().Clone()
		}
		x := Exchange{
			Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header, Body: body,
			Status: rec.status, RespHeader: rec.header, RespBody: rec.body.Bytes(),
		}
		if err := a.Check(x); err != nil {
			report(err)
		}
	})
}

// recorder passes an answer on and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.header == nil {
		r.status, r.header = status, r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.header == nil {
		r.WriteHeader(http.StatusOK)
	}
	if r.body.Len() < maxChecked {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

// Flush keeps a streaming handler streaming.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
