package toss

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry defaults: three tries within about a second, which fits inside an
// API Gateway request (29 s) even with slow answers.
const (
	DefaultMaxAttempts = 3
	DefaultBaseDelay   = 200 * time.Millisecond
	DefaultMaxDelay    = 2 * time.Second
)

// maxRetryAfter caps how long a Retry-After is honoured. A longer one ends
// the retries: the error is returned (it is ClassRetryable) and the caller
// chooses when to come back.
const maxRetryAfter = 10 * time.Second

// RetryPolicy says how a call is retried. Zero fields take the defaults;
// MaxAttempts 1 turns retries off.
//
// What is retried: ClassRetryable answers (PROVIDER_ERROR, 409
// IDEMPOTENT_REQUEST_PROCESSING, 429, 5xx, ...) and transport failures
// (no response), on GET and on POST alike: every try of a POST carries the
// same Idempotency-Key, so Toss executes it at most once. Not retried:
// definitive and ClassUnknown answers (ALREADY_PROCESSED_PAYMENT), a 2xx
// that could not be used, and anything after ctx is done.
//
// Waits are exponential (BaseDelay, 2×, 4×, … capped at MaxDelay) with
// jitter over the upper half. A Retry-After on a retried answer (429, 503)
// replaces the computed wait.
// No wait ever ends at or past ctx's deadline: the call returns the last
// error instead.
type RetryPolicy struct {
	MaxAttempts int           // total tries, the first included; default 3
	BaseDelay   time.Duration // wait before the first retry; default 200ms
	MaxDelay    time.Duration // longest wait; default 2s
}

func (p RetryPolicy) withDefaults() (RetryPolicy, error) {
	if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 {
		return p, errors.New("toss: Options.Retry: negative value")
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = max(DefaultMaxDelay, p.BaseDelay)
	}
	if p.BaseDelay > p.MaxDelay {
		return p, errors.New("toss: Options.Retry: BaseDelay exceeds MaxDelay")
	}
	return p, nil
}

// backoff is the wait after the retry-th failed try (1-based). Equal jitter:
// half the delay is kept so retries never bunch at zero, the other half is
// random so concurrent Lambdas spread out.
func (p RetryPolicy) backoff(retry int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < retry && d < p.MaxDelay; i++ {
		if d > p.MaxDelay/2 {
			d = p.MaxDelay
			break
		}
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + rand.N(d-half+1)
}

// shouldRetry says whether another try can help.
func shouldRetry(ctx context.Context, e *Error) bool {
	if ctx.Err() != nil {
		return false // the caller gave up; any new request would fail at once
	}
	if e.Status == 0 {
		return true // no answer; safe on POST thanks to the Idempotency-Key
	}
	if e.Status >= 200 && e.Status < 300 {
		return false // Toss answered; asking again replays the same answer
	}
	return e.Class() == ClassRetryable
}

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Cap before multiplying so a huge value cannot overflow into a
		// short wait; anything this large is refused by the caller anyway.
		return time.Duration(min(secs, 24*60*60)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
