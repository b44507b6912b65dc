package sim

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
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
	Failed     []Failed // every schedule that violated an invariant, by seed
	// Outcomes counts the engine's confirm outcomes (payments.Metrics)
	// over every schedule: which of its paths the run reached.
	Outcomes map[string]int
	// Kinds groups the violations by their message with its numbers,
	// keys and order IDs left out: how many schedules broke each, and the
	// first seed (the smallest found) that did.
	Kinds map[string]Kind
}

// Failed names one schedule that violated an invariant.
type Failed struct {
	Seed      uint64
	Violation string
}

// Kind is one kind of violation in a run.
type Kind struct {
	Count     int
	FirstSeed uint64
}

// kindPattern is what varies between two violations of one kind.
var kindPattern = regexp.MustCompile(`tpk_[A-Za-z0-9_-]+|(s[0-9]+-)?order-[0-9a-z]+|[0-9]+`)

func kindOf(violation string) string {
	first, _, _ := strings.Cut(violation, "\n")
	return kindPattern.ReplaceAllString(first, "…")
}

const maxFailures = 10

// RunMany plays seeds first … first+n-1 on workers goroutines (each
// schedule owns its state, so each stays deterministic), stopping early
// once stopAfter schedules failed (0: never).
func RunMany(first uint64, n, workers, stopAfter int) Summary {
	end := first + uint64(n)
	return run(first, workers, stopAfter, func(seed uint64) bool { return seed < end }, Run)
}

// RunFor plays seeds from first on for d: how many fit is the figure.
func RunFor(first uint64, d time.Duration, workers, stopAfter int) Summary {
	deadline := time.Now().Add(d)
	return run(first, workers, stopAfter, func(uint64) bool { return time.Now().Before(deadline) }, Run)
}

func run(first uint64, workers, stopAfter int, more func(seed uint64) bool, play func(seed uint64, withTrace bool) Result) Summary {
	var (
		next   atomic.Uint64
		failed atomic.Int64
		steps  atomic.Int64
		ran    atomic.Int64
		mu     sync.Mutex
		sum    = Summary{Outcomes: map[string]int{}, Kinds: map[string]Kind{}}
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
				r := play(seed, false)
				ran.Add(1)
				steps.Add(int64(r.Steps))
				mu.Lock()
				for k, v := range r.Outcomes {
					sum.Outcomes[k] += v
				}
				if r.Violation != "" {
					failed.Add(1)
					sum.Failures = append(sum.Failures, r)
					sum.Failed = append(sum.Failed, Failed{Seed: r.Seed, Violation: r.Violation})
					k := sum.Kinds[kindOf(r.Violation)]
					if k.Count == 0 || r.Seed < k.FirstSeed {
						k.FirstSeed = r.Seed
					}
					k.Count++
					sum.Kinds[kindOf(r.Violation)] = k
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sum.Schedules, sum.Steps, sum.Violations = int(ran.Load()), steps.Load(), int(failed.Load())
	slices.SortFunc(sum.Failures, func(a, b Result) int { return cmp.Compare(a.Seed, b.Seed) })
	slices.SortFunc(sum.Failed, func(a, b Failed) int { return cmp.Compare(a.Seed, b.Seed) })
	sum.Failures = sum.Failures[:min(len(sum.Failures), maxFailures)]
	return sum
}
