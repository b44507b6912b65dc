package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tossintl/backend/internal/testenv"
)

// A module where one mutant dies by its own package's tests, one only by
// a dependent package's tests, and one lives through both.
var stagedModule = map[string]string{
	"go.mod": "module example.com/m\n\ngo 1.22\n",
	"p/p.go": `package p

func Max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func Sub(a, b int) int { return a - b }
`,
	"p/p_test.go": `package p

import "testing"

func TestP(t *testing.T) {
	if Max(2, 1) != 2 || Sub(0, 0) != 0 {
		t.Fatal("p")
	}
}
`,
	"q/q.go": "package q\n\nimport \"example.com/m/p\"\n\nfunc Diff(a, b int) int { return p.Sub(a, b) }\n",
	"q/q_test.go": `package q

import "testing"

func TestQ(t *testing.T) {
	if Diff(3, 1) != 2 {
		t.Fatal("q")
	}
}
`,
}

func TestRunStagesAttributesKills(t *testing.T) {
	testenv.Skip(t, "go test on a module of its own")
	dir := filepath.Join(t.TempDir(), "module")
	for name, src := range stagedModule {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ownKill := &mutant{File: "p/p.go", Line: 4, Col: 7, Type: "CONDITIONALS_NEGATION"}
	depKill := &mutant{File: "p/p.go", Line: 10, Col: 35, Type: "ARITHMETIC_BASE"}
	lives := &mutant{File: "p/p.go", Line: 4, Col: 7, Type: "CONDITIONALS_BOUNDARY"}
	// depKill also faces p's tests first here (own), which let it live.
	jobs := []stagedJob{{m: ownKill, own: true}, {m: depKill, own: true}, {m: lives}}
	if err := runStages(context.Background(), dir, jobs, 2, time.Minute, os.Environ(), io.Discard); err != nil {
		t.Fatal(err)
	}
	check := func(name string, m *mutant, status, by string) {
		t.Helper()
		if m.Status != status || m.KilledBy != by || m.Runner != runStaged {
			t.Errorf("%s: status %q killed by %q runner %q, want %q %q", name, m.Status, m.KilledBy, m.Runner, status, by)
		}
	}
	check("a > b negated", ownKill, killed, byOwn)
	check("a - b to a + b", depKill, killed, byDependents)
	check("a > b to a >= b", lives, lived, "")
	// The worker copies are gone and the module is as it was.
	if b, _ := os.ReadFile(filepath.Join(dir, "p", "p.go")); string(b) != stagedModule["p/p.go"] {
		t.Errorf("the module was left mutated:\n%s", b)
	}
	if m, _ := filepath.Glob(dir + "-stage-*"); len(m) != 0 {
		t.Errorf("worker copies left: %v", m)
	}
}
