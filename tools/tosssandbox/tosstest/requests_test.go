package tosstest

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/logsink"
)

func TestRequestsAndLogsNeverHoldTheKey(t *testing.T) {
	var logs logsink.Buffer
	s := NewServer(t, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	secret := s.SecretKey()
	key := s.Authorize("order-inspect-1", "Tea", 1000)

	c := confirmCall(key, "order-inspect-1", 1000, "k-inspect")
	c.Header["TossPayments-Test-Code"] = "PROVIDER_ERROR"
	c.Header["Accept-Language"] = "en-US"
	mustSend(t, s, c)
	mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/" + key, Header: map[string]string{"Authorization": basicAuth("test_sk_sandbox_wrong")}})
	mustSend(t, s, call{Method: http.MethodGet, Path: "/v1/payments/" + key, Header: map[string]string{"Authorization": ""}})
	s.FailNext(1, FaultDrop)
	send(t, s, noKeepAlive(), confirmCall(key, "order-inspect-1", 1000, ""))

	reqs := s.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests recorded", len(reqs))
	}
	want := []Request{
		{Method: "POST", Path: "/v1/payments/confirm", IdempotencyKey: "k-inspect", TestCode: "PROVIDER_ERROR",
			AcceptLanguage: "en-US", AuthPresent: true, AuthOK: true, Body: confirmJSON(key, "order-inspect-1", 1000), Status: 400},
		{Method: "GET", Path: "/v1/payments/" + key, AuthPresent: true, AuthOK: false, Status: 401},
		{Method: "GET", Path: "/v1/payments/" + key, AuthPresent: false, AuthOK: false, Status: 401},
		{Method: "POST", Path: "/v1/payments/confirm", AuthPresent: true, AuthOK: false, Body: confirmJSON(key, "order-inspect-1", 1000), Fault: FaultDrop, Dropped: true},
	}
	for i, w := range want {
		got := reqs[i]
		got.Time = w.Time
		if got != w {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, got, w)
		}
	}

	encoded := base64.StdEncoding.EncodeToString([]byte(secret + ":"))
	for _, where := range []struct{ name, text string }{
		{"Requests()", fmt.Sprintf("%+v", reqs)},
		{"log", logs.String()},
	} {
		for _, leak := range []string{secret, encoded, "test_sk_sandbox_wrong"} {
			if strings.Contains(where.text, leak) {
				t.Errorf("%s holds %q", where.name, leak)
			}
		}
	}
	if !strings.Contains(logs.String(), `"path":"/v1/payments/confirm"`) {
		t.Errorf("log lines missing: %s", logs.String())
	}
}
