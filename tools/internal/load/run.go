package load

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Run is one run of a scenario: when it started and ended, from the start
// of its batch, what it returned and how it failed.
type Run[T any] struct {
	Start, End time.Duration
	Value      T
	Err        error
}

// Took is the run's own time.
func (r Run[T]) Took() time.Duration { return r.End - r.Start }

// Plan bounds a closed loop: Workers run the scenario one run after
// another, starting none after For has passed (when For > 0) or once Runs
// have started in all (when Runs > 0). One of the two must be set.
type Plan struct {
	Workers int
	For     time.Duration
	Runs    int
}

// Closed runs fn by p, run i with index i: each worker's first run has
// the worker's number, so each of the first Workers runs starts on its own
// worker. No run starts after one failed; the first failure (or the
// context's end) is returned with every run.
func Closed[T any](ctx context.Context, p Plan, fn func(ctx context.Context, i int) (T, error)) ([]Run[T], error) {
	if p.For <= 0 && p.Runs <= 0 {
		return nil, fmt.Errorf("load: a closed loop needs a span or a number of runs")
	}
	var (
		mu    sync.Mutex
		runs  []Run[T]
		first error
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	next.Store(int64(p.Workers))
	start := time.Now()
	more := func(i int) bool {
		mu.Lock()
		defer mu.Unlock()
		return first == nil && ctx.Err() == nil && (p.Runs <= 0 || i < p.Runs) && (p.For <= 0 || time.Since(start) < p.For)
	}
	for w := range p.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; more(i); i = int(next.Add(1) - 1) {
				r := Run[T]{Start: time.Since(start)}
				r.Value, r.Err = fn(ctx, i)
				r.End = time.Since(start)
				mu.Lock()
				runs = append(runs, r)
				if r.Err != nil && first == nil {
					first = r.Err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return runs, first
}

// Open starts a run of fn every 1/rate seconds for span, each on its own
// goroutine whatever the others are doing, and returns every run once all
// have ended.
func Open[T any](ctx context.Context, rate float64, span time.Duration, fn func(ctx context.Context, i int) (T, error)) []Run[T] {
	var (
		mu   sync.Mutex
		runs []Run[T]
		wg   sync.WaitGroup
	)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	start := time.Now()
	for i := 0; time.Since(start) < span && ctx.Err() == nil; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := Run[T]{Start: time.Since(start)}
			r.Value, r.Err = fn(ctx, i)
			r.End = time.Since(start)
			mu.Lock()
			runs = append(runs, r)
			mu.Unlock()
		}()
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	wg.Wait()
	return runs
}

// Span is the time from the batch's start to its last run's end.
func Span[T any](runs []Run[T]) time.Duration {
	var s time.Duration
	for _, r := range runs {
		s = max(s, r.End)
	}
	return s
}

// Percentile is the nearest-rank p-th percentile of d.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
