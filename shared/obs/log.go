// Package obs is the functions' structured logging and metrics: one JSON
// line per log record carrying the request's traceId, the function and the
// orderId taken from the context, and CloudWatch Embedded Metric Format
// lines for metrics. Secrets are scrubbed from every record as a last line of
// defence: code must not log them in the first place.
package obs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
)

type ctxKey struct{}

// With returns ctx carrying attrs that every log record made with ctx gets
// (traceId, orderId, …). Later values for the same key win.
func With(ctx context.Context, args ...any) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	attrs := make([]slog.Attr, 0, len(prev)+len(args)/2)
	attrs = append(attrs, prev...)
	r := slog.Record{}
	r.Add(args...)
	r.Attrs(func(a slog.Attr) bool {
		for i := range attrs {
			if attrs[i].Key == a.Key {
				attrs[i] = a
				return true
			}
		}
		attrs = append(attrs, a)
		return true
	})
	return context.WithValue(ctx, ctxKey{}, attrs)
}

// Attr returns the value of a context attribute set by With, or "".
func Attr(ctx context.Context, key string) string {
	attrs, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

// NewLogger returns a JSON logger writing to w (os.Stdout when nil), tagged
// with the function's name, at the level LevelFromEnv reads.
func NewLogger(w io.Writer, function string) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: LevelFromEnv(os.Getenv), ReplaceAttr: scrub})
	return slog.New(contextHandler{h}).With("function", function)
}

// contextHandler adds the attributes stored by With to every record.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	attrs, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	if len(attrs) == 0 {
		return h.Handler.Handle(ctx, r)
	}
	// A key the record already carries is not repeated: one JSON object, one value per key.
	present := make(map[string]bool, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool { present[a.Key] = true; return true })
	for _, a := range attrs {
		if !present[a.Key] {
			r.AddAttrs(a)
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// sensitiveKeys are attribute names whose values are never logged.
var sensitiveKeys = map[string]bool{
	"authorization":  true,
	"secretkey":      true,
	"tosssecretkey":  true,
	"merchantapikey": true,
	"apikey":         true,
	"password":       true,
}

func scrub(_ []string, a slog.Attr) slog.Attr {
	if sensitiveKeys[strings.ToLower(a.Key)] {
		return slog.String(a.Key, "[redacted]")
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s, ok := redactSecrets(a.Value.String()); ok {
			return slog.String(a.Key, s)
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			if s, ok := redactSecrets(err.Error()); ok {
				return slog.String(a.Key, s)
			}
		}
	}
	return a
}

// secretPattern matches a Toss secret key (test_sk_…, live_sk_…, and the
// widget's test_gsk_…/live_gsk_…) and a Basic credential, in any letter
// case, wherever they sit in a value. The letter cases are spelled out
// rather than written with (?i) because Go's case folding also maps ſ and
// the Kelvin sign onto s and k, and those never start a key (\w and \s are
// ASCII-only in Go).
var secretPattern = regexp.MustCompile(`(?:[tT][eE][sS][tT]|[lL][iI][vV][eE])_[gG]?[sS][kK]_\w+` +
	`|[bB][aA][sS][iI][cC]\s+[A-Za-z0-9+/=]{8,}`)

// redactSecrets replaces every match of secretPattern with "[redacted]"; ok
// reports whether anything was. It runs on every value of every log
// record, and almost none holds a secret, so a cheap test that every match
// needs ("sk_" or "basic", in some case) spares the regexp most values.
func redactSecrets(s string) (out string, ok bool) {
	if l := strings.ToLower(s); !strings.Contains(l, "sk_") && !strings.Contains(l, "basic") {
		return s, false
	}
	if !secretPattern.MatchString(s) {
		return s, false
	}
	return secretPattern.ReplaceAllString(s, "[redacted]"), true
}

// LevelFromEnv is the log level getenv configures. Lambda's own setting
// comes first: with the function's logging config (template.yaml's
// ApplicationLogLevel), Lambda sets AWS_LAMBDA_LOG_LEVEL (TRACE, DEBUG,
// INFO, WARN, ERROR or FATAL) and drops what the function writes below
// it, so the function must not write at another level than the one the
// deployer chose there. LOG_LEVEL (debug, info, warn, error) is read
// when Lambda sets none, as locally; the default is info.
func LevelFromEnv(getenv func(string) string) slog.Level {
	switch v := strings.ToUpper(strings.TrimSpace(getenv("AWS_LAMBDA_LOG_LEVEL"))); v {
	case "TRACE":
		return slog.LevelDebug - 4
	case "FATAL":
		return slog.LevelError + 4
	case "":
	default:
		var level slog.Level
		if level.UnmarshalText([]byte(v)) == nil {
			return level
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(getenv("LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return level
}
