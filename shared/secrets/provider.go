package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"golang.org/x/sync/singleflight"
)

// GetSecretValueAPI is the part of the Secrets Manager client a Provider
// uses: the only permission SAM's AWSSecretsManagerGetSecretValuePolicy grants.
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Defaults for Options.
const (
	DefaultTTL                = 5 * time.Minute // as the AWS Parameters and Secrets extension
	DefaultGrace              = 15 * time.Minute
	DefaultMinRefreshInterval = 5 * time.Second
)

// loadTimeout bounds one GetSecretValue call. A load runs detached from the
// context of the request that started it, because other requests may be
// waiting for it too; this keeps it from running forever.
const loadTimeout = 10 * time.Second

// Options tune a Provider.
type Options struct {
	// TTL is how long loaded keys are used before they are reloaded.
	TTL time.Duration
	// Grace is how long after the last successful load the cached keys may
	// still be served when a reload fails (Secrets Manager unreachable, or
	// an invalid secret written by a botched rotation). Raised to TTL if
	// smaller.
	Grace time.Duration
	// MinRefreshInterval spaces forced refreshes (Refresh) and the retries
	// after a failed load, so a storm of UNAUTHORIZED_KEY answers costs one
	// GetSecretValue call.
	MinRefreshInterval time.Duration
	// Live is the deployment's mode: live keys are refused unless it is set,
	// test keys are refused when it is.
	Live bool
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Logger receives a warning when stale keys are served; defaults to
	// slog.Default(). Nothing logged contains a key.
	Logger *slog.Logger
}

// Provider serves the keys of one secret, cached. It is safe for concurrent
// use. Create it once per execution environment (outside the handler).
type Provider struct {
	client   GetSecretValueAPI
	secretID string
	opts     Options
	// st is behind a pointer so that printing a Provider (even through a
	// struct that holds one) shows an address, never the cached keys.
	st *state
}

type state struct {
	mu       sync.Mutex
	keys     Keys
	have     bool
	loadedAt time.Time // last successful load
	failedAt time.Time // last failed load; zero after a success
	forcedAt time.Time // start of the last forced refresh
	// loads makes concurrent callers share one GetSecretValue call;
	// loading says one is in flight, so that callers join it rather than
	// answer the keys it is replacing.
	loads   singleflight.Group
	loading bool
}

// New returns a Provider for the secret secretID (the value of
// TOSS_SECRET_ID). Nothing is loaded until keys are first asked for.
func New(client GetSecretValueAPI, secretID string, opts Options) *Provider {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Grace < opts.TTL {
		opts.Grace = opts.TTL
	}
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Provider{client: client, secretID: secretID, opts: opts, st: &state{}}
}

// Keys returns the keys, loading them if the cache is empty or older than
// TTL. Concurrent callers share one load. If a reload fails within Grace of
// the last successful load, the cached keys are returned and a warning
// logged.
func (p *Provider) Keys(ctx context.Context) (Keys, error) {
	st := p.st
	st.mu.Lock()
	now := p.opts.Clock()
	if st.have && now.Sub(st.loadedAt) < p.opts.TTL {
		k := st.keys
		st.mu.Unlock()
		return k, nil
	}
	if !st.loading && p.servableLocked(now) && !st.failedAt.IsZero() && now.Sub(st.failedAt) < p.opts.MinRefreshInterval {
		// Secrets Manager failed moments ago: serve the cached keys rather
		// than add a call to every request while it is down.
		k := st.keys
		st.mu.Unlock()
		return k, nil
	}
	ch := p.startLocked(ctx)
	st.mu.Unlock()
	return p.wait(ctx, ch)
}

// Refresh reloads the keys now, for a caller whose request Toss refused with
// UNAUTHORIZED_KEY (the secret may have been rotated). Concurrent refreshes
// share one load, and a refresh within MinRefreshInterval of the last one
// returns the keys that one loaded: a burst of 401s costs one call. A failed
// refresh within Grace of the last good load returns the cached keys.
func (p *Provider) Refresh(ctx context.Context) (Keys, error) {
	st := p.st
	st.mu.Lock()
	now := p.opts.Clock()
	if !st.loading && p.servableLocked(now) && !st.forcedAt.IsZero() && now.Sub(st.forcedAt) < p.opts.MinRefreshInterval {
		k := st.keys
		st.mu.Unlock()
		return k, nil
	}
	st.forcedAt = now
	ch := p.startLocked(ctx)
	st.mu.Unlock()
	return p.wait(ctx, ch)
}

