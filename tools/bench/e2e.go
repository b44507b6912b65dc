package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tossintl/backend/tools/dynamodblocal"
	"github.com/tossintl/backend/tools/internal/load"
	"github.com/tossintl/backend/tools/internal/proccpu"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// pathResult is one confirm path (create, authorize, confirm): its
// confirm's time is its Value, the whole path's its Took.
type pathResult = load.Run[time.Duration]

// confirmPath runs one confirm path as a merchant's server and a
// single-page frontend would, and times the confirm.
func confirmPath(ctx context.Context, d *load.Driver) (time.Duration, error) {
	o, err := d.CreateOrder(ctx, map[string]any{"orderName": "Bench order", "amount": 39000}, "")
	if err != nil {
		return 0, err
	}
	key := d.Sandbox.Authorize(o.ID, o.Name, o.Amount)
	start := time.Now()
	status, err := d.Confirm(ctx, o, key)
	if err == nil && status != "DONE" {
		err = fmt.Errorf("confirm: status %q", status)
	}
	return time.Since(start), err
}

// level runs paths on conc workers, each starting paths until window has
// passed, and returns them with the wall time until the last one ended.
func level(ctx context.Context, d *load.Driver, conc int, window time.Duration) ([]pathResult, time.Duration, error) {
	res, err := load.Closed(ctx, load.Plan{Workers: conc, For: window}, func(ctx context.Context, _ int) (time.Duration, error) {
		return confirmPath(ctx, d)
	})
	return res, load.Span(res), err
}

// levelResult is what one level measured, for its rows and the notes.
type levelResult struct {
	conc             int
	rate             float64       // paths per second
	confirmMean      time.Duration // mean confirm
	createMean       time.Duration // mean of the rest of the path (create, authorize)
	dynamoCreate     time.Duration // DynamoDB Local's time per path in CreateOrderFunction
	dynamoConfirm    time.Duration // the same in ConfirmPaymentFunction
	calls            string        // the path's DynamoDB calls: "PutItem on T 1.00, …" per path
	tables           int           // how many tables they went to
	jvm              jvmProfile
	jvmErr           error
	dynamoLocalCores float64 // the JVM's whole CPU over the level
}

