// Command simulate runs the deterministic simulation of the money
// protocol (package sim): N seeded schedules, or one seed with its trace,
// over the in-memory stores or, with -dynamo, over the DynamoDB stores on
// DynamoDB Local.
//
//	go run ./tools/simulate -n 100000
//	go run ./tools/simulate -seed 1234
//	go run ./tools/simulate -dynamo -n 2000
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/tossintl/backend/sim"
)

func main() { os.Exit(run()) }

func run() int {
	var (
		n       = flag.Int("n", 100000, "schedules to run")
		first   = flag.Uint64("first", 1, "seed of the first schedule")
		seed    = flag.Int64("seed", -1, "replay this one seed and print its trace")
		workers = flag.Int("workers", runtime.GOMAXPROCS(0), "schedules run in parallel")
		stop    = flag.Int("stop-after", 0, "stop once this many schedules failed (0: run all)")
		verbose = flag.Bool("v", false, "print how often each engine confirm outcome occurred (coverage)")
		budget  = flag.Duration("for", 0, "run schedules for this long instead of -n (reports the count)")
		list    = flag.Bool("list", false, "print every failing seed with its violation")
		dynamo  = flag.Bool("dynamo", false, "run over the DynamoDB stores on DynamoDB Local (DYNAMODB_ENDPOINT's, or one started here); pass a smaller -n")
	)
	flag.Parse()
	// A schedule's garbage is short-lived and small: collecting less often
	// buys about a fifth of the run time for a few tens of MiB.
	debug.SetGCPercent(400)

	play, many := sim.Run, sim.RunMany
	if *dynamo {
		d, err := sim.StartDynamo(context.Background(), *workers)
		if err != nil {
			fmt.Fprintln(os.Stderr, "simulate:", err)
			return 2
		}
		defer d.Close()
		play, many = d.Run, d.RunMany
	}
	if *seed >= 0 {
		r := play(uint64(*seed), true)
		fmt.Print(r.Trace)
		if r.Violation != "" {
			fmt.Printf("VIOLATION (seed %d): %s\n", r.Seed, r.Violation)
			return 1
		}
		fmt.Printf("seed %d: %d steps, no violation\n", r.Seed, r.Steps)
		return 0
	}
	start := time.Now()
	var sum sim.Summary
	if *budget > 0 && !*dynamo {
		sum = sim.RunFor(*first, *budget, *workers, *stop)
	} else {
		sum = many(*first, *n, *workers, *stop)
	}
	el := time.Since(start)
	store := "in-memory stores"
	if *dynamo {
		store = "DynamoDB Local"
	}
	fmt.Printf("schedules run: %d (seeds from %d, %s), steps: %d, violations: %d, time: %s (%.0f schedules/s, %d workers)\n",
		sum.Schedules, *first, store, sum.Steps, sum.Violations, el.Round(time.Millisecond), float64(sum.Schedules)/el.Seconds(), *workers)
	if *verbose {
		for _, k := range slices.Sorted(maps.Keys(sum.Outcomes)) {
			fmt.Printf("  engine outcome %-24s %d\n", k, sum.Outcomes[k])
		}
	}
	if *list {
		for _, f := range sum.Failed {
			line, _, _ := strings.Cut(f.Violation, "\n")
			fmt.Printf("seed %d: %s\n", f.Seed, line)
		}
	}
	if len(sum.Kinds) > 0 {
		fmt.Println("\nviolations by kind (schedules, first seed):")
		kinds := slices.SortedFunc(maps.Keys(sum.Kinds), func(a, b string) int { return sum.Kinds[b].Count - sum.Kinds[a].Count })
		for _, k := range kinds {
			fmt.Printf("  %6d  seed %-8d %s\n", sum.Kinds[k].Count, sum.Kinds[k].FirstSeed, k)
		}
	}
	for _, f := range sum.Failures {
		fmt.Printf("\nVIOLATION (seed %d): %s\nreplay: make simulate SEED=%d\n", f.Seed, f.Violation, f.Seed)
	}
	if len(sum.Failures) > 0 {
		fmt.Printf("\ntrace of seed %d:\n%s", sum.Failures[0].Seed, tail(sum.Failures[0].Trace, 60))
		return 1
	}
	return 0
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
