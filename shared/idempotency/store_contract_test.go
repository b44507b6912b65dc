package idempotency

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The Store contract, method by method, on every backend: what Guard
// relies on is tested through Guard elsewhere; these pin down the answers
// Guard forgives (it treats ErrLockLost on release as released).

func lockedRecord(id, token string, now time.Time) Record {
	return Record{
		ID: id, Status: StatusInProgress, RequestHash: "sha256-of-the-body", LockToken: token,
		LockExpiresAt: now.Add(time.Minute).Truncate(time.Millisecond),
		ExpiresAt:     now.Add(time.Hour).Truncate(time.Second),
		CreatedAt:     now.Truncate(time.Millisecond),
	}
}

func TestStoreReleaseContract(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s, inspect := b.new(t)
			ctx, now := context.Background(), time.Now()

			// No record: nothing to release, and no error (a retried
			// release whose first attempt took effect sees this).
			if err := s.Release(ctx, "absent", "tok"); err != nil {
				t.Fatalf("release of an absent record: %v, want nil", err)
			}

			if _, locked, err := s.Lock(ctx, lockedRecord("held", "mine", now), now); err != nil || !locked {
				t.Fatalf("lock: locked=%v err=%v", locked, err)
			}
			// Another holder's token: refused, and the lock stays.
			if err := s.Release(ctx, "held", "theirs"); !errors.Is(err, ErrLockLost) {
				t.Fatalf("release under another token: %v, want ErrLockLost", err)
			}
			if rec, ok := inspect("held"); !ok || rec.LockToken != "mine" {
				t.Fatalf("the lock is gone after a refused release: %+v (present %v)", rec, ok)
			}
			// A completed record is not released either.
			if err := s.Complete(ctx, "held", "mine", Response{Status: 200}, now); err != nil {
				t.Fatalf("complete: %v", err)
			}
			if err := s.Release(ctx, "held", "mine"); !errors.Is(err, ErrLockLost) {
				t.Fatalf("release of a completed record: %v, want ErrLockLost", err)
			}
			if rec, ok := inspect("held"); !ok || rec.Status != StatusCompleted {
				t.Fatalf("the completed record is gone after a refused release: %+v (present %v)", rec, ok)
			}
		})
	}
}

func TestStoreCompleteContract(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s, inspect := b.new(t)
			ctx, now := context.Background(), time.Now()
			if err := s.Complete(ctx, "absent", "tok", Response{Status: 200}, now); !errors.Is(err, ErrLockLost) {
				t.Fatalf("complete of an absent record: %v, want ErrLockLost", err)
			}
			if _, locked, err := s.Lock(ctx, lockedRecord("held", "mine", now), now); err != nil || !locked {
				t.Fatalf("lock: locked=%v err=%v", locked, err)
			}
			if err := s.Complete(ctx, "held", "theirs", Response{Status: 201}, now); !errors.Is(err, ErrLockLost) {
				t.Fatalf("complete under another token: %v, want ErrLockLost", err)
			}
			if rec, _ := inspect("held"); rec.Status != StatusInProgress {
				t.Fatalf("a refused complete changed the record: %+v", rec)
			}
			// A response with neither headers nor body reads back as such.
			if err := s.Complete(ctx, "held", "mine", Response{Status: 204}, now); err != nil {
				t.Fatalf("complete: %v", err)
			}
			rec, _ := inspect("held")
			if rec.Status != StatusCompleted || rec.Response.Status != 204 || len(rec.Response.Headers) != 0 || len(rec.Response.Body) != 0 {
				t.Fatalf("completed record %+v", rec)
			}
		})
	}
}

// A lock lapses strictly after its LockExpiresAt (DynamoStore's condition
// is lockExpiresAt < now, in milliseconds): at that very millisecond it
// still holds, on every backend alike.
func TestStoreLockLapsesAfterItsInstant(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s, inspect := b.new(t)
			ctx := context.Background()
			now := time.Now().Truncate(time.Millisecond)
			rec := lockedRecord("k", "first", now)
			if _, locked, err := s.Lock(ctx, rec, now); err != nil || !locked {
				t.Fatalf("lock: locked=%v err=%v", locked, err)
			}
			at := rec.LockExpiresAt
			old, locked, err := s.Lock(ctx, lockedRecord("k", "second", at), at)
			if err != nil || locked || old.LockToken != "first" {
				t.Fatalf("lock at the lapse instant: locked=%v old=%q err=%v; want refused, held by first", locked, old.LockToken, err)
			}
			after := at.Add(time.Millisecond)
			if _, locked, err := s.Lock(ctx, lockedRecord("k", "second", after), after); err != nil || !locked {
				t.Fatalf("lock a millisecond after the lapse: locked=%v err=%v", locked, err)
			}
			if rec, _ := inspect("k"); rec.LockToken != "second" {
				t.Fatalf("holder after the takeover: %q", rec.LockToken)
			}
		})
	}
}
