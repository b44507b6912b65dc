package stack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const corsTemplate = `
Globals: {Function: {Runtime: provided.al2023, Handler: bootstrap}}
Parameters:
  AllowedOrigins:
    Type: String
    Default: ""
Conditions:
  HasAllowedOrigins: !Not [!Equals [!Ref AllowedOrigins, ""]]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: !If
        - HasAllowedOrigins
        - AllowOrigins: !Split [",", !Ref AllowedOrigins]
          AllowMethods: [GET, POST]
          AllowHeaders: [authorization, content-type, idempotency-key]
          ExposeHeaders: [retry-after]
          MaxAge: 600
        - !Ref AWS::NoValue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Confirm:
          Type: HttpApi
          Properties: {Method: POST, Path: /payments/confirm}
`

// corsAPI serves corsTemplate's one route with AllowedOrigins set to
// origins, through a function that answers with CORS headers of its own
// (which API Gateway ignores once CORS is configured).
func corsAPI(t *testing.T, origins string) *httptest.Server {
	t.Helper()
	tpl, err := ParseTemplate([]byte(corsTemplate))
	if err != nil {
		t.Fatal(err)
	}
	res, err := tpl.Resolver(map[string]string{"AllowedOrigins": origins})
	if err != nil {
		t.Fatal(err)
	}
	cors, err := res.CORS()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	router, err := NewRouter(routes)
	if err != nil {
		t.Fatal(err)
	}
	invoke := func(ctx context.Context, fn string, event []byte) ([]byte, error) {
		return []byte(`{"statusCode":200,"headers":{"content-type":"application/json","access-control-allow-origin":"https://evil.example"},"body":"{}"}`), nil
	}
	srv := httptest.NewServer(cors.Handler(APIHandler(router, invoke, t.Logf)))
	t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, srv *httptest.Server, method, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+"/payments/confirm", strings.NewReader(`{}`))
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if method == http.MethodOptions {
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// With no allowed origin the template's !If leaves the API without a CORS
// configuration: a preflight finds no OPTIONS route, as in AWS.
func TestNoAllowedOriginNoCORS(t *testing.T) {
	srv := corsAPI(t, "")
	if r := send(t, srv, http.MethodOptions, "https://shop.example.com"); r.StatusCode != http.StatusNotFound {
		t.Errorf("preflight: %d, want 404", r.StatusCode)
	}
	r := send(t, srv, http.MethodPost, "https://shop.example.com")
	if r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://evil.example" {
		t.Errorf("POST without CORS configured: %d %q: the function's own headers pass as they are", r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestPreflightAndCrossOriginAnswers(t *testing.T) {
	srv := corsAPI(t, "https://shop.example.com,https://m.shop.example.com")

	r := send(t, srv, http.MethodOptions, "https://m.shop.example.com")
	want := map[string]string{
		"Access-Control-Allow-Origin":  "https://m.shop.example.com",
		"Access-Control-Allow-Methods": "GET,POST",
		"Access-Control-Allow-Headers": "authorization,content-type,idempotency-key",
		"Access-Control-Max-Age":       "600",
	}
	if r.StatusCode != http.StatusNoContent {
		t.Errorf("preflight: %d, want 204", r.StatusCode)
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}

	r = send(t, srv, http.MethodOptions, "https://evil.example")
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %q, want 204 without CORS headers", r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"))
	}

	r = send(t, srv, http.MethodPost, "https://shop.example.com")
	if r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || r.Header.Get("Access-Control-Expose-Headers") != "retry-after" {
		t.Errorf("cross-origin POST: %d origin %q expose %q", r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"), r.Header.Get("Access-Control-Expose-Headers"))
	}
	r = send(t, srv, http.MethodPost, "https://evil.example")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("POST from another origin got Access-Control-Allow-Origin %q: the function's header must be dropped", r.Header.Get("Access-Control-Allow-Origin"))
	}
}

// The project's own template declares its CORS the same way.
func TestRealTemplateCORS(t *testing.T) {
	tpl, err := LoadTemplate(realTemplate)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		origins string
		want    bool
	}{{"", false}, {"https://shop.example.com", true}} {
		res, err := tpl.Resolver(map[string]string{"AllowedOrigins": tc.origins})
		if err != nil {
			t.Fatal(err)
		}
		cors, err := res.CORS()
		if err != nil {
			t.Fatal(err)
		}
		if (cors != nil) != tc.want || (cors != nil && cors.allowedOrigin("https://shop.example.com") == "") {
			t.Errorf("AllowedOrigins=%q: CORS %+v", tc.origins, cors)
		}
	}
}
