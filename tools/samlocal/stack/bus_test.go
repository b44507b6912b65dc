package stack

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/tossintl/backend/tools/awsproxy"
)

// The stack's PutEvents refuses what EventBridge refuses: more than 10
// entries a call, and entries over 256 KB together, counted as AWS counts
// an entry (UTF-8 bytes of Source, DetailType, Detail and Resources, 14
// for a Time). A refused call puts nothing.
func TestLocalBusLimits(t *testing.T) {
	tpl, r := loadTemplate(t, realTemplate)
	s := &Stack{Template: tpl, Resolver: r, logs: &strings.Builder{}}
	b := s.newBus("", nil)
	s.bus = b
	front := httptest.NewServer(awsproxy.New("http://127.0.0.1:1", "http://127.0.0.1:1", b.hook).Handler(""))
	defer front.Close()
	client := eventbridge.New(eventbridge.Options{Region: Region, Credentials: credentials.NewStaticCredentialsProvider("t", "t", ""),
		BaseEndpoint: aws.String(front.URL), RetryMaxAttempts: 1})

	const source, detailType = "tossintl.orders", "Order Refunded"
	// detail is a JSON object of exactly n bytes, written with fill (one
	// or more bytes a character).
	detail := func(n int, fill string) string {
		body := strings.Repeat(fill, (n-len(`{"a":""}`))/len(fill))
		return `{"a":"` + body + strings.Repeat("x", n-len(`{"a":""}`)-len(body)) + `"}`
	}
	entry := func(d string, at bool, resources ...string) ebtypes.PutEventsRequestEntry {
		e := ebtypes.PutEventsRequestEntry{EventBusName: aws.String("tossintl-dev-orders"), Source: aws.String(source),
			DetailType: aws.String(detailType), Detail: aws.String(d), Resources: resources}
		if at {
			e.Time = aws.Time(time.Unix(1796684244, 0))
		}
		return e
	}
	const limit = 256 << 10
	room := limit - len(source) - len(detailType) // what the detail may take with no Time
	tests := []struct {
		name    string
		entries []ebtypes.PutEventsRequestEntry
		ok      bool
	}{
		{"one entry at the limit", []ebtypes.PutEventsRequestEntry{entry(detail(room, "x"), false)}, true},
		{"one byte over", []ebtypes.PutEventsRequestEntry{entry(detail(room+1, "x"), false)}, false},
		{"the Time counts 14 bytes", []ebtypes.PutEventsRequestEntry{entry(detail(room-13, "x"), true)}, false},
		{"at the limit with a Time", []ebtypes.PutEventsRequestEntry{entry(detail(room-14, "x"), true)}, true},
		{"resources count", []ebtypes.PutEventsRequestEntry{entry(detail(room-3, "x"), false, "arn")}, true},
		{"resources over", []ebtypes.PutEventsRequestEntry{entry(detail(room-3, "x"), false, "arn:")}, false},
		{"UTF-8 bytes, not characters", []ebtypes.PutEventsRequestEntry{entry(detail(room+2, "환"), false)}, false},
		{"two entries over together", []ebtypes.PutEventsRequestEntry{entry(detail(room/2+1, "x"), false), entry(detail(room/2+1, "x"), false)}, false},
		{"ten entries", slicesOf(entry(`{"a":1}`, true), 10), true},
		{"eleven entries", slicesOf(entry(`{"a":1}`, true), 11), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.BusEvents())
			out, err := client.PutEvents(t.Context(), &eventbridge.PutEventsInput{Entries: tt.entries})
			put := len(s.BusEvents()) - before
			if tt.ok {
				if err != nil || out.FailedEntryCount != 0 || put != len(tt.entries) {
					t.Fatalf("refused: %v, %+v, %d put", err, out, put)
				}
				return
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
				t.Fatalf("err %v, want ValidationException", err)
			}
			if put != 0 {
				t.Errorf("%d events put by a refused call", put)
			}
		})
	}
}

func slicesOf[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}
