package idempotency

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Without a deadline on the handler's context, a lock holds for 30 seconds
// (API Gateway's own limit on a request) and not a moment less: a repeat
// meanwhile is told the request is in progress; after, it takes over.
func TestDefaultLockTimeoutIsThirtySeconds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *Guard, clk *fakeClock, inspect func(string) (Record, bool)) {
		ctx := context.Background()
		start := clk.Now()
		_, _, err := g.Do(ctx, req("k", `{}`), func(context.Context) (Response, error) {
			rec, _ := inspect(RecordID(req("k", "")))
			if got := rec.LockExpiresAt.Sub(start); got < 30*time.Second-time.Millisecond || got > 30*time.Second {
				t.Errorf("the lock holds for %v, want 30s", got)
			}
			clk.Advance(29 * time.Second)
			if _, _, err := g.Do(ctx, req("k", `{}`), mustNotRun(t)); !errors.Is(err, ErrInProgress) {
				t.Errorf("a repeat 29s in: %v, want ErrInProgress", err)
			}
			return okResponse(`{}`), nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A key made of text only: a control character anywhere, the first
// included, makes it invalid.
func TestValidateKeyRefusesControlCharactersAnywhere(t *testing.T) {
	for _, key := range []string{"\x00abc", "\tabc", "ab\x7fc", "abc\n"} {
		if err := ValidateKey(key); !errors.Is(err, ErrKeyCharacters) {
			t.Errorf("ValidateKey(%q) = %v, want ErrKeyCharacters", key, err)
		}
	}
}
