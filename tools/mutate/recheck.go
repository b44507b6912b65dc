package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// recheck runs again, on the working tree at HEAD, each mutant of r that
// lived and that the explanations say a test written since kills, so a
// survivor's new test counts without mutating every package again (hours
// on two cores). Each mutant is found at HEAD by its key (file, function,
// mutator, expression), applied through go test -overlay, and faces its
// own package's tests, then the tests of every package in tests, as in a
// run. A killed one is marked with HEAD's commit in Recheck; one not found
// or not killed stays lived (and is flagged). The files mutated must be
// as committed: the revision named must be the code tested.
//
// With dependents, every mutant only the dependents' tests killed is run
// again too, against them: a test that fails now and then (on a loaded
// machine, say) kills a mutant it does not catch. One that lives at HEAD
// is counted lived, with its Recheck set.
func recheck(root string, r *result, ex map[string]explanation, tests []string, dependents bool, logf func(string, ...any)) error {
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return fmt.Errorf("recheck: git rev-parse HEAD: %w", err)
	}
	head := strings.TrimSpace(string(out))
	var testArgs []string
	for _, t := range tests {
		testArgs = append(testArgs, "./"+t)
	}
	for i := range r.Mutants {
		m := &r.Mutants[i]
		e, ok := ex[m.Key]
		again := dependents && m.Status == killed && m.KilledBy == byDependents
		if !again && (m.Status != lived || !ok || e.Kind != "killed") {
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
			logf("recheck: %s is not at HEAD any more: it stays lived", m.Key)
			continue
		}
		spec := fmt.Sprintf("%s:%d:%d:%s", m.File, at.Line, at.Col, m.Type)
		by := ""
		switch code, err := runMutant(root, spec, []string{"./" + pathDir(m.File)}); {
		case err != nil:
			return fmt.Errorf("recheck %s: %w", spec, err)
		case code != 0:
			by = byOwn
		default:
			code, err := runMutant(root, spec, testArgs)
			if err != nil {
				return fmt.Errorf("recheck %s: %w", spec, err)
			}
			if code != 0 {
				by = byDependents
			}
		}
		m.Was, m.Recheck = m.Status, head
		if by == "" {
			logf("recheck: %s LIVED at %s", spec, head)
			m.Status, m.KilledBy = lived, ""
			continue
		}
		logf("recheck: %s KILLED at %s", spec, head)
		m.Status, m.KilledBy = killed, by
	}
	return nil
}

// runMutant is tryMutant's run without its output: go test's exit status
// with the mutant applied (0: it lived).
func runMutant(root, spec string, testArgs []string) (int, error) {
	dir, overlay, err := overlayFor(root, spec)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("go", append([]string{"test", "-count=1", "-failfast", "-overlay", overlay}, testArgs...)...)
	cmd.Dir = root
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}
