package apigw

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzEvent: any event JSON Lambda could hand a function decodes or is
// refused, and reading headers, the query and the body never panics; what
// they return is valid UTF-8 and bounded.
func FuzzEvent(f *testing.F) {
	f.Add([]byte(`{"version":"2.0","rawPath":"/payments/success","rawQueryString":"orderId=ord_1&amount=1000&amount=2","headers":{"Accept-Language":"en-US"},"requestContext":{"requestId":"r"}}`))
	f.Add([]byte(`{"body":"eyJhIjoxfQ==","isBase64Encoded":true,"headers":{"content-type":"application/json"}}`))
	f.Add([]byte(`{"rawQueryString":"%zz&a=%ff","queryStringParameters":{"a":"b"}}`))
	f.Add([]byte(`{"body":"\xff\xfe","headers":{"content-type":"application/problem+json; charset=utf-8"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Request
		if json.Unmarshal(b, &r) != nil {
			return
		}
		_ = Header(&r, "content-type")
		_ = IsJSON(&r)
		_ = TraceID(&r)
		_ = BaseURL(&r)
		if q, err := Query(&r); err == nil {
			for k, vs := range q {
				if !utf8.ValidString(k) {
					t.Fatalf("invalid UTF-8 name %q", k)
				}
				for _, v := range vs {
					if !utf8.ValidString(v) {
						t.Fatalf("invalid UTF-8 value %q", v)
					}
				}
			}
		}
		if body, err := Body(&r); err == nil {
			if len(body) > MaxBodyBytes || !utf8.Valid(body) {
				t.Fatalf("Body returned %d bytes, valid=%v", len(body), utf8.Valid(body))
			}
		}
	})
}
