package toss

import (
	"context"
	"testing"
)

// Accept-Language comes from the call's option, else its context (the
// buyer's page, set by whoever knows it), else the client's default.
func TestAcceptLanguagePrecedence(t *testing.T) {
	tests := []struct {
		name       string
		deployment string
		ctx        *string
		opt        *string
		want       string
	}{
		{"the deployment's default", "en-US", nil, nil, "en-US"},
		{"none at all", "", nil, nil, ""},
		{"the buyer's page over the default", "en-US", ptr("ko-KR"), nil, "ko-KR"},
		{"the buyer's page with no default", "", ptr("en-US"), nil, "en-US"},
		{"the context may send none", "en-US", ptr(""), nil, ""},
		{"the call's own option over both", "en-US", ptr("ko-KR"), ptr("ja-JP"), "ja-JP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := serve(t, okPayment)
			c := newClient(t, srv, func(o *Options) { o.AcceptLanguage = tt.deployment })
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = ContextWithAcceptLanguage(ctx, *tt.ctx)
			}
			var opts []CallOption
			if tt.opt != nil {
				opts = append(opts, WithAcceptLanguage(*tt.opt))
			}
			if _, err := c.Payment(ctx, pk, opts...); err != nil {
				t.Fatal(err)
			}
			if got := rec.all()[0].header.Get("Accept-Language"); got != tt.want {
				t.Errorf("Accept-Language %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := New(Options{SecretKey: StaticKey(testKey)}); err != nil {
		t.Fatal(err)
	}
	srv, _ := serve(t, okPayment)
	c := newClient(t, srv, nil)
	if _, err := c.Payment(ContextWithAcceptLanguage(context.Background(), "en\r\nX: 1"), pk); err == nil || Classify(err) != ClassDefinitive {
		t.Errorf("a header value net/http refuses went out: %v", err)
	}
}

func ptr(s string) *string { return &s }