func measureE2E(ctx context.Context, rep *report, s *stack.Stack, o options, calls *awsCounter, progress func(string, ...any)) error {
	s.Sandbox.SetLatency(o.latency)
	defer s.Sandbox.SetLatency(0)
	maxConc := 1
	for _, c := range o.levels {
		maxConc = max(maxConc, c)
	}
	client := load.NewDriver(s.URL, s.Keys.MerchantAPIKey, s.Sandbox, 2*maxConc)
	calls.reset()
	const confirmFn, createFn = "ConfirmPaymentFunction", "CreateOrderFunction"
	paths := 0 // every path run, warm-up included, for the round trips
	var warm warmup
	if o.warmup > 0 {
		// DynamoDB Local runs on a JVM: under load it first interprets
		// its code, then compiles what is hot, and a level timed then
		// measures that as much as the stack. The warm-up runs the path
		// at the highest level's concurrency (which also starts every
		// environment) and is not counted.
		progress("end to end: warm-up at concurrency %d for %s", maxConc, o.warmup)
		var err error
		if warm, err = runWarmup(ctx, client, s, maxConc, o.warmup); err != nil {
			return err
		}
		paths += warm.paths
	}
	stopProfile := func() {}
	if o.cpuprofile != "" {
		stop, err := startCPUProfile(o.cpuprofile)
		if err != nil {
			return err
		}
		stopProfile = stop
		defer stop()
	}
	var levels []levelResult
	for _, conc := range o.levels {
		// One path per worker first: the level's execution environments up.
		if _, err := load.Closed(ctx, load.Plan{Workers: conc, Runs: conc}, func(ctx context.Context, _ int) (time.Duration, error) {
			return confirmPath(ctx, client)
		}); err != nil {
			return fmt.Errorf("warm-up at concurrency %d: %w", conc, err)
		}
		paths += conc
		progress("end to end: concurrency %d for %s", conc, o.window)
		dynConfirm0, dynCreate0 := calls.time(confirmFn, "dynamodb"), calls.time(createFn, "dynamodb")
		ops0 := calls.ops(confirmFn, createFn)
		procsBefore := proccpu.Take()
		j := sampleJVM(ctx, s.DynamoDBLocal(), time.Second)
		res, wall, err := level(ctx, client, conc, o.window)
		prof, jerr := j.finish()
		cpu := proccpu.Take().Since(procsBefore)
		if err != nil {
			return fmt.Errorf("concurrency %d: %w", conc, err)
		}
		if len(res) == 0 {
			return fmt.Errorf("concurrency %d: no path finished", conc)
		}
		paths += len(res)
		n := time.Duration(len(res))
		lr := levelResult{conc: conc, rate: float64(len(res)) / wall.Seconds(), jvm: prof, jvmErr: jerr,
			dynamoConfirm: (calls.time(confirmFn, "dynamodb") - dynConfirm0) / n,
			dynamoCreate:  (calls.time(createFn, "dynamodb") - dynCreate0) / n,
		}
		lr.calls, lr.tables = perPath(calls.ops(confirmFn, createFn), ops0, len(res))
		for _, sh := range cpu {
			if sh.Group == proccpu.Group("java") {
				lr.dynamoLocalCores = sh.Cores
			}
		}
		var conf, total []time.Duration
		var sumConf, sumTotal time.Duration
		for _, r := range res {
			conf, total = append(conf, r.Value), append(total, r.Took())
			sumConf, sumTotal = sumConf+r.Value, sumTotal+r.Took()
		}
		lr.confirmMean, lr.createMean = sumConf/n, (sumTotal-sumConf)/n
		p50 := load.Percentile(conf, 50)
		over := p50 - o.latency
		// DynamoDB's share is known only as a mean, so the figure net of it is too.
		rest := lr.confirmMean - o.latency - lr.dynamoConfirm
		target, v := "—", "—"
		if conc == 16 {
			target = "overhead ≤ 15 ms p50"
			switch limit := 15 * time.Millisecond; {
			case over <= limit:
				v = "ok"
			case rest <= limit:
				v = "ok net of DynamoDB Local"
			default:
				v = "OVER"
			}
		}
		ceiling := float64(conc) / o.latency.Seconds()
		rep.add("end to end", fmt.Sprintf("POST /payments/confirm, concurrency %d", conc),
			fmt.Sprintf("p50 %s, p99 %s; overhead %s above the sandbox's %s; mean net of DynamoDB Local's time (%s) %s",
				ms(p50), ms(load.Percentile(conf, 99)), ms(over), ms(o.latency), ms(lr.dynamoConfirm), ms(rest)), target, v)
		rep.add("end to end", fmt.Sprintf("confirm path (create + authorize + confirm), concurrency %d", conc),
			fmt.Sprintf("p50 %s, p99 %s, %.1f paths/s (%d paths in %s) = %.0f%% of the ceiling %.0f paths/s; mean path %s: create %s (DynamoDB Local %s), confirm %s (sandbox %s, DynamoDB Local %s); CPU by process (cores): %s",
				ms(load.Percentile(total, 50)), ms(load.Percentile(total, 99)), lr.rate, len(res), wall.Round(time.Millisecond), 100*lr.rate/ceiling, ceiling,
				ms(lr.createMean+lr.confirmMean), ms(lr.createMean), ms(lr.dynamoCreate), ms(lr.confirmMean), ms(o.latency), ms(lr.dynamoConfirm),
				proccpu.Format(cpu, "bench")), "—", "—")
		if jerr == nil && prof.samples > 0 {
			rep.add("end to end", fmt.Sprintf("DynamoDB Local's threads, concurrency %d", conc),
				fmt.Sprintf("%s of CPU a path; %s", ms(lr.jvmPerPath()), prof), "—", "—")
		}
		levels = append(levels, lr)
	}
	stopProfile() // the levels only: PIDs below reads a file per process on the machine
	for _, fn := range []string{confirmFn, createFn} {
		envs := len(s.Function(fn).PIDs())
		rep.add("round trips (real bootstraps)", fn,
			fmt.Sprintf("DynamoDB %.2f per request; Secrets Manager %d for %d environments", float64(calls.get(fn, "dynamodb"))/float64(paths),
				calls.get(fn, "secretsmanager"), envs), "SM ≤ 1 per environment", verdict(calls.get(fn, "secretsmanager") <= envs))
	}
	rep.note("End to end: HTTP to the local stack's API (in-process router, aws-lambda-rie, real bootstraps, AWS's DynamoDB Local " +
		"behind the stack's AWS proxy with a counting and timing hook, the sandbox with its latency fixed and its webhooks off), all on 127.0.0.1. The confirm's overhead is its " +
		"p50 minus the sandbox's latency: our code, the emulator, the loopback hops and DynamoDB Local's time; \"net of DynamoDB Local\" is the mean confirm minus the sandbox's " +
		"latency and DynamoDB Local's mean time per confirm. " +
		"CPU by process is each level's whole-stack CPU profile: the cores each kind of process used over the level (bench: this tool, i.e. the API router, " +
		"the AWS proxy, the sandbox and the load generator), on a machine shared with other work.")
	rep.note("%s", warmupNote(o, maxConc, warm, levels))
	rep.note("%s", ceilingNote(o, levels))
	rep.note("%s", bottleneckNote(o, levels))
	return nil
}

