package toss

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/logsink"
)

// TestSecretNeverLeaks drives failing and succeeding calls against a server
// that does its worst (echoing the credentials back), then searches every
// log line and every error rendering for the keys in any form.
func TestSecretNeverLeaks(t *testing.T) {
	const key1, key2 = "test_sk_leakcheck_7f3a9", "test_sk_rotated_91bc4"
	var forbidden []string
	for _, k := range []string{key1, key2} {
		forbidden = append(forbidden, k,
			base64.StdEncoding.EncodeToString([]byte(k+":")),
			base64.StdEncoding.EncodeToString([]byte(k)),
			base64.RawStdEncoding.EncodeToString([]byte(k+":")))
	}

	var logs logsink.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	textLogger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		auth := r.Header.Get("Authorization")
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
		switch r.URL.Path {
		default:
			okPayment(w, r, 0)
		case "/v1/payments/unauthorized":
			writeJSON(w, 401, fmt.Sprintf(`{"code":"UNAUTHORIZED_KEY","message":"bad key %s (%s)"}`, raw, auth))
		case "/v1/payments/echo500":
			writeJSON(w, 500, fmt.Sprintf(`{"code":"%s","message":"you sent %s, i.e. %s","traceId":"%s"}`, raw, auth, raw, auth))
		case "/v1/payments/echo-v2":
			writeJSON(w, 400, fmt.Sprintf(`{"version":"x","traceId":%q,"error":{"code":"INVALID_REQUEST","message":%q}}`, raw, auth))
		case "/v1/payments/html":
			w.WriteHeader(502)
			fmt.Fprintf(w, "<html>%s %s</html>", auth, raw)
		case "/v1/payments/hangup":
			hangUp(w)
		case "/v1/payments/confirm":
			tossError(w, 403, CodeRejectCardCompany)
		}
	})

	var errs []error
	for _, lg := range []*slog.Logger{logger, textLogger} {
		current := key1
		keys := func(_ context.Context, refresh bool) (string, error) {
			if refresh {
				current = key2
			}
			return current, nil
		}
		c := newClient(t, srv, func(o *Options) {
			o.SecretKey = keys
			o.Logger = lg
			o.TestCode = "PROVIDER_ERROR"
		})
		ctx := context.Background()
		for _, path := range []string{"unauthorized", "echo500", "echo-v2", "html", "hangup", pk} {
			_, err := c.Payment(ctx, path)
			errs = append(errs, err)
		}
		_, err := c.Confirm(ctx, ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, "idem-leak")
		errs = append(errs, err)
		_, err = c.Confirm(ctx, ConfirmRequest{PaymentKey: pk, OrderID: order, Amount: amt}, "")
		errs = append(errs, err)

		bad, err := New(Options{BaseURL: srv.URL, SecretKey: StaticKey(key1 + "\x00"), Logger: lg})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Payment(ctx, pk)
		errs = append(errs, err)

		errs = append(errs, fmt.Errorf("%+v %#v %v %+v", c, c, Options{SecretKey: keys}, *c))
	}

	var rendered strings.Builder
	failures := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		failures++
		fmt.Fprintf(&rendered, "%v\n%+v\n%#v\n%s\n", err, err, err, err.Error())
	}
	if failures < 10 {
		t.Fatalf("only %d failing calls; the test must exercise the error paths", failures)
	}
	out := logs.String()
	if strings.Count(out, "toss call") < 10 {
		t.Fatalf("logs have too few attempt lines:\n%s", out)
	}
	for _, f := range forbidden {
		if strings.Contains(out, f) {
			t.Errorf("log output contains %q:\n%s", f, out)
		}
		if strings.Contains(rendered.String(), f) {
			t.Errorf("an error rendering contains %q:\n%s", f, rendered.String())
		}
	}
	if strings.Contains(out, "Authorization") {
		t.Errorf("log output mentions the Authorization header:\n%s", out)
	}
	if !strings.Contains(out, "[redacted]") {
		t.Errorf("echoed credentials were not redacted:\n%s", out)
	}
}
