package tosstest

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
	"unicode/utf8"
)

// maxIdempotencyKeyLen is Toss's limit, in characters
// (docs/toss-api.md#idempotency-key).
const maxIdempotencyKeyLen = 300

// idemEntry is the state of one idempotency scope. An entry is in flight
// from the moment a request claims it until its answer is stored, which is
// what makes a concurrent repeat get 409 rather than a second execution.
type idemEntry struct {
	createdAt time.Time
	done      bool
	resp      apiResponse
}

type claimResult int

const (
	claimNew claimResult = iota
	claimInFlight
	claimReplay
)

// idemScope is Toss's scope (docs/toss-api.md#idempotency-key):
// Idempotency-Key + API key + URL + HTTP method. The body is not part of it. The API key is hashed so the map
// never holds a secret key.
func idemScope(idemKey, apiKey, method, uri string) string {
	h := sha256.Sum256([]byte(apiKey))
	return hex.EncodeToString(h[:]) + "\x00" + method + "\x00" + uri + "\x00" + idemKey
}

func validIdempotencyKey(k string) bool {
	return utf8.RuneCountInString(k) <= maxIdempotencyKeyLen
}

// claimIdempotency looks the scope up and, when it is new or expired, claims
// it for the caller, all under one lock.
func (s *Sandbox) claimIdempotency(scope string, now time.Time) (*idemEntry, claimResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.idem[scope]; ok {
		if !e.done {
			return e, claimInFlight
		}
		if now.Sub(e.createdAt) < s.idemTTL {
			return e, claimReplay
		}
	}
	e := &idemEntry{createdAt: now}
	s.idem[scope] = e
	s.idemInserts++
	if s.idemInserts%1024 == 0 {
		s.pruneIdempotencyLocked(now)
	}
	return e, claimNew
}

// finishIdempotency stores the answer the claimed entry will replay.
func (s *Sandbox) finishIdempotency(e *idemEntry, resp apiResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.resp = resp
	e.done = true
}

// abandonIdempotency releases a claim that produced no answer (a panic),
// so the key is not stuck in flight forever.
func (s *Sandbox) abandonIdempotency(scope string, e *idemEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idem[scope] == e && !e.done {
		delete(s.idem, scope)
	}
}

// pruneIdempotencyLocked drops expired answers so a long-running sandbox
// does not grow without bound.
func (s *Sandbox) pruneIdempotencyLocked(now time.Time) {
	for k, e := range s.idem {
		if e.done && now.Sub(e.createdAt) >= s.idemTTL {
			delete(s.idem, k)
		}
	}
}
