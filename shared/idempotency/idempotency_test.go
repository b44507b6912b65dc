package idempotency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/tossintl/backend/shared/internal/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// fakeClock is a settable clock, so lock lapses and TTLs are tested by
// moving time rather than waiting for it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Now()} }

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

// backend is one Store implementation under test, with a way to read a
// record back as it is stored.
type backend struct {
	name string
	new  func(t *testing.T) (Store, func(id string) (Record, bool))
}

var backends = []backend{
	{"memory", func(t *testing.T) (Store, func(string) (Record, bool)) {
		s := NewMemoryStore()
		return s, func(id string) (Record, bool) {
			s.mu.Lock()
			defer s.mu.Unlock()
			rec, ok := s.records[id]
			return cloneRecord(rec), ok
		}
	}},
	{"dynamodb", func(t *testing.T) (Store, func(string) (Record, bool)) {
		db, table := newTable(t)
		return NewDynamoStore(db, table), func(id string) (Record, bool) {
			return getItem(t, db, table, id)
		}
	}},
}

func newTable(t *testing.T, mw ...func(*middleware.Stack) error) (*dynamodb.Client, string) {
	t.Helper()
	db := awstest.DynamoDB(t, mw...)
	table := awstest.UniqueName("idempotency")
	awstest.CreateTable(t, db, TableDefinition(table))
	if _, err := db.UpdateTimeToLive(context.Background(), TimeToLiveDefinition(table)); err != nil {
		t.Fatalf("enable TTL: %v", err)
	}
	return db, table
}

func getItem(t *testing.T, db *dynamodb.Client, table, id string) (Record, bool) {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{attrID: str(id)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if len(out.Item) == 0 {
		return Record{}, false
	}
	rec, err := decodeRecord(out.Item)
	if err != nil {
		t.Fatalf("decode item: %v", err)
	}
	return rec, true
}

// forEachBackend runs test on every Store, each with its own fresh store.
func forEachBackend(t *testing.T, test func(t *testing.T, g *Guard, clk *fakeClock, inspect func(string) (Record, bool))) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			store, inspect := b.new(t)
			clk := newClock()
			test(t, New(store, Options{Clock: clk.Now}), clk, inspect)
		})
	}
}

func req(key, body string) Request {
	return Request{Caller: "merchant-1", Method: "POST", Path: "/payments/confirm", Key: key, Body: []byte(body)}
}

// mustNotRun is a handler for requests that must be answered without it.
func mustNotRun(t *testing.T) func(context.Context) (Response, error) {
	return func(context.Context) (Response, error) {
		t.Error("the handler ran for a request that should not run it")
		return Response{Status: 500}, nil
	}
}

// counter is a handler that counts its runs and answers resp.
type counter struct {
	n    atomic.Int32
	resp Response
	err  error
}

func (c *counter) fn(ctx context.Context) (Response, error) {
	c.n.Add(1)
	return c.resp, c.err
}

func okResponse(body string) Response {
	return Response{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(body)}
}

func sameResponse(a, b Response) bool {
	return a.Status == b.Status && maps.Equal(a.Headers, b.Headers) && bytes.Equal(a.Body, b.Body)
}

func TestDoRunsOnceAndReplays(t *testing.T) {
	tests := []struct {
		name string
		resp Response
	}{
		{"success", okResponse(`{"status":"DONE"}`)},
		{"error response replayed too", Response{Status: 502, Headers: map[string]string{"Content-Type": "application/json", "Retry-After": "1"}, Body: []byte(`{"code":"PROVIDER_ERROR"}`)}},
		{"client error replayed", Response{Status: 409, Body: []byte(`{"code":"ALREADY_PAID"}`)}},
		{"empty body and headers", Response{Status: 204}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, inspect func(string) (Record, bool)) {
				ctx := context.Background()
				h := &counter{resp: tt.resp}
				r := req("key-1", `{"amount":1000}`)
				for i, wantReplayed := range []bool{false, true, true} {
					got, replayed, err := g.Do(ctx, r, h.fn)
					if err != nil {
						t.Fatalf("call %d: %v", i, err)
					}
					if replayed != wantReplayed || !sameResponse(got, tt.resp) {
						t.Fatalf("call %d: got %+v replayed=%v, want %+v replayed=%v", i, got, replayed, tt.resp, wantReplayed)
					}
				}
				if n := h.n.Load(); n != 1 {
					t.Fatalf("fn ran %d times, want 1", n)
				}
				rec, ok := inspect(RecordID(r))
				if !ok || rec.Status != StatusCompleted || rec.RequestHash != requestHash(r.Body) {
					t.Fatalf("stored record = %+v (found %v)", rec, ok)
				}
			})
		})
	}
}

