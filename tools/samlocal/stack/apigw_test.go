package stack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func testRouter(t *testing.T) *Router {
	t.Helper()
	r, err := NewRouter([]Route{
		{Function: "Greedy", Method: "ANY", Path: "/files/{proxy+}"},
		{Function: "Item", Method: "GET", Path: "/items/{id}"},
		{Function: "Special", Method: "GET", Path: "/items/special"},
		{Function: "AnyItem", Method: "ANY", Path: "/items/{id}"},
		{Function: "Nested", Method: "GET", Path: "/orders/{orderId}/payments/{paymentKey}"},
		{Function: "List", Method: "GET", Path: "/orders"},
		{Function: "GreedyItems", Method: "GET", Path: "/items/{proxy+}"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouting(t *testing.T) {
	r := testRouter(t)
	tests := []struct {
		method, path string
		want         string
		params       map[string]string
	}{
		{"GET", "/items/special", "Special", nil},
		{"GET", "/items/42", "Item", map[string]string{"id": "42"}},
		{"DELETE", "/items/42", "AnyItem", map[string]string{"id": "42"}},
		{"GET", "/items/a/b", "GreedyItems", map[string]string{"proxy": "a/b"}},
		{"GET", "/items/..%2F..%2Fetc%2Fpasswd", "Item", map[string]string{"id": "../../etc/passwd"}},
		{"PUT", "/files/a/b%20c/d", "Greedy", map[string]string{"proxy": "a/b c/d"}},
		{"GET", "/orders/o1/payments/p%2B1", "Nested", map[string]string{"orderId": "o1", "paymentKey": "p+1"}},
		{"GET", "/orders", "List", nil},
		{"POST", "/orders", "", nil},
		{"GET", "/orders/", "", nil},
		{"GET", "/files", "", nil},
		{"GET", "/files/", "", nil},
		{"GET", "/items/", "", nil},
		{"GET", "/nope", "", nil},
		{"GET", "/", "", nil},
	}
	for _, tc := range tests {
		rt, params, ok := r.Match(tc.method, tc.path)
		if tc.want == "" {
			if ok {
				t.Errorf("%s %s matched %s, want no route", tc.method, tc.path, rt.Function)
			}
			continue
		}
		if !ok || rt.Function != tc.want || !reflect.DeepEqual(params, tc.params) {
			t.Errorf("%s %s = %s %v (%v), want %s %v", tc.method, tc.path, rt.Function, params, ok, tc.want, tc.params)
		}
	}

	def, err := NewRouter([]Route{{Function: "Default", Method: "ANY", Path: "$default"}, {Function: "Health", Method: "GET", Path: "/health"}})
	if err != nil {
		t.Fatal(err)
	}
	if rt, _, _ := def.Match("GET", "/health"); rt.Function != "Health" {
		t.Errorf("/health went to %s", rt.Function)
	}
	if rt, _, ok := def.Match("POST", "/anything/at/all"); !ok || rt.Function != "Default" || rt.Key() != "$default" {
		t.Errorf("$default: %+v %v", rt, ok)
	}

	if _, err := NewRouter([]Route{{Function: "A", Method: "GET", Path: "/x"}, {Function: "B", Method: "GET", Path: "/x"}}); err == nil {
		t.Error("duplicate route key: no error")
	}
	if _, err := NewRouter([]Route{{Function: "A", Method: "GET", Path: "/{proxy+}/x"}}); err == nil {
		t.Error("greedy segment not last: no error")
	}
}

func TestNewEvent(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	rt := Route{Function: "F", Method: "POST", Path: "/orders/{orderId}"}
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantBody    string
		wantB64     bool
	}{
		{"json is text", "application/json; charset=utf-8", []byte(`{"a":1}`), `{"a":1}`, false},
		{"problem+json is text", "application/problem+json", []byte(`{}`), `{}`, false},
		{"text/* is text", "text/plain", []byte("héllo"), "héllo", false},
		{"form is text", "application/x-www-form-urlencoded", []byte("a=1&b=2"), "a=1&b=2", false},
		{"binary is base64", "application/octet-stream", []byte{0, 1, 2, 255}, base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}), true},
		{"no content type is base64", "", []byte("x"), "eA==", true},
		{"invalid UTF-8 text is base64", "text/plain", []byte{0xff, 0xfe}, "//4=", true},
		{"no body", "", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://localhost:3000/orders/ord%2F1?tag=a&tag=b&x=%20y&empty=", strings.NewReader(string(tc.body)))
			r.RemoteAddr = "192.0.2.7:5555"
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			r.Header.Set("User-Agent", "test/1.0")
			r.Header.Add("X-Repeated", "one")
			r.Header.Add("X-Repeated", "two")
			r.Header.Set("Idempotency-Key", "k-1")
			r.Header.Add("Cookie", "session=abc; theme=dark")
			r.Header.Add("Cookie", "lang=ko")
			ev := NewEvent(r, rt, map[string]string{"orderId": "ord/1"}, tc.body, now)

			if ev.Version != "2.0" || ev.RouteKey != "POST /orders/{orderId}" || ev.RequestContext.RouteKey != ev.RouteKey {
				t.Errorf("version %q routeKey %q / %q", ev.Version, ev.RouteKey, ev.RequestContext.RouteKey)
			}
			if ev.RawPath != "/orders/ord%2F1" || ev.RequestContext.HTTP.Path != "/orders/ord%2F1" {
				t.Errorf("rawPath %q http.path %q", ev.RawPath, ev.RequestContext.HTTP.Path)
			}
			if ev.RawQueryString != "tag=a&tag=b&x=%20y&empty=" {
				t.Errorf("rawQueryString %q", ev.RawQueryString)
			}
			if want := map[string]string{"tag": "a,b", "x": " y", "empty": ""}; !reflect.DeepEqual(ev.QueryStringParameters, want) {
				t.Errorf("queryStringParameters %v, want %v", ev.QueryStringParameters, want)
			}
			if !reflect.DeepEqual(ev.PathParameters, map[string]string{"orderId": "ord/1"}) {
				t.Errorf("pathParameters %v", ev.PathParameters)
			}
			if want := []string{"session=abc", "theme=dark", "lang=ko"}; !reflect.DeepEqual(ev.Cookies, want) {
				t.Errorf("cookies %v, want %v", ev.Cookies, want)
			}
			for k, v := range map[string]string{
				"host": "localhost:3000", "user-agent": "test/1.0", "x-repeated": "one,two", "idempotency-key": "k-1",
				"x-forwarded-for": "192.0.2.7", "x-forwarded-proto": "http", "x-forwarded-port": "3000",
			} {
				if ev.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, ev.Headers[k], v)
				}
			}
			for k := range ev.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("header %q is not lower-case", k)
				}
			}
			if _, ok := ev.Headers["cookie"]; ok {
				t.Error("the cookie header should move to cookies")
			}
			c := ev.RequestContext
			if c.Stage != "$default" || c.DomainName != "localhost:3000" || c.DomainPrefix != "localhost" || c.RequestID == "" ||
				c.HTTP.Method != "POST" || c.HTTP.Protocol != "HTTP/1.1" || c.HTTP.SourceIP != "192.0.2.7" || c.HTTP.UserAgent != "test/1.0" ||
				c.Time != "22/Nov/2026:12:00:00 +0000" || c.TimeEpoch != now.UnixMilli() || c.AccountID != AccountID {
				t.Errorf("requestContext %+v", c)
			}
			if ev.Body != tc.wantBody || ev.IsBase64Encoded != tc.wantB64 {
				t.Errorf("body %q base64 %v, want %q %v", ev.Body, ev.IsBase64Encoded, tc.wantBody, tc.wantB64)
			}
			// What the function receives as JSON: absent, not null, when empty.
			b, _ := json.Marshal(ev)
			if tc.body == nil && strings.Contains(string(b), `"body"`) {
				t.Errorf("empty body serialised: %s", b)
			}
		})
	}

	// Without a query, path parameters or cookies the fields are absent.
	r := httptest.NewRequest("GET", "http://127.0.0.1:3000/orders", nil)
	b, _ := json.Marshal(NewEvent(r, Route{Function: "F", Method: "GET", Path: "/orders"}, nil, nil, now))
	for _, field := range []string{`"queryStringParameters"`, `"pathParameters"`, `"cookies"`} {
		if strings.Contains(string(b), field) {
			t.Errorf("%s present in %s", field, b)
		}
	}
}

