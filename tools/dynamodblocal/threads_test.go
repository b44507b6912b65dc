package dynamodblocal

import (
	"bytes"
	"github.com/tossintl/backend/internal/testenv"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testdata/threaddump.txt is a dump of DynamoDB Local taken under the
// benchmark's load (one thread of each kind, long stacks cut short).
func TestParseThreadDump(t *testing.T) {
	raw, err := os.ReadFile("testdata/threaddump.txt")
	if err != nil {
		t.Fatal(err)
	}
	threads, err := ParseThreadDump(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		role, activity string
		cpu            time.Duration
	}
	wants := map[string]want{
		"qtp2092885124-20": {RoleRequest, Idle, 74080 * time.Microsecond},           // waits for a request in Jetty's pool
		"qtp2092885124-14": {RoleRequest, WaitWriteLock, 103780 * time.Microsecond}, // parked on the table's write lock
		"qtp2092885124-35": {RoleRequest, WaitSQLite, 26240 * time.Microsecond},     // holds it, its getRecord on the SQLite thread
		"qtp2092885124-71": {RoleRequest, Working, 42720 * time.Microsecond},        // parses a condition expression
		// Activity is a request thread's: not checked for the others.
		"C1 CompilerThread0": {RoleJIT, "", 540490 * time.Microsecond},
		"VM Thread":          {RoleGC, "", 108320 * time.Microsecond},
	}
	seen := map[string]bool{}
	var sqlite []Thread
	for _, th := range threads {
		if strings.Contains(th.Name, "acceptor") {
			if th.Role() != RoleRequest || th.Activity() != Idle {
				t.Errorf("acceptor: role %s, activity %s; want request, idle", th.Role(), th.Activity())
			}
			continue
		}
		if th.Role() == RoleSQLite {
			sqlite = append(sqlite, th)
			continue
		}
		w, ok := wants[th.Name]
		if !ok {
			t.Errorf("unexpected thread %q", th.Name)
			continue
		}
		seen[th.Name] = true
		activity := th.Activity()
		if w.activity == "" {
			activity = ""
		}
		if th.Role() != w.role || activity != w.activity || th.CPU != w.cpu {
			t.Errorf("%s: role %s, activity %s, CPU %s; want %s, %q, %s", th.Name, th.Role(), activity, th.CPU, w.role, w.activity, w.cpu)
		}
	}
	for name := range wants {
		if !seen[name] {
			t.Errorf("thread %q not parsed", name)
		}
	}
	if len(sqlite) != 2 {
		t.Fatalf("%d SQLite threads, want 2", len(sqlite))
	}
	// One per database: the idle one served only the readiness ping.
	if sqlite[0].ID != "0x206" || sqlite[0].Busy() || sqlite[1].ID != "0x578" || !sqlite[1].Busy() {
		t.Errorf("SQLite threads %s busy %v, %s busy %v; want 0x206 idle, 0x578 busy", sqlite[0].ID, sqlite[0].Busy(), sqlite[1].ID, sqlite[1].Busy())
	}
	if _, err := ParseThreadDump("no threads here\n"); err == nil {
		t.Error("a text with no threads parsed")
	}
}

// syncBuffer is a bytes.Buffer safe for the tap's writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDumpTapSplitsTheDumpFromTheLogs feeds the tap a dump between log
// lines in chunks that cut lines anywhere, as a pipe delivers them.
func TestDumpTapSplitsTheDumpFromTheLogs(t *testing.T) {
	raw, err := os.ReadFile("testdata/threaddump.txt")
	if err != nil {
		t.Fatal(err)
	}
	dump := string(raw[bytes.Index(raw, []byte("Full thread dump")):])
	out := "Initializing DynamoDB Local with the following configuration:\n" +
		dump +
		"\nHeap\n def new generation   total 116160K, used 103296K\n" +
		"a line after the dump\n"
	var logs syncBuffer
	tap := &dumpTap{next: &logs}
	ch := tap.expect()
	for rest := []byte(out); len(rest) > 0; {
		n := min(len(rest), 37)
		if _, err := tap.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	select {
	case got := <-ch:
		if !strings.HasPrefix(got, "Full thread dump") || !strings.HasSuffix(got, "JNI global refs: 22, weak refs: 0\n") {
			t.Errorf("dump delivered from %.40q to %.40q", got, got[max(0, len(got)-40):])
		}
	default:
		t.Fatal("no dump delivered")
	}
	l := logs.String()
	if strings.Contains(l, "Thread.State") || strings.Contains(l, "Full thread dump") {
		t.Errorf("the dump reached the logs:\n%s", l)
	}
	for _, line := range []string{"Initializing DynamoDB Local", "def new generation", "a line after the dump"} {
		if !strings.Contains(l, line) {
			t.Errorf("the logs lost %q:\n%s", line, l)
		}
	}
}

// TestThreadDump asks the package's server for its threads, twice.
func TestThreadDump(t *testing.T) {
	testenv.Skip(t, "DynamoDB Local")
	for range 2 {
		threads, err := server.ThreadDump(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		roles := map[string]int{}
		for _, th := range threads {
			roles[th.Role()]++
		}
		// TestMain's readiness ping opened a database: its SQLite thread.
		if roles[RoleRequest] == 0 || roles[RoleSQLite] == 0 || roles[RoleJIT] == 0 {
			t.Fatalf("threads by role %v: want request, SQLite and JIT threads", roles)
		}
	}
}