func TestTransientResponseIsNotStored(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, inspect func(string) (Record, bool)) {
		ctx := context.Background()
		bad := Transient(Response{Status: 400, Body: []byte(`{"code":"INVALID_REQUEST"}`)})
		h := &counter{resp: bad}
		got, replayed, err := g.Do(ctx, req("k", `{"amount":-1}`), h.fn)
		if err != nil || replayed || got.Status != 400 {
			t.Fatalf("got %+v replayed=%v err=%v", got, replayed, err)
		}
		if _, ok := inspect(RecordID(req("k", ""))); ok {
			t.Fatal("a validation error left a record behind")
		}
		// The client fixes its request and sends it under the same key: it runs.
		h2 := &counter{resp: okResponse(`{"ok":true}`)}
		got, replayed, err = g.Do(ctx, req("k", `{"amount":1000}`), h2.fn)
		if err != nil || replayed || got.Status != 200 || h2.n.Load() != 1 {
			t.Fatalf("fixed request: got %+v replayed=%v err=%v runs=%d", got, replayed, err, h2.n.Load())
		}
	})
}

func TestMismatchedBody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, _ func(string) (Record, bool)) {
		ctx := context.Background()
		h := &counter{resp: okResponse(`{}`)}
		if _, _, err := g.Do(ctx, req("k", `{"amount":1000}`), h.fn); err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{`{"amount":1}`, ``, `{"amount":"1000"}`, `{"amount":1000.0}`, `{"amount":1000,"x":null}`, `[{"amount":1000}]`} {
			_, _, err := g.Do(ctx, req("k", body), h.fn)
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("body %q: err = %v, want ErrMismatch", body, err)
			}
		}
		if n := h.n.Load(); n != 1 {
			t.Fatalf("fn ran %d times, want 1", n)
		}
	})
}

// The same JSON sent again in another key order or spacing is the same
// request: clients re-serialise their bodies on a retry. Different JSON
// is not.
func TestSameJSONReserialisedReplays(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, _ func(string) (Record, bool)) {
		ctx := context.Background()
		h := &counter{resp: okResponse(`{"ok":true}`)}
		first := `{"paymentKey":"tgen_1","orderId":"ord_1","amount":1000,"meta":{"a":1,"b":[1,2]}}`
		if _, _, err := g.Do(ctx, req("k", first), h.fn); err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{
			first + "\n",
			`{ "amount": 1000, "orderId": "ord_1", "paymentKey": "tgen_1", "meta": {"b": [1, 2], "a": 1} }`,
			"{\n  \"meta\": {\"a\":1,\"b\":[1,2]},\n  \"amount\":1000,\"orderId\":\"ord_1\",\"paymentKey\":\"tgen_1\"\n}",
		} {
			got, replayed, err := g.Do(ctx, req("k", body), mustNotRun(t))
			if err != nil || !replayed || string(got.Body) != `{"ok":true}` {
				t.Fatalf("body %q: %+v replayed=%v err=%v, want the first answer replayed", body, got, replayed, err)
			}
		}
		for _, body := range []string{
			`{"paymentKey":"tgen_1","orderId":"ord_1","amount":1001,"meta":{"a":1,"b":[1,2]}}`,
			`{"paymentKey":"tgen_1","orderId":"ord_1","amount":1000,"meta":{"a":1,"b":[2,1]}}`,
			`{"paymentKey":"tgen_1","orderId":"ord_1","amount":1000}`,
		} {
			if _, _, err := g.Do(ctx, req("k", body), mustNotRun(t)); !errors.Is(err, ErrMismatch) {
				t.Fatalf("body %q: err = %v, want ErrMismatch", body, err)
			}
		}
	})
}

// A record stored before bodies were compared as canonical JSON carries a
// hash of the raw bytes: the same bytes still replay it.
func TestRecordWithRawBodyHashStillMatches(t *testing.T) {
	body := []byte(`{"amount": 1000}`)
	if !sameRequest(hashBody(body), body) || !sameRequest(requestHash(body), body) {
		t.Fatal("the same body does not match its own record")
	}
	if sameRequest(hashBody(body), []byte(`{"amount": 1001}`)) {
		t.Fatal("another body matches a raw-hash record")
	}
	if requestHash([]byte("not json")) != hashBody([]byte("not json")) {
		t.Fatal("a body that is not JSON is not hashed as it is")
	}
}

