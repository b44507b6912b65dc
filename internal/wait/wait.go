// Package wait is how the project's tests and local tools wait on a fact:
// a condition polled until it holds, with a deadline and a message that
// says what never happened. Nothing here sleeps a fixed time in the hope
// that something has happened by then.
package wait

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrTimeout is Until's error when the condition did not hold in time.
var ErrTimeout = errors.New("the condition did not hold in time")

// The pause between polls starts short, so a fact that comes quickly is
// seen quickly, and doubles up to maxPause, so a slow one costs little.
const (
	firstPause = 5 * time.Millisecond
	maxPause   = 100 * time.Millisecond
)

// Until calls cond until it reports done or an error, ctx ends or timeout
// passes. It returns nil once cond is done, cond's error, ctx's error, or
// ErrTimeout (wrapped with the time waited).
func Until(ctx context.Context, timeout time.Duration, cond func() (done bool, err error)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	pause := firstPause
	for {
		done, err := cond()
		if err != nil || done {
			return err
		}
		tick := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			tick.Stop()
			return ctx.Err()
		case <-deadline.C:
			tick.Stop()
			// One last look: the fact may have come during the pause.
			if done, err := cond(); err != nil || done {
				return err
			}
			return fmt.Errorf("waited %s: %w", timeout, ErrTimeout)
		case <-tick.C:
		}
		pause = min(2*pause, maxPause)
	}
}

// T is what For needs of a test (a *testing.T or *testing.B).
type T interface {
	Helper()
	Context() context.Context
	Fatalf(format string, args ...any)
}

// For fails t unless cond holds within timeout; what names the fact
// awaited, for the failure message ("waited 1m0s for <what>").
func For(t T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	err := Until(t.Context(), timeout, func() (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waited %s for %s: %v", timeout, what, err)
	}
}
