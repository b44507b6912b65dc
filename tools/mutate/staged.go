package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// Who killed a mutant (mutant.KilledBy).
const (
	byOwn        = "own"        // the tests of the mutated package
	byDependents = "dependents" // only the tests of packages built on it (sim, shared/api, …)
)

// Who ran a mutant (mutant.Runner).
const (
	runGremlins = ""             // gremlins alone
	runStaged   = "tools/mutate" // tools/mutate (stage 2, or a hidden mutant)
)

// A stagedJob is one mutant for runStages: with own set, the mutated
// package's own tests run first (gremlins did not try it at all).
type stagedJob struct {
	m   *mutant
	own bool
}

// runStages runs mutants the way gremlins runs one, in a worker's copy of
// the trimmed module with the mutated file in place: first, if the job
// asks, `go test -timeout … -failfast ./<its package>`; then, unless that
// killed it, `go test -timeout … -failfast ./...`, the tests of every
// package built on it. A failure (exit status 1) kills the mutant, exit
// status 2 means it did not build, passing lets it live and running past
// the limit times it out. Test results are cached per worker copy, so the
// second stage re-runs only the packages that build on the mutated one.
func runStages(ctx context.Context, module string, jobs []stagedJob, workers int, limit time.Duration, env []string, out io.Writer) error {
	if len(jobs) == 0 {
		return nil
	}
	workers = max(1, min(workers, len(jobs)))
	ch := make(chan stagedJob)
	errs := make(chan error, workers)
	var mu sync.Mutex
	for w := 0; w < workers; w++ {
		dir := fmt.Sprintf("%s-stage-%d", module, w)
		if err := copyTree(module, dir); err != nil {
			return err
		}
		go func() {
			var first error
			for j := range ch {
				if first != nil || ctx.Err() != nil {
					continue
				}
				status, by, err := runJob(ctx, dir, j, limit, env)
				if err != nil {
					first = err
					continue
				}
				mu.Lock()
				j.m.Status, j.m.Runner = status, runStaged
				if status == killed {
					j.m.KilledBy = by
				}
				note := "own package's tests, then the dependents'"
				if !j.own {
					note = "the dependents' tests"
				}
				fmt.Fprintf(out, "%12s %s at %s:%d:%d (tools/mutate: %s)\n", status, j.m.Type, j.m.File, j.m.Line, j.m.Col, note)
				mu.Unlock()
			}
			if err := os.RemoveAll(dir); err != nil && first == nil {
				first = err
			}
			errs <- first
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	var first error
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func runJob(ctx context.Context, dir string, j stagedJob, limit time.Duration, env []string) (status, by string, err error) {
	m := j.m
	path := filepath.Join(dir, filepath.FromSlash(m.File))
	orig, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	mutated, err := mutateSource(orig, m.Line, m.Col, m.Type)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", m.File, err)
	}
	if err := os.WriteFile(path, mutated, 0o644); err != nil {
		return "", "", err
	}
	// A copy left mutated would test every later mutant against this one too.
	defer func() {
		if rerr := os.WriteFile(path, orig, 0o644); rerr != nil && err == nil {
			err = fmt.Errorf("restore %s: %w", m.File, rerr)
		}
	}()
	if j.own {
		status, err := goTest(ctx, dir, "./"+pathDir(m.File), limit, env)
		if err != nil || status != lived {
			return status, byOwn, err
		}
	}
	status, err = goTest(ctx, dir, "./...", limit, env)
	return status, byDependents, err
}

// goTest runs go test on pattern in dir as gremlins does, and classifies
// the outcome as gremlins does.
func goTest(ctx context.Context, dir, pattern string, limit time.Duration, env []string) (string, error) {
	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(tctx, "go", "test", "-timeout", (limit + 2*time.Second).String(), "-failfast", pattern)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return timedOut, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case 1:
			return killed, nil
		case 2:
			return notViable, nil
		}
		return lived, nil
	}
	if err != nil {
		return "", err
	}
	return lived, nil
}
