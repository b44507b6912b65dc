// Package merchantapi calls this backend's HTTP API as a merchant's server
// and a buyer's frontend do: the merchant API key as Basic credentials (the
// key as the user name, no password), JSON bodies, and the API's two
// envelopes (docs/openapi.yaml, shared/api): {version, traceId, entityType,
// entityBody} for a success, {version, traceId, error: {code, message}} for
// a failure. The tools that drive the API (bench, capacity, doctor), the
// simulator and the end-to-end suites share it.
package merchantapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Basic is the merchant API's Authorization header for key.
func Basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// Envelope is one JSON answer of the API: a success's entity, or an
// error's code and message.
type Envelope struct {
	Version    string          `json:"version"`
	TraceID    string          `json:"traceId"`
	EntityType string          `json:"entityType"`
	EntityBody json.RawMessage `json:"entityBody"`
	Error      ErrorBody       `json:"error"`
}

// ErrorBody is an error answer's code and message.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Decode reads body as one of the API's JSON answers.
func Decode(body []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return Envelope{}, fmt.Errorf("not a JSON answer: %w", err)
	}
	return e, nil
}

// Response is an answer: its status, headers and whole body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Code is the answer's error code; empty for a success or a body that is
// not an error envelope (a page).
func (r *Response) Code() string {
	e, _ := Decode(r.Body)
	return e.Error.Code
}

// Entity decodes a success's entityBody into v. Any other answer is an
// *Error.
func (r *Response) Entity(v any) error {
	e, err := Decode(r.Body)
	if r.Status/100 != 2 || e.Error.Code != "" {
		return &Error{Status: r.Status, ErrorBody: e.Error}
	}
	if err != nil {
		return fmt.Errorf("status %d: %w", r.Status, err)
	}
	if err := json.Unmarshal(e.EntityBody, v); err != nil {
		return fmt.Errorf("status %d: the entityBody: %w", r.Status, err)
	}
	return nil
}

// Error is an answer that is not a success: its status, and its error
// envelope's code and message when it has one.
type Error struct {
	Status int
	ErrorBody
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("status %d", e.Status)
	}
	return fmt.Sprintf("status %d %s: %s", e.Status, e.Code, e.Message)
}

// maxBody bounds what Do reads of an answer: more than API Gateway passes
// on (10 MB), so a whole answer of the API, and little of a wrong URL's.
const maxBody = 16 << 20

// Client calls one API.
type Client struct {
	URL  string       // the API's base URL; paths are appended to it
	Key  string       // the merchant API key; empty: no credentials
	HTTP *http.Client // nil: http.DefaultClient
}

// Do sends method path with body and header and returns the whole answer;
// an error means no answer. A []byte body is sent as it is (with header's
// Content-Type, if any); any other non-nil body is sent as JSON.
func (c *Client) Do(ctx context.Context, method, path string, body any, header http.Header) (*Response, error) {
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode the body: %w", method, path, err)
		}
		rd, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	for k, v := range header {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	if contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Key != "" {
		req.Header.Set("Authorization", Basic(c.Key))
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// TB is what MustDo needs of a test.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// MustDo sends method url with header and body as they are, for a test
// suite, and fails t when no answer comes.
func MustDo(t TB, method, url string, header map[string]string, body []byte) Response {
	t.Helper()
	h := http.Header{}
	for k, v := range header {
		h.Add(k, v)
	}
	var b any
	if body != nil {
		b = body
	}
	r, err := (&Client{}).Do(context.Background(), method, url, b, h)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return *r
}
