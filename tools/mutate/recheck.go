package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// recheckKinds chooses which mutants recheck runs again.
type recheckKinds struct {
	Dependents bool // those only the dependents' tests killed
	TimedOut   bool // those whose tests ran past the run's limit
}

// recheckLimit bounds one package's tests for one mutant in a recheck: a
// mutant that loops for ever stays timed out instead of holding the run.
const recheckLimit = 5 * time.Minute

// recheck runs again, on the working tree at HEAD, each mutant of r that
// lived and that the explanations say a test written since kills, so a
// survivor's new test counts without mutating every package again (hours
// on two cores). Each mutant is found at HEAD by its key (file, function,
// mutator, expression), applied through go test -overlay, and faces its
// own package's tests, then the tests of each package in tests, one package
// at a time, stopping at the first that fails (the results of packages the
// mutant is not built into come from go test's cache). A mutant not found stays
// as it was. The files mutated must be as committed: the revision named
// must be the code tested. save is called after each mutant, so a recheck
// cut short keeps what it learnt.
//
// With kinds.Dependents, every mutant only the dependents' tests killed is
// run again too: a test that fails now and then (on a loaded machine, say)
// kills a mutant it does not catch. With kinds.TimedOut, every timed-out
// one is: on a loaded machine the run's limit cuts short tests that would
// have passed or failed. Each ends killed, lived or timed out at HEAD, with
// Was its status in the run and Recheck HEAD's commit.
func recheck(root string, r *result, ex map[string]explanation, tests []string, kinds recheckKinds, save func(result) error, logf func(string, ...any)) error {
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return fmt.Errorf("recheck: git rev-parse HEAD: %w", err)
	}
	head := strings.TrimSpace(string(out))
	for i := range r.Mutants {
		m := &r.Mutants[i]
		e, ok := ex[m.Key]
		again := m.Recheck == "" && (kinds.Dependents && m.Status == killed && m.KilledBy == byDependents || kinds.TimedOut && m.Status == timedOut)
		newTest := m.Status == lived && ok && e.Kind == "killed"
		if !again && !newTest {
			continue
		}
		if dirty, err := exec.Command("git", "-C", root, "status", "--porcelain", "--", m.File).Output(); err != nil || len(dirty) > 0 {
			return fmt.Errorf("recheck: %s differs from HEAD (commit it first): %v", m.File, err)
		}
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(m.File)))
		if err != nil {
			return fmt.Errorf("recheck: %w", err)
		}
		ss, err := sites(m.File, src)
		if err != nil {
			return fmt.Errorf("recheck: %s: %w", m.File, err)
		}
		var at *site
		for _, s := range ss {
			if key(m.File, s, m.Type) == m.Key {
				at = &s
				break
			}
		}
		if at == nil {
			logf("recheck: %s is not at HEAD any more", m.Key)
			continue
		}
		spec := fmt.Sprintf("%s:%d:%d:%s", m.File, at.Line, at.Col, m.Type)
		own := pathDir(m.File)
		status, by := lived, ""
		pkgs := []string{own}
		for _, t := range tests {
			if t != own {
				pkgs = append(pkgs, t)
			}
		}
		for _, pkg := range pkgs {
			st, err := runMutant(root, spec, "./"+pkg)
			if err != nil {
				return fmt.Errorf("recheck %s: %w", spec, err)
			}
			if st == lived {
				continue
			}
			status = st
			if st == killed {
				by = byDependents
				if pkg == own {
					by = byOwn
				}
			}
			break
		}
		logf("recheck: %s %s at %s (was %s)", spec, status, head, m.Status)
		if m.Recheck == "" {
			m.Was = m.Status
		}
		m.Recheck, m.Status, m.KilledBy = head, status, by
		if err := save(*r); err != nil {
			return err
		}
	}
	return nil
}

// runMutant runs pkg's tests with the mutant spec applied through go test
// -overlay: killed, lived, timed out (past recheckLimit) or not viable (it
// does not build).
func runMutant(root, spec, pkg string) (string, error) {
	dir, overlay, err := overlayFor(root, spec)
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	// Test results are cached: a package the mutated one is not built
	// into passes from the cache at once.
	cmd := exec.Command("go", "test", "-failfast", "-timeout", recheckLimit.String(), "-overlay", overlay, pkg)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return lived, nil
	case errors.As(err, &exit) && strings.Contains(string(out), "panic: test timed out"):
		return timedOut, nil
	case errors.As(err, &exit) && strings.Contains(string(out), "[build failed]"):
		return notViable, nil
	case errors.As(err, &exit):
		return killed, nil
	}
	return "", fmt.Errorf("go test %s: %w", pkg, err)
}
