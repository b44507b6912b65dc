package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tossintl/backend/tools/dynamodblocal"
)

// jvmProfile is where DynamoDB Local's threads spent a span: what its
// request threads were doing in thread dumps taken through it, and the CPU
// each kind of thread used between the first dump and the last. The
// per-process CPU profile shows how much of the machine the JVM holds; this
// shows whether its requests wait for that CPU or for each other.
type jvmProfile struct {
	samples    int
	activity   map[string]float64       // request threads in each activity, summed over samples
	sqliteBusy int                      // samples in which the stack's SQLite thread had a job
	cpu        map[string]time.Duration // CPU by thread role over the span
	span       time.Duration
}

// perSample is the mean number of request threads in activity a.
func (p jvmProfile) perSample(a string) float64 {
	if p.samples == 0 {
		return 0
	}
	return p.activity[a] / float64(p.samples)
}

// cores is the CPU role used over the span, in cores.
func (p jvmProfile) cores(role string) float64 {
	if p.span <= 0 {
		return 0
	}
	return p.cpu[role].Seconds() / p.span.Seconds()
}

// waiting is the activity most request threads were in, of those that are
// not idle, and its mean count.
func (p jvmProfile) dominant() (string, float64) {
	best, n := "", 0.0
	for _, a := range []string{dynamodblocal.WaitWriteLock, dynamodblocal.WaitSQLite, dynamodblocal.Working, dynamodblocal.WaitReadLock} {
		if v := p.perSample(a); v > n {
			best, n = a, v
		}
	}
	return best, n
}

func (p jvmProfile) String() string {
	if p.samples == 0 {
		return "no thread dump"
	}
	var cpu []string
	roles := []string{dynamodblocal.RoleRequest, dynamodblocal.RoleSQLite, dynamodblocal.RoleJIT, dynamodblocal.RoleGC, dynamodblocal.RoleOther}
	sort.SliceStable(roles, func(i, j int) bool { return p.cpu[roles[i]] > p.cpu[roles[j]] })
	for _, r := range roles {
		if c := p.cores(r); c >= 0.005 {
			cpu = append(cpu, fmt.Sprintf("%s %.2f", roleName(r), c))
		}
	}
	return fmt.Sprintf("request threads (mean of %d thread dumps): %.1f waiting for a table's write lock, %.1f waiting on the SQLite thread, %.1f working, %.1f on a read lock; "+
		"SQLite thread has a job in %.0f%% of dumps; CPU by thread (cores): %s",
		p.samples, p.perSample(dynamodblocal.WaitWriteLock), p.perSample(dynamodblocal.WaitSQLite), p.perSample(dynamodblocal.Working),
		p.perSample(dynamodblocal.WaitReadLock), 100*float64(p.sqliteBusy)/float64(p.samples), strings.Join(cpu, ", "))
}

func roleName(role string) string {
	switch role {
	case dynamodblocal.RoleRequest:
		return "request threads"
	case dynamodblocal.RoleSQLite:
		return "SQLite thread"
	case dynamodblocal.RoleJIT:
		return "JIT compilers"
	case dynamodblocal.RoleGC:
		return "GC and safepoints"
	}
	return "other"
}

// jvmSampler takes thread dumps of DynamoDB Local every interval until
// stopped. A dump stops the JVM for a few milliseconds: one a second costs
// well under 1% of its time.
type jvmSampler struct {
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	first   map[string]dynamodblocal.Thread // by thread id
	last    []dynamodblocal.Thread
	dumps   [][]dynamodblocal.Thread
	start   time.Time
	end     time.Time
	lastErr error
}

// sampleJVM starts sampling srv (nil: a sampler that records nothing, for
// a stack on a DynamoDB Local it did not start).
func sampleJVM(ctx context.Context, srv *dynamodblocal.Server, every time.Duration) *jvmSampler {
	j := &jvmSampler{stop: make(chan struct{}), done: make(chan struct{})}
	if srv == nil {
		close(j.done)
		return j
	}
	take := func() {
		threads, err := srv.ThreadDump(ctx)
		now := time.Now()
		j.mu.Lock()
		defer j.mu.Unlock()
		if err != nil {
			j.lastErr = err
			return
		}
		if j.first == nil {
			j.first, j.start = map[string]dynamodblocal.Thread{}, now
			for _, t := range threads {
				j.first[t.ID] = t
			}
		}
		j.last, j.end = threads, now
		j.dumps = append(j.dumps, threads)
	}
	take()
	go func() {
		defer close(j.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-j.stop:
				take()
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				take()
			}
		}
	}()
	return j
}

// finish stops sampling and sums up; the first dump is the CPU baseline,
// every dump a sample.
func (j *jvmSampler) finish() (jvmProfile, error) {
	select {
	case <-j.done:
	default:
		close(j.stop)
		<-j.done
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	p := jvmProfile{activity: map[string]float64{}, cpu: map[string]time.Duration{}, span: j.end.Sub(j.start)}
	if len(j.dumps) == 0 {
		return p, j.lastErr
	}
	// The stack's SQLite thread is the one that worked: DynamoDB Local
	// keeps a database, with its own thread, per access key and region,
	// and only the readiness check used another.
	sqlite, most := "", time.Duration(-1)
	for _, t := range j.last {
		used := t.CPU - j.first[t.ID].CPU
		p.cpu[t.Role()] += used
		if t.Role() == dynamodblocal.RoleSQLite && used > most {
			sqlite, most = t.ID, used
		}
	}
	for _, threads := range j.dumps {
		p.samples++
		for _, t := range threads {
			switch t.Role() {
			case dynamodblocal.RoleRequest:
				p.activity[t.Activity()]++
			case dynamodblocal.RoleSQLite:
				if t.ID == sqlite && t.Busy() {
					p.sqliteBusy++
				}
			}
		}
	}
	return p, nil
}
