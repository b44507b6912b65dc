// Package idempotency makes our own POST endpoints safe to retry under an
// Idempotency-Key header, the way Powertools for AWS Lambda does it and as
// the IETF Idempotency-Key draft and Stripe describe:
//
//   - the first request with a key runs the handler and its response is stored;
//   - a repeat after it completed gets the stored response again (errors too);
//   - a repeat while the first still runs gets ErrInProgress (409);
//   - the same key with a different body gets ErrMismatch (422);
//   - a key that breaks the key rule (ValidateKey) gets an error matching
//     ErrInvalidKey (400).
//
// A key is scoped by caller, method and path: the same key sent by another
// caller, or to another endpoint, is a different key. Keys are remembered for
// 15 days, the window Toss uses for its own Idempotency-Key.
//
// A handler opts in with one call:
//
//	resp, replayed, err := guard.Do(ctx, idempotency.Request{
//		Caller: merchantID, Method: "POST", Path: "/payments/confirm",
//		Key: headers["idempotency-key"], Body: body,
//	}, func(ctx context.Context) (idempotency.Response, error) {
//		if bad := validate(body); bad != nil {
//			return idempotency.Transient(badRequest(bad)), nil // not remembered
//		}
//		return confirm(ctx, body)
//	})
//
// and maps errors with Problem in one place.
//
// The store's record is a lock while the handler runs. The lock lapses at the
// handler's context deadline (the Lambda invocation deadline), so an
// invocation that dies mid-way does not block the key for 15 days; whoever
// takes a lapsed lock over runs the handler again, so the handler's own
// effects must be idempotent too (for payments: the order's conditional claim
// and the deterministic Idempotency-Key sent to Toss).
package idempotency

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// HeaderKey is the request header that carries the key.
const HeaderKey = "Idempotency-Key"

// MaxKeyLength is the longest key accepted, in characters (Toss's own limit,
// docs/toss-api.md#idempotency-key). ValidateKey counts Unicode characters
// (runes), not bytes: Toss states its limit in characters, and a caller who
// reads "300 characters" and sends 300 Hangul syllables (900 bytes of UTF-8)
// must not be refused.
const MaxKeyLength = 300

// Defaults for Options.
const (
	// DefaultExpiry is how long a key is remembered: Toss keeps its
	// Idempotency-Keys 15 days, so a client retrying against us within that
	// window never runs a payment operation twice.
	DefaultExpiry = 15 * 24 * time.Hour
	// DefaultLockTimeout bounds the lock when the handler's context has no
	// deadline; API Gateway gives up on a request after 30 s anyway.
	DefaultLockTimeout = 30 * time.Second
)

// Errors returned by Do. Map them with Problem.
var (
	// ErrInvalidKey is matched (errors.Is) by every error ValidateKey
	// returns, so callers that need not say why map them all at once.
	ErrInvalidKey = errors.New("idempotency: invalid key")
	// ErrKeyEmpty: the key is empty or only white space.
	ErrKeyEmpty = fmt.Errorf("%w: empty or blank", ErrInvalidKey)
	// ErrKeyTooLong: the key is longer than MaxKeyLength characters.
	ErrKeyTooLong = fmt.Errorf("%w: longer than %d characters", ErrInvalidKey, MaxKeyLength)
	// ErrKeyCharacters: the key holds control characters or is not UTF-8.
	ErrKeyCharacters = fmt.Errorf("%w: control characters or invalid UTF-8", ErrInvalidKey)
	// ErrInProgress: a request with the same key is still running.
	ErrInProgress = errors.New("idempotency: a request with this key is in progress")
	// ErrMismatch: the key was first used with a different request body.
	ErrMismatch = errors.New("idempotency: key already used with a different request body")
	// ErrLockLost: the handler ran but its lock had lapsed and another
	// request took the key over, so its response was not stored.
	ErrLockLost = errors.New("idempotency: lock lapsed and was taken over")
)

// Error codes for the API's error bodies, one per error above that is the
// client's to fix or retry.
const (
	CodeInvalidKey = "INVALID_IDEMPOTENCY_KEY"
	CodeInProgress = "IDEMPOTENT_REQUEST_PROCESSING"
	CodeKeyReused  = "IDEMPOTENCY_KEY_REUSED"
)

