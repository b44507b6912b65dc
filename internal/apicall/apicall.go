// Package apicall sends one HTTP request to an API under test and returns
// what came back, for the suites that drive the local stack over HTTP
// (e2e/ and tools/samlocal/stack's own tests).
package apicall

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"testing"
)

// Result is an answer: its status, headers and whole body.
type Result struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends method url with header and body, and fails the test if the
// request cannot be made or its body cannot be read.
func Do(t testing.TB, method, url string, header map[string]string, body []byte) Result {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Add(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, url, err)
	}
	return Result{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Basic is the merchant API's Authorization header for key (the key as the
// Basic user name, no password).
func Basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}
