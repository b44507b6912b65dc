package orders

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// parallel's answer says whether every call ran to completion: nil when
// all did (even if the caller's context ended after the last one started),
// the caller's context error when it ended before every call started, and
// the first call's error otherwise.
func TestParallelReportsWhetherEveryCallRan(t *testing.T) {
	t.Run("all ran, the context ended after", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var ran atomic.Int32
		err := parallel(ctx, 2, 3, func(_ context.Context, i int) error {
			ran.Add(1)
			if i == 2 {
				cancel() // the last call: every call has started
			}
			return nil
		})
		if err != nil || ran.Load() != 3 {
			t.Fatalf("err %v after %d calls, want nil after 3", err, ran.Load())
		}
	})
	t.Run("the context ended before every call started", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var ran atomic.Int32
		err := parallel(ctx, 1, 3, func(_ context.Context, i int) error {
			ran.Add(1)
			if i == 0 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) || ran.Load() != 1 {
			t.Fatalf("err %v after %d calls, want context.Canceled after 1", err, ran.Load())
		}
	})
	t.Run("a call failed", func(t *testing.T) {
		boom := errors.New("boom")
		err := parallel(context.Background(), 1, 3, func(_ context.Context, i int) error {
			if i == 0 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err %v, want the call's", err)
		}
	})
}
