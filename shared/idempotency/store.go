package idempotency

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// Status is where a key's request stands.
type Status string

// Record statuses.
const (
	StatusInProgress Status = "INPROGRESS"
	StatusCompleted  Status = "COMPLETED"
)

// Record is what a Store keeps per key.
type Record struct {
	ID            string // RecordID of the request
	Status        Status
	RequestHash   string    // sha256 hex of the request body
	LockToken     string    // the current lock holder
	LockExpiresAt time.Time // an INPROGRESS record past this may be taken over
	ExpiresAt     time.Time // past this the record is treated as absent (the TTL)
	CreatedAt     time.Time
	Response      Response // set once COMPLETED
}

// live reports whether r still stands in the way of a new lock at now. The
// comparisons use the stored precisions (TTL in seconds, lock in
// milliseconds) so every Store decides alike.
func (r Record) live(now time.Time) bool {
	if r.ExpiresAt.Unix() < now.Unix() {
		return false
	}
	if r.Status == StatusInProgress && r.LockExpiresAt.UnixMilli() < now.UnixMilli() {
		return false
	}
	return true
}

// Store keeps records. Each method is one atomic operation.
type Store interface {
	// Lock writes rec (an INPROGRESS record) unless a live record with its
	// ID exists: none, one past its ExpiresAt, or an INPROGRESS one past its
	// LockExpiresAt all count as absent at now. If a live record exists,
	// Lock returns it with locked false and writes nothing.
	Lock(ctx context.Context, rec Record, now time.Time) (existing Record, locked bool, err error)
	// Complete stores resp and marks the record COMPLETED if it is still
	// INPROGRESS under token; otherwise it returns ErrLockLost.
	Complete(ctx context.Context, id, token string, resp Response, now time.Time) error
	// Release deletes the record if it is still INPROGRESS under token,
	// does nothing if there is no record, and otherwise returns ErrLockLost.
	Release(ctx context.Context, id, token string) error
}

var (
	_ Store = (*MemoryStore)(nil)
	_ Store = (*DynamoStore)(nil)
)

// MemoryStore is a Store in process memory, for tests and local runs. Its
// semantics are DynamoStore's.
type MemoryStore struct {
	mu      sync.Mutex
	records map[string]Record
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: map[string]Record{}}
}

// Lock implements Store.
func (s *MemoryStore) Lock(_ context.Context, rec Record, now time.Time) (Record, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.records[rec.ID]; ok && old.live(now) {
		return cloneRecord(old), false, nil
	}
	s.records[rec.ID] = cloneRecord(rec)
	return Record{}, true, nil
}

// Complete implements Store.
func (s *MemoryStore) Complete(_ context.Context, id, token string, resp Response, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[id]
	if !ok || rec.Status != StatusInProgress || rec.LockToken != token {
		return ErrLockLost
	}
	rec.Status = StatusCompleted
	rec.Response = cloneResponse(resp)
	rec.Response.NoStore = false
	s.records[id] = rec
	return nil
}

// Release implements Store.
func (s *MemoryStore) Release(_ context.Context, id, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[id]
	if !ok {
		return nil
	}
	if rec.Status != StatusInProgress || rec.LockToken != token {
		return ErrLockLost
	}
	delete(s.records, id)
	return nil
}

// The clones keep callers from changing stored records through shared
// maps and slices, as they cannot with DynamoDB.
func cloneRecord(r Record) Record {
	r.Response = cloneResponse(r.Response)
	return r
}

func cloneResponse(r Response) Response {
	r.Headers = maps.Clone(r.Headers)
	r.Body = slices.Clone(r.Body)
	return r
}
