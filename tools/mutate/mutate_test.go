package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMakePlanKeepsModulePackagesAndEmbeds(t *testing.T) {
	root := filepath.FromSlash("/m")
	main := &struct{ Main bool }{true}
	dep := &struct{ Main bool }{false}
	pkgs := []listedPackage{
		{ImportPath: "fmt", Dir: "/go/src/fmt", Standard: true},
		{ImportPath: "example.com/dep", Dir: "/mod/dep", Module: dep},
		{ImportPath: "m/shared/pages", Dir: filepath.FromSlash("/m/shared/pages"), Module: main, EmbedFiles: []string{"templates/a.html"}},
		{ImportPath: "m/shared/payments", Dir: filepath.FromSlash("/m/shared/payments"), Module: main, TestEmbedFiles: []string{"x.json"}},
		{ImportPath: "m/shared/payments [m/shared/payments.test]", Dir: filepath.FromSlash("/m/shared/payments"), Module: main},
		{ImportPath: "m/shared/payments.test", Dir: filepath.FromSlash("/m/shared/payments"), Module: main},
		{ImportPath: "m/sim", Dir: filepath.FromSlash("/m/sim"), Module: main, TestEmbedFiles: []string{"t.txt"}},
	}
	p, err := makePlan(root, pkgs, []string{"shared/payments"}, []string{"events"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"shared/pages", "shared/payments", "sim"}; !slices.Equal(p.Packages, want) {
		t.Errorf("packages %v, want %v", p.Packages, want)
	}
	// sim's test embeds are not needed: sim's tests are not in the set.
	if want := []string{"shared/pages/templates/a.html", "shared/payments/x.json"}; !slices.Equal(p.Embeds, want) {
		t.Errorf("embeds %v, want %v", p.Embeds, want)
	}
	if _, err := makePlan(root, pkgs, []string{"shared/nope"}, nil); err == nil {
		t.Error("a test package outside the build list was accepted")
	}
	outside := append(slices.Clone(pkgs), listedPackage{ImportPath: "m/x", Dir: "/elsewhere/x", Module: main})
	if _, err := makePlan(root, outside, nil, nil); err == nil {
		t.Error("a package outside the module root was accepted")
	}
}

func TestCopyPlanCopiesTestsOnlyForTestPackages(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	write := func(rel, s string) {
		t.Helper()
		p := filepath.Join(src, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{
		"go.mod", "go.sum",
		"a/a.go", "a/a_test.go", "a/testdata/in.json", "a/notes.txt",
		"b/b.go", "b/b_test.go", "b/testdata/in.json", "b/sub/c.go",
		"p/p.go", "p/templates/t.html", "p/node_modules/x/y.js",
		"events/e.json", "unused/u.go",
	} {
		write(f, f)
	}
	p := plan{Packages: []string{"a", "b", "p"}, Tests: []string{"a"}, Embeds: []string{"p/templates/t.html"}, Extra: []string{"events"}}
	if err := copyPlan(src, dst, p); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := filepath.WalkDir(dst, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dst, path)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{"a/a.go", "a/a_test.go", "a/testdata/in.json", "b/b.go", "events/e.json", "go.mod", "go.sum", "p/p.go", "p/templates/t.html"}
	if !slices.Equal(got, want) {
		t.Errorf("copied %v\nwant   %v", got, want)
	}
}

func TestExcludesLeaveOnlyTargets(t *testing.T) {
	files := []string{"shared/api/a.go", "shared/orders/order.go", "shared/orders/sub/x.go", "shared/payments/engine.go", "sim/sim.go"}
	ex, err := excludes(files, []string{"shared/orders", "shared/payments"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`^shared/api/a\.go$`, `^shared/orders/sub/x\.go$`, `^sim/sim\.go$`}
	if !slices.Equal(ex, want) {
		t.Errorf("excludes %v, want %v", ex, want)
	}
	ex, err = excludes(files, []string{"shared/orders", "shared/payments"}, `engine\.go$`)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(ex, `^shared/payments/engine\.go$`) || !slices.Contains(ex, `^shared/orders/order\.go$`) {
		t.Errorf("-only: excludes %v", ex)
	}
	if _, err := excludes(files, nil, "("); err == nil {
		t.Error("a bad -only pattern was accepted")
	}
}

const src = `package p

var limit = 3 - 1

type T struct{ n int }

func (t *T) Grow(k int) bool {
	if t.n > k {
		return false
	}
	t.n += k
	for i := 0; i < k; i++ {
		if t.n > k {
			return true
		}
	}
	return -k < 0
}

func Free[K comparable](a, b int) int {
	f := func() int { return a*b +
		1 }
	return f()
}

type G[K any] struct{}

func (G[K]) M(x int) bool { return x >= limit }
`

func TestSitesNameFunctionAndExpression(t *testing.T) {
	idx, err := sites("p/p.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	at := func(line, col int) site {
		t.Helper()
		s, ok := idx[[2]int{line, col}]
		if !ok {
			t.Fatalf("no site at %d:%d", line, col)
		}
		return s
	}
	cases := []struct {
		line, col int
		fn, expr  string
		nth       int
	}{
		{3, 15, "var limit", "3 - 1", 1},
		{8, 9, "(*T).Grow", "t.n > k", 1},
		{11, 6, "(*T).Grow", "t.n += k", 1},
		{12, 16, "(*T).Grow", "i < k", 1},
		{12, 22, "(*T).Grow", "i++", 1},
		{13, 10, "(*T).Grow", "t.n > k", 2},
		{17, 9, "(*T).Grow", "-k", 1},
		{17, 12, "(*T).Grow", "-k < 0", 1},
		{21, 31, "Free", "a*b + 1", 1},
		{28, 38, "G.M", "x >= limit", 1},
	}
	for _, c := range cases {
		s := at(c.line, c.col)
		if s.Func != c.fn || s.Expr != c.expr || s.Nth != c.nth {
			t.Errorf("%d:%d: %q %q #%d, want %q %q #%d", c.line, c.col, s.Func, s.Expr, s.Nth, c.fn, c.expr, c.nth)
		}
	}
	if k := key("p/p.go", at(13, 10), "CONDITIONALS_BOUNDARY"); k != "p/p.go | (*T).Grow | CONDITIONALS_BOUNDARY | t.n > k #2" {
		t.Errorf("key %q", k)
	}
	if k := key("p/p.go", at(8, 9), "CONDITIONALS_BOUNDARY"); k != "p/p.go | (*T).Grow | CONDITIONALS_BOUNDARY | t.n > k" {
		t.Errorf("key %q", k)
	}
}

// A key does not change when lines move.
func TestKeysSurviveMovedLines(t *testing.T) {
	moved := strings.Replace(src, "type T struct{ n int }", "// a comment\n\ntype T struct {\n\tn int\n}", 1)
	a, _ := sites("p.go", []byte(src))
	b, _ := sites("p.go", []byte(moved))
	keys := func(idx map[[2]int]site) []string {
		var ks []string
		for _, s := range idx {
			ks = append(ks, key("p.go", s, "X"))
		}
		slices.Sort(ks)
		return ks
	}
	if ka, kb := keys(a), keys(b); !slices.Equal(ka, kb) {
		t.Errorf("keys changed:\n%v\n%v", ka, kb)
	}
}

const explanations = `# Survivors

Preamble text, with a | bar.

## shared/orders/order.go | (*Order).Refundable | CONDITIONALS_BOUNDARY |  o.Refunded  <  o.Amount
Equivalent: the two differ only when
refunded equals the amount, which
never reaches this line.

## shared/payments/engine.go | (*Engine).Confirm | CONDITIONALS_NEGATION | a || b != c
killed: TestX (shared/payments/x_test.go).
`

func TestParseExplanations(t *testing.T) {
	ex, err := parseExplanations(strings.NewReader(explanations))
	if err != nil {
		t.Fatal(err)
	}
	e, ok := ex["shared/orders/order.go | (*Order).Refundable | CONDITIONALS_BOUNDARY | o.Refunded < o.Amount"]
	if !ok || e.Kind != "equivalent" || e.Text != "the two differ only when refunded equals the amount, which never reaches this line." || e.Line != 5 {
		t.Errorf("first entry: %+v (found %v)", e, ok)
	}
	e, ok = ex["shared/payments/engine.go | (*Engine).Confirm | CONDITIONALS_NEGATION | a || b != c"]
	if !ok || e.Kind != "killed" || e.Text != "TestX (shared/payments/x_test.go)." {
		t.Errorf("second entry: %+v (found %v)", e, ok)
	}
	bad := map[string]string{
		"no kind":      "## a.go | F | ARITHMETIC_BASE | a + b\nbecause.\n",
		"unknown kind": "## a.go | F | ARITHMETIC_BASE | a + b\nmaybe: because.\n",
		"empty":        "## a.go | F | ARITHMETIC_BASE | a + b\nequivalent:\n",
		"bad mutator":  "## a.go | F | FLIP | a + b\nequivalent: x\n",
		"short key":    "## a.go | F | ARITHMETIC_BASE\nequivalent: x\n",
		"duplicate":    "## a.go | F | ARITHMETIC_BASE | a + b\nequivalent: x\n## a.go | F | ARITHMETIC_BASE | a  +  b\nequivalent: y\n",
	}
	for name, s := range bad {
		if _, err := parseExplanations(strings.NewReader(s)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRenderFlagsAndCounts(t *testing.T) {
	m := func(file string, line int, status, expr string) mutant {
		s := site{Func: "F", Expr: expr, Nth: 1}
		return mutant{File: file, Line: line, Type: "CONDITIONALS_BOUNDARY", Status: status, Func: "F", Expr: expr, Key: key(file, s, "CONDITIONALS_BOUNDARY")}
	}
	ms := []mutant{
		m("shared/orders/a.go", 1, killed, "a < b"),
		m("shared/orders/a.go", 2, killed, "c < d"),
		m("shared/orders/a.go", 3, killed, "e < f"),
		m("shared/orders/a.go", 4, lived, "g < h"),
		m("shared/orders/a.go", 5, notCovered, "i < j"),
		m("shared/payments/b.go", 1, lived, "x | y < z"),
		m("shared/payments/b.go", 2, lived, "p < q"),
		m("shared/payments/b.go", 3, timedOut, "r < s"),
	}
	ms[2].KilledBy = byDependents
	ex := map[string]explanation{
		ms[3].Key: {Key: ms[3].Key, Kind: "equivalent", Text: "never equal"},
		ms[6].Key: {Key: ms[6].Key, Kind: "killed", Text: "TestP"},
		ms[1].Key: {Key: ms[1].Key, Kind: "killed", Text: "TestC"},
		"gone":    {Key: "gone", Kind: "equivalent", Text: "old", Line: 9},
	}
	r := result{Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Took: 90 * time.Minute, Cores: 2, Workers: 1, Coefficient: 3,
		Targets: []string{"shared/payments", "shared/orders", "shared/idempotency"}, Tests: []string{"sim"}, Mutants: ms}
	var b strings.Builder
	f := render(&b, r, ex, "docs/mutation-survivors.md")
	out := b.String()
	if len(f.Unexplained) != 1 || f.Unexplained[0].Line != 1 || f.Unexplained[0].File != "shared/payments/b.go" {
		t.Errorf("unexplained %+v", f.Unexplained)
	}
	if len(f.Regressed) != 1 || f.Regressed[0].Expr != "p < q" {
		t.Errorf("regressed %+v", f.Regressed)
	}
	if len(f.Caught) != 1 || f.Caught[0].Expr != "c < d" {
		t.Errorf("caught %+v", f.Caught)
	}
	if len(f.Stale) != 1 || f.Stale[0].Key != "gone" {
		t.Errorf("stale %+v", f.Stale)
	}
	for _, want := range []string{
		"| `shared/payments` | 3 | 0 | 0 | 2 | 0 | 1 | 0 | 0.0% | 100.0% |",
		"| `shared/orders` | 5 | 3 | 1 | 1 | 1 | 0 | 0 | 75.0% | 80.0% |",
		"| **Total** | 8 | 3 | 1 | 3 | 1 | 1 | 0 | 50.0% | 87.5% |",
		"| `a.go:4` | CONDITIONALS_BOUNDARY | `F` | `g < h` | never equal |",
		"| `b.go:1` | CONDITIONALS_BOUNDARY | `F` | `x \\| y < z` | **no explanation** |",
		"took 1h 30m on 2 cores",
		"2026-01-02 03:04 UTC",
		"## Stale explanations",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| `shared/idempotency` |") {
		t.Error("a package with no mutants has a row")
	}
}

// TestRenderSaysWhatARecheckChanged: a survivor killed at a later commit
// by -recheck counts as killed, and the report says so with the efficacy
// of the mutated revision alone.
func TestRenderSaysWhatARecheckChanged(t *testing.T) {
	m := func(line int, status, expr string) mutant {
		s := site{Func: "F", Expr: expr, Nth: 1}
		return mutant{File: "shared/orders/a.go", Line: line, Type: "CONDITIONALS_BOUNDARY", Status: status, Func: "F", Expr: expr, Key: key("shared/orders/a.go", s, "CONDITIONALS_BOUNDARY")}
	}
	ms := []mutant{m(1, killed, "a < b"), m(2, killed, "c < d"), m(3, lived, "e < f"), m(4, lived, "g < h")}
	ms[1].Recheck, ms[1].Was, ms[1].KilledBy = "abc123", lived, byOwn
	ms[3].Recheck, ms[3].Was = "abc123", timedOut // the run's limit cut its tests short
	ex := map[string]explanation{
		ms[1].Key: {Key: ms[1].Key, Kind: "killed", Text: "TestC"},
		ms[2].Key: {Key: ms[2].Key, Kind: "equivalent", Text: "never equal"},
		ms[3].Key: {Key: ms[3].Key, Kind: "equivalent", Text: "never equal either"},
	}
	r := result{Targets: []string{"shared/orders"}, Mutants: ms}
	var b strings.Builder
	f := render(&b, r, ex, "docs/mutation-survivors.md")
	out := b.String()
	if len(f.Caught) != 1 || len(f.Regressed) != 0 {
		t.Errorf("caught %+v, regressed %+v", f.Caught, f.Regressed)
	}
	for _, want := range []string{
		"| **Total** | 4 | 2 | 0 | 2 | 0 | 0 | 0 | 50.0% | 100.0% |",
		"Run again at `abc123` (`-recheck`): 1 mutant(s) that lived in this run are killed there",
		"of the 1 that timed out in this run",
		"0 are killed (0 of them with an entry naming a test written for them since), 1 live and 0",
		"efficacy was 33.3%, with 1 timed-out mutants left out of it.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestReadMutantsLocatesEachMutant(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "p"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "p", "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	js := `{"files":[{"file_name":"p/p.go","mutations":[
		{"type":"CONDITIONALS_NEGATION","status":"LIVED","line":13,"column":10},
		{"type":"CONDITIONALS_BOUNDARY","status":"KILLED","line":8,"column":9}]}]}`
	ms, err := readMutants(strings.NewReader(js), root)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Line != 8 || ms[1].Key != "p/p.go | (*T).Grow | CONDITIONALS_NEGATION | t.n > k #2" {
		t.Errorf("mutants %+v", ms)
	}
	bad := `{"files":[{"file_name":"p/p.go","mutations":[{"type":"X","status":"LIVED","line":1,"column":1}]}]}`
	if _, err := readMutants(strings.NewReader(bad), root); err == nil {
		t.Error("a mutant at no mutable token was accepted")
	}
}

func TestFmtDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		42 * time.Second:                "42s",
		3*time.Minute + 4*time.Second:   "3m 04s",
		2*time.Hour + 5*time.Minute + 1: "2h 05m",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
}

// Runs of parts of one revision merge into one report; it counts as whole
// only when the parts cover every target, and runs of other revisions
// refuse to merge.
func TestMergeParts(t *testing.T) {
	targets := []string{"shared/orders", "shared/idempotency"}
	part := func(only string, ms ...mutant) result {
		return result{Rev: "HEAD", Targets: targets, Only: only, Took: time.Minute, Date: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Mutants: ms}
	}
	a := mutant{File: "shared/orders/order.go", Line: 1, Col: 1, Type: "X", Status: killed}
	b := mutant{File: "shared/idempotency/dynamo.go", Line: 2, Col: 1, Type: "X", Status: lived}

	r, err := merge([]result{part("orders/", a), part("idempotency/", b)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Only != "" || len(r.Mutants) != 2 || r.Took != 2*time.Minute {
		t.Fatalf("merged: only %q, %d mutants, took %s; want whole, 2, 2m", r.Only, len(r.Mutants), r.Took)
	}
	if r, _ := merge([]result{part("orders/", a), part(`idempotency/dynamo\.go$`, b)}); r.Only == "" {
		t.Fatal("parts that leave files of a target out merged as a whole run")
	}
	other := part("idempotency/", b)
	other.Rev = "abc"
	if _, err := merge([]result{part("orders/", a), other}); err == nil {
		t.Fatal("runs of two revisions merged")
	}
}