// keyRuleCases is the key rule's table, shared by ValidateKey's test and
// Do's, so the guard cannot drift from the rule it delegates to.
var keyRuleCases = []struct {
	name    string
	key     string
	wantErr error
}{
	{"300 ASCII characters", strings.Repeat("a", 300), nil},
	{"301 ASCII characters", strings.Repeat("a", 301), ErrKeyTooLong},
	// Characters, not bytes: 300 Hangul syllables are 900 bytes of UTF-8.
	{"300 Hangul characters", strings.Repeat("키", 300), nil},
	{"301 Hangul characters", strings.Repeat("키", 301), ErrKeyTooLong},
	{"101 Hangul characters", strings.Repeat("키", 101), nil},
	{"300 four-byte characters", strings.Repeat("🔑", 300), nil},
	{"301 four-byte characters", strings.Repeat("🔑", 301), ErrKeyTooLong},
	{"one character", "k", nil},
	{"printable punctuation and spaces inside", "a b/c?d=e&f#🔑'\"% z", nil},
	{"surrounding spaces", " k ", nil},
	{"uuid", "5f0e2b8e-8b1a-4c1e-9f7e-3f4a2f0c9d11", nil},
	{"space", " ", ErrKeyEmpty},
	{"spaces", "     ", ErrKeyEmpty},
	{"full-width spaces", "\u3000\u3000", ErrKeyEmpty},
	{"301 spaces", strings.Repeat(" ", 301), ErrKeyEmpty},
	{"NUL", "a\x00b", ErrKeyCharacters},
	{"newline", "a\nb", ErrKeyCharacters},
	{"tab", "a\tb", ErrKeyCharacters},
	{"DEL", "a\x7fb", ErrKeyCharacters},
	{"C1 control", "a\u0085b", ErrKeyCharacters},
	{"invalid UTF-8", "a\xffb", ErrKeyCharacters},
}

func TestValidateKey(t *testing.T) {
	if err := ValidateKey(""); !errors.Is(err, ErrKeyEmpty) {
		t.Errorf("ValidateKey(\"\") = %v, want ErrKeyEmpty", err)
	}
	for _, tt := range keyRuleCases {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateKey(tt.key)
			if err != tt.wantErr {
				t.Fatalf("ValidateKey = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("%v does not match ErrInvalidKey", err)
			}
		})
	}
}

func TestDoAppliesKeyRule(t *testing.T) {
	for _, tt := range keyRuleCases {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, _ func(string) (Record, bool)) {
				h := &counter{resp: okResponse(`{}`)}
				for i := 0; i < 2; i++ {
					_, replayed, err := g.Do(context.Background(), req(tt.key, `{}`), h.fn)
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
					if tt.wantErr == nil && replayed != (i == 1) {
						t.Fatalf("call %d: replayed = %v", i, replayed)
					}
				}
				wantRuns := int32(1)
				if tt.wantErr != nil {
					wantRuns = 0
				}
				if n := h.n.Load(); n != wantRuns {
					t.Fatalf("fn ran %d times, want %d", n, wantRuns)
				}
			})
		})
	}
}

func TestEmptyKeyRunsWithoutIdempotency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, inspect func(string) (Record, bool)) {
		h := &counter{resp: okResponse(`{}`)}
		for i := 0; i < 3; i++ {
			if _, replayed, err := g.Do(context.Background(), req("", `{}`), h.fn); err != nil || replayed {
				t.Fatalf("replayed=%v err=%v", replayed, err)
			}
		}
		if n := h.n.Load(); n != 3 {
			t.Fatalf("fn ran %d times, want 3", n)
		}
		if _, ok := inspect(RecordID(req("", `{}`))); ok {
			t.Fatal("a request without a key was stored")
		}
	})
}

