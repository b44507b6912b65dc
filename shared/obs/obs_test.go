package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLoggerCarriesContextAttributes(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "PaymentSuccessFunction")
	ctx := With(context.Background(), "traceId", "req-1", "orderId", "ord_a")
	ctx = With(ctx, "orderId", "ord_b")
	log.InfoContext(ctx, "hello", "amount", 1000, "orderId", "ord_b")

	if n := strings.Count(buf.String(), `"orderId"`); n != 1 {
		t.Errorf("orderId appears %d times in %s", n, buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, buf.String())
	}
	for k, want := range map[string]any{"msg": "hello", "function": "PaymentSuccessFunction", "traceId": "req-1", "orderId": "ord_b", "amount": float64(1000)} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %v", k, rec[k], want)
		}
	}
	if got := Attr(ctx, "traceId"); got != "req-1" {
		t.Errorf("Attr(traceId) = %q", got)
	}
}

func TestLoggerScrubsSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "f")
	secret := "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"
	log.Info("oops", "authorization", "Basic dGVzdF9za196WExrS0V5cE5BcldtbzUwblgzbG1lYXhZRzVSOg==",
		"note", "key is "+secret, "err", errors.New("failed with "+secret),
		"merchantApiKey", "mk_live_0123456789abcdef0123")
	out := buf.String()
	for _, leak := range []string{secret, "dGVzdF9za19", "mk_live_0123456789abcdef0123"} {
		if strings.Contains(out, leak) {
			t.Fatalf("log line leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, "[redacted]") {
		t.Fatalf("expected redaction marker: %s", out)
	}
}

func TestMetricsEmitsEMF(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "ConfirmPaymentFunction")
	m.now = func() time.Time { return time.UnixMilli(1700000000000) }
	m.ConfirmOutcome("done")
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function       string
		Outcome        string
		ConfirmOutcome float64
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("EMF line is not JSON: %v", err)
	}
	d := doc.AWS.CloudWatchMetrics
	if doc.AWS.Timestamp != 1700000000000 || len(d) != 1 || d[0].Namespace != Namespace ||
		d[0].Metrics[0].Name != "ConfirmOutcome" || d[0].Metrics[0].Unit != "Count" {
		t.Fatalf("bad EMF metadata: %+v", doc.AWS)
	}
	if doc.Function != "ConfirmPaymentFunction" || doc.Outcome != "done" || doc.ConfirmOutcome != 1 {
		t.Fatalf("bad EMF values: %+v", doc)
	}
	if len(d[0].Dimensions) != 1 || strings.Join(d[0].Dimensions[0], ",") != "Function,Outcome" {
		t.Fatalf("dimensions = %v", d[0].Dimensions)
	}
	var nilMetrics *Metrics
	nilMetrics.ConfirmOutcome("done") // a nil Metrics is a no-op
}

// Lambda's own log level (AWS_LAMBDA_LOG_LEVEL, set from the function's
// logging config) wins over LOG_LEVEL; LOG_LEVEL is for runs outside Lambda.
func TestLevelFromEnvPrefersLambdasSetting(t *testing.T) {
	cases := []struct {
		lambda, own string
		want        slog.Level
	}{
		{"", "", slog.LevelInfo},
		{"", "debug", slog.LevelDebug},
		{"", "nonsense", slog.LevelInfo},
		{"WARN", "debug", slog.LevelWarn},
		{"DEBUG", "error", slog.LevelDebug},
		{"ERROR", "", slog.LevelError},
		{"TRACE", "info", slog.LevelDebug - 4},
		{"FATAL", "", slog.LevelError + 4},
		{"bogus", "warn", slog.LevelWarn},
	}
	for _, c := range cases {
		env := map[string]string{"AWS_LAMBDA_LOG_LEVEL": c.lambda, "LOG_LEVEL": c.own}
		if got := LevelFromEnv(func(k string) string { return env[k] }); got != c.want {
			t.Errorf("AWS_LAMBDA_LOG_LEVEL=%q LOG_LEVEL=%q: level %v, want %v", c.lambda, c.own, got, c.want)
		}
	}
}

// TestMetricsOfTossAndTheFailRedirect: each metric the alarms watch comes
// out as one EMF line whose dimension sets are the ones template.yaml's
// alarms name: Function alone (what the alarm sums) and, where a code
// tells more, Function and Code.
func TestMetricsOfTossAndTheFailRedirect(t *testing.T) {
	tests := []struct {
		name     string
		emit     func(m *Metrics)
		metric   string
		dims     [][]string
		fields   map[string]any
		noFields []string
	}{
		{"configuration error", func(m *Metrics) { m.TossConfigurationError("INVALID_API_KEY") },
			MetricTossConfigurationErrors, [][]string{{"Function"}, {"Function", "Code"}},
			map[string]any{"Code": "INVALID_API_KEY", "TossConfigurationErrors": float64(1)}, nil},
		{"fail redirect", func(m *Metrics) { m.PaymentFailRedirect("PAY_PROCESS_ABORTED") },
			MetricPaymentFailRedirects, [][]string{{"Function"}, {"Function", "Code"}},
			map[string]any{"Code": "PAY_PROCESS_ABORTED", "PaymentFailRedirects": float64(1)}, nil},
		{"version mismatch", func(m *Metrics) { m.TossAPIVersionMismatch("1.4") },
			MetricTossAPIVersionMismatch, [][]string{{"Function"}},
			map[string]any{"TossApiVersionMismatch": float64(1)}, []string{`"Version":`, `"1.4"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			m := NewMetrics(&buf, "PaymentFailFunction")
			tt.emit(m)
			if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
				t.Fatalf("%d lines: %s", n, buf.String())
			}
			var doc map[string]any
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			var meta struct {
				AWS struct {
					CloudWatchMetrics []struct {
						Namespace  string
						Dimensions [][]string
						Metrics    []struct{ Name, Unit string }
					}
				} `json:"_aws"`
			}
			if err := json.Unmarshal(buf.Bytes(), &meta); err != nil {
				t.Fatal(err)
			}
			d := meta.AWS.CloudWatchMetrics
			if len(d) != 1 || d[0].Namespace != Namespace || len(d[0].Metrics) != 1 || d[0].Metrics[0].Name != tt.metric || d[0].Metrics[0].Unit != "Count" {
				t.Fatalf("EMF metadata %+v", d)
			}
			if fmt.Sprint(d[0].Dimensions) != fmt.Sprint(tt.dims) {
				t.Errorf("dimension sets %v, want %v", d[0].Dimensions, tt.dims)
			}
			if doc["Function"] != "PaymentFailFunction" {
				t.Errorf("Function %v", doc["Function"])
			}
			for k, v := range tt.fields {
				if doc[k] != v {
					t.Errorf("%s = %v, want %v", k, doc[k], v)
				}
			}
			for _, s := range tt.noFields {
				if strings.Contains(buf.String(), s) {
					t.Errorf("the line carries %q: %s", s, buf.String())
				}
			}
		})
	}
}
