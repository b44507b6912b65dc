package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Statuses as gremlins writes them.
const (
	killed     = "KILLED"
	lived      = "LIVED"
	notCovered = "NOT COVERED"
	timedOut   = "TIMED OUT"
	notViable  = "NOT VIABLE"
	skipped    = "SKIPPED"
)

// mutant is one gremlins mutant, located in its function.
type mutant struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Col    int    `json:"col"`
	Type   string `json:"type"`
	Status string `json:"status"`
	Func   string `json:"func"`
	Expr   string `json:"expr"`
	Key    string `json:"key"`
	// Runner is runStaged when tools/mutate ran the mutant (a survivor of
	// its own package's tests, or one coverage cannot see), "" when
	// gremlins alone did.
	Runner string `json:"runner,omitempty"`
	// KilledBy says whose tests killed it: byOwn or byDependents.
	KilledBy string `json:"killedBy,omitempty"`
	// Recheck is the commit at which -recheck ran this mutant again; Was
	// is its status in the run, Status what it is at Recheck.
	Recheck string `json:"recheck,omitempty"`
	Was     string `json:"was,omitempty"`
	// Hidden marks a mutant that coverage cannot see (hidden.go).
	Hidden bool `json:"hidden,omitempty"`
}

// result is one run of make mutate, as saved for -report-only.
type result struct {
	Date        time.Time     `json:"date"`
	Took        time.Duration `json:"took"`
	Baseline    time.Duration `json:"baseline,omitempty"`
	Cores       int           `json:"cores"`
	Workers     int           `json:"workers"`
	Coefficient int           `json:"coefficient"`
	Gremlins    string        `json:"gremlins"`
	Targets     []string      `json:"targets"`
	Tests       []string      `json:"tests"`
	Only        string        `json:"only,omitempty"`
	Rev         string        `json:"rev,omitempty"`
	// SharedServers: one DynamoDB Local and one moto_server served the
	// whole run, rather than one each per test binary.
	SharedServers bool     `json:"sharedServers,omitempty"`
	Mutants       []mutant `json:"mutants"`
}

// gremlinsOutput is the part of gremlins' --output file the report reads.
type gremlinsOutput struct {
	Files []struct {
		Filename  string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

// readMutants reads gremlins' output and locates each mutant in the
// sources under root (the copy that was mutated).
func readMutants(r io.Reader, root string) ([]mutant, error) {
	var out gremlinsOutput
	if err := json.NewDecoder(r).Decode(&out); err != nil {
		return nil, fmt.Errorf("gremlins output: %w", err)
	}
	var ms []mutant
	for _, f := range out.Files {
		name := filepath.ToSlash(f.Filename)
		src, err := os.ReadFile(filepath.Join(root, f.Filename))
		if err != nil {
			return nil, err
		}
		idx, err := sites(name, src)
		if err != nil {
			return nil, err
		}
		for _, m := range f.Mutations {
			s, ok := idx[[2]int{m.Line, m.Column}]
			if !ok {
				return nil, fmt.Errorf("%s:%d:%d: no mutable token there", name, m.Line, m.Column)
			}
			ms = append(ms, mutant{
				File: name, Line: m.Line, Col: m.Column, Type: m.Type, Status: m.Status,
				Func: s.Func, Expr: s.Expr, Key: key(name, s, m.Type),
			})
		}
	}
	sortMutants(ms)
	return ms, nil
}

func sortMutants(ms []mutant) {
	slices.SortFunc(ms, func(a, b mutant) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), cmp.Compare(a.Type, b.Type))
	})
}

// tally counts a set of mutants by status.
type tally struct {
	Total, Killed, ByDependents, Lived, NotCovered, TimedOut, NotViable, Skipped int
}

func (t *tally) add(m mutant) {
	t.Total++
	switch m.Status {
	case killed:
		t.Killed++
		if m.KilledBy == byDependents {
			t.ByDependents++
		}
	case lived:
		t.Lived++
	case notCovered:
		t.NotCovered++
	case timedOut:
		t.TimedOut++
	case notViable:
		t.NotViable++
	case skipped:
		t.Skipped++
	}
}

// Efficacy is killed / (killed + lived), in percent (0 with neither).
func (t tally) Efficacy() float64 {
	if t.Killed+t.Lived == 0 {
		return 0
	}
	return 100 * float64(t.Killed) / float64(t.Killed+t.Lived)
}