func TestScope(t *testing.T) {
	base := req("shared-key", `{"a":1}`)
	others := map[string]Request{
		"another caller": {Caller: "merchant-2", Method: base.Method, Path: base.Path, Key: base.Key, Body: []byte(`{"b":2}`)},
		"another method": {Caller: base.Caller, Method: "PUT", Path: base.Path, Key: base.Key, Body: []byte(`{"b":2}`)},
		"another path":   {Caller: base.Caller, Method: base.Method, Path: "/payments/cancel", Key: base.Key, Body: []byte(`{"b":2}`)},
		// Length prefixes keep a shifted boundary from colliding.
		"shifted parts": {Caller: base.Caller + "P", Method: "OST", Path: base.Path, Key: base.Key, Body: []byte(`{"b":2}`)},
	}
	forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, _ func(string) (Record, bool)) {
		ctx := context.Background()
		first := &counter{resp: okResponse(`"first"`)}
		if _, _, err := g.Do(ctx, base, first.fn); err != nil {
			t.Fatal(err)
		}
		for name, r := range others {
			h := &counter{resp: okResponse(`"` + name + `"`)}
			got, replayed, err := g.Do(ctx, r, h.fn)
			if err != nil || replayed || h.n.Load() != 1 || string(got.Body) != `"`+name+`"` {
				t.Fatalf("%s: got %s replayed=%v err=%v runs=%d", name, got.Body, replayed, err, h.n.Load())
			}
		}
		got, replayed, err := g.Do(ctx, base, first.fn)
		if err != nil || !replayed || string(got.Body) != `"first"` {
			t.Fatalf("base replay: got %s replayed=%v err=%v", got.Body, replayed, err)
		}
	})
}

func TestHandlerErrorReleasesLock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, inspect func(string) (Record, bool)) {
		ctx := context.Background()
		boom := errors.New("orders table unavailable")
		failing := &counter{err: fmt.Errorf("load order: %w", boom)}
		if _, _, err := g.Do(ctx, req("k", `{}`), failing.fn); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
		if _, ok := inspect(RecordID(req("k", ""))); ok {
			t.Fatal("lock kept after a handler error")
		}
		ok := &counter{resp: okResponse(`{}`)}
		if _, replayed, err := g.Do(ctx, req("k", `{}`), ok.fn); err != nil || replayed || ok.n.Load() != 1 {
			t.Fatalf("retry: replayed=%v err=%v runs=%d", replayed, err, ok.n.Load())
		}
	})
}

func TestPanicReleasesLockAndRepanics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, inspect func(string) (Record, bool)) {
		ctx := context.Background()
		recovered := func() (p any) {
			defer func() { p = recover() }()
			_, _, _ = g.Do(ctx, req("k", `{}`), func(context.Context) (Response, error) { panic("handler bug") })
			return nil
		}()
		if recovered != "handler bug" {
			t.Fatalf("recovered %v, want the handler's panic", recovered)
		}
		if _, ok := inspect(RecordID(req("k", ""))); ok {
			t.Fatal("lock kept after a panic")
		}
		h := &counter{resp: okResponse(`{}`)}
		if _, replayed, err := g.Do(ctx, req("k", `{}`), h.fn); err != nil || replayed || h.n.Load() != 1 {
			t.Fatalf("retry: replayed=%v err=%v runs=%d", replayed, err, h.n.Load())
		}
	})
}

// heldLock is a request whose handler is parked inside Do, holding its lock.
type heldLock struct {
	release chan struct{}
	once    sync.Once
	done    chan error
}

// holdLock starts r in a goroutine and returns once its handler runs (after
// calling inside, if set). The handler then waits for finish and answers
// resp, err. If Do ends before the handler starts, the test fails rather
// than hangs; a test that ends early releases the handler.
func holdLock(t *testing.T, g *Guard, r Request, inside func(), resp Response, err error) *heldLock {
	t.Helper()
	h := &heldLock{release: make(chan struct{}), done: make(chan error, 1)}
	entered := make(chan struct{})
	go func() {
		_, _, derr := g.Do(context.Background(), r, func(context.Context) (Response, error) {
			if inside != nil {
				inside()
			}
			close(entered)
			<-h.release
			return resp, err
		})
		h.done <- derr
	}()
	t.Cleanup(func() { h.once.Do(func() { close(h.release) }) })
	select {
	case <-entered:
	case derr := <-h.done:
		t.Fatalf("the first request ended before its handler ran: %v", derr)
	}
	return h
}

// finish lets the handler return and waits for its Do's error.
func (h *heldLock) finish() error {
	h.once.Do(func() { close(h.release) })
	return <-h.done
}

