// Command simulate runs the deterministic simulation of the money
// protocol (package sim): N seeded schedules, or one seed with its trace.
//
//	go run ./tools/simulate -n 100000
//	go run ./tools/simulate -seed 1234
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tossintl/backend/sim"
)

func main() {
	var (
		n       = flag.Int("n", 100000, "schedules to run")
		first   = flag.Uint64("first", 1, "seed of the first schedule")
		seed    = flag.Int64("seed", -1, "replay this one seed and print its trace")
		workers = flag.Int("workers", runtime.GOMAXPROCS(0), "schedules run in parallel")
		stop    = flag.Int("stop-after", 0, "stop once this many schedules failed (0: run all)")
		verbose = flag.Bool("v", false, "print how often each engine confirm outcome occurred (coverage)")
		budget  = flag.Duration("for", 0, "run schedules for this long instead of -n (reports the count)")
	)
	flag.Parse()
	if *seed >= 0 {
		r := sim.Run(uint64(*seed), true)
		fmt.Print(r.Trace)
		if r.Violation != "" {
			fmt.Printf("VIOLATION (seed %d): %s\n", r.Seed, r.Violation)
			os.Exit(1)
		}
		fmt.Printf("seed %d: %d steps, no violation\n", r.Seed, r.Steps)
		return
	}
	start := time.Now()
	var sum sim.Summary
	if *budget > 0 {
		sum = sim.RunFor(*first, *budget, *workers, *stop)
	} else {
		sum = sim.RunMany(*first, *n, *workers, *stop)
	}
	el := time.Since(start)
	fmt.Printf("schedules run: %d (seeds from %d), steps: %d, violations: %d, time: %s (%.0f schedules/s, %d workers)\n",
		sum.Schedules, *first, sum.Steps, sum.Violations, el.Round(time.Millisecond), float64(sum.Schedules)/el.Seconds(), *workers)
	if *verbose {
		names := slices.Sorted(maps.Keys(sum.Outcomes))
		for _, k := range names {
			fmt.Printf("  engine outcome %-24s %d\n", k, sum.Outcomes[k])
		}
	}
	for _, f := range sum.Failures {
		fmt.Printf("\nVIOLATION (seed %d): %s\nreplay: make simulate SEED=%d\n", f.Seed, f.Violation, f.Seed)
	}
	if len(sum.Failures) > 0 {
		fmt.Printf("\ntrace of seed %d:\n%s", sum.Failures[0].Seed, tail(sum.Failures[0].Trace, 60))
		os.Exit(1)
	}
}

// tail keeps the header and the last n steps of a trace: the steps that
// led to the violation; the whole trace is a replay away.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= n+1 {
		return s
	}
	return fmt.Sprintf("%s\n     … %d steps before …\n%s\n", lines[0], len(lines)-1-n, strings.Join(lines[len(lines)-n:], "\n"))
}
