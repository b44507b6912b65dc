package idempotency

import (
	"context"
	"errors"
	"testing"
)

// A transient response releases the key; if the release fails, the caller
// hears of it (the key stays locked until its lock lapses, so a retry in
// the meantime gets ErrInProgress, not a second run), along with the
// response.
func TestTransientResponseReportsReleaseFailure(t *testing.T) {
	down := errors.New("dynamodb unavailable")
	s := &failingStore{MemoryStore: NewMemoryStore(), releaseErr: down}
	g := New(s, Options{})
	h := &counter{resp: Transient(Response{Status: 400, Body: []byte(`{"code":"BAD"}`)})}
	resp, replayed, err := g.Do(context.Background(), req("k", `{}`), h.fn)
	if !errors.Is(err, down) {
		t.Fatalf("err = %v, want the release failure", err)
	}
	if replayed || resp.Status != 400 || string(resp.Body) != `{"code":"BAD"}` {
		t.Fatalf("response %+v replayed=%v, want the handler's", resp, replayed)
	}
	if s.released.Load() != 1 || h.n.Load() != 1 {
		t.Fatalf("releases %d, runs %d; want 1 and 1", s.released.Load(), h.n.Load())
	}

	// Released fine: no error, and the key is free for a retry that runs.
	s.releaseErr = nil
	if _, _, err := g.Do(context.Background(), req("k2", `{}`), h.fn); err != nil {
		t.Fatalf("transient response with a working store: %v", err)
	}
	if _, _, err := g.Do(context.Background(), req("k2", `{}`), h.fn); err != nil || h.n.Load() != 3 {
		t.Fatalf("retry after a transient response: err %v, runs %d (want 3)", err, h.n.Load())
	}
}