// Problem maps an error from Do to the HTTP status and error code the API
// should answer with. ok is false for errors that are not the client's
// (store failures, handler errors): those are 500s.
func Problem(err error) (status int, code string, ok bool) {
	switch {
	case errors.Is(err, ErrInvalidKey):
		return http.StatusBadRequest, CodeInvalidKey, true
	case errors.Is(err, ErrInProgress):
		// The IETF draft's answer to a concurrent repeat: ask again later.
		return http.StatusConflict, CodeInProgress, true
	case errors.Is(err, ErrMismatch):
		return http.StatusUnprocessableEntity, CodeKeyReused, true
	}
	return 0, "", false
}

// ValidateKey is the one rule for an Idempotency-Key a caller sends, on
// every route that takes one (and for the caller's key a refund is derived
// from, shared/payments): nil, or ErrKeyEmpty, ErrKeyCharacters or
// ErrKeyTooLong, checked in that order. It is for a key that was sent: a
// request without the header has no key to validate.
//
//   - Empty or all white space (Unicode's definition, so a full-width space
//     too) is refused: it names no operation, and a client sending one has
//     a bug that would otherwise make unrelated requests share a key.
//   - Control characters (C0, DEL, C1; tab included) and invalid UTF-8 are
//     refused: HTTP does not allow them in a header value (RFC 9110 §5.5),
//     so such a key comes from a broken or hostile client, and a proxy may
//     rewrite it, making its retry a different key.
//   - At most MaxKeyLength characters, counted as runes (see MaxKeyLength).
//
// Anything else is accepted as sent, spaces inside included: the key is
// opaque, and only ever stored hashed (RecordID).
func ValidateKey(key string) error {
	switch {
	case strings.TrimSpace(key) == "":
		return ErrKeyEmpty
	case !utf8.ValidString(key) || strings.IndexFunc(key, unicode.IsControl) >= 0:
		return ErrKeyCharacters
	case utf8.RuneCountInString(key) > MaxKeyLength:
		return ErrKeyTooLong
	}
	return nil
}

// Request identifies one call of an endpoint.
type Request struct {
	Caller string // who is calling (merchant or API key id): keys never collide across callers
	Method string
	Path   string
	Key    string // the Idempotency-Key header; empty (no header) runs the handler without idempotency
	Body   []byte
}

// Response is what the handler answers and what is replayed.
type Response struct {
	Status  int
	Headers map[string]string
	Body    []byte
	// NoStore marks a response that must not be remembered, such as an
	// input-validation error: the client is expected to fix the request and
	// send it again under the same key. Set it with Transient.
	NoStore bool
}

// Transient marks resp as not to be stored: the key is released and a later
// request with it runs the handler again.
func Transient(resp Response) Response {
	resp.NoStore = true
	return resp
}

// Options tune a Guard. The zero value is ready for production.
type Options struct {
	Expiry      time.Duration    // how long a key is remembered; default DefaultExpiry
	LockTimeout time.Duration    // lock lifetime when ctx has no deadline; default DefaultLockTimeout
	Clock       func() time.Time // default time.Now
}

// Guard runs handlers at most once per idempotency key.
type Guard struct {
	store Store
	opts  Options
}

