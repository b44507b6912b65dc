package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    options
		wantErr string
	}{
		{name: "defaults", want: options{addr: defaultAddr, secretKey: tosstest.DefaultSecretKey, clientKey: tosstest.DefaultClientKey}},
		{name: "env", env: map[string]string{
			"TOSS_SANDBOX_ADDR": "0.0.0.0:9999", "TOSS_SANDBOX_PUBLIC_URL": "https://toss.local",
			"TOSS_SANDBOX_SECRET_KEY": "test_sk_sandbox_env", "TOSS_SANDBOX_CLIENT_KEY": "test_ck_sandbox_env",
		}, want: options{addr: "0.0.0.0:9999", publicURL: "https://toss.local", secretKey: "test_sk_sandbox_env", clientKey: "test_ck_sandbox_env"}},
		{name: "flags override env", args: []string{"-addr", "127.0.0.1:0", "-latency", "250ms", "-public-url", "http://x"},
			env:  map[string]string{"TOSS_SANDBOX_ADDR": "0.0.0.0:9999"},
			want: options{addr: "127.0.0.1:0", publicURL: "http://x", latency: 250 * time.Millisecond, secretKey: tosstest.DefaultSecretKey, clientKey: tosstest.DefaultClientKey}},
		{name: "live secret key refused", env: map[string]string{"TOSS_SANDBOX_SECRET_KEY": "live_sk_" + "whatever"}, wantErr: "test secret key"},
		{name: "client key as secret refused", env: map[string]string{"TOSS_SANDBOX_SECRET_KEY": "test_ck_whatever"}, wantErr: "test secret key"},
		{name: "live client key refused", env: map[string]string{"TOSS_SANDBOX_CLIENT_KEY": "live_ck_whatever"}, wantErr: "test client key"},
		{name: "webhook target", args: []string{"-webhook-url", "http://127.0.0.1:3000/webhooks/toss"},
			want: options{addr: defaultAddr, webhookURL: "http://127.0.0.1:3000/webhooks/toss", secretKey: tosstest.DefaultSecretKey, clientKey: tosstest.DefaultClientKey}},
		{name: "webhook target not a URL", env: map[string]string{"TOSS_SANDBOX_WEBHOOK_URL": "localhost:3000"}, wantErr: "webhook-url"},
		{name: "negative latency", args: []string{"-latency", "-1s"}, wantErr: "negative"},
		{name: "bad latency", args: []string{"-latency", "soon"}, wantErr: "parse flags"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
		{name: "no key flag exists", args: []string{"-secret-key", "test_sk_x"}, wantErr: "parse flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.secretSource = ""
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := parseOptions([]string{"-h"}, func(string) string { return "" }, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	const secret = "test_sk_sandbox_run_secret"
	o, err := parseOptions([]string{"-addr", "127.0.0.1:0", "-latency", "1h"}, func(k string) string {
		return map[string]string{"TOSS_SANDBOX_SECRET_KEY": secret}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs bytes.Buffer
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, o, &out, slog.New(slog.NewTextHandler(&logs, nil)), func(u string) { urls <- u })
	}()
	base := <-urls

	// A call held by the hour of latency must not block the shutdown.
	held := make(chan struct{})
	go func() {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/payments/tgen_x", nil)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(secret+":")))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		close(held)
	}()

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	<-held

	banner := out.String()
	if !strings.Contains(banner, base) || !strings.Contains(banner, tosstest.DefaultClientKey) {
		t.Fatalf("banner lacks the URL or client key:\n%s", banner)
	}
	if strings.Contains(banner+logs.String(), secret) {
		t.Fatal("the secret key was printed")
	}
}
