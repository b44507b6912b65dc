package payments

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/internal/awstest"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
	"github.com/tossintl/backend/tools/tosssandbox/tosstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// stack is the real thing: orders on DynamoDB (DynamoDB Local over HTTP), the Toss
// client over HTTP to the sandbox, and a call counter on DynamoDB.
type stack struct {
	calls   *awstest.Calls
	store   orders.Store
	sandbox *tosstest.Server
	engine  *Engine
	clock   *clock
}

func newStack(t *testing.T, wrap func(orders.Store) orders.Store) *stack {
	t.Helper()
	calls := &awstest.Calls{}
	db := awstest.DynamoDB(t, calls.Middleware)
	table := awstest.UniqueName("orders")
	awstest.CreateTable(t, db, orders.TableDefinition(table))
	store := orders.Validated(orders.NewDynamoStore(db, table))
	if wrap != nil {
		store = wrap(store)
	}
	c := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	sb := tosstest.NewServer(t, tosstest.WithClock(c.Now))
	client, err := toss.New(toss.Options{BaseURL: sb.URL, SecretKey: toss.StaticKey(sb.SecretKey()),
		Retry: toss.RetryPolicy{MaxAttempts: 3, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	calls.Reset()
	return &stack{calls: calls, store: store, sandbox: sb, clock: c,
		engine: &Engine{Orders: store, Toss: client, Clock: c.Now, ClaimDuration: 20 * time.Second}}
}

func (s *stack) order(t *testing.T, amount int64) (*orders.Order, string) {
	t.Helper()
	o, err := orders.New(orders.Draft{Name: "Seoul food tour", Amount: amount}, s.clock.Now(), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	pk := s.sandbox.Authorize(o.ID, o.Name, amount)
	s.calls.Reset()
	return o, pk
}

func (s *stack) confirmRequests() int {
	n := 0
	for _, r := range s.sandbox.Requests() {
		if r.Method == "POST" && r.Path == "/v1/payments/confirm" {
			n++
		}
	}
	return n
}

func TestIntegrationTamperedAmountNeverReachesToss(t *testing.T) {
	s := newStack(t, nil)
	o, pk := s.order(t, 50000)
	_, err := s.engine.Confirm(context.Background(), pk, o.ID, 500)
	var am *AmountMismatchError
	if !errors.As(err, &am) {
		t.Fatalf("err = %v, want amount mismatch", err)
	}
	if n := s.confirmRequests(); n != 0 {
		t.Fatalf("the sandbox received %d confirm requests for a tampered amount", n)
	}
	got, err := s.store.Get(context.Background(), o.ID, s.clock.Now())
	if err != nil || got.LastFailure == nil || got.LastFailure.Code != CodeAmountMismatch {
		t.Fatalf("attempt not recorded: %v %+v", err, got)
	}
}

func TestIntegrationFirstConfirmAndRepeatRoundTrips(t *testing.T) {
	s := newStack(t, nil)
	o, pk := s.order(t, 33000)
	res, err := s.engine.Confirm(context.Background(), pk, o.ID, 33000)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	if n := s.calls.Count(); n > 3 {
		t.Fatalf("first confirm made %d DynamoDB calls (%s), want at most 3", n, s.calls)
	}
	if n := s.calls.Count(); n != 2 {
		t.Errorf("first confirm made %d DynamoDB calls (%s); the design needs 2", n, s.calls)
	}
	s.calls.Reset()
	res, err = s.engine.Confirm(context.Background(), pk, o.ID, 33000)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("repeat: %v %+v", err, res)
	}
	if n := s.calls.Count(); n != 1 {
		t.Fatalf("repeat of a finished confirm made %d DynamoDB calls (%s), want 1", n, s.calls)
	}
	if n := s.sandbox.ConfirmsExecuted(o.ID); n != 1 {
		t.Fatalf("sandbox executed %d confirms", n)
	}
	got, _ := s.store.Get(context.Background(), o.ID, s.clock.Now())
	if got.Status != orders.StatusDone || !got.ExpiresAt.IsZero() || got.Payment == nil || got.Payment.ReceiptURL == "" {
		t.Fatalf("paid order: %+v", got)
	}
}

func TestIntegrationConcurrentConfirmsExecuteOnce(t *testing.T) {
	s := newStack(t, nil)
	o, pk := s.order(t, 12000)
	s.sandbox.SetLatency(30 * time.Millisecond)
	const n = 50
	var wg sync.WaitGroup
	results := make([]*Result, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = s.engine.Confirm(context.Background(), pk, o.ID, 12000)
		}(i)
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if oc := results[i].Outcome; oc != OutcomeDone && oc != OutcomeProcessing {
			t.Fatalf("caller %d: outcome %s", i, oc)
		}
	}
	if got := s.sandbox.ConfirmsExecuted(o.ID); got != 1 {
		t.Fatalf("sandbox executed %d confirms, want 1", got)
	}
	res, err := s.engine.Confirm(context.Background(), pk, o.ID, 12000)
	if err != nil || res.Outcome != OutcomeDone {
		t.Fatalf("later call: %v %+v", err, res)
	}
}

func TestIntegrationApproveThenDropEndsDone(t *testing.T) {
	s := newStack(t, nil)
	o, pk := s.order(t, 45000)
	// Every attempt of the first call is approved (once) and its answer lost.
	s.sandbox.ApproveThenDrop(10)
	res, err := s.engine.Confirm(context.Background(), pk, o.ID, 45000)
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if res.Outcome != OutcomeDone {
		// The lookup may also have been dropped; Reconcile must finish it.
		s.sandbox.ApproveThenDrop(0)
		s.clock.Advance(time.Minute)
		rep, err := s.engine.Reconcile(context.Background())
		if err != nil || rep.Done != 1 {
			t.Fatalf("reconcile: %v %+v", err, rep)
		}
	}
	got, _ := s.store.Get(context.Background(), o.ID, s.clock.Now())
	if got.Status != orders.StatusDone {
		t.Fatalf("status %s", got.Status)
	}
	if n := s.sandbox.ConfirmsExecuted(o.ID); n != 1 {
		t.Fatalf("sandbox executed %d confirms", n)
	}
}

func TestIntegrationCrashBeforeFinalWriteReconciles(t *testing.T) {
	var crash *failingComplete
	s := newStack(t, func(st orders.Store) orders.Store {
		crash = &failingComplete{Store: st, fails: 1}
		return crash
	})
	o, pk := s.order(t, 64000)
	res, err := s.engine.Confirm(context.Background(), pk, o.ID, 64000)
	if err != nil || res.Outcome != OutcomeProcessing {
		t.Fatalf("confirm with crash: %v %+v", err, res)
	}
	s.clock.Advance(time.Minute)
	rep, err := s.engine.Reconcile(context.Background())
	if err != nil || rep.LapsedClaims != 1 || rep.Done != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	got, _ := s.store.Get(context.Background(), o.ID, s.clock.Now())
	if got.Status != orders.StatusDone || !got.ExpiresAt.IsZero() {
		t.Fatalf("after reconcile: %+v", got)
	}
	if n := s.sandbox.ConfirmsExecuted(o.ID); n != 1 {
		t.Fatalf("sandbox executed %d confirms", n)
	}
}

func TestIntegrationReconcileExpiresStalePending(t *testing.T) {
	s := newStack(t, nil)
	o, _ := s.order(t, 1000)
	s.clock.Advance(25 * time.Hour)
	rep, err := s.engine.Reconcile(context.Background())
	if err != nil || rep.Expired != 1 {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	got, err := s.store.Get(context.Background(), o.ID, s.clock.Now())
	if err != nil || got.Status != orders.StatusExpired {
		t.Fatalf("order: %v %+v", err, got)
	}
	if n := s.calls.Count("Scan"); n != 0 {
		t.Fatalf("reconcile scanned the table %d times", n)
	}
}
