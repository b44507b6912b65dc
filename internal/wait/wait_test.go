package wait

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	var calls atomic.Int32
	err := Until(t.Context(), time.Minute, func() (bool, error) { return calls.Add(1) == 3, nil })
	if err != nil || calls.Load() != 3 {
		t.Fatalf("Until: %v after %d calls, want nil after 3", err, calls.Load())
	}
}

func TestUntilStopsOnTheConditionsError(t *testing.T) {
	boom := errors.New("boom")
	if err := Until(t.Context(), time.Minute, func() (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Fatalf("Until: %v, want %v", err, boom)
	}
}

func TestUntilTimesOut(t *testing.T) {
	err := Until(t.Context(), 20*time.Millisecond, func() (bool, error) { return false, nil })
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Until: %v, want ErrTimeout", err)
	}
}

func TestUntilEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Until(ctx, time.Minute, func() (bool, error) { return false, nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Until: %v, want context.Canceled", err)
	}
}

// fakeT records what For reports.
type fakeT struct {
	ctx    context.Context
	failed string
}

func (f *fakeT) Helper()                        {}
func (f *fakeT) Context() context.Context       { return f.ctx }
func (f *fakeT) Fatalf(format string, a ...any) { f.failed = fmt.Sprintf(format, a...) }

func TestForNamesTheFactThatNeverCame(t *testing.T) {
	ft := &fakeT{ctx: t.Context()}
	For(ft, 10*time.Millisecond, "the marker event", func() bool { return false })
	if !strings.Contains(ft.failed, "waited 10ms for the marker event") {
		t.Fatalf("For reported %q", ft.failed)
	}
	ft.failed = ""
	For(ft, time.Minute, "a fact that holds", func() bool { return true })
	if ft.failed != "" {
		t.Fatalf("For failed on a condition that held: %q", ft.failed)
	}
}
