package secrets

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tossintl/backend/shared/internal/awstest"
	"github.com/tossintl/backend/shared/logsink"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// Compile-time check that TossSecretKey fits the Toss client's KeyFunc.
var _ func(context.Context, bool) (string, error) = (*Provider)(nil).TossSecretKey

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newKeys returns a fresh, valid key set of mode; random so a leak test
// cannot pass by accident and rotations really change the values.
func newKeys(mode Mode) Keys {
	return Keys{
		TossSecretKey:  string(mode) + "_sk_" + randHex(12),
		TossClientKey:  string(mode) + "_ck_" + randHex(12),
		MerchantAPIKey: "mk_" + randHex(16),
	}
}

func secretJSONOf(k Keys) string {
	b, _ := json.Marshal(map[string]string{
		FieldTossSecretKey:  k.TossSecretKey,
		FieldTossClientKey:  k.TossClientKey,
		FieldMerchantAPIKey: k.MerchantAPIKey,
	})
	return string(b)
}

// fakeClock is a settable clock: TTL and grace are tested by moving time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)} }

// logBuffer collects everything a Provider logs, through both stock handlers.
type logBuffer struct{ logsink.Buffer }

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(multiHandler{
		slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}),
		slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}),
	})
}

type multiHandler []slog.Handler

func (m multiHandler) Enabled(context.Context, slog.Level) bool { return true }
func (m multiHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range m {
		if err := h.Handle(ctx, r.Clone()); err != nil {
			return err
		}
	}
	return nil
}
func (m multiHandler) WithAttrs(a []slog.Attr) slog.Handler {
	out := make(multiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithAttrs(a)
	}
	return out
}
func (m multiHandler) WithGroup(g string) slog.Handler {
	out := make(multiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithGroup(g)
	}
	return out
}

// fakeClient answers GetSecretValue from a script, for the error paths moto
// cannot produce on demand.
type fakeClient struct {
	mu      sync.Mutex
	calls   int
	answers []answer      // one per call; the last one repeats
	gate    chan struct{} // when set, each call waits for it
}

type answer struct {
	secret string
	binary []byte
	err    error
}

func (f *fakeClient) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	i := min(f.calls, len(f.answers)-1)
	f.calls++
	a := f.answers[i]
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if a.err != nil {
		return nil, a.err
	}
	out := &secretsmanager.GetSecretValueOutput{Name: in.SecretId, SecretBinary: a.binary}
	if a.binary == nil {
		out.SecretString = aws.String(a.secret)
	}
	return out, nil
}

func (f *fakeClient) set(answers ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = answers
}

func (f *fakeClient) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// createSecret stores value under a unique name on moto and deletes it after
// the test.
func createSecret(t *testing.T, sm *secretsmanager.Client, value string) string {
	t.Helper()
	name := awstest.UniqueName("toss-keys")
	_, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("create secret: %v", err)
	}
	t.Cleanup(func() {
		_, _ = sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	return name
}

func rotate(t *testing.T, sm *secretsmanager.Client, name string, k Keys) {
	t.Helper()
	_, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(secretJSONOf(k))})
	if err != nil {
		t.Fatalf("rotate secret: %v", err)
	}
}

// onMoto returns a Provider on a fresh moto secret holding k, with a call
// counter and a fake clock.
func onMoto(t *testing.T, k Keys, opts Options) (*Provider, *awstest.Calls, *secretsmanager.Client, string, *fakeClock) {
	t.Helper()
	calls := &awstest.Calls{}
	sm := awstest.SecretsManager(t, calls.Middleware)
	name := createSecret(t, sm, secretJSONOf(k))
	calls.Reset()
	clk := newClock()
	opts.Clock = clk.Now
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return New(sm, name, opts), calls, sm, name, clk
}