// rates is the paths per second that ended in each of parts equal slices
// of span.
func rates(res []pathResult, span time.Duration, parts int) []float64 {
	out := make([]float64, parts)
	slice := span / time.Duration(parts)
	for _, r := range res {
		if i := int(r.End / slice); i < parts {
			out[i]++
		}
	}
	for i := range out {
		out[i] /= slice.Seconds()
	}
	return out
}

// warmup is what the warm-up saw in each quarter of its span.
type warmup struct {
	paths int
	rates []float64       // paths per second
	jvm   []time.Duration // DynamoDB Local's CPU per path (0 where none ended)
}

const warmupParts = 4

// runWarmup runs the path on conc workers for span, reading DynamoDB
// Local's CPU at each quarter.
func runWarmup(ctx context.Context, client *load.Driver, s *stack.Stack, conc int, span time.Duration) (warmup, error) {
	cpuAt := make([]float64, 0, warmupParts+1)
	read := func() {
		v, _ := s.DynamoDBCPU()
		cpuAt = append(cpuAt, v)
	}
	read()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(span / warmupParts)
		defer tick.Stop()
		for len(cpuAt) < warmupParts+1 {
			select {
			case <-tick.C:
				read()
			case <-done:
				return
			}
		}
	}()
	res, _, err := level(ctx, client, conc, span)
	close(done)
	<-stopped
	if err != nil {
		return warmup{}, fmt.Errorf("warm-up: %w", err)
	}
	w := warmup{paths: len(res), rates: rates(res, span, warmupParts), jvm: make([]time.Duration, warmupParts)}
	slice := (span / warmupParts).Seconds()
	for i := 0; i < warmupParts && i+1 < len(cpuAt); i++ {
		if n := w.rates[i] * slice; n > 0 {
			w.jvm[i] = time.Duration((cpuAt[i+1] - cpuAt[i]) / n * float64(time.Second))
		}
	}
	return w, nil
}

// jvmPerPath is DynamoDB Local's CPU per path over a level.
func (l levelResult) jvmPerPath() time.Duration {
	if l.rate <= 0 {
		return 0
	}
	return time.Duration(l.dynamoLocalCores / l.rate * float64(time.Second))
}

// warmupNote says how the levels were timed, and why after a warm-up.
func warmupNote(o options, maxConc int, w warmup, levels []levelResult) string {
	var b strings.Builder
	b.WriteString("Warm-up and windows: ")
	if o.warmup > 0 {
		r := make([]string, len(w.rates))
		for i, v := range w.rates {
			r[i] = fmt.Sprintf("%.0f", v)
		}
		c := make([]string, len(w.jvm))
		for i, v := range w.jvm {
			c[i] = ms(v)
		}
		fmt.Fprintf(&b, "before the first level the path ran for %s at concurrency %d, uncounted, at %s paths/s in its successive quarters, "+
			"DynamoDB Local using %s of CPU per path: the first seconds start the functions' environments and run DynamoDB Local's code "+
			"before its JVM has compiled it, and a level timed in those seconds measures that warm-up as much as the stack. ",
			o.warmup, maxConc, strings.Join(r, ", "), strings.Join(c, ", "))
	} else {
		b.WriteString("no warm-up (-warmup 0): the first level's figures include DynamoDB Local's JVM warming up. ")
	}
	fmt.Fprintf(&b, "Each level then runs one path per worker (its execution environments up), and is timed over a window of %s: its workers start paths until the window ends, "+
		"and the rate is the paths over the time until the last one finished. DynamoDB Local's threads are sampled by a thread dump a second (SIGQUIT; the JVM pauses a few "+
		"milliseconds for each).", o.window)
	return b.String()
}

// ceilingNote explains the ceiling column: the sandbox's fixed latency
// bounds each worker.
func ceilingNote(o options, levels []levelResult) string {
	perWorker := 1 / o.latency.Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "Ceiling: every path waits once for the Toss sandbox, whose latency is fixed at %s (-latency) for these rows, and a worker runs one path at a time, "+
		"so concurrency c cannot pass c / %s = %.0f × c paths/s whatever the stack does", ms(o.latency), ms(o.latency), perWorker)
	for _, l := range levels {
		if l.conc == 1 {
			fmt.Fprintf(&b, "; at concurrency 1 that is %.1f paths/s, and the rest of the path (mean %s: creating the order, %s; the confirm's own work and DynamoDB writes, %s) "+
				"brings the measured rate to %.1f, %.0f%% of it", perWorker, ms(l.createMean+l.confirmMean-o.latency), ms(l.createMean), ms(l.confirmMean-o.latency),
				l.rate, 100*l.rate/perWorker)
		}
	}
	b.WriteString(". A higher rate at concurrency 1 needs a lower sandbox latency, which would no longer be the latency these rows promise.")
	return b.String()
}