// Coverage is the share of mutants some test reaches: all but the not
// covered (and skipped), in percent.
func (t tally) Coverage() float64 {
	n := t.Total - t.Skipped
	if n == 0 {
		return 0
	}
	return 100 * float64(n-t.NotCovered) / float64(n)
}

// findings is what the report says about the survivors and the
// explanations file.
type findings struct {
	Unexplained []mutant      // lived, with no explanation
	Regressed   []mutant      // lived, though the file says a test kills it
	Caught      []mutant      // killed, with a "killed:" explanation
	Stale       []explanation // explanations that match no mutant
}

func check(ms []mutant, ex map[string]explanation) findings {
	var f findings
	used := map[string]bool{}
	for _, m := range ms {
		e, ok := ex[m.Key]
		if ok {
			used[m.Key] = true
		}
		switch {
		case m.Status == lived && !ok:
			f.Unexplained = append(f.Unexplained, m)
		case m.Status == lived && e.Kind == "killed":
			f.Regressed = append(f.Regressed, m)
		case m.Status == killed && ok && e.Kind == "killed":
			f.Caught = append(f.Caught, m)
		}
	}
	for k, e := range ex {
		if !used[k] {
			f.Stale = append(f.Stale, e)
		}
	}
	slices.SortFunc(f.Stale, func(a, b explanation) int { return cmp.Compare(a.Line, b.Line) })
	return f
}