// New returns a Guard that keeps its records in store.
func New(store Store, opts Options) *Guard {
	if opts.Expiry <= 0 {
		opts.Expiry = DefaultExpiry
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Guard{store: store, opts: opts}
}

// storeTimeout bounds the writes made after the handler returned: they run
// even if ctx was cancelled, because a stored response (or a released lock)
// is what lets the client's retry succeed.
const storeTimeout = 5 * time.Second

// Do runs fn at most once per key. The first call runs fn and stores its
// response; a repeat after it completed returns the stored response with
// replayed true; a repeat while it runs returns ErrInProgress; a repeat with
// a different body returns ErrMismatch.
//
// If fn returns an error or panics, the key is released (so a retry runs fn
// again) and the error is returned or the panic continues. If fn's response
// is marked NoStore, the key is released and the response returned.
//
// A non-empty key that fails ValidateKey returns its error without running
// fn. An empty Key means the request carried no key: telling that apart
// from a header sent empty is the HTTP layer's job (it has the headers).
//
// If fn succeeded but its response could not be stored (ErrLockLost, or a
// store failure), Do returns fn's response together with the error: the
// handler's work is done and the caller may still send the response.
func (g *Guard) Do(ctx context.Context, r Request, fn func(ctx context.Context) (Response, error)) (resp Response, replayed bool, err error) {
	if r.Key == "" {
		resp, err = fn(ctx)
		return resp, false, err
	}
	if err := ValidateKey(r.Key); err != nil {
		return Response{}, false, err
	}

	now := g.opts.Clock()
	lockExpiresAt := now.Add(g.opts.LockTimeout)
	if d, ok := ctx.Deadline(); ok {
		// The invocation cannot outlive its deadline, so neither should its lock.
		lockExpiresAt = d
	}
	token, err := newToken()
	if err != nil {
		return Response{}, false, err
	}
	rec := Record{
		ID:            RecordID(r),
		Status:        StatusInProgress,
		RequestHash:   requestHash(r.Body),
		LockToken:     token,
		LockExpiresAt: lockExpiresAt.Truncate(time.Millisecond),
		ExpiresAt:     now.Add(g.opts.Expiry).Truncate(time.Second),
		CreatedAt:     now.Truncate(time.Millisecond),
	}

	old, locked, err := g.store.Lock(ctx, rec, now)
	if err != nil {
		return Response{}, false, fmt.Errorf("idempotency: lock key: %w", err)
	}
	if !locked {
		switch {
		case !sameRequest(old.RequestHash, r.Body):
			return Response{}, false, ErrMismatch
		case old.Status == StatusCompleted:
			return old.Response, true, nil
		default:
			return Response{}, false, ErrInProgress
		}
	}

	// The deferred release also covers a panic or runtime.Goexit in fn,
	// without recover, so a panic keeps its original stack trace.
	finished := false
	defer func() {
		if !finished {
			_ = g.release(ctx, rec)
		}
	}()
	resp, err = fn(ctx)
	finished = true

	if err != nil {
		if rerr := g.release(ctx, rec); rerr != nil {
			return Response{}, false, errors.Join(err, rerr)
		}
		return Response{}, false, err
	}
	if resp.NoStore {
		if rerr := g.release(ctx, rec); rerr != nil {
			return resp, false, rerr
		}
		return resp, false, nil
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := g.store.Complete(sctx, rec.ID, rec.LockToken, resp, g.opts.Clock()); err != nil {
		if errors.Is(err, ErrLockLost) {
			return resp, false, err
		}
		// The response is lost; release so a retry runs fn again rather than
		// waiting for the lock to lapse.
		_ = g.release(ctx, rec)
		return resp, false, fmt.Errorf("idempotency: store response: %w", err)
	}
	return resp, false, nil
}

// release deletes the lock if it is still ours. Losing it to a takeover is
// not an error: the key is someone else's now.
func (g *Guard) release(ctx context.Context, rec Record) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	err := g.store.Release(ctx, rec.ID, rec.LockToken)
	if err != nil && !errors.Is(err, ErrLockLost) {
		return fmt.Errorf("idempotency: release key: %w", err)
	}
	return nil
}

// RecordID is the store key of r: a hash of caller, method, path and key,
// each prefixed by its length so no two different tuples hash alike ("a",
// "bc" vs "ab", "c"), and so long keys and any characters are safe in a
// DynamoDB partition key. The caller is never stored in clear.
func RecordID(r Request) string {
	h := sha256.New()
	h.Write([]byte("idempotency/v1"))
	for _, part := range []string{r.Caller, r.Method, r.Path, r.Key} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func hashBody(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// canonicalPrefix marks a request hash taken over canonical JSON, so that
// a record stored before (a hash of the raw bytes) is still told apart.
const canonicalPrefix = "json:"

// requestHash is what a record remembers of a request body: for a JSON
// body, a hash of its canonical form (object keys sorted, no insignificant
// whitespace, numbers and strings as written), so that a client that
// re-serialises the same JSON on a retry (another key order, other
// spacing, as many JSON libraries do) is recognised as the same request;
// for anything else, a hash of its bytes.
func requestHash(body []byte) string {
	if c, ok := canonicalJSON(body); ok {
		return canonicalPrefix + hashBody(c)
	}
	return hashBody(body)
}

// sameRequest reports whether body is the request a record with hash
// stored was made for: by requestHash, or by the raw-bytes hash that
// records stored before canonical hashing carry.
func sameRequest(stored string, body []byte) bool {
	return stored == requestHash(body) || stored == hashBody(body)
}

// canonicalJSON re-encodes a JSON document canonically: encoding/json
// writes map keys sorted and no whitespace; json.Number keeps each number
// as written. A body that is not exactly one JSON value is not canonical.
func canonicalJSON(body []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), true
}

// newToken identifies one holder of a lock, so only that holder may complete
// or release it after another request took a lapsed lock over.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("idempotency: lock token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
