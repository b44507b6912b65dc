package awsproxy

import (
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// server answers with its name, the target and the body it got.
func server(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out := fmt.Sprintf("%s|%s|%s|%s", name, r.Header.Get("X-Amz-Target"), r.Header.Get("Accept-Encoding"), body)
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(out))), 10))
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(s.Close)
	return s
}

func send(t *testing.T, url, target, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.(*http.Transport).Clone().RoundTrip(req)
	if err != nil {
		return nil, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRoutesEachServiceToItsServer(t *testing.T) {
	dynamo, moto := server(t, "dynamodb-local"), server(t, "moto")
	p := New(dynamo.URL, moto.URL)
	defer p.Close()
	front := httptest.NewServer(p.Handler(""))
	defer front.Close()
	for target, want := range map[string]string{
		"DynamoDB_20120810.UpdateItem":        "dynamodb-local|DynamoDB_20120810.UpdateItem|identity|{}",
		"DynamoDBStreams_20120810.GetRecords": "dynamodb-local|DynamoDBStreams_20120810.GetRecords|identity|{}",
		"secretsmanager.GetSecretValue":       "moto|secretsmanager.GetSecretValue|identity|{}",
		"AWSEvents.DescribeRule":              "moto|AWSEvents.DescribeRule|identity|{}",
	} {
		resp, got := send(t, front.URL, target, "{}")
		if got != want {
			t.Errorf("%s answered %q, want %q", target, got, want)
		}
		if resp != nil && resp.Header.Get("Content-Length") != strconv.Itoa(len(got)) {
			t.Errorf("%s: Content-Length %q for %d bytes", target, resp.Header.Get("Content-Length"), len(got))
		}
	}
	// Without a server for the rest, the rest is refused, not lost.
	only := httptest.NewServer(New(dynamo.URL, "").Handler(""))
	defer only.Close()
	if resp, got := send(t, only.URL, "secretsmanager.GetSecretValue", "{}"); resp == nil || resp.StatusCode != http.StatusNotImplemented ||
		!strings.Contains(got, "UnknownOperationException") {
		t.Errorf("no moto: %v %s", resp, got)
	}
}

// The caller's hooks run first, then the proxy's; each sees the call as the
// one before left it, and the caller gets the last word.
func TestHooksRunInOrder(t *testing.T) {
	dynamo := server(t, "dynamodb-local")
	var mu sync.Mutex
	var seen []string
	note := func(name string) Hook {
		return func(c *Call, next Next) *Answer {
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s:%s:%s:%s", name, c.Function, c.Service, c.Op))
			mu.Unlock()
			return next(c)
		}
	}
	rewrite := func(c *Call, next Next) *Answer {
		a := next(c.WithOp("GetItem", []byte(`{"changed":true}`)))
		a.SetBody(append(a.Body, " (seen)"...))
		return a
	}
	p := New(dynamo.URL, "", note("proxy"))
	front := httptest.NewServer(p.Handler("CreateOrderFunction", note("caller"), rewrite))
	defer front.Close()
	resp, got := send(t, front.URL, "DynamoDB_20120810.PutItem", `{"TableName":"t"}`)
	if want := `dynamodb-local|DynamoDB_20120810.GetItem|identity|{"changed":true} (seen)`; got != want {
		t.Fatalf("answer %q, want %q", got, want)
	}
	if crc := resp.Header.Get("X-Amz-Crc32"); crc != strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(got))), 10) {
		t.Errorf("X-Amz-Crc32 %s is not the changed body's", crc)
	}
	if want := "[caller:CreateOrderFunction:dynamodb:PutItem proxy:CreateOrderFunction:dynamodb:GetItem]"; fmt.Sprint(seen) != want {
		t.Errorf("hooks saw %v, want %s", seen, want)
	}
}

func TestHooksAnswerThemselves(t *testing.T) {
	dynamo := server(t, "dynamodb-local")
	forwarded := 0
	count := func(c *Call, next Next) *Answer { forwarded++; return next(c) }
	fault := func(c *Call, next Next) *Answer {
		switch c.Fields().TableName {
		case "throttled":
			return Error(http.StatusBadRequest, "1.0", "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "slow down")
		case "dropped":
			return &Answer{Hangup: true}
		}
		return next(c)
	}
	front := httptest.NewServer(New(dynamo.URL, "", count).Handler("F", fault))
	defer front.Close()
	resp, got := send(t, front.URL, "DynamoDB_20120810.PutItem", `{"TableName":"throttled"}`)
	a := &Answer{Status: resp.StatusCode, Body: []byte(got)}
	if resp.StatusCode != http.StatusBadRequest || a.ErrorType() != "ProvisionedThroughputExceededException" {
		t.Errorf("throttle: %d %s (%s)", resp.StatusCode, got, a.ErrorType())
	}
	if resp, got := send(t, front.URL, "DynamoDB_20120810.PutItem", `{"TableName":"dropped"}`); resp != nil || !strings.Contains(got, "EOF") {
		t.Errorf("hang-up: %v %q, want the connection closed unanswered", resp, got)
	}
	if forwarded != 0 {
		t.Errorf("%d faulted calls reached the proxy's own hooks", forwarded)
	}
}
