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
	"unicode/utf8"
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
// with the function's name, at LOG_LEVEL (debug, info, warn, error; default info).
func NewLogger(w io.Writer, function string) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: scrub})
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

// secretPattern matches Toss keys and Basic credentials wherever they would
// appear in a string value.
var secretPattern = regexp.MustCompile(`(?i)(test|live)_(sk|gsk)_[A-Za-z0-9_]+|Basic\s+[A-Za-z0-9+/=]{8,}`)

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
		if s := a.Value.String(); mayHoldSecret(s) && secretPattern.MatchString(s) {
			return slog.String(a.Key, secretPattern.ReplaceAllString(s, "[redacted]"))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			if s := err.Error(); mayHoldSecret(s) && secretPattern.MatchString(s) {
				return slog.String(a.Key, secretPattern.ReplaceAllString(s, "[redacted]"))
			}
		}
	}
	return a
}

// mayHoldSecret is false only for strings secretPattern cannot match, and
// costs a fraction of running it: every match contains "_sk_", "_gsk_" or
// "basic" in some case. Case-insensitive matching also folds a few
// non-ASCII letters (ſ, K) onto ASCII ones, so a string with any non-ASCII
// byte is left to the pattern.
func mayHoldSecret(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			return true
		case c == '_':
			if hasPrefixFold(s[i:], "_sk_") || hasPrefixFold(s[i:], "_gsk_") {
				return true
			}
		case c == 'b' || c == 'B':
			if hasPrefixFold(s[i:], "basic") {
				return true
			}
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
