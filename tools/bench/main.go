// Command bench measures every function against its physical floor and
// writes one table (docs/benchmarks.md with `make bench`):
//
//  1. size: each bootstrap as `sam build` makes it (make build-<LogicalId>,
//     linux/arm64, the Lambda flags), against 12 MiB;
//  2. cold start: each bootstrap's init (RIE's INIT REPORT: exec to its
//     first request for an event) and first response under AWS's Runtime
//     Interface Emulator (aws-lambda-rie, pooled by tools/samlocal/lambdarun),
//     median of -runs, each function's first event from events/ with the
//     local stack up (DynamoDB Local seeded, sandbox), beside a bare aws-lambda-go
//     function built and run the same way, under the same RIE;
//  3. warm CPU per request over in-memory fakes (go test -bench in
//     shared/api), against 100 µs per confirm and 300 µs per page;
//  4. DynamoDB and Secrets Manager round trips per request type
//     (TestRoundTrips in shared/api, which asserts them in make test), and
//     the same counted through the real bootstraps during step 5;
//  5. end to end through the local stack's API with the sandbox's latency
//     fixed (-latency): create an order, authorize it in the sandbox, POST
//     /payments/confirm; after a warm-up (-warmup), each level timed over
//     a window (-window): p50, p99 and throughput at concurrency 1, 16 and
//     64 against the ceiling the sandbox's latency sets, the confirm's
//     overhead above that latency, each process's CPU and DynamoDB Local's
//     threads sampled by thread dumps; the notes name the bottleneck.
//
// Everything runs on this machine against 127.0.0.1, bounded in count and
// time. Figures from a shared or busy machine are noisy; the report says
// where it ran.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	out        string
	runs       int
	benchtime  string
	latency    time.Duration
	levels     []int
	warmup     time.Duration
	window     time.Duration
	cpuprofile string
	skip       map[string]bool
	keep       bool
}

func main() {
	var o options
	var levels, skip string
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "write the report here too (empty: stdout only)")
	flag.IntVar(&o.runs, "runs", 9, "cold starts per function")
	flag.StringVar(&o.benchtime, "benchtime", "1s", "go test -benchtime for the warm CPU benchmarks")
	flag.DurationVar(&o.latency, "latency", 100*time.Millisecond, "the sandbox's latency for the end-to-end runs")
	flag.StringVar(&levels, "concurrency", "1,16,64", "end-to-end concurrency levels")
	flag.DurationVar(&o.warmup, "warmup", 30*time.Second, "end-to-end load before the first level, not counted (DynamoDB Local's JVM warms up meanwhile)")
	flag.DurationVar(&o.window, "window", 20*time.Second, "timed window of each end-to-end level")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write this process's CPU profile over the end-to-end levels here (go tool pprof)")
	flag.StringVar(&skip, "skip", "", "comma-separated sections to leave out: size,cold,cpu,roundtrips,e2e")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch directory (builds, logs)")
	flag.Parse()
	var err error
	if o.levels, err = parseInts(levels); err != nil {
		fmt.Fprintln(os.Stderr, "bench: -concurrency:", err)
		os.Exit(2)
	}
	o.skip = map[string]bool{}
	for _, s := range strings.Split(skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.skip[s] = true
		}
	}
	if o.runs < 1 {
		o.runs = 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, o options) (err error) {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run from the module root (where go.mod is): %w", err)
	}
	scratch, err := os.MkdirTemp("", "tossintl-bench-")
	if err != nil {
		return err
	}
	// Kept when asked, and on failure: its bench.log says what went wrong.
	defer func() {
		if o.keep || err != nil {
			fmt.Fprintln(os.Stderr, "bench: scratch directory kept:", scratch)
			return
		}
		_ = os.RemoveAll(scratch)
	}()
	logPath := filepath.Join(scratch, "bench.log")
	logs, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logs.Close()
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
		fmt.Fprintf(logs, "bench: "+format+"\n", args...)
	}
	fns, err := functionIDs()
	if err != nil {
		return err
	}

	rep := &report{machine: describeMachine(ctx), options: o}
	if !o.skip["size"] {
		progress("size: make build-<LogicalId> for linux/arm64")
		if err := measureSizes(ctx, rep, fns, filepath.Join(scratch, "arm64"), logs); err != nil {
			return err
		}
	}
	if !o.skip["cpu"] {
		progress("warm CPU: go test -bench (benchtime %s)", o.benchtime)
		if err := measureCPU(ctx, rep, o.benchtime, logs); err != nil {
			return err
		}
	}
	if !o.skip["roundtrips"] {
		progress("round trips: go test -run TestRoundTrips")
		if err := measureRoundTrips(ctx, rep, logs); err != nil {
			return err
		}
	}
	if !o.skip["cold"] || !o.skip["e2e"] {
		progress("local stack: building for this machine and starting (logs: %s)", logPath)
		if err := measureStack(ctx, rep, o, fns, scratch, logs, progress); err != nil {
			return fmt.Errorf("%w (logs: %s)", err, logPath)
		}
	}

	var w io.Writer = os.Stdout
	text := rep.markdown()
	if _, err := io.WriteString(w, text); err != nil {
		return err
	}
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			return err
		}
		progress("wrote %s", o.out)
	}
	return nil
}

// functionIDs lists functions/, as the Makefile does.
func functionIDs() ([]string, error) {
	entries, err := os.ReadDir("functions")
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
