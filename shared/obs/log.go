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

// redactSecrets replaces, left to right, every Toss key
// ((test|live)_(sk|gsk)_ and its [A-Za-z0-9_] characters, any letter case)
// and every Basic credential ("basic", whitespace, 8 or more base64
// characters) with "[redacted]"; ok reports whether anything was. It is a
// hand-written scanner rather than a regexp because it runs on every log
// value of every request; the tests hold it to the equivalent regexp.
func redactSecrets(s string) (out string, ok bool) {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		n := keyAt(s, i)
		if n == 0 {
			n = basicAt(s, i)
		}
		if n == 0 {
			i++
			continue
		}
		if !ok {
			b.Grow(len(s))
			ok = true
		}
		b.WriteString(s[last:i])
		b.WriteString("[redacted]")
		i += n
		last = i
	}
	if !ok {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// keyAt is the length of a Toss key starting at s[i], or 0.
func keyAt(s string, i int) int {
	j := i
	switch {
	case hasPrefixFold(s[j:], "test_"), hasPrefixFold(s[j:], "live_"):
		j += 5
	default:
		return 0
	}
	switch {
	case hasPrefixFold(s[j:], "sk_"):
		j += 3
	case hasPrefixFold(s[j:], "gsk_"):
		j += 4
	default:
		return 0
	}
	k := j
	for k < len(s) && (isAlnum(s[k]) || s[k] == '_') {
		k++
	}
	if k == j {
		return 0
	}
	return k - i
}

// basicAt is the length of a Basic credential starting at s[i], or 0.
func basicAt(s string, i int) int {
	if !hasPrefixFold(s[i:], "basic") {
		return 0
	}
	j := i + 5
	k := j
	for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\f' || s[k] == '\r') {
		k++
	}
	if k == j {
		return 0
	}
	m := k
	for m < len(s) && (isAlnum(s[m]) || s[m] == '+' || s[m] == '/' || s[m] == '=') {
		m++
	}
	if m-k < 8 {
		return 0
	}
	return m - i
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// in any letter case (ASCII only: keys are ASCII).
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