func TestWriteResponse(t *testing.T) {
	tests := []struct {
		name       string
		payload    string
		wantStatus int
		wantBody   string
		wantHeader map[string][]string
		wantErr    bool
	}{
		{
			name:       "structured",
			payload:    `{"statusCode":201,"headers":{"Content-Type":"application/json","X-One":"1"},"body":"{\"ok\":true}"}`,
			wantStatus: 201, wantBody: `{"ok":true}`,
			wantHeader: map[string][]string{"Content-Type": {"application/json"}, "X-One": {"1"}},
		},
		{
			name:       "cookies and multi-value headers",
			payload:    `{"statusCode":200,"headers":{"X-Multi":"3"},"multiValueHeaders":{"X-Multi":["1","2"]},"cookies":["a=1; HttpOnly","b=2"],"body":"x"}`,
			wantStatus: 200, wantBody: "x",
			wantHeader: map[string][]string{"Set-Cookie": {"a=1; HttpOnly", "b=2"}, "X-Multi": {"1", "2", "3"}},
		},
		{
			name:       "base64 body",
			payload:    `{"statusCode":200,"isBase64Encoded":true,"body":"AAEC/w=="}`,
			wantStatus: 200, wantBody: "\x00\x01\x02\xff",
		},
		{
			name:       "no statusCode: the JSON is a 200 body",
			payload:    `{"hello":"world"}`,
			wantStatus: 200, wantBody: `{"hello":"world"}`,
			wantHeader: map[string][]string{"Content-Type": {"application/json"}},
		},
		{name: "bad statusCode", payload: `{"statusCode":"teapot"}`, wantErr: true},
		{name: "statusCode out of range", payload: `{"statusCode":99}`, wantErr: true},
		{name: "bad base64", payload: `{"statusCode":200,"isBase64Encoded":true,"body":"!!"}`, wantErr: true},
		{name: "not JSON", payload: `hello`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := WriteResponse(w, []byte(tc.payload), "req-1")
			if tc.wantErr {
				if !errors.Is(err, ErrBadResponse) {
					t.Fatalf("err = %v, want ErrBadResponse", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.wantStatus || w.Body.String() != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tc.wantStatus, tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := w.Header().Values(k); !reflect.DeepEqual(got, v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if w.Header().Get("Apigw-Requestid") != "req-1" {
				t.Errorf("Apigw-Requestid = %q", w.Header().Get("Apigw-Requestid"))
			}
		})
	}
}

func TestAPIHandler(t *testing.T) {
	var logged []string
	var got events.APIGatewayV2HTTPRequest
	invoke := func(ctx context.Context, fn string, event []byte) ([]byte, error) {
		if err := json.Unmarshal(event, &got); err != nil {
			t.Errorf("event: %v", err)
		}
		switch fn {
		case "Item":
			return []byte(`{"statusCode":200,"body":"item ` + got.PathParameters["id"] + `"}`), nil
		case "Special":
			return nil, errors.New("invocation x failed: Sandbox.Timedout: Task timed out after 1.00 seconds")
		case "List":
			return nil, fmt.Errorf("waiting: %w", context.DeadlineExceeded)
		case "AnyItem":
			return []byte(`{"statusCode":"nope"}`), nil
		}
		return nil, errors.New("unexpected function " + fn)
	}
	srv := httptest.NewServer(APIHandler(testRouter(t), invoke, func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }))
	defer srv.Close()

	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/items/7", 200, "item 7"},
		{"GET", "/nope", 404, `{"message":"Not Found"}`},
		{"POST", "/orders", 404, `{"message":"Not Found"}`},
		{"GET", "/items/special", 500, `{"message":"Internal Server Error"}`},
		{"DELETE", "/items/1", 500, `{"message":"Internal Server Error"}`},
		{"GET", "/orders", 503, `{"message":"Service Unavailable"}`},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(b) != tc.body {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.body)
		}
		if resp.Header.Get("Apigw-Requestid") == "" {
			t.Errorf("%s %s: no Apigw-Requestid", tc.method, tc.path)
		}
	}
	if len(logged) != 3 || !strings.Contains(logged[0], "Task timed out") {
		t.Errorf("logged %q, want one line per failed invocation", logged)
	}
	if got.RouteKey != "GET /orders" {
		t.Errorf("last event routeKey %q", got.RouteKey)
	}

	// Over HTTP API's payload limit: refused before any invocation.
	resp, err := http.Post(srv.URL+"/items/1", "application/octet-stream", strings.NewReader(strings.Repeat("x", MaxRequestBodyBytes+1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", resp.StatusCode)
	}
	if len(logged) != 3 {
		t.Errorf("the oversized request reached a function: %q", logged)
	}
}

// TestAPIHandlerOutlivesAClientThatHangsUp: a client that goes away while
// its function runs (a browser dropping a report as it navigates) does not
// cancel the invocation, and what the handler answers is the function's
// answer, not an error of the emulator's.
func TestAPIHandlerOutlivesAClientThatHangsUp(t *testing.T) {
	started, proceed := make(chan struct{}), make(chan struct{})
	invErr := make(chan error, 1)
	invoke := func(ctx context.Context, fn string, event []byte) ([]byte, error) {
		close(started)
		<-proceed
		invErr <- ctx.Err()
		return []byte(`{"statusCode":204}`), nil
	}
	answered := make(chan int, 1)
	reqCtx := make(chan context.Context, 1)
	h := APIHandler(testRouter(t), invoke, t.Logf)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqCtx <- r.Context()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		answered <- rec.Code
	}))
	defer srv.Close()

	ctx, hangUp := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/items/7", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	hangUp()
	<-done
	<-(<-reqCtx).Done() // the server has seen the client go
	close(proceed)
	if err := <-invErr; err != nil {
		t.Errorf("the invocation's context ended with the client: %v", err)
	}
	if code := <-answered; code != http.StatusNoContent {
		t.Errorf("the handler answered %d, want the function's 204", code)
	}
}