// render writes docs/mutation.md.
func render(w io.Writer, r result, ex map[string]explanation, explFile string) findings {
	f := check(r.Mutants, ex)
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }

	p("# Mutation testing\n\n")
	p("<!-- Generated by `make mutate` (tools/mutate); do not edit by hand.\n")
	p("     Explanations of surviving mutants are kept by hand in %s. -->\n\n", explFile)
	p("Mutation testing changes one operator at a time in the code of %s and runs\n", joinCode(r.Targets))
	p("the tests against each changed program (a *mutant*). A mutant the tests fail on is *killed*;\n")
	p("one they pass on *lived*: either the tests miss a behaviour, or the change cannot alter\n")
	p("behaviour at all (an *equivalent* mutant). Every survivor is listed below with the reason it\n")
	p("lives. The mutants are those of %s with its default mutators (arithmetic base,\n", r.Gremlins)
	p("conditionals boundary and negation, increment/decrement, invert negatives).\n\n")
	p("Each mutant first faces the tests of its own package: gremlins runs `go test -failfast\n")
	p("<package>` for it. A mutant those tests let live then faces the tests of every package\n")
	p("built on it among %s (the simulator `sim` and the HTTP layer `shared/api`\n", joinCode(r.Tests))
	p("included): tools/mutate runs `go test -failfast ./...` in a trimmed copy of the module that\n")
	p("holds only those packages' tests and the packages they build on. Test results are cached\n")
	p("per worker copy, so only the packages built on the mutated one run again. ")
	if r.SharedServers {
		p("The DynamoDB\ntests run against one DynamoDB Local (and the Secrets Manager ones against one moto_server)\nstarted for the whole run. ")
	} else {
		p("The DynamoDB\ntests run against DynamoDB Local, each test binary starting its own, as in `make test`. ")
	}
	p("End-to-end tests (e2e/, the emulators) are not run.\n\n")
	hidden := 0
	for _, m := range r.Mutants {
		if m.Hidden {
			hidden++
		}
	}
	p("gremlins tries only the mutants inside a block that the coverage profile marks as run.\n")
	p("Go's coverage has no block for the expressions of a switch's case clauses, nor for\n")
	p("package-level declarations, so gremlins calls their mutants not covered however often they\n")
	p("run. tools/mutate runs those itself, the same two stages, when the profile shows the case\n")
	p("is evaluated (its switch is reached and that clause, a later one or the default ran): %d\n", hidden)
	p("mutants in this run.\n\n")

	p("Run %s; it took %s on %d cores (%d gremlins worker(s), timeout %d× the baseline test run",
		r.Date.UTC().Format("2006-01-02 15:04 MST"), fmtDur(r.Took), r.Cores, r.Workers, r.Coefficient)
	if r.Baseline > 0 {
		p(" of %s", fmtDur(r.Baseline))
	}
	p(").\n")
	if r.Rev != "" {
		p("The code mutated was git revision `%s`, not the working tree.\n", r.Rev)
	}
	if r.Only != "" {
		p("Only the files matching `%s` were mutated in this run.\n", r.Only)
	}
	p("\n")

	byPkg := map[string]*tally{}
	var total tally
	for _, m := range r.Mutants {
		d := pathDir(m.File)
		if byPkg[d] == nil {
			byPkg[d] = &tally{}
		}
		byPkg[d].add(m)
		total.add(m)
	}
	p("| Package | Mutants | Killed | of which by dependents | Lived | Not covered | Timed out | Not viable | Efficacy | Coverage |\n")
	p("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	row := func(name string, t tally) {
		p("| %s | %d | %d | %d | %d | %d | %d | %d | %.1f%% | %.1f%% |\n", name, t.Total, t.Killed, t.ByDependents, t.Lived, t.NotCovered, t.TimedOut, t.NotViable, t.Efficacy(), t.Coverage())
	}
	for _, d := range r.Targets {
		if t := byPkg[d]; t != nil {
			row("`"+d+"`", *t)
		}
	}
	row("**Total**", total)
	var before tally
	newlyKilled, confirmed, spurious := 0, 0, 0
	timeouts, toNewTest := tally{}, 0
	var heads []string
	for _, m := range r.Mutants {
		was := m
		if m.Recheck != "" {
			was.Status = m.Was
			if !slices.Contains(heads, m.Recheck) {
				heads = append(heads, m.Recheck)
			}
			switch {
			case m.Was == lived && m.Status == killed:
				newlyKilled++
			case m.Was == killed && m.Status == killed:
				confirmed++
			case m.Was == killed && m.Status == lived:
				spurious++
			case m.Was == timedOut:
				timeouts.add(m)
				if e, ok := ex[m.Key]; ok && e.Kind == "killed" && m.Status == killed {
					toNewTest++
				}
			}
		}
		before.add(was)
	}
	if len(heads) > 0 {
		head := strings.Join(heads, "`, `")
		p("\nRun again at `%s` (`-recheck`): %d mutant(s) that lived in this run are killed there by\n", head, newlyKilled)
		p("the tests written for them (under *Caught by tests written for them*)")
		if confirmed+spurious > 0 {
			p("; of the %d that only the dependents' tests killed, %d are killed again and %d\n", confirmed+spurious, confirmed, spurious)
			p("live (a test that failed for another reason had killed them; they are counted lived)")
		}
		if timeouts.Total > 0 {
			p("; of the %d that timed out in this run (the machine's load, not endless loops: run again with\n", timeouts.Total)
			p("5 minutes a package), %d are killed (%d of them with an entry naming a test written for them since), %d live and %d\n", timeouts.Killed, toNewTest, timeouts.Lived, timeouts.TimedOut)
			p("time out again")
		}
		p(". The table counts what holds at the last of those commits; at the revision mutated alone, the\n")
		p("efficacy was %.1f%%, with %d timed-out mutants left out of it.\n", before.Efficacy(), before.TimedOut)
	}
	p("\n*By dependents*: killed only by the tests of other packages (sim, shared/api, …), its own\n")
	p("package's tests let it live. ")
	p("Efficacy is killed / (killed + lived). Coverage is the share of mutants that some test\n")
	p("reaches (all but the not covered ones). A timed-out mutant made the tests run past\n")
	p("their limit (an endless loop, say): caught, but left out of efficacy, as gremlins does. A\n")
	p("not viable mutant does not compile.\n\n")

	if len(f.Unexplained)+len(f.Regressed) > 0 {
		p("## ⚠ Flagged\n\n")
		if len(f.Unexplained) > 0 {
			p("%d surviving mutant(s) have no explanation in %s: write a test that kills each, or say\n", len(f.Unexplained), explFile)
			p("why it is equivalent, under a heading that is its key:\n\n")
			for _, m := range f.Unexplained {
				p("- `%s:%d` %s — `## %s`\n", m.File, m.Line, m.Type, m.Key)
			}
			p("\n")
		}
		if len(f.Regressed) > 0 {
			p("%d mutant(s) the explanations say a test kills lived in this run:\n\n", len(f.Regressed))
			for _, m := range f.Regressed {
				p("- `%s:%d` %s `%s` (%s): %s\n", m.File, m.Line, m.Type, m.Expr, m.Func, ex[m.Key].Text)
			}
			p("\n")
		}
	}

	p("## Surviving mutants\n\n")
	if total.Lived == 0 {
		p("None.\n\n")
	}
	for _, d := range r.Targets {
		var ls []mutant
		for _, m := range r.Mutants {
			if pathDir(m.File) == d && m.Status == lived {
				ls = append(ls, m)
			}
		}
		if len(ls) == 0 {
			continue
		}
		p("### `%s` (%d)\n\n", d, len(ls))
		p("| Where | Mutator | Function | Expression | Why it lives |\n|---|---|---|---|---|\n")
		for _, m := range ls {
			why := "**no explanation**"
			if e, ok := ex[m.Key]; ok {
				why = cell(e.Text)
				if e.Kind == "killed" {
					why = "**expected killed:** " + why
				}
			}
			p("| `%s:%d` | %s | `%s` | %s | %s |\n", filepath.Base(m.File), m.Line, m.Type, cell(m.Func), code(m.Expr), why)
		}
		p("\n")
	}

	if len(f.Caught) > 0 {
		p("## Caught by tests written for them\n\n")
		p("Mutants that lived in an earlier run and that a test written since kills (as the\n")
		p("explanations file records):\n\n")
		p("| Where | Mutator | Function | Expression | Killed by |\n|---|---|---|---|---|\n")
		for _, m := range f.Caught {
			p("| `%s:%d` | %s | `%s` | %s | %s |\n", m.File, m.Line, m.Type, cell(m.Func), code(m.Expr), cell(ex[m.Key].Text))
		}
		p("\n")
	}

	var tos []mutant
	for _, m := range r.Mutants {
		if m.Status == timedOut {
			tos = append(tos, m)
		}
	}
	if len(tos) > 0 {
		p("## Timed out\n\n")
		for _, m := range tos {
			p("- `%s:%d` %s `%s` in `%s`\n", m.File, m.Line, m.Type, m.Expr, m.Func)
		}
		p("\n")
	}

	var ncs []mutant
	for _, m := range r.Mutants {
		if m.Status == notCovered {
			ncs = append(ncs, m)
		}
	}
	if len(ncs) > 0 {
		p("## Not covered\n\n")
		p("No test of the set runs these lines, so their mutants were not tried:\n\n")
		for _, m := range ncs {
			p("- `%s:%d` %s `%s` in `%s`\n", m.File, m.Line, m.Type, m.Expr, m.Func)
		}
		p("\n")
	}

	if len(f.Stale) > 0 && r.Only == "" {
		p("## Stale explanations\n\n")
		p("These entries of %s match no mutant of this run (the code moved or changed): update\n", explFile)
		p("or remove them.\n\n")
		for _, e := range f.Stale {
			p("- line %d: `%s`\n", e.Line, e.Key)
		}
		p("\n")
	}
	return f
}