func TestRepeatWhileInProgress(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, _ func(string) (Record, bool)) {
		ctx := context.Background()
		want := okResponse(`{"first":true}`)
		first := holdLock(t, g, req("k", `{}`), nil, want, nil)
		second := &counter{resp: okResponse(`{"second":true}`)}
		if _, _, err := g.Do(ctx, req("k", `{}`), second.fn); !errors.Is(err, ErrInProgress) {
			t.Fatalf("repeat while running: err = %v, want ErrInProgress", err)
		}
		// A different body is a client bug whether or not the first finished.
		if _, _, err := g.Do(ctx, req("k", `{"x":1}`), second.fn); !errors.Is(err, ErrMismatch) {
			t.Fatalf("different body while running: err = %v, want ErrMismatch", err)
		}
		if err := first.finish(); err != nil {
			t.Fatal(err)
		}
		got, replayed, err := g.Do(ctx, req("k", `{}`), second.fn)
		if err != nil || !replayed || !sameResponse(got, want) {
			t.Fatalf("after completion: got %+v replayed=%v err=%v", got, replayed, err)
		}
		if second.n.Load() != 0 {
			t.Fatal("the repeat ran the handler")
		}
	})
}

func TestConcurrentFirstRequests(t *testing.T) {
	for _, n := range []int{2, 20} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, _ func(string) (Record, bool)) {
				h := &counter{resp: okResponse(`{"paid":true}`)}
				start := make(chan struct{})
				var ran, replays, inProgress atomic.Int32
				var wg sync.WaitGroup
				errs := make(chan error, n)
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						got, replayed, err := g.Do(context.Background(), req("k", `{}`), h.fn)
						switch {
						case errors.Is(err, ErrInProgress):
							inProgress.Add(1)
						case err != nil:
							errs <- err
						case !sameResponse(got, h.resp):
							errs <- fmt.Errorf("got %+v", got)
						case replayed:
							replays.Add(1)
						default:
							ran.Add(1)
						}
					}()
				}
				close(start)
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				if h.n.Load() != 1 || ran.Load() != 1 {
					t.Fatalf("fn ran %d times (%d callers saw it run), want 1", h.n.Load(), ran.Load())
				}
				if got := replays.Load() + inProgress.Load(); got != int32(n-1) {
					t.Fatalf("%d replays + %d in progress, want %d", replays.Load(), inProgress.Load(), n-1)
				}
			})
		})
	}
}

func TestLapsedLockTakenOverAndLateCompletionRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *Guard, clk *fakeClock, _ func(string) (Record, bool)) {
		ctx := context.Background() // no deadline: the lock lasts LockTimeout
		orig := okResponse(`"original"`)
		takeover := okResponse(`"takeover"`)
		var origRuns, takeoverRuns atomic.Int32
		got, _, err := g.Do(ctx, req("k", `{}`), func(ctx context.Context) (Response, error) {
			origRuns.Add(1)
			// Before the lock lapses a repeat is refused...
			if _, _, err := g.Do(ctx, req("k", `{}`), mustNotRun(t)); !errors.Is(err, ErrInProgress) {
				t.Errorf("before lapse: err = %v, want ErrInProgress", err)
			}
			// ...after it, as if this invocation had died, a repeat takes over.
			clk.Advance(DefaultLockTimeout + time.Millisecond)
			resp, replayed, err := g.Do(ctx, req("k", `{}`), func(context.Context) (Response, error) {
				takeoverRuns.Add(1)
				return takeover, nil
			})
			if err != nil || replayed || !sameResponse(resp, takeover) {
				t.Errorf("takeover: got %+v replayed=%v err=%v", resp, replayed, err)
			}
			return orig, nil
		})
		if !errors.Is(err, ErrLockLost) {
			t.Fatalf("late original: err = %v, want ErrLockLost", err)
		}
		if !sameResponse(got, orig) {
			t.Fatalf("late original: got %+v, want its own response alongside the error", got)
		}
		got, replayed, err := g.Do(ctx, req("k", `{}`), mustNotRun(t))
		if err != nil || !replayed || !sameResponse(got, takeover) {
			t.Fatalf("after both: got %+v replayed=%v err=%v, want the takeover's response", got, replayed, err)
		}
		if origRuns.Load() != 1 || takeoverRuns.Load() != 1 {
			t.Fatalf("runs: original %d, takeover %d", origRuns.Load(), takeoverRuns.Load())
		}
	})
}

