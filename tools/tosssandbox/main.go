// Command tosssandbox runs the Toss sandbox (package tosstest) as a
// standalone server for the local stack and browser tests.
//
//	TOSS_SANDBOX_ADDR        listen address (default 127.0.0.1:4010); -addr overrides
//	TOSS_SANDBOX_PUBLIC_URL  base URL for links when behind a proxy; -public-url overrides
//	TOSS_SANDBOX_SECRET_KEY  secret key to accept (test_sk_…; default tosstest.DefaultSecretKey)
//	TOSS_SANDBOX_CLIENT_KEY  client key to accept (test_ck_…; default tosstest.DefaultClientKey)
//	-latency 300ms           delay added to every API call
//
// Keys come from the environment only, never flags, so they stay out of
// process listings and shell history. The program prints its URL and the
// client key, never the secret key, and stops gracefully on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

const defaultAddr = "127.0.0.1:4010"

type options struct {
	addr         string
	publicURL    string
	secretKey    string
	clientKey    string
	latency      time.Duration
	webhookURL   string
	secretSource string // where the secret key came from, for the banner
}

// parseOptions reads flags and environment. It refuses live keys: the
// sandbox must never be handed a key that can move real money.
func parseOptions(args []string, getenv func(string) string, errOut io.Writer) (options, error) {
	o := options{
		addr:         getenv("TOSS_SANDBOX_ADDR"),
		publicURL:    getenv("TOSS_SANDBOX_PUBLIC_URL"),
		secretKey:    getenv("TOSS_SANDBOX_SECRET_KEY"),
		clientKey:    getenv("TOSS_SANDBOX_CLIENT_KEY"),
		webhookURL:   getenv("TOSS_SANDBOX_WEBHOOK_URL"),
		secretSource: "TOSS_SANDBOX_SECRET_KEY",
	}
	if o.addr == "" {
		o.addr = defaultAddr
	}
	if o.secretKey == "" {
		o.secretKey = tosstest.DefaultSecretKey
		o.secretSource = "tosstest.DefaultSecretKey"
	}
	if o.clientKey == "" {
		o.clientKey = tosstest.DefaultClientKey
	}

	fs := flag.NewFlagSet("tosssandbox", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&o.addr, "addr", o.addr, "listen address (env TOSS_SANDBOX_ADDR)")
	fs.StringVar(&o.publicURL, "public-url", o.publicURL, "base URL for links, when behind a proxy (env TOSS_SANDBOX_PUBLIC_URL)")
	fs.DurationVar(&o.latency, "latency", 0, "delay added to every API call")
	fs.StringVar(&o.webhookURL, "webhook-url", o.webhookURL, "where payment webhooks are sent, like a MID's registered webhook (env TOSS_SANDBOX_WEBHOOK_URL)")
	if err := fs.Parse(args); err != nil {
		return options{}, fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.latency < 0 {
		return options{}, fmt.Errorf("-latency must not be negative, got %s", o.latency)
	}
	if o.webhookURL != "" {
		if u, err := neturl.Parse(o.webhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return options{}, fmt.Errorf("-webhook-url must be an absolute http(s) URL, got %q", o.webhookURL)
		}
	}
	if !strings.HasPrefix(o.secretKey, "test_sk_") {
		return options{}, errors.New("TOSS_SANDBOX_SECRET_KEY must be a test secret key (test_sk_…); never give the sandbox a live key")
	}
	if !strings.HasPrefix(o.clientKey, "test_ck_") {
		return options{}, errors.New("TOSS_SANDBOX_CLIENT_KEY must be a test client key (test_ck_…)")
	}
	return o, nil
}

// run serves until ctx ends, then shuts down. ready, when set, receives
// the base URL once the listener is open.
func run(ctx context.Context, o options, out io.Writer, logger *slog.Logger, ready func(url string)) error {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	sb := tosstest.New(tosstest.Config{
		SecretKey: o.secretKey,
		ClientKey: o.clientKey,
		Latency:   o.latency,
		Logger:    logger,
		PublicURL: o.publicURL,
	})
	if o.webhookURL != "" {
		sb.SetWebhookURL(o.webhookURL)
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}

	url := o.publicURL
	if url == "" {
		url = "http://" + ln.Addr().String()
	}
	fmt.Fprintf(out, "Toss sandbox listening on %s\n", url)
	fmt.Fprintf(out, "  API base URL: %s\n", url)
	fmt.Fprintf(out, "  SDK script:   %s/v2/standard\n", url)
	fmt.Fprintf(out, "  client key:   %s\n", sb.ClientKey())
	fmt.Fprintf(out, "  secret key:   from %s, not shown\n", o.secretSource)
	if o.webhookURL != "" {
		fmt.Fprintf(out, "  webhooks to:  %s\n", o.webhookURL)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(url)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Release calls held by -latency first, so Shutdown need not wait them out.
	sb.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func main() {
	o, err := parseOptions(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tosssandbox:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, o, os.Stdout, logger, nil); err != nil {
		fmt.Fprintln(os.Stderr, "tosssandbox:", err)
		stop()
		os.Exit(1)
	}
}
