package dynamodblocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// What a thread of DynamoDB Local is for (Thread.Role).
const (
	RoleRequest = "request" // Jetty's pool: each serves one HTTP request at a time
	RoleSQLite  = "SQLite"  // sqlite4java's queue: the one thread that runs a database's SQL
	RoleJIT     = "JIT"     // the JVM's compilers
	RoleGC      = "GC"      // the VM thread (safepoints, the serial collector) and GC workers
	RoleOther   = "other"
)

// What a request thread is doing (Thread.Activity).
const (
	WaitWriteLock = "write lock" // parked on the table's write lock (LocalDBAccess$WriteLockWithTimeout)
	WaitReadLock  = "read lock"  // parked on the table's read lock
	WaitSQLite    = "SQLite"     // waiting for the SQLite thread to run a job of its request
	Working       = "working"    // parsing, validating, answering: its own CPU work
	Idle          = "idle"       // no request in hand
)

// Thread is one JVM thread in a thread dump.
type Thread struct {
	Name string
	// ID is the native thread id (the dump's nid): the same thread in two
	// dumps of one process.
	ID string
	// State is java.lang.Thread.State ("RUNNABLE", "TIMED_WAITING
	// (parking)", …); empty for the VM's own threads.
	State  string
	CPU    time.Duration // CPU used since it started
	Frames []string      // innermost first, without "at "
}

// Role says what the thread is for in DynamoDB Local.
func (t Thread) Role() string {
	switch n := t.Name; {
	case strings.HasPrefix(n, "qtp"):
		return RoleRequest
	case strings.HasPrefix(n, "SQLiteQueue"):
		return RoleSQLite
	case strings.Contains(n, "CompilerThread"):
		return RoleJIT
	case n == "VM Thread", strings.HasPrefix(n, "GC Thread"), strings.Contains(n, "GC"):
		return RoleGC
	}
	return RoleOther
}

// Activity says what a request thread is doing. DynamoDB Local applies a
// write under its table's write lock (one writer per table at a time, the
// condition and update expressions parsed inside it), and every SQL
// statement of every request runs on its database's one SQLite thread,
// the request's thread waiting for it.
func (t Thread) Activity() string {
	parked := len(t.Frames) > 0 && strings.Contains(t.Frames[0], "Unsafe.park")
	for _, f := range t.Frames {
		switch {
		case parked && strings.Contains(f, "LocalDBAccess$WriteLockWithTimeout"):
			return WaitWriteLock
		case parked && strings.Contains(f, "LocalDBAccess$ReadLockWithTimeout"):
			return WaitReadLock
		case strings.Contains(f, "sqlite4java.SQLiteJob.get"):
			return WaitSQLite
		}
	}
	if t.State != "RUNNABLE" {
		return Idle
	}
	for _, f := range t.Frames {
		// Jetty's acceptor and selectors wait for the network in RUNNABLE.
		if strings.Contains(f, "Net.accept") || strings.Contains(f, "EPoll.wait") {
			return Idle
		}
	}
	return Working
}

// Busy reports whether an SQLite thread has a job: running it, or woken
// for it and waiting for a core (BLOCKED re-entering its queue's monitor).
// Idle, it waits in its queue's Object.wait.
func (t Thread) Busy() bool {
	if len(t.Frames) < 2 {
		return false
	}
	waiting := strings.Contains(t.Frames[0], "Object.wait") && strings.Contains(t.Frames[1], "SQLiteQueue.queueFunction")
	return !waiting || strings.HasPrefix(t.State, "BLOCKED")
}

var (
	reThread = regexp.MustCompile(`^"(.*)" .*?cpu=([0-9.]+)ms .*?nid=(\S+)`)
	reState  = regexp.MustCompile(`^\s+java\.lang\.Thread\.State: (.*)$`)
	reFrame  = regexp.MustCompile(`^\s+at (.*)$`)
)

