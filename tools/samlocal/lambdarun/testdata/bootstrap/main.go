// Command bootstrap is a Lambda function for the lambdarun tests: the event
// says what to do, TEST_INIT what goes wrong at init.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op   string `json:"op"`
	Text string `json:"text"`
	Code int    `json:"code"`
	URL  string `json:"url"`
	Size int    `json:"size"`
}

func main() {
	switch os.Getenv("TEST_INIT") {
	case "exit":
		fmt.Fprintln(os.Stderr, "init: ORDERS_TABLE is not set")
		os.Exit(3)
	case "error":
		// What a custom runtime does when its init fails.
		body := `{"errorType":"Config.Missing","errorMessage":"ORDERS_TABLE is not set"}`
		resp, err := http.Post("http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error", "application/json", strings.NewReader(body))
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}
	lambda.Start(handle)
}

// failingReader streams some bytes, then fails: the runtime sends the
// failure as response trailers.
type failingReader struct{ sent bool }

func (r *failingReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(p, `{"partial":`), nil
	}
	return 0, errors.New("stream broke")
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("bad event: %w", err)
	}
	lc, _ := lambdacontext.FromContext(ctx)
	switch ev.Op {
	case "echo":
		fmt.Println("echo:", ev.Text)
		fmt.Fprintln(os.Stderr, "to stderr")
		return raw, nil
	case "error":
		return nil, errors.New(ev.Text)
	case "panic":
		panic(ev.Text)
	case "sleep":
		time.Sleep(time.Hour)
		return "woke", nil
	case "exit":
		fmt.Println("exiting with", ev.Code)
		os.Exit(ev.Code)
	case "context":
		dl, _ := ctx.Deadline()
		return map[string]any{
			"requestId":   lc.AwsRequestID,
			"functionArn": lc.InvokedFunctionArn,
			"deadlineMs":  dl.UnixMilli(),
			"traceId":     ctx.Value("x-amzn-trace-id"),
		}, nil
	case "env":
		return os.Environ(), nil
	case "pid":
		return os.Getpid(), nil
	case "rendezvous":
		// Blocks until the test's server lets every caller through, so all
		// invocations are in flight at once; then says which process ran it.
		resp, err := http.Get(ev.URL)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return os.Getpid(), nil
	case "stream":
		// A reader the runtime streams chunk by chunk (unknown length).
		return io.MultiReader(strings.NewReader(`{"chunks":[`), strings.NewReader(`"a","b",`), strings.NewReader(`"c"]}`)), nil
	case "stream-fail":
		return &failingReader{}, nil
	case "big":
		return bytes.NewReader(bytes.Repeat([]byte("x"), ev.Size)), nil
	case "partial-line":
		fmt.Print("no newline at the end")
		os.Exit(0)
	}
	return nil, fmt.Errorf("unknown op %q", ev.Op)
}