// A late original that finishes while the takeover still holds the lock
// must neither complete nor release the takeover's record.
func TestLateOriginalDoesNotDisturbRunningTakeover(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		result  error // the original handler's error
		wantErr error // what the original's Do returns
	}{
		{"original succeeds late", nil, ErrLockLost},
		{"original fails late", boom, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, g *Guard, clk *fakeClock, inspect func(string) (Record, bool)) {
				ctx := context.Background()
				orig := holdLock(t, g, req("k", `{}`), func() {
					clk.Advance(DefaultLockTimeout + time.Millisecond)
				}, okResponse(`"original"`), tt.result)
				_, _, err := g.Do(ctx, req("k", `{}`), func(context.Context) (Response, error) {
					err := orig.finish() // the original ends while we hold the lock
					if !errors.Is(err, tt.wantErr) {
						t.Errorf("late original: err = %v, want %v", err, tt.wantErr)
					}
					rec, ok := inspect(RecordID(req("k", "")))
					if !ok || rec.Status != StatusInProgress {
						t.Errorf("takeover's lock = %+v (found %v) after the late original ended", rec, ok)
					}
					return okResponse(`"takeover"`), nil
				})
				if err != nil {
					t.Fatalf("takeover: %v", err)
				}
				rec, ok := inspect(RecordID(req("k", "")))
				if !ok || rec.Status != StatusCompleted || string(rec.Response.Body) != `"takeover"` {
					t.Fatalf("record = %+v (found %v), want the takeover's response", rec, ok)
				}
			})
		})
	}
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		replay  bool
	}{
		{"a day before expiry", DefaultExpiry - 24*time.Hour, true},
		{"at expiry", DefaultExpiry, true},
		{"past expiry", DefaultExpiry + 2*time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, g *Guard, clk *fakeClock, inspect func(string) (Record, bool)) {
				ctx := context.Background()
				h := &counter{resp: okResponse(`{}`)}
				start := clk.Now()
				if _, _, err := g.Do(ctx, req("k", `{}`), h.fn); err != nil {
					t.Fatal(err)
				}
				rec, _ := inspect(RecordID(req("k", "")))
				if want := start.Add(DefaultExpiry).Unix(); rec.ExpiresAt.Unix() != want {
					t.Fatalf("ExpiresAt = %v, want %v", rec.ExpiresAt.Unix(), want)
				}
				clk.Advance(tt.advance)
				_, replayed, err := g.Do(ctx, req("k", `{}`), h.fn)
				if err != nil || replayed != tt.replay {
					t.Fatalf("replayed=%v err=%v, want replayed=%v", replayed, err, tt.replay)
				}
			})
		})
	}
}

func TestLockExpiry(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Duration // 0: no deadline
	}{
		{"the invocation deadline", 3 * time.Minute},
		{"LockTimeout without a deadline", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, g *Guard, clk *fakeClock, inspect func(string) (Record, bool)) {
				ctx := context.Background()
				want := clk.Now().Add(DefaultLockTimeout)
				if tt.deadline > 0 {
					var cancel context.CancelFunc
					want = time.Now().Add(tt.deadline)
					ctx, cancel = context.WithDeadline(ctx, want)
					defer cancel()
				}
				_, _, err := g.Do(ctx, req("k", `{}`), func(context.Context) (Response, error) {
					rec, ok := inspect(RecordID(req("k", "")))
					if !ok || rec.Status != StatusInProgress || rec.LockExpiresAt.UnixMilli() != want.UnixMilli() {
						t.Errorf("lock = %+v (found %v), want it to expire at %v", rec, ok, want)
					}
					return okResponse(`{}`), nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestResponseStoredAfterContextCancelled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, g *Guard, _ *fakeClock, _ func(string) (Record, bool)) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		want := okResponse(`{"paid":true}`)
		if _, _, err := g.Do(ctx, req("k", `{}`), func(context.Context) (Response, error) {
			cancel() // the client went away while the payment was being confirmed
			return want, nil
		}); err != nil {
			t.Fatal(err)
		}
		got, replayed, err := g.Do(context.Background(), req("k", `{}`), mustNotRun(t))
		if err != nil || !replayed || !sameResponse(got, want) {
			t.Fatalf("got %+v replayed=%v err=%v", got, replayed, err)
		}
	})
}