func TestKeysCachedWithinTTL(t *testing.T) {
	k := newKeys(ModeTest)
	p, calls, _, _, clk := onMoto(t, k, Options{})
	ctx := context.Background()
	for _, step := range []time.Duration{0, time.Second, time.Minute, DefaultTTL - 2*time.Minute - time.Second} {
		clk.Advance(step)
		got, err := p.Keys(ctx)
		if err != nil || got != k {
			t.Fatalf("Keys = %v, %v", got, err)
		}
	}
	if n := calls.Count("GetSecretValue"); n != 1 {
		t.Fatalf("GetSecretValue calls within TTL = %d, want 1", n)
	}
	clk.Advance(2 * time.Minute) // now past the TTL
	if _, err := p.Keys(ctx); err != nil {
		t.Fatal(err)
	}
	if n := calls.Count("GetSecretValue"); n != 2 {
		t.Fatalf("GetSecretValue calls after TTL = %d, want 2", n)
	}
	if n := calls.Count(); n != 2 {
		t.Fatalf("calls = %s, want only GetSecretValue", calls)
	}
}

func TestConcurrentColdLoadsShareOneCall(t *testing.T) {
	k := newKeys(ModeTest)
	p, calls, _, _, _ := onMoto(t, k, Options{})
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got, err := p.Keys(context.Background())
			if err == nil && got != k {
				err = fmt.Errorf("got %v", got)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := calls.Count("GetSecretValue"); n != 1 {
		t.Fatalf("GetSecretValue calls = %d, want 1", n)
	}
}

func TestRefreshAfterRotation(t *testing.T) {
	old, rotated := newKeys(ModeTest), newKeys(ModeTest)
	logs := &logBuffer{}
	p, calls, sm, name, _ := onMoto(t, old, Options{Logger: logs.logger()})
	ctx := context.Background()
	if got, _ := p.Keys(ctx); got != old {
		t.Fatalf("Keys = %v", got)
	}
	rotate(t, sm, name, rotated)
	if got, _ := p.Keys(ctx); got != old {
		t.Fatal("the cache was bypassed before the TTL")
	}
	// Toss answered UNAUTHORIZED_KEY: the Toss client asks for a refresh.
	sk, err := p.TossSecretKey(ctx, true)
	if err != nil || sk != rotated.TossSecretKey {
		t.Fatalf("refreshed key is not the rotated one (err %v)", err)
	}
	if got, _ := p.Keys(ctx); got != rotated {
		t.Fatal("Keys after Refresh does not serve the rotated keys")
	}
	if sk, _ := p.TossSecretKey(ctx, false); sk != rotated.TossSecretKey {
		t.Fatal("TossSecretKey(false) does not serve the rotated key")
	}
	if n := calls.Count("GetSecretValue"); n != 2 {
		t.Fatalf("GetSecretValue calls = %d, want 2", n)
	}
	if !strings.Contains(logs.String(), "keys changed") {
		t.Fatalf("rotation not logged: %s", logs.String())
	}
}

func TestRefreshStormCostsOneCall(t *testing.T) {
	old, rotated := newKeys(ModeTest), newKeys(ModeTest)
	p, calls, sm, name, clk := onMoto(t, old, Options{})
	ctx := context.Background()
	if _, err := p.Keys(ctx); err != nil {
		t.Fatal(err)
	}
	rotate(t, sm, name, rotated)
	calls.Reset()

	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got, err := p.Refresh(ctx)
			if err == nil && got != rotated {
				err = errors.New("a refresh returned the old keys")
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := calls.Count("GetSecretValue"); n != 1 {
		t.Fatalf("GetSecretValue calls for 30 refreshes = %d, want 1", n)
	}

	steps := []struct {
		advance time.Duration
		calls   int
	}{
		{time.Second, 1},                    // still within MinRefreshInterval: no call
		{DefaultMinRefreshInterval, 2},      // past it: one more
		{DefaultMinRefreshInterval / 2, 2},  // and spaced again
		{DefaultMinRefreshInterval / 2, 3},  // exactly one interval after the last
		{DefaultMinRefreshInterval * 10, 4}, // long after
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if _, err := p.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if n := calls.Count("GetSecretValue"); n != s.calls {
			t.Fatalf("step %d: GetSecretValue calls = %d, want %d", i, n, s.calls)
		}
	}
}

func TestGraceOnFailedReload(t *testing.T) {
	outage := errors.New("secrets manager unavailable")
	good := newKeys(ModeTest)
	tests := []struct {
		name      string
		advance   time.Duration
		refresh   bool // Refresh rather than Keys
		failWith  answer
		wantStale bool
	}{
		{"reload after TTL fails within grace", DefaultTTL + time.Minute, false, answer{err: outage}, true},
		{"reload fails at the end of grace", DefaultGrace, false, answer{err: outage}, true},
		{"reload fails beyond grace", DefaultGrace + time.Second, false, answer{err: outage}, false},
		{"forced refresh fails within grace", time.Minute, true, answer{err: outage}, true},
		{"forced refresh fails beyond grace", DefaultGrace + time.Second, true, answer{err: outage}, false},
		{"rotation wrote an invalid secret, within grace", DefaultTTL + time.Second, false, answer{secret: `{"tossSecretKey":`}, true},
		{"rotation wrote a live key, within grace", time.Minute, true, answer{secret: secretJSONOf(newKeys(ModeLive))}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeClient{answers: []answer{{secret: secretJSONOf(good)}}}
			clk := newClock()
			logs := &logBuffer{}
			p := New(fc, "toss-keys", Options{Clock: clk.Now, Logger: logs.logger()})
			ctx := context.Background()
			if _, err := p.Keys(ctx); err != nil {
				t.Fatal(err)
			}
			fc.set(tt.failWith)
			clk.Advance(tt.advance)
			get := p.Keys
			if tt.refresh {
				get = p.Refresh
			}
			got, err := get(ctx)
			if tt.wantStale {
				if err != nil || got != good {
					t.Fatalf("got %v, %v; want the cached keys", got, err)
				}
				if !strings.Contains(logs.String(), "serving cached keys") || !strings.Contains(logs.String(), "level=WARN") {
					t.Fatalf("no warning logged: %q", logs.String())
				}
			} else {
				if err == nil {
					t.Fatalf("got %v; want an error beyond grace", got)
				}
				if tt.failWith.err != nil && !errors.Is(err, tt.failWith.err) {
					t.Fatalf("err = %v, want it to wrap %v", err, tt.failWith.err)
				}
			}
			if n := fc.count(); n != 2 {
				t.Fatalf("GetSecretValue calls = %d, want 2", n)
			}
		})
	}
}

func TestFailedReloadIsNotRetriedOnEveryRequest(t *testing.T) {
	good := newKeys(ModeTest)
	fc := &fakeClient{answers: []answer{{secret: secretJSONOf(good)}}}
	clk := newClock()
	p := New(fc, "toss-keys", Options{Clock: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	if _, err := p.Keys(ctx); err != nil {
		t.Fatal(err)
	}
	fc.set(answer{err: errors.New("throttled")})
	clk.Advance(DefaultTTL)
	steps := []struct {
		advance time.Duration
		calls   int
	}{
		{0, 2},                                // the failing reload
		{time.Second, 2},                      // moments later: stale, no call
		{DefaultMinRefreshInterval, 3},        // retried once the interval passed
		{DefaultMinRefreshInterval - 1, 3},    // spaced again
		{time.Nanosecond, 4},                  // and again
		{0, 4},                                // same instant
		{DefaultMinRefreshInterval * 1000, 5}, // beyond grace: tried, and an error
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		got, err := p.Keys(ctx)
		beyond := i == len(steps)-1
		if beyond != (err != nil) || (!beyond && got != good) {
			t.Fatalf("step %d: got %v, %v", i, got, err)
		}
		if n := fc.count(); n != s.calls {
			t.Fatalf("step %d: calls = %d, want %d", i, n, s.calls)
		}
	}
}

func TestInvalidSecretIsNeverCached(t *testing.T) {
	good := newKeys(ModeTest)
	fc := &fakeClient{answers: []answer{
		{secret: `not json`},
		{secret: secretJSONOf(Keys{TossSecretKey: good.TossSecretKey, TossClientKey: good.TossClientKey})},
		{secret: secretJSONOf(good)},
	}}
	p := New(fc, "toss-keys", Options{Clock: newClock().Now})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := p.Keys(ctx); !errors.Is(err, ErrInvalidSecret) {
			t.Fatalf("call %d: err = %v, want ErrInvalidSecret", i, err)
		}
	}
	if got, err := p.Keys(ctx); err != nil || got != good {
		t.Fatalf("after the fix: %v, %v", got, err)
	}
	if n := fc.count(); n != 3 {
		t.Fatalf("calls = %d, want 3 (an invalid secret must be read again)", n)
	}
}

func TestSecretBinary(t *testing.T) {
	good := newKeys(ModeTest)
	fc := &fakeClient{answers: []answer{{binary: []byte(secretJSONOf(good))}}}
	got, err := New(fc, "toss-keys", Options{}).Keys(context.Background())
	if err != nil || got != good {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestCallerGivingUpDoesNotCancelTheLoad(t *testing.T) {
	good := newKeys(ModeTest)
	fc := &fakeClient{answers: []answer{{secret: secretJSONOf(good)}}, gate: make(chan struct{})}
	p := New(fc, "toss-keys", Options{Clock: newClock().Now})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := p.Keys(ctx)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	close(fc.gate) // the load started by the cancelled caller now finishes
	got, err := p.Keys(context.Background())
	if err != nil || got != good {
		t.Fatalf("got %v, %v", got, err)
	}
	if n := fc.count(); n != 1 {
		t.Fatalf("calls = %d, want 1: the cancelled caller's load should have been joined", n)
	}
}

func TestMissingSecret(t *testing.T) {
	sm := awstest.SecretsManager(t)
	name := awstest.UniqueName("no-such-secret")
	_, err := New(sm, name, Options{}).Keys(context.Background())
	var nf *types.ResourceNotFoundException
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &nf) {
		t.Fatalf("err = %v, want ErrNotFound wrapping ResourceNotFoundException", err)
	}
	if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "TOSS_SECRET_ID") {
		t.Fatalf("err = %q: want it to name the secret id and TOSS_SECRET_ID", err)
	}
}

func TestValidationOnMoto(t *testing.T) {
	test, live := newKeys(ModeTest), newKeys(ModeLive)
	tests := []struct {
		name    string
		keys    Keys
		live    bool
		wantErr string // "" for a valid secret
	}{
		{"test keys, test deployment", test, false, ""},
		{"live keys, live deployment", live, true, ""},
		{"live keys in a test deployment", live, false, "tossSecretKey is a live key (live_sk_) but the deployment is in test mode"},
		{"test keys in a live deployment", test, true, "tossSecretKey is a test key (test_sk_) but the deployment is in live mode"},
		{"test secret key, live client key", Keys{test.TossSecretKey, live.TossClientKey, test.MerchantAPIKey}, false, "they must be a pair of the same mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, _, _, _ := onMoto(t, tt.keys, Options{Live: tt.live})
			got, err := p.Keys(context.Background())
			if tt.wantErr == "" {
				if err != nil || got != tt.keys {
					t.Fatalf("got %v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidSecret) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrInvalidSecret with %q", err, tt.wantErr)
			}
			assertNoKeys(t, err.Error(), tt.keys)
		})
	}
}

func TestParse(t *testing.T) {
	k := newKeys(ModeTest)
	l := newKeys(ModeLive)
	obj := func(sk, ck, mk any) string {
		m := map[string]any{}
		for name, v := range map[string]any{FieldTossSecretKey: sk, FieldTossClientKey: ck, FieldMerchantAPIKey: mk} {
			if v != nil {
				m[name] = v
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name    string
		data    string
		live    bool
		wantErr []string // substrings; nil for valid
	}{
		{"valid test", secretJSONOf(k), false, nil},
		{"valid live", secretJSONOf(l), true, nil},
		{"unknown fields ignored", `{"tossSecretKey":"` + k.TossSecretKey + `","tossClientKey":"` + k.TossClientKey + `","merchantApiKey":"` + k.MerchantAPIKey + `","note":"x"}`, false, nil},
		{"merchant key of exactly 24", obj(k.TossSecretKey, k.TossClientKey, strings.Repeat("m", 24)), false, nil},
		{"malformed JSON", `{"tossSecretKey": "` + k.TossSecretKey, false, []string{"not valid JSON"}},
		{"not JSON at all", k.TossSecretKey, false, []string{"not valid JSON"}},
		{"JSON array", `["` + k.TossSecretKey + `"]`, false, []string{"not a JSON object"}},
		{"JSON string", `"` + k.TossSecretKey + `"`, false, []string{"not a JSON object"}},
		{"number for a key", obj(k.TossSecretKey, k.TossClientKey, 123456789012345678), false, []string{"merchantApiKey must be a string"}},
		{"empty object", `{}`, false, []string{"tossSecretKey is missing", "tossClientKey is missing", "merchantApiKey is missing"}},
		{"null", `null`, false, []string{"tossSecretKey is missing"}},
		{"no prefix", obj("sk_"+randHex(8), k.TossClientKey, k.MerchantAPIKey), false, []string{"tossSecretKey must start with test_sk_ or live_sk_"}},
		{"client key in the secret field", obj(k.TossClientKey, k.TossClientKey, k.MerchantAPIKey), false, []string{"tossSecretKey holds a client key (test_ck_)"}},
		{"secret key in the client field", obj(k.TossSecretKey, k.TossSecretKey, k.MerchantAPIKey), false, []string{"tossClientKey holds a secret key (test_sk_)"}},
		{"prefix only", obj("test_sk_", k.TossClientKey, k.MerchantAPIKey), false, []string{"tossSecretKey has nothing after its test_sk_ prefix"}},
		{"trailing newline", obj(k.TossSecretKey+"\n", k.TossClientKey, k.MerchantAPIKey), false, []string{"tossSecretKey contains whitespace"}},
		{"byte order mark", obj("\uFEFF"+k.TossSecretKey, k.TossClientKey, k.MerchantAPIKey), false, []string{"tossSecretKey contains whitespace, control characters or a byte order mark"}},
		{"space in merchant key", obj(k.TossSecretKey, k.TossClientKey, k.MerchantAPIKey+" x"), false, []string{"merchantApiKey contains whitespace"}},
		{"short merchant key", obj(k.TossSecretKey, k.TossClientKey, strings.Repeat("m", 23)), false, []string{"merchantApiKey is shorter than 24 characters"}},
		{"mixed pair", obj(k.TossSecretKey, l.TossClientKey, k.MerchantAPIKey), false, []string{"tossSecretKey is a test key (test_sk_) but tossClientKey is a live key (live_ck_)"}},
		{"mixed pair, live deployment", obj(l.TossSecretKey, k.TossClientKey, k.MerchantAPIKey), true, []string{"they must be a pair of the same mode"}},
		{"live in test", secretJSONOf(l), false, []string{"live key (live_sk_) but the deployment is in test mode"}},
		{"test in live", secretJSONOf(k), true, []string{"test key (test_sk_) but the deployment is in live mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.data), tt.live)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got.Mode() == "" {
					t.Fatalf("Mode of valid keys is empty")
				}
				return
			}
			if !errors.Is(err, ErrInvalidSecret) {
				t.Fatalf("err = %v, want ErrInvalidSecret", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to say %q", err, want)
				}
			}
			if got != (Keys{}) {
				t.Errorf("Parse returned keys with an error")
			}
			assertNoKeys(t, err.Error(), k, l)
		})
	}
}

func TestMode(t *testing.T) {
	tests := []struct {
		key  string
		want Mode
	}{
		{"test_sk_abc", ModeTest},
		{"live_sk_abc", ModeLive},
		{"test_ck_abc", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := (Keys{TossSecretKey: tt.key}).Mode(); got != tt.want {
			t.Errorf("Mode(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestMatchMerchantAPIKey(t *testing.T) {
	k := newKeys(ModeTest)
	tests := []struct {
		keys      Keys
		presented string
		want      bool
	}{
		{k, k.MerchantAPIKey, true},
		{k, k.MerchantAPIKey + "x", false},
		{k, k.MerchantAPIKey[:len(k.MerchantAPIKey)-1], false},
		{k, "", false},
		{Keys{}, "", false}, // no key configured never matches
	}
	for i, tt := range tests {
		if got := tt.keys.MatchMerchantAPIKey(tt.presented); got != tt.want {
			t.Errorf("case %d: got %v, want %v", i, got, tt.want)
		}
	}
}

// forbidden lists every form of k's values that must never be printed: the
// values, their secret parts without the prefix, Basic auth's
// base64("key:"), plain base64 and hex.
func forbidden(ks ...Keys) []string {
	var out []string
	for _, k := range ks {
		for _, v := range []string{k.TossSecretKey, k.TossClientKey, k.MerchantAPIKey} {
			if v == "" {
				continue
			}
			out = append(out, v,
				v[min(8, len(v)-4):], // the part after a prefix
				base64.StdEncoding.EncodeToString([]byte(v+":")),
				strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(v)), "="),
				base64.URLEncoding.EncodeToString([]byte(v+":")),
				hex.EncodeToString([]byte(v)),
				fmt.Sprintf("%X", v))
		}
	}
	return out
}

func assertNoKeys(t *testing.T, text string, ks ...Keys) {
	t.Helper()
	for _, f := range forbidden(ks...) {
		if i := strings.Index(text, f); i >= 0 {
			t.Fatalf("a key leaked (as %q) at: …%s…", f, text[max(0, i-80):i])
		}
	}
}

func TestNothingLeaks(t *testing.T) {
	k, rotated, live := newKeys(ModeTest), newKeys(ModeTest), newKeys(ModeLive)
	logs := &logBuffer{}
	var out strings.Builder
	record := func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }

	// A Provider through its whole life: load, rotation, refresh storm,
	// failures served stale and refused, invalid secrets.
	p, _, sm, name, clk := onMoto(t, k, Options{Logger: logs.logger()})
	ctx := context.Background()
	got, err := p.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rotate(t, sm, name, rotated)
	if _, err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	rotate(t, sm, name, live) // a live key in a test deployment: refused, stale served
	clk.Advance(DefaultTTL + time.Second)
	if _, err := p.Keys(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(DefaultGrace)
	_, err = p.Keys(ctx)
	if err == nil {
		t.Fatal("beyond grace with an invalid secret: no error")
	}
	record("%v", err)
	record("%+v", err)
	record("%#v", err)

	fc := &fakeClient{answers: []answer{
		{secret: `{"tossSecretKey":"` + k.TossSecretKey + `", oops}`},
		{secret: `{"tossSecretKey":"` + k.TossSecretKey + `","tossClientKey":12,"merchantApiKey":"` + k.MerchantAPIKey + `"}`},
		{secret: `"` + k.TossSecretKey + `"`},
		{secret: secretJSONOf(Keys{k.TossSecretKey, live.TossClientKey, "mk_" + randHex(5)})},
		{err: errors.New("connection reset")},
	}}
	fp := New(fc, "toss-keys", Options{Logger: logs.logger()})
	for range fc.answers {
		_, err := fp.Keys(ctx)
		if err == nil {
			t.Fatal("no error")
		}
		record("%v | %+v | %#v | %s", err, err, err, err.Error())
	}

	// Every way of formatting the keys and the Provider.
	holder := struct {
		Keys  Keys
		Ptr   *Keys
		Slice []Keys
		Map   map[string]Keys
		P     *Provider
	}{got, &got, []Keys{got, rotated}, map[string]Keys{"k": live}, p}
	for _, v := range []any{got, &got, rotated, live, holder, &holder, p, *p, []any{got, p}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
			record(verb, v)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		record("%s", b)
		if x, err := xml.Marshal(v); err == nil {
			record("%s", x)
		}
		logs.logger().Info("value", "v", v)
		logs.logger().Info("value", slog.Any("v", v))
	}
	record("%s", fmt.Sprint(got, p))
	record("%s", fmt.Sprintln(got, &got))

	text := out.String() + logs.String()
	assertNoKeys(t, text, k, rotated, live)
	// The redacted forms are there, so the formatting paths really ran.
	for _, want := range []string{"test_sk_****", "test_ck_****", "[redacted]", "serving cached keys", "keys changed"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