// TossSecretKey returns the Toss secret key, reloaded first if refresh is
// set. Its signature is the Toss client's KeyFunc.
func (p *Provider) TossSecretKey(ctx context.Context, refresh bool) (string, error) {
	get := p.Keys
	if refresh {
		get = p.Refresh
	}
	k, err := get(ctx)
	if err != nil {
		return "", err
	}
	return k.TossSecretKey, nil
}

// servableLocked reports whether the cached keys may be served at now.
func (p *Provider) servableLocked(now time.Time) bool {
	return p.st.have && now.Sub(p.st.loadedAt) <= p.opts.Grace
}

// startLocked joins the load in flight or starts one. The load runs on
// singleflight's own goroutine, detached from ctx, so that a caller giving
// up neither cancels it for the others nor loses its result for the cache.
func (p *Provider) startLocked(ctx context.Context) <-chan singleflight.Result {
	p.st.loading = true
	return p.st.loads.DoChan("", func() (any, error) {
		return p.run(context.WithoutCancel(ctx))
	})
}

// wait waits for a load or for ctx. A failed load answers the cached keys
// while they are within Grace.
func (p *Provider) wait(ctx context.Context, ch <-chan singleflight.Result) (Keys, error) {
	var r singleflight.Result
	select {
	case r = <-ch:
	case <-ctx.Done():
		return Keys{}, fmt.Errorf("secrets: waiting for secret %q: %w", p.secretID, ctx.Err())
	}
	if r.Err == nil {
		return r.Val.(Keys), nil
	}
	st := p.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if p.servableLocked(p.opts.Clock()) {
		return st.keys, nil
	}
	return Keys{}, r.Err
}

// run is one load: it fetches the secret and records the outcome in the
// cache before any waiter sees it.
func (p *Provider) run(ctx context.Context) (Keys, error) {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	keys, err := p.fetch(ctx)

	st := p.st
	st.mu.Lock()
	now := p.opts.Clock()
	changed := err == nil && st.have && keys != st.keys
	if err == nil {
		st.keys, st.have, st.loadedAt, st.failedAt = keys, true, now, time.Time{}
	} else {
		st.failedAt = now
	}
	stale := err != nil && p.servableLocked(now)
	age := now.Sub(st.loadedAt)
	// A caller that finds loading unset from here on starts a new load
	// rather than join this finished one.
	st.loading = false
	st.loads.Forget("")
	st.mu.Unlock()

	// Logged before the waiters wake, so the warning precedes any use of
	// the stale keys it announces.
	switch {
	case stale:
		p.opts.Logger.Warn("secrets: reload failed; serving cached keys",
			"secretId", p.secretID, "cachedAge", age.Round(time.Second).String(), "error", err.Error())
	case changed:
		// Worth a line: the keys were rotated under a running environment.
		p.opts.Logger.Info("secrets: keys changed", "secretId", p.secretID, "mode", string(keys.Mode()))
	}
	return keys, err
}

// fetch reads and validates the secret. Its errors carry the secret's id,
// never its value.
func (p *Provider) fetch(ctx context.Context) (Keys, error) {
	out, err := p.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(p.secretID)})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return Keys{}, fmt.Errorf("secrets: %w: %q (check TOSS_SECRET_ID and the function's region): %w", ErrNotFound, p.secretID, err)
		}
		return Keys{}, fmt.Errorf("secrets: get secret %q: %w", p.secretID, err)
	}
	var data []byte
	switch {
	case out.SecretString != nil:
		data = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		data = out.SecretBinary
	default:
		return Keys{}, fmt.Errorf("secrets: secret %q: %w: it has no value", p.secretID, ErrInvalidSecret)
	}
	keys, err := Parse(data, p.opts.Live)
	if err != nil {
		return Keys{}, fmt.Errorf("secrets: secret %q: %w", p.secretID, err)
	}
	return keys, nil
}

// String describes the Provider without its keys.
func (p Provider) String() string {
	mode := ModeTest
	if p.opts.Live {
		mode = ModeLive
	}
	return fmt.Sprintf("secrets.Provider{secretId: %q, mode: %s}", p.secretID, mode)
}

// Format implements fmt.Formatter: every verb prints String.
func (p Provider) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }

// LogValue implements slog.LogValuer.
func (p Provider) LogValue() slog.Value { return slog.StringValue(p.String()) }
