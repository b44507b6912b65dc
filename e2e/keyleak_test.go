package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/logsink"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// sandboxLinePrefix marks the Toss sandbox's own log lines in the stack's
// Logs. They stand for Toss's logs, not ours: Toss issued every paymentKey
// and keeps them in its records (the sandbox logs request paths, which
// carry them). Everything else (the functions' output, the Runtime API
// emulator's and the stack's lines) is what this project writes to
// CloudWatch, and is searched.
const sandboxLinePrefix = "[TossSandbox] "

// keyLeak is one log line that holds a paymentKey whole.
type keyLeak struct {
	line int    // 1-based line number in the logs
	text string // the line, every paymentKey in it masked
}

// paymentKeyLeaks returns every line of logs, but the sandbox's own, that
// holds one of keys whole, and how many lines were searched. A paymentKey
// may appear only masked (payments.MaskKey: first 4, ****, last 4): with a
// leaked secret key, a whole one is enough to read or refund a payment.
func paymentKeyLeaks(logs string, keys []string) (leaks []keyLeak, searched int) {
	for i, line := range strings.Split(logs, "\n") {
		if line == "" || strings.Contains(line, sandboxLinePrefix) {
			continue
		}
		searched++
		var hit bool
		for _, k := range keys {
			if k != "" && strings.Contains(line, k) {
				hit = true
				break
			}
		}
		if hit {
			leaks = append(leaks, keyLeak{line: i + 1, text: maskKeys(line, keys)})
		}
	}
	return leaks, searched
}

// maskKeys masks every key in s, so a report of a leak does not repeat it.
func maskKeys(s string, keys []string) string {
	for _, k := range keys {
		if k != "" {
			s = strings.ReplaceAll(s, k, payments.MaskKey(k))
		}
	}
	return s
}

// reportKeyLeaks fails t for each leak, the first 20 shown.
func reportKeyLeaks(t testing.TB, leaks []keyLeak, searched, keys int) {
	t.Helper()
	if len(leaks) == 0 {
		return
	}
	var b strings.Builder
	for i, l := range leaks {
		if i == 20 {
			b.WriteString("\n…")
			break
		}
		// "line N:" first: make chaos filters out lines that start with
		// a function's "[Name]" prefix.
		fmt.Fprintf(&b, "\nline %d: %s", l.line, strings.TrimSpace(l.text[:min(len(l.text), 600)]))
	}
	t.Errorf("%d of %d log lines hold one of the %d paymentKeys the sandbox issued, unmasked (shown masked):%s", len(leaks), searched, keys, b.String())
}

// guardPaymentKeys searches, once the suite is over and its stack closed,
// every log line of the stack for every paymentKey its sandbox issued (see
// paymentKeyLeaks). Call it right after stack.Start succeeded and before
// registering the stack's Close: cleanups run last first, so the search
// then sees the lines written while the stack shut down too.
func guardPaymentKeys(t *testing.T, s *stack.Stack, logs *logsink.Buffer) {
	t.Helper()
	t.Cleanup(func() {
		keys := s.Sandbox.PaymentKeys()
		leaks, searched := paymentKeyLeaks(logs.String(), keys)
		reportKeyLeaks(t, leaks, searched, len(keys))
	})
}

func TestPaymentKeyLeaksFindsWholeKeysOnly(t *testing.T) {
	const key = "tgen_20261129120000AbCdEfGhIj"
	keys := []string{key, "tgen_20261129120000ZzZzZzZzZz"}
	logs := strings.Join([]string{
		`[PaymentSuccessFunction] {"msg":"confirm claimed","paymentKey":"` + payments.MaskKey(key) + `"}`,
		`[TossSandbox] time=… msg="toss sandbox request" path=/v1/payments/` + key,
		`[stack] GET /payments/` + key + `/cancel → CancelPaymentFunction: timeout: 500`,
		`[lambdarun] ConfirmPaymentFunction: payload {"paymentKey":"` + key + `x"}`,
		``,
	}, "\n")
	leaks, searched := paymentKeyLeaks(logs, keys)
	if searched != 3 {
		t.Errorf("searched %d lines, want 3 (the sandbox's own and empty lines skipped)", searched)
	}
	if len(leaks) != 2 || leaks[0].line != 3 || leaks[1].line != 4 {
		t.Fatalf("leaks %+v, want lines 3 and 4", leaks)
	}
	for _, l := range leaks {
		if strings.Contains(l.text, key) || !strings.Contains(l.text, payments.MaskKey(key)) {
			t.Errorf("a reported leak repeats the key or lost its place: %q", l.text)
		}
	}
}
