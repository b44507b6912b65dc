package tosstest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/internal/wait"
)

// basicAuth builds Toss's Authorization value for key.
func basicAuth(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// call is one API request; the zero value of Header gets the server's
// current secret key.
type call struct {
	Method string
	Path   string
	Body   string
	Header map[string]string // "Authorization": "" sends no Authorization header
}

type answer struct {
	Status int
	Body   []byte
	JSON   map[string]any
	Err    error // transport error (dropped connection, timeout)
}

func (a answer) code() string {
	c, _ := a.JSON["code"].(string)
	return c
}

func (a answer) str(key string) string {
	v, _ := a.JSON[key].(string)
	return v
}

func (a answer) num(key string) int64 {
	v, _ := a.JSON[key].(float64)
	return int64(v)
}

// send performs c against s with client (s.Client() when nil) and decodes
// a JSON answer. It does not fail the test on transport errors: some tests want them.
func send(t testing.TB, s *Server, client *http.Client, c call) answer {
	t.Helper()
	if client == nil {
		client = s.Client()
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequest(c.Method, s.URL+c.Path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", basicAuth(s.SecretKey()))
	for k, v := range c.Header {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{Status: resp.StatusCode, Err: err}
	}
	a := answer{Status: resp.StatusCode, Body: b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &a.JSON); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v: %s", c.Method, c.Path, err, b)
		}
	}
	return a
}

func mustSend(t testing.TB, s *Server, c call) answer {
	t.Helper()
	a := send(t, s, nil, c)
	if a.Err != nil {
		t.Fatalf("%s %s: %v", c.Method, c.Path, a.Err)
	}
	return a
}

func confirmJSON(paymentKey, orderID string, amount int64) string {
	return fmt.Sprintf(`{"paymentKey":%q,"orderId":%q,"amount":%d}`, paymentKey, orderID, amount)
}

func confirmCall(paymentKey, orderID string, amount int64, idemKey string) call {
	c := call{Method: http.MethodPost, Path: "/v1/payments/confirm", Body: confirmJSON(paymentKey, orderID, amount)}
	if idemKey != "" {
		c.Header = map[string]string{"Idempotency-Key": idemKey}
	}
	return c
}

func wantError(t testing.TB, a answer, status int, code string) {
	t.Helper()
	if a.Err != nil {
		t.Fatalf("want %d %s, got transport error %v", status, code, a.Err)
	}
	if a.Status != status || a.code() != code {
		t.Fatalf("want %d %s, got %d %s", status, code, a.Status, a.Body)
	}
	if msg := a.str("message"); msg == "" {
		t.Fatalf("error without message: %s", a.Body)
	}
}

func wantOK(t testing.TB, a answer) {
	t.Helper()
	if a.Err != nil {
		t.Fatalf("want 200, got transport error %v", a.Err)
	}
	if a.Status != http.StatusOK {
		t.Fatalf("want 200, got %d %s", a.Status, a.Body)
	}
}

// fixedClock is a settable clock for the session and idempotency windows.
func fixedClock() func() time.Time {
	t0 := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	return func() time.Time { return t0 }
}

// waitFor polls cond until it holds. The bound only keeps a broken test
// from hanging; nothing asserts on how long it took.
func waitFor(t wait.T, what string, cond func() bool) {
	t.Helper()
	wait.For(t, 30*time.Second, what, cond)
}

// noKeepAlive returns a client that opens a connection per request. Go's
// transport silently resends a request carrying an Idempotency-Key when a
// reused connection closes without an answer; tests of dropped connections
// use this client so the drop reaches them as it would in production.
func noKeepAlive() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}