func joinCode(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "`" + x + "`"
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// cell makes text safe in a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}

// code puts an expression in a code span that survives a table cell.
func code(s string) string {
	s = cell(s)
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func fmtDur(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// merge joins the runs of parts of one revision (each with its own -only),
// so a run too long for one sitting can be done in pieces. The merged run
// counts as whole when every target's files fall under some part.
func merge(parts []result) (result, error) {
	if len(parts) == 0 {
		return result{}, fmt.Errorf("no runs to merge")
	}
	r := parts[0]
	if len(parts) == 1 {
		return r, nil
	}
	r.Mutants = nil
	r.Took = 0
	var onlys []string
	whole := false
	for _, p := range parts {
		if p.Rev != r.Rev || !slices.Equal(p.Targets, r.Targets) {
			return result{}, fmt.Errorf("runs of different revisions or targets (%q %v, %q %v) cannot be merged", r.Rev, r.Targets, p.Rev, p.Targets)
		}
		r.Mutants = append(r.Mutants, p.Mutants...)
		r.Took += p.Took
		if p.Date.Before(r.Date) {
			r.Date = p.Date
		}
		if p.Only == "" {
			whole = true
		}
		onlys = append(onlys, p.Only)
	}
	covered := 0
	for _, t := range r.Targets {
		for _, o := range onlys {
			if re, err := regexp.Compile(o); err == nil && o != "" && re.MatchString(t+"/") {
				covered++
				break
			}
		}
	}
	r.Only = strings.Join(onlys, "|")
	if whole || covered == len(r.Targets) {
		r.Only = ""
	}
	sortMutants(r.Mutants)
	r.Mutants = slices.CompactFunc(r.Mutants, func(a, b mutant) bool {
		return a.File == b.File && a.Line == b.Line && a.Col == b.Col && a.Type == b.Type
	})
	return r, nil
}