func TestDynamoDBCallCounts(t *testing.T) {
	var calls awstest.Calls
	db, table := newTable(t, calls.Middleware)
	g := New(NewDynamoStore(db, table), Options{})
	ctx := context.Background()
	h := &counter{resp: okResponse(`{}`)}
	steps := []struct {
		name string
		r    Request
		fn   func(context.Context) (Response, error)
		want map[string]int
	}{
		{"first request: lock and complete", req("k", `{}`), h.fn, map[string]int{"PutItem": 1, "UpdateItem": 1}},
		{"completed repeat: one write, no read", req("k", `{}`), h.fn, map[string]int{"PutItem": 1}},
		{"mismatch: one write, no read", req("k", `{"x":1}`), h.fn, map[string]int{"PutItem": 1}},
		{"validation error: lock and release", req("v", `{}`), func(context.Context) (Response, error) {
			return Transient(Response{Status: 400}), nil
		}, map[string]int{"PutItem": 1, "DeleteItem": 1}},
		{"no key: no call", req("", `{}`), h.fn, map[string]int{}},
	}
	for _, s := range steps {
		calls.Reset()
		_, _, _ = g.Do(ctx, s.r, s.fn)
		total := 0
		for op, n := range s.want {
			total += n
			if got := calls.Count(op); got != n {
				t.Errorf("%s: %s calls = %d, want %d (%s)", s.name, op, got, n, calls.String())
			}
		}
		if got := calls.Count(); got != total {
			t.Errorf("%s: %d calls, want %d (%s)", s.name, got, total, calls.String())
		}
	}
}

func TestDynamoDBItemLayout(t *testing.T) {
	db, table := newTable(t)
	g := New(NewDynamoStore(db, table), Options{})
	r := req("k", `{"amount":1000}`)
	before := time.Now()
	if _, _, err := g.Do(context.Background(), r, (&counter{resp: okResponse(`{"ok":true}`)}).fn); err != nil {
		t.Fatal(err)
	}
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"id": str(RecordID(r))},
	})
	if err != nil {
		t.Fatal(err)
	}
	item := out.Item
	ttl, err := strconv.ParseInt(item["ttl"].(*types.AttributeValueMemberN).Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// Epoch seconds, about 15 days ahead: DynamoDB ignores a TTL in milliseconds.
	if want := before.Add(15 * 24 * time.Hour).Unix(); ttl < want-60 || ttl > want+60 {
		t.Fatalf("ttl = %d, want about %d (now + 15 days, in seconds)", ttl, want)
	}
	for name, want := range map[string]string{"status": "COMPLETED", "requestHash": requestHash(r.Body)} {
		if got := item[name].(*types.AttributeValueMemberS).Value; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"lockExpiresAt", "createdAt", "responseStatus", "responseHeaders", "responseBody", "lockToken"} {
		if _, ok := item[name]; !ok {
			t.Errorf("attribute %s missing", name)
		}
	}
	// The caller (possibly an API key) and the raw key are only ever hashed.
	for name, v := range item {
		if s, ok := v.(*types.AttributeValueMemberS); ok && (strings.Contains(s.Value, "merchant-1") || s.Value == "k") {
			t.Errorf("attribute %s stores a request part in clear: %q", name, s.Value)
		}
	}
}

// failingStore injects store failures around a MemoryStore.
type failingStore struct {
	*MemoryStore
	lockErr, completeErr, releaseErr error
	released                         atomic.Int32
}

func (s *failingStore) Lock(ctx context.Context, rec Record, now time.Time) (Record, bool, error) {
	if s.lockErr != nil {
		return Record{}, false, s.lockErr
	}
	return s.MemoryStore.Lock(ctx, rec, now)
}

func (s *failingStore) Complete(ctx context.Context, id, token string, resp Response, now time.Time) error {
	if s.completeErr != nil {
		return s.completeErr
	}
	return s.MemoryStore.Complete(ctx, id, token, resp, now)
}

func (s *failingStore) Release(ctx context.Context, id, token string) error {
	s.released.Add(1)
	if s.releaseErr != nil {
		return s.releaseErr
	}
	return s.MemoryStore.Release(ctx, id, token)
}