// bottleneckNote names what holds the highest level back, from its
// profiles: DynamoDB Local's share of the confirm's time above the
// sandbox, its threads' samples, and each process's CPU.
func bottleneckNote(o options, levels []levelResult) string {
	if len(levels) == 0 {
		return "Bottleneck: no level ran."
	}
	top := levels[len(levels)-1]
	first := levels[0]
	above := top.confirmMean - o.latency
	share := 0.0
	if above > 0 {
		share = float64(top.dynamoConfirm) / float64(above)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Bottleneck at concurrency %d (%.1f paths/s; DynamoDB calls a path: %s): ", top.conc, top.rate, top.calls)
	fmt.Fprintf(&b, "of the confirm's mean %s above the sandbox's latency, DynamoDB Local took %s (%.0f%%; %s at concurrency %d), by the AWS proxy's timing hook",
		ms(above), ms(top.dynamoConfirm), 100*share, ms(first.dynamoConfirm), first.conc)
	p := top.jvm
	if top.jvmErr != nil || p.samples == 0 {
		fmt.Fprintf(&b, "; DynamoDB Local's threads could not be sampled (%v).", top.jvmErr)
		return b.String()
	}
	what, n := p.dominant()
	fmt.Fprintf(&b, "; its request threads, in %d thread dumps, were on average %.1f waiting for a table's write lock, %.1f waiting on the SQLite thread and %.1f working, "+
		"while the whole JVM used %.2f cores. ", p.samples, p.perSample(dynamodblocal.WaitWriteLock), p.perSample(dynamodblocal.WaitSQLite), p.perSample(dynamodblocal.Working),
		top.dynamoLocalCores)
	switch {
	case share < 0.5:
		b.WriteString("DynamoDB Local is less than half of the time above the sandbox: the rest is the stack's own processes (CPU by process above).")
	case what == dynamodblocal.WaitWriteLock || what == dynamodblocal.WaitSQLite:
		fmt.Fprintf(&b, "So the bottleneck is DynamoDB Local's write path, which is serial whatever the cores: DynamoDB Local applies the writes of a table one at a time "+
			"under the table's write lock (LocalDBAccess$WriteLockWithTimeout; the condition and update expressions are parsed inside it), and the lock's holder "+
			"hands each SQL statement to the database's one SQLite thread (sqlite4java's queue, which had a job in %.0f%% of dumps) and waits for it: "+
			"a thread wake-up each way, slower on a machine shared with other work. ", 100*float64(p.sqliteBusy)/float64(p.samples))
		if top.tables == 1 {
			b.WriteString("The path's writes all go to one table (its calls above), so they queue behind each other")
		} else {
			b.WriteString("The path's writes queue behind those of the same table")
		}
		fmt.Fprintf(&b, ": %.1f request threads waiting on average at concurrency %d.", n, top.conc)
		for _, l := range levels[:len(levels)-1] {
			if l.conc == 1 || l.jvm.samples == 0 {
				continue // one worker queues behind nobody
			}
			fmt.Fprintf(&b, " The same queue holds concurrency %d back: %.1f request threads waiting for the write lock on average, DynamoDB Local %s of the confirm's %s above "+
				"the sandbox's latency, and %.1f paths/s, %.0f%% of the rate at concurrency %d.", l.conc, l.jvm.perSample(dynamodblocal.WaitWriteLock),
				ms(l.dynamoConfirm), ms(l.confirmMean-o.latency), l.rate, 100*l.rate/top.rate, top.conc)
		}
	default:
		fmt.Fprintf(&b, "DynamoDB Local's own work dominates (%s: %.1f threads on average): its CPU is the bottleneck.", what, n)
	}
	return b.String()
}

// startCPUProfile profiles this process (the API router, the AWS proxy,
// the sandbox, the load generator) until stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return sync.OnceFunc(func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}), nil
}

// perPath formats the DynamoDB calls made between two counts (keyed
// "<operation> on <table>"), per path, and counts the tables they went to.
func perPath(now, before map[string]int, paths int) (calls string, tables int) {
	var keys []string
	seen := map[string]bool{}
	for k := range now {
		if now[k] > before[k] {
			keys = append(keys, k)
			_, table, _ := strings.Cut(k, " on ")
			seen[table] = true
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(now[k]-before[k])/float64(max(paths, 1))))
	}
	return strings.Join(parts, ", "), len(seen)
}
