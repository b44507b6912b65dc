package sim

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Summary is what a run of many schedules found.
type Summary struct {
	Schedules  int
	Steps      int64
	Violations int      // schedules that violated an invariant
	Failures   []Result // the first of them by seed (at most maxFailures)
	// Outcomes counts the engine's confirm outcomes (payments.Metrics)
	// over every schedule: which of its paths the run reached.
	Outcomes map[string]int
}

const maxFailures = 10

// RunMany plays seeds first … first+n-1 on workers goroutines (each
// schedule owns its state, so each stays deterministic), stopping early
// once stopAfter schedules failed (0: never).
func RunMany(first uint64, n, workers, stopAfter int) Summary {
	end := first + uint64(n)
	return run(first, workers, stopAfter, func(seed uint64) bool { return seed < end })
}

// RunFor plays seeds from first on for d: how many fit is the figure.
func RunFor(first uint64, d time.Duration, workers, stopAfter int) Summary {
	deadline := time.Now().Add(d)
	return run(first, workers, stopAfter, func(uint64) bool { return time.Now().Before(deadline) })
}

func run(first uint64, workers, stopAfter int, more func(seed uint64) bool) Summary {
	var (
		next   atomic.Uint64
		failed atomic.Int64
		steps  atomic.Int64
		ran    atomic.Int64
		mu     sync.Mutex
		sum    = Summary{Outcomes: map[string]int{}}
		wg     sync.WaitGroup
	)
	next.Store(first)
	for range max(workers, 1) {
		wg.Go(func() {
			for stopAfter <= 0 || failed.Load() < int64(stopAfter) {
				seed := next.Add(1) - 1
				if !more(seed) {
					return
				}
				r := Run(seed, false)
				ran.Add(1)
				steps.Add(int64(r.Steps))
				mu.Lock()
				for k, v := range r.Outcomes {
					sum.Outcomes[k] += v
				}
				if r.Violation != "" {
					failed.Add(1)
					sum.Failures = append(sum.Failures, r)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sum.Schedules, sum.Steps, sum.Violations = int(ran.Load()), steps.Load(), int(failed.Load())
	slices.SortFunc(sum.Failures, func(a, b Result) int { return cmp.Compare(a.Seed, b.Seed) })
	sum.Failures = sum.Failures[:min(len(sum.Failures), maxFailures)]
	return sum
}