func TestStoreFailures(t *testing.T) {
	down := errors.New("dynamodb unavailable")
	handlerErr := errors.New("handler failed")
	tests := []struct {
		name         string
		store        *failingStore
		handlerErr   error
		wantErr      []error
		wantRuns     int32
		wantResp     bool // fn's response returned alongside the error
		wantReleases int32
	}{
		{"lock fails: handler not run", &failingStore{lockErr: down}, nil, []error{down}, 0, false, 0},
		{"complete fails: response returned, lock released", &failingStore{completeErr: down}, nil, []error{down}, 1, true, 1},
		{"release after handler error fails: both reported", &failingStore{releaseErr: down}, handlerErr, []error{handlerErr, down}, 1, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.store.MemoryStore = NewMemoryStore()
			g := New(tt.store, Options{})
			h := &counter{resp: okResponse(`{}`), err: tt.handlerErr}
			got, _, err := g.Do(context.Background(), req("k", `{}`), h.fn)
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want it to wrap %v", err, want)
				}
			}
			if h.n.Load() != tt.wantRuns || tt.store.released.Load() != tt.wantReleases {
				t.Errorf("runs = %d, releases = %d, want %d, %d", h.n.Load(), tt.store.released.Load(), tt.wantRuns, tt.wantReleases)
			}
			if tt.wantResp != sameResponse(got, h.resp) {
				t.Errorf("response = %+v, want returned: %v", got, tt.wantResp)
			}
		})
	}
}

func TestProblem(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
		ok     bool
	}{
		{ErrKeyTooLong, 400, "INVALID_IDEMPOTENCY_KEY", true},
		{ErrKeyEmpty, 400, "INVALID_IDEMPOTENCY_KEY", true},
		{fmt.Errorf("wrapped: %w", ErrKeyCharacters), 400, "INVALID_IDEMPOTENCY_KEY", true},
		{ErrInProgress, 409, "IDEMPOTENT_REQUEST_PROCESSING", true},
		{fmt.Errorf("confirm: %w", ErrMismatch), 422, "IDEMPOTENCY_KEY_REUSED", true},
		{ErrLockLost, 0, "", false},
		{errors.New("other"), 0, "", false},
		{nil, 0, "", false},
	}
	for _, tt := range tests {
		status, code, ok := Problem(tt.err)
		if status != tt.status || code != tt.code || ok != tt.ok {
			t.Errorf("Problem(%v) = %d, %q, %v; want %d, %q, %v", tt.err, status, code, ok, tt.status, tt.code, tt.ok)
		}
	}
}

func TestRecordIDSeparatesParts(t *testing.T) {
	a := RecordID(Request{Caller: "a", Method: "bc", Path: "/p", Key: "k"})
	b := RecordID(Request{Caller: "ab", Method: "c", Path: "/p", Key: "k"})
	if a == b {
		t.Fatal("shifted part boundaries hash alike")
	}
	if len(a) != 64 || a != RecordID(Request{Caller: "a", Method: "bc", Path: "/p", Key: "k", Body: []byte("ignored")}) {
		t.Fatalf("RecordID = %q: want a stable 64-hex id that ignores the body", a)
	}
}

// Each write reaching DynamoDB twice (the SDK retrying one whose answer was
// lost) changes nothing the caller sees: the first request runs once and is
// stored, its repeat is replayed, and a released lock is gone.
func TestDynamoDBWritesSurviveReplays(t *testing.T) {
	replays := &awstest.Replays{Ops: []string{"PutItem", "UpdateItem", "DeleteItem"}}
	db, table := newTable(t, replays.Middleware)
	g := New(NewDynamoStore(db, table), Options{})
	ctx := context.Background()

	h := &counter{resp: okResponse(`{"status":"DONE"}`)}
	for i, wantReplayed := range []bool{false, true} {
		got, replayed, err := g.Do(ctx, req("k", `{}`), h.fn)
		if err != nil || replayed != wantReplayed || !sameResponse(got, h.resp) {
			t.Fatalf("call %d: got %+v replayed=%v err=%v, want the stored response replayed=%v", i, got, replayed, err, wantReplayed)
		}
	}
	if n := h.n.Load(); n != 1 {
		t.Fatalf("fn ran %d times, want 1", n)
	}

	invalid := &counter{resp: Transient(Response{Status: 400})}
	if _, _, err := g.Do(ctx, req("v", `{}`), invalid.fn); err != nil {
		t.Fatalf("transient response: %v", err)
	}
	again := &counter{resp: okResponse(`{}`)}
	if _, replayed, err := g.Do(ctx, req("v", `{}`), again.fn); err != nil || replayed || again.n.Load() != 1 {
		t.Fatalf("after a released lock: replayed=%v err=%v runs=%d, want a fresh run", replayed, err, again.n.Load())
	}
	// lock+complete, lock+release, lock+complete (the repeat's refused
	// lock is not replayed: it took no effect)
	if got := replays.Count(); got != 6 {
		t.Fatalf("%d writes were sent twice, want 6: the test did not test replays", got)
	}
}