// ParseThreadDump reads a HotSpot thread dump (what SIGQUIT, jstack or
// jcmd Thread.print print).
func ParseThreadDump(dump string) ([]Thread, error) {
	var threads []Thread
	var cur *Thread
	for line := range strings.Lines(dump) {
		line = strings.TrimRight(line, "\r\n")
		if m := reThread.FindStringSubmatch(line); m != nil {
			ms, _ := strconv.ParseFloat(m[2], 64)
			threads = append(threads, Thread{Name: m[1], ID: m[3], CPU: time.Duration(ms * float64(time.Millisecond))})
			cur = &threads[len(threads)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if m := reState.FindStringSubmatch(line); m != nil {
			cur.State = m[1]
		} else if m := reFrame.FindStringSubmatch(line); m != nil {
			cur.Frames = append(cur.Frames, m[1])
		} else if line == "" {
			cur = nil
		}
	}
	if len(threads) == 0 {
		return nil, errors.New("dynamodblocal: no threads in the thread dump")
	}
	return threads, nil
}

// ThreadDump asks the JVM for a dump of its threads and returns them. It
// sends SIGQUIT, which every HotSpot JVM answers by printing the dump on
// its standard output and carries on, so it needs no JDK tool (jcmd,
// jstack) beside the runtime. The JVM stops at a safepoint for the dump:
// a few milliseconds, once per call.
func (s *Server) ThreadDump(ctx context.Context) ([]Thread, error) {
	s.dumpMu.Lock()
	defer s.dumpMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ch := s.tap.expect()
	defer s.tap.forget(ch)
	if err := syscall.Kill(s.proc.PID, syscall.SIGQUIT); err != nil {
		return nil, fmt.Errorf("DynamoDB Local: ask for a thread dump: %w", err)
	}
	select {
	case dump := <-ch:
		return ParseThreadDump(dump)
	case <-s.proc.Exited():
		return nil, errors.New("DynamoDB Local exited before its thread dump")
	case <-ctx.Done():
		return nil, fmt.Errorf("DynamoDB Local's thread dump: %w", ctx.Err())
	}
}

// dumpTap sits between the JVM's output and the logs: it hands a thread
// dump to whoever asked for one and passes every other line on. Dumps stay
// out of the logs: a dump a second would drown them.
type dumpTap struct {
	next io.Writer

	mu      sync.Mutex
	partial []byte        // the start of a line not yet ended
	dump    *bytes.Buffer // a dump being read
	want    chan string   // who waits for the next dump
}

// expect arms the tap for the next dump and returns where it will arrive.
func (d *dumpTap) expect() chan string {
	ch := make(chan string, 1)
	d.mu.Lock()
	d.want = ch
	d.mu.Unlock()
	return ch
}

// forget disarms the tap if ch still waits (its dump never came).
func (d *dumpTap) forget(ch chan string) {
	d.mu.Lock()
	if d.want == ch {
		d.want = nil
	}
	d.mu.Unlock()
}

func (d *dumpTap) Write(p []byte) (int, error) {
	d.mu.Lock()
	var out []byte
	buf := append(d.partial, p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		line := buf[:i+1]
		buf = buf[i+1:]
		switch {
		case d.dump == nil && bytes.HasPrefix(line, []byte("Full thread dump ")):
			d.dump = &bytes.Buffer{}
			d.dump.Write(line)
		case d.dump != nil:
			d.dump.Write(line)
			// HotSpot ends the threads with this line (the heap summary
			// that follows goes to the logs).
			if bytes.HasPrefix(line, []byte("JNI global refs")) {
				if d.want != nil {
					d.want <- d.dump.String()
					d.want = nil
				}
				d.dump = nil
			}
		default:
			out = append(out, line...)
		}
	}
	d.partial = append([]byte(nil), buf...)
	next := d.next
	d.mu.Unlock()
	if next != nil && len(out) > 0 {
		_, _ = next.Write(out) // a failing log never stops the server
	}
	return len(p), nil
}
