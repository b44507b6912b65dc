package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/tools/dynamodblocal"
)

func TestParseBench(t *testing.T) {
	out := []byte("goos: linux\nBenchmarkConfirm/first-2   \t    2000\t     33301 ns/op\t    9444 B/op\t     109 allocs/op\n" +
		"BenchmarkCheckout \t 100\t 45972.5 ns/op\t 29284 B/op\t 214 allocs/op\nPASS\n")
	got := parseBench(out)
	if len(got) != 2 {
		t.Fatalf("parsed %d results: %+v", len(got), got)
	}
	if r := got[0]; r.Name != "Confirm/first" || r.NsPerOp != 33301 || r.BytesPerOp != 9444 || r.Allocs != 109 || r.Iterations != 2000 {
		t.Errorf("first: %+v", r)
	}
	if r := got[1]; r.Name != "Checkout" || r.NsPerOp != 45972.5 {
		t.Errorf("second: %+v", r)
	}
}

func TestParseRoundTrips(t *testing.T) {
	out := []byte(`{"Action":"run","Package":"p","Test":"TestRoundTrips"}
{"Action":"output","Package":"p","Test":"TestRoundTrips","Output":"roundtrips\tnot this\tdynamodb=9\n"}
{"Action":"attr","Package":"p","Test":"TestRoundTrips","Key":"roundtrips","Value":"{\"case\":\"first confirm (POST /payments/confirm)\",\"dynamodb\":2,\"secretsmanager\":1}"}
{"Action":"attr","Package":"p","Test":"TestRoundTrips","Key":"other","Value":"x"}
{"Action":"attr","Package":"p","Test":"TestRoundTrips","Key":"roundtrips","Value":"{\"case\":\"fail page\",\"dynamodb\":1,\"secretsmanager\":0}"}
{"Action":"pass","Package":"p","Test":"TestRoundTrips"}
`)
	got, err := parseRoundTrips(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []roundTrip{{"first confirm (POST /payments/confirm)", 2, 1}, {"fail page", 1, 0}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestEventFile(t *testing.T) {
	for fn, want := range map[string]string{
		"ConfirmPaymentFunction": "confirm-payment.json",
		"CheckoutFunction":       "checkout.json",
		"TossWebhookFunction":    "toss-webhook.json",
	} {
		if got := eventFile(fn); got != filepath.Join("events", want) {
			t.Errorf("eventFile(%s) = %s, want events/%s", fn, got, want)
		}
	}
}

func TestRefsOf(t *testing.T) {
	for _, c := range []struct {
		event string
		want  refs
	}{
		{`{"pathParameters":{"orderId":"ord_a"}}`, refs{orderID: "ord_a"}},
		{`{"pathParameters":{"paymentKey":"tgen_k"},"body":"{\"cancelAmount\": 10000}"}`, refs{paymentKey: "tgen_k"}},
		{`{"queryStringParameters":{"orderId":"ord_b","paymentKey":"tgen_b","amount":"39000"}}`, refs{"ord_b", "tgen_b", 39000}},
		{`{"body":"{\"paymentKey\": \"tgen_c\", \"orderId\": \"ord_c\", \"amount\": 52000}"}`, refs{"ord_c", "tgen_c", 52000}},
		{`{"body":"{\"data\": {\"paymentKey\": \"tgen_d\", \"orderId\": \"ord_d\", \"totalAmount\": 39000}}"}`, refs{"ord_d", "tgen_d", 39000}},
	} {
		if got := refsOf(c.event); got != c.want {
			t.Errorf("refsOf(%s) = %+v, want %+v", c.event, got, c.want)
		}
	}
}

func TestPerPath(t *testing.T) {
	before := map[string]int{"PutItem on orders": 10, "UpdateItem on orders": 20}
	now := map[string]int{"PutItem on orders": 110, "UpdateItem on orders": 220, "GetItem on keys": 0}
	if got, tables := perPath(now, before, 100); got != "PutItem on orders 1.00, UpdateItem on orders 2.00" || tables != 1 {
		t.Errorf("perPath = %q, %d tables; want PutItem on orders 1.00, UpdateItem on orders 2.00, 1 table", got, tables)
	}
}

// jvmThread is a thread of a made-up dump: a request thread in an
// activity, or a thread of another role, with its CPU so far.
func jvmThread(id, name, state string, cpu time.Duration, frames ...string) dynamodblocal.Thread {
	return dynamodblocal.Thread{ID: id, Name: name, State: state, CPU: cpu, Frames: frames}
}

func TestJVMProfile(t *testing.T) {
	lockWaiter := func(id string, cpu time.Duration) dynamodblocal.Thread {
		return jvmThread(id, "qtp1-"+id, "TIMED_WAITING (parking)", cpu, "jdk.internal.misc.Unsafe.park(Native Method)",
			"software.amazon.dynamodb.services.local.shared.access.LocalDBAccess$WriteLockWithTimeout.execute(LocalDBAccess.java:400)")
	}
	sqliteIdle := func(cpu time.Duration) dynamodblocal.Thread {
		return jvmThread("s", "SQLiteQueue[]", "TIMED_WAITING (on object monitor)", cpu, "java.lang.Object.wait(Native Method)",
			"com.almworks.sqlite4java.SQLiteQueue.queueFunction(SQLiteQueue.java:663)")
	}
	sqliteBusy := func(cpu time.Duration) dynamodblocal.Thread {
		return jvmThread("s", "SQLiteQueue[]", "RUNNABLE", cpu, "com.almworks.sqlite4java._SQLiteManualJNI.sqlite3_exec(Native Method)",
			"com.almworks.sqlite4java.SQLiteQueue.queueFunction(SQLiteQueue.java:667)")
	}
	// The readiness check's database: its thread never worked.
	other := jvmThread("o", "SQLiteQueue[]", "RUNNABLE", time.Millisecond, "com.almworks.sqlite4java.SQLiteJob.execute(SQLiteJob.java:376)")
	jit := func(cpu time.Duration) dynamodblocal.Thread {
		return jvmThread("c", "C1 CompilerThread0", "RUNNABLE", cpu)
	}
	j := &jvmSampler{done: make(chan struct{}), start: time.Unix(0, 0), end: time.Unix(2, 0)}
	close(j.done)
	j.dumps = [][]dynamodblocal.Thread{
		{lockWaiter("1", 0), lockWaiter("2", 0), sqliteIdle(0), other, jit(100 * time.Millisecond)},
		{lockWaiter("1", 0), lockWaiter("2", 0), lockWaiter("3", 0), sqliteBusy(500 * time.Millisecond), other, jit(100 * time.Millisecond)},
		{lockWaiter("1", 0), sqliteBusy(time.Second), other, jit(300 * time.Millisecond)},
	}
	j.first = map[string]dynamodblocal.Thread{}
	for _, th := range j.dumps[0] {
		j.first[th.ID] = th
	}
	j.last = j.dumps[2]
	p, err := j.finish()
	if err != nil {
		t.Fatal(err)
	}
	if p.samples != 3 || p.perSample(dynamodblocal.WaitWriteLock) != 2 || p.sqliteBusy != 2 {
		t.Errorf("samples %d, write-lock waiters %.1f a dump, SQLite busy in %d; want 3, 2.0, 2", p.samples, p.perSample(dynamodblocal.WaitWriteLock), p.sqliteBusy)
	}
	// CPU from the first dump to the last, over the 2 s between them.
	if p.cores(dynamodblocal.RoleSQLite) != 0.5 || p.cores(dynamodblocal.RoleJIT) != 0.1 {
		t.Errorf("SQLite %.2f cores, JIT %.2f; want 0.50, 0.10", p.cores(dynamodblocal.RoleSQLite), p.cores(dynamodblocal.RoleJIT))
	}
	if what, n := p.dominant(); what != dynamodblocal.WaitWriteLock || n != 2 {
		t.Errorf("dominant %s %.1f, want the write lock, 2.0", what, n)
	}
}

// The notes say what the figures mean; their numbers come from the levels.
func TestNotes(t *testing.T) {
	o := options{latency: 100 * time.Millisecond, window: 20 * time.Second, warmup: 20 * time.Second}
	lockBound := jvmProfile{samples: 10, activity: map[string]float64{dynamodblocal.WaitWriteLock: 300, dynamodblocal.WaitSQLite: 10, dynamodblocal.Working: 5},
		sqliteBusy: 6, cpu: map[string]time.Duration{}, span: 10 * time.Second}
	levels := []levelResult{
		{conc: 1, rate: 8.5, createMean: 6 * time.Millisecond, confirmMean: 111 * time.Millisecond, dynamoConfirm: 4 * time.Millisecond},
		{conc: 16, rate: 88, confirmMean: 150 * time.Millisecond, dynamoConfirm: 40 * time.Millisecond, jvm: jvmProfile{samples: 2,
			activity: map[string]float64{dynamodblocal.WaitWriteLock: 9}}},
		{conc: 64, rate: 110, confirmMean: 400 * time.Millisecond, dynamoConfirm: 280 * time.Millisecond, calls: "PutItem on orders 1.00", tables: 1, jvm: lockBound, dynamoLocalCores: 0.5},
	}
	ceiling := ceilingNote(o, levels)
	for _, want := range []string{"fixed at 100.0 ms", "10 × c paths/s", "at concurrency 1 that is 10.0 paths/s", "(mean 17.0 ms", "8.5, 85% of it"} {
		if !strings.Contains(ceiling, want) {
			t.Errorf("ceiling note lacks %q:\n%s", want, ceiling)
		}
	}
	bottleneck := bottleneckNote(o, levels)
	for _, want := range []string{"concurrency 64 (110.0 paths/s; DynamoDB calls a path: PutItem on orders 1.00)", "took 280.0 ms (93%; 4.0 ms at concurrency 1)",
		"30.0 waiting for a table's write lock", "0.50 cores", "write lock", "had a job in 60% of dumps", "all go to one table", "30.0 request threads waiting",
		"concurrency 16 back: 4.5 request threads waiting for the write lock on average, DynamoDB Local 40.0 ms of the confirm's 50.0 ms above the sandbox's latency, and 88.0 paths/s, 80% of the rate at concurrency 64"} {
		if !strings.Contains(bottleneck, want) {
			t.Errorf("bottleneck note lacks %q:\n%s", want, bottleneck)
		}
	}
	levels[2].dynamoConfirm = 50 * time.Millisecond
	if b := bottleneckNote(o, levels); !strings.Contains(b, "less than half") {
		t.Errorf("DynamoDB Local at 17%% of the time named as the bottleneck:\n%s", b)
	}
	levels[0].dynamoLocalCores = 0.051
	w := warmupNote(o, 64, warmup{rates: []float64{60, 110, 120, 118}, jvm: []time.Duration{40 * time.Millisecond, 9 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond}}, levels)
	for _, want := range []string{"20s at concurrency 64, uncounted, at 60, 110, 120, 118 paths/s", "using 40.0 ms, 9.0 ms, 7.0 ms, 7.0 ms of CPU per path",
		"window of 20s"} {
		if !strings.Contains(w, want) {
			t.Errorf("warm-up note lacks %q:\n%s", want, w)
		}
	}
}

func TestRates(t *testing.T) {
	var res []pathResult
	for _, ms := range []int{100, 200, 300, 1100, 1900, 2500, 4100} {
		res = append(res, pathResult{End: time.Duration(ms) * time.Millisecond})
	}
	// 4 s in quarters of 1 s; the path that ended after the span is left out.
	got := rates(res, 4*time.Second, 4)
	if len(got) != 4 || got[0] != 3 || got[1] != 2 || got[2] != 1 || got[3] != 0 {
		t.Errorf("rates = %v, want [3 2 1 0]", got)
	}
}
