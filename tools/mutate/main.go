// Command mutate is make mutate: mutation testing of the money code
// (shared/payments, shared/orders, shared/idempotency) with go-gremlins,
// where every mutant faces the tests of the packages that build on it,
// the simulator (package sim) and the HTTP layer (shared/api) included.
//
// gremlins runs a mutant's tests either as `go test <pkg>` (the mutated
// package alone: the simulator would never see an engine mutant) or, with
// --integration, as `go test ./...` from the module root (the whole suite,
// the emulator-backed e2e tests included: far too slow per mutant). So
// mutate builds a trimmed copy of the module, holding only the tests that
// judge the targets and the packages those tests build on (go list -deps
// -test), and works in two stages there:
//
//  1. gremlins, in its ordinary mode, tests each mutant against its own
//     package's tests (most mutants die here, cheaply);
//  2. every mutant those let live faces `go test -failfast ./...` in the
//     trimmed copy (staged.go): the tests of every package built on it.
//     Test results are cached per worker copy, so only the packages that
//     build on the mutated one run again.
//
// Mutants that Go's coverage cannot see (switch case expressions,
// package-level declarations), which gremlins reports NOT COVERED however
// often they run, go through both stages too when the coverage profile
// shows them evaluated (hidden.go).
//
// One DynamoDB Local and one moto_server serve the tests of the whole run
// (DYNAMODB_ENDPOINT, MOTO_ENDPOINT) unless -servers-per-test.
//
// The report, docs/mutation.md, merges in the hand-kept explanations of
// the surviving mutants (docs/mutation-survivors.md), keyed by file,
// function, mutator and expression so that they survive edits that move
// lines; a survivor without one is flagged and the command exits 1.
//
//	go run ./tools/mutate                    # full run, writes docs/mutation.md
//	go run ./tools/mutate -only 'orders/order\.go$' -out /tmp/m.md   # a subset
//	go run ./tools/mutate -report-only       # re-render from the last run
//	go run ./tools/mutate -try shared/orders/order.go:120:15:CONDITIONALS_BOUNDARY -- -run TestX ./shared/orders
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tossintl/backend/tools/dynamodblocal"
	"github.com/tossintl/backend/tools/moto"
)

const module = "github.com/tossintl/backend"

func main() {
	var (
		out         = flag.String("out", "docs/mutation.md", "the report to write")
		explFile    = flag.String("survivors", "docs/mutation-survivors.md", "the hand-kept explanations of surviving mutants")
		saved       = flag.String("results", ".aws-sam/mutate/results.json", "where the run's mutants are saved (read by -report-only)")
		recheckF    = flag.Bool("recheck", false, "with -report-only: run again at HEAD each survivor the explanations say a test written since kills, and count it killed if so")
		recheckDeps = flag.Bool("recheck-dependents", false, "with -recheck: also run again at HEAD every mutant only the dependents' tests killed, and count it lived if they pass now")
		recheckTOs  = flag.Bool("recheck-timeouts", false, "with -recheck: also run again at HEAD every timed-out mutant, each package's tests limited to 5 minutes")
		reportOnly  = flag.Bool("report-only", false, "re-render the report from -results without running anything; a comma-separated list merges the runs of parts (-only) of one revision")
		targetsF    = flag.String("targets", "shared/payments,shared/orders,shared/idempotency", "packages to mutate")
		testsF      = flag.String("tests", "sim,shared/api,shared/app,shared/orderstream,shared/orderevents,shared/eventbus", "packages whose tests judge the mutants, besides the targets'")
		extraF      = flag.String("extra", "events,docs,template.yaml,functions", "files or directories copied as they are (data tests read by relative path)")
		only        = flag.String("only", "", "mutate only the target files matching this regexp")
		workers     = flag.Int("workers", 1, "mutants tested at once (each runs go test ./..., which uses every core)")
		coefficient = flag.Int("timeout-coefficient", 2, "a mutant's tests time out after this many times the baseline test run")
		keep        = flag.Bool("keep", false, "keep the trimmed copy (its path is printed)")
		dryRun      = flag.Bool("dry-run", false, "only list the mutants and whether tests cover them")
		rev         = flag.String("rev", "", "mutate this git revision's tree (e.g. HEAD) instead of the working tree")
		perBinary   = flag.Bool("servers-per-test", false, "let every test binary start its own DynamoDB Local and moto_server, as in make test, instead of one of each for the whole run (DYNAMODB_ENDPOINT, MOTO_ENDPOINT): several seconds more per mutant")
		try         = flag.String("try", "", "apply one mutant, file:line:col:MUTATOR, through go test -overlay (the tree is not touched) and run go test with the remaining arguments (default: the test packages)")
	)
	flag.Parse()
	root, err := os.Getwd()
	if err != nil {
		fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		fatal(errors.New("run from the module root"))
	}

	if *try != "" {
		args := flag.Args()
		if len(args) == 0 {
			for _, t := range append(split(*targetsF), split(*testsF)...) {
				args = append(args, "./"+t)
			}
		}
		os.Exit(tryMutant(root, *try, args))
	}

	var r result
	if *reportOnly {
		var parts []result
		for _, path := range strings.Split(*saved, ",") {
			b, err := os.ReadFile(path)
			if err != nil {
				fatal(fmt.Errorf("no saved run (make mutate first): %w", err))
			}
			var part result
			if err := json.Unmarshal(b, &part); err != nil {
				fatal(fmt.Errorf("%s: %w", path, err))
			}
			parts = append(parts, part)
		}
		if r, err = merge(parts); err != nil {
			fatal(err)
		}
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		targets := split(*targetsF)
		tests := append(split(*targetsF), split(*testsF)...)
		src := root
		if *rev != "" {
			// The commit, not a name that moves: parts of one run
			// (-only) merge only when they mutated the same tree.
			out, err := exec.Command("git", "-C", root, "rev-parse", "--verify", *rev+"^{commit}").Output()
			if err != nil {
				fatal(fmt.Errorf("-rev %q: %w", *rev, err))
			}
			*rev = strings.TrimSpace(string(out))
			dir, err := os.MkdirTemp("", "mutate-rev-")
			if err != nil {
				fatal(err)
			}
			defer os.RemoveAll(dir)
			if err := exportRev(root, *rev, dir); err != nil {
				fatal(err)
			}
			src = dir
		}
		r, err = runMutations(ctx, root, src, targets, tests, split(*extraF), *only, *workers, *coefficient, *keep, *dryRun, !*perBinary)
		r.Rev, r.SharedServers = *rev, !*perBinary
		if err != nil {
			if src != root {
				os.RemoveAll(src)
			}
			fatal(err)
		}
		if *dryRun {
			n := map[string]int{}
			for _, m := range r.Mutants {
				n[m.Status]++
			}
			fmt.Printf("mutants: %d, runnable: %d, not covered: %d\n", len(r.Mutants), n["RUNNABLE"], n[notCovered])
			return
		}
		if err := saveJSON(*saved, r); err != nil {
			fatal(err)
		}
	}

	ex := map[string]explanation{}
	if f, err := os.Open(*explFile); err == nil {
		ex, err = parseExplanations(f)
		f.Close()
		if err != nil {
			fatal(fmt.Errorf("%s: %w", *explFile, err))
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		fatal(err)
	}
	if *recheckF {
		if !*reportOnly {
			fatal(errors.New("-recheck goes with -report-only"))
		}
		// The dependents in the order that kills most mutants soonest:
		// the simulator first.
		tests := append(split(*testsF), split(*targetsF)...)
		savePath := strings.TrimSuffix(*out, ".md") + ".rechecked.json"
		save := func(r result) error { return saveJSON(savePath, r) }
		kinds := recheckKinds{Dependents: *recheckDeps, TimedOut: *recheckTOs}
		if err := recheck(root, &r, ex, tests, kinds, save, func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }); err != nil {
			fatal(err)
		}
		if err := save(r); err != nil {
			fatal(err)
		}
	}
	var b strings.Builder
	f := render(&b, r, ex, *explFile)
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		fatal(err)
	}
	fmt.Printf("wrote %s\n", *out)
	for _, m := range f.Unexplained {
		fmt.Fprintf(os.Stderr, "unexplained survivor: %s:%d %s\n\t## %s\n", m.File, m.Line, m.Type, m.Key)
	}
	for _, m := range f.Regressed {
		fmt.Fprintf(os.Stderr, "lived, though a test should kill it: %s:%d %s (%s)\n", m.File, m.Line, m.Type, m.Key)
	}
	if r.Only == "" {
		for _, e := range f.Stale {
			fmt.Fprintf(os.Stderr, "stale explanation (%s:%d): %s\n", *explFile, e.Line, e.Key)
		}
	}
	if len(f.Unexplained)+len(f.Regressed) > 0 {
		os.Exit(1)
	}
}

// tryMutant runs go test with one mutant applied through -overlay, and
// returns go test's exit status (1: the tests kill the mutant).
func tryMutant(root, spec string, testArgs []string) int {
	dir, overlay, err := overlayFor(root, spec)
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("go", append([]string{"test", "-count=1", "-failfast", "-overlay", overlay}, testArgs...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		fmt.Println("mutant LIVED")
		return 0
	case errors.As(err, &exit):
		fmt.Println("mutant KILLED (or not built)")
		return exit.ExitCode()
	}
	fatal(err)
	return 2
}

// overlayFor writes the mutant spec (file:line:col:MUTATOR) applied to its
// file in root, and a go build -overlay file naming it, into a new
// temporary directory that the caller removes.
func overlayFor(root, spec string) (dir, overlay string, err error) {
	parts := strings.Split(spec, ":")
	if len(parts) != 4 {
		return "", "", fmt.Errorf("mutant %q: want file:line:col:MUTATOR", spec)
	}
	line, err1 := strconv.Atoi(parts[1])
	col, err2 := strconv.Atoi(parts[2])
	if err := errors.Join(err1, err2); err != nil {
		return "", "", fmt.Errorf("mutant %q: %w", spec, err)
	}
	file := filepath.Join(root, filepath.FromSlash(parts[0]))
	src, err := os.ReadFile(file)
	if err != nil {
		return "", "", fmt.Errorf("mutant %q: %w", spec, err)
	}
	mutated, err := mutateSource(src, line, col, parts[3])
	if err != nil {
		return "", "", fmt.Errorf("mutant %q: %w", spec, err)
	}
	dir, err = os.MkdirTemp("", "mutate-try-")
	if err != nil {
		return "", "", err
	}
	mfile := filepath.Join(dir, filepath.Base(file))
	overlay = filepath.Join(dir, "overlay.json")
	b, _ := json.Marshal(map[string]any{"Replace": map[string]string{file: mfile}})
	if err := errors.Join(os.WriteFile(mfile, mutated, 0o644), os.WriteFile(overlay, b, 0o644)); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("mutant %q: %w", spec, err)
	}
	return dir, overlay, nil
}

// testServers returns the environment of the tests: DYNAMODB_LOCAL_DIR
// (the tests run in the trimmed copy, where DynamoDB Local's search for the
// module's npm package would fail), and with shared, the endpoints of one
// DynamoDB Local and one moto_server (Secrets Manager) for the whole run,
// unless the environment names them already.
func testServers(ctx context.Context, root string, shared bool) (env []string, stop func(), err error) {
	env = os.Environ()
	var stops []func()
	stop = func() {
		for _, f := range stops {
			f()
		}
	}
	if os.Getenv("DYNAMODB_LOCAL_DIR") == "" {
		wd, _ := os.Getwd()
		if err := os.Chdir(root); err != nil {
			return nil, stop, err
		}
		dir, err := dynamodblocal.FindDir()
		_ = os.Chdir(wd)
		if err != nil {
			return nil, stop, err
		}
		env = append(env, "DYNAMODB_LOCAL_DIR="+dir)
		if err := os.Setenv("DYNAMODB_LOCAL_DIR", dir); err != nil {
			return nil, stop, err
		}
	}
	if !shared {
		return env, stop, nil
	}
	if os.Getenv("DYNAMODB_ENDPOINT") == "" {
		s, err := dynamodblocal.Start(ctx, dynamodblocal.Options{})
		if err != nil {
			return nil, stop, err
		}
		stops = append(stops, s.Close)
		env = append(env, "DYNAMODB_ENDPOINT="+s.URL)
	}
	if os.Getenv("MOTO_ENDPOINT") == "" {
		s, err := moto.Start(ctx)
		if err != nil {
			stop()
			return nil, func() {}, err
		}
		stops = append(stops, s.Close)
		env = append(env, "MOTO_ENDPOINT="+s.URL)
	}
	return env, stop, nil
}

// exportRev writes the tree of a git revision into dir.
func exportRev(root, rev, dir string) error {
	archive := exec.Command("git", "archive", "--format=tar", rev)
	archive.Dir = root
	untar := exec.Command("tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	archive.Stderr, untar.Stderr = os.Stderr, os.Stderr
	if err := untar.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		return fmt.Errorf("git archive %s: %w", rev, err)
	}
	return untar.Wait()
}

// runMutations mutates the targets of the module in src (the working tree
// or an exported revision); gremlins is the tool of the module in root.
func runMutations(ctx context.Context, root, src string, targets, tests, extra []string, only string, workers, coefficient int, keep, dryRun, sharedServers bool) (result, error) {
	start := time.Now()
	r := result{
		Date: start, Cores: runtime.NumCPU(), Workers: workers, Coefficient: coefficient,
		Gremlins: "go-gremlins " + gremlinsVersion(root), Targets: targets, Tests: tests, Only: only,
	}
	tmp, err := os.MkdirTemp("", "mutate-")
	if err != nil {
		return r, err
	}
	if keep {
		fmt.Println("trimmed copy in", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	copyDir := filepath.Join(tmp, "module")

	pkgs, err := listPackages(src, tests)
	if err != nil {
		return r, err
	}
	pl, err := makePlan(src, pkgs, tests, extra)
	if err != nil {
		return r, err
	}
	if err := copyPlan(src, copyDir, pl); err != nil {
		return r, err
	}
	files, err := goFiles(copyDir)
	if err != nil {
		return r, err
	}
	exclude, err := excludes(files, targets, only)
	if err != nil {
		return r, err
	}
	fmt.Printf("trimmed module: %d packages, tests of %s\n", len(pl.Packages), strings.Join(tests, ", "))

	env, stop, err := testServers(ctx, root, sharedServers)
	if err != nil {
		return r, err
	}
	defer stop()

	cfg := filepath.Join(tmp, "gremlins.yaml")
	if err := os.WriteFile(cfg, []byte("silent: false\n"), 0o644); err != nil {
		return r, err
	}
	output := filepath.Join(tmp, "gremlins.json")
	coverpkg := make([]string, len(targets))
	for i, t := range targets {
		coverpkg[i] = module + "/" + t
	}
	// Not --integration: gremlins tests each mutant against its own
	// package's tests; the survivors then face the rest (runStages).
	args := []string{"tool", "gremlins", "unleash", "--config", cfg,
		"--coverpkg", strings.Join(coverpkg, ","),
		"--workers", fmt.Sprint(workers),
		"--timeout-coefficient", fmt.Sprint(coefficient),
		"--output", output,
	}
	if dryRun {
		args = append(args, "--dry-run")
	}
	for _, e := range exclude {
		args = append(args, "--exclude-files", e)
	}
	args = append(args, copyDir)
	gtmp := filepath.Join(tmp, "gremlins-tmp")
	if err := os.MkdirAll(gtmp, 0o755); err != nil {
		return r, err
	}
	coverage := filepath.Join(tmp, "coverage.out")
	var watch *lineWatcher
	// A failing test in gremlins' baseline run (a flaky one, under load)
	// stops it before any mutant: that run is tried once more.
	for attempt := 1; ; attempt++ {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		// gremlins keeps its coverage profile in its temporary directory
		// until it ends: the watcher copies it out for the hidden mutants
		// (hidden.go).
		cmd.Env = append(slices.Clone(env), "TMPDIR="+gtmp)
		cmd.Stderr = os.Stderr
		watch = &lineWatcher{w: os.Stdout, onBaseline: func() {
			if m, _ := filepath.Glob(filepath.Join(gtmp, "gremlins-*", "coverage")); len(m) == 1 {
				_ = copyFile(m[0], coverage)
			}
		}}
		cmd.Stdout = watch
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = 30 * time.Second
		err := cmd.Run()
		if err == nil {
			break
		}
		if watch.baseline != 0 || attempt == 2 || ctx.Err() != nil {
			return r, fmt.Errorf("gremlins: %w", err)
		}
		fmt.Println("tools/mutate: gremlins' baseline test run failed; trying it once more")
	}
	r.Baseline = watch.baseline
	gf, err := os.Open(output)
	if err != nil {
		return r, fmt.Errorf("gremlins wrote no results: %w", err)
	}
	defer gf.Close()
	r.Mutants, err = readMutants(gf, copyDir)
	if err != nil {
		return r, err
	}

	cf, err := os.Open(coverage)
	if err != nil {
		return r, fmt.Errorf("gremlins' coverage profile was not caught: %w", err)
	}
	prof, err := parseProfile(cf, module)
	cf.Close()
	if err != nil {
		return r, err
	}
	var jobs []stagedJob
	for i := range r.Mutants {
		m := &r.Mutants[i]
		switch m.Status {
		case lived:
			// It survived its own package's tests: now those of the
			// packages built on it.
			jobs = append(jobs, stagedJob{m: m})
		case killed:
			m.KilledBy = byOwn
		case notCovered:
			src, err := os.ReadFile(filepath.Join(copyDir, filepath.FromSlash(m.File)))
			if err != nil {
				return r, err
			}
			h, evaluated, err := hiddenSite(m.File, src, prof, m.Line, m.Col)
			if err != nil {
				return r, err
			}
			if h && evaluated {
				m.Hidden = true
				jobs = append(jobs, stagedJob{m: m, own: true})
			}
		}
	}
	fmt.Printf("\ntools/mutate: %d mutants for the dependents' tests or hidden from coverage\n", len(jobs))
	if dryRun {
		for _, j := range jobs {
			j.m.Status, j.m.Runner = "RUNNABLE", runStaged
		}
	} else {
		limit := time.Duration(coefficient) * r.Baseline
		if limit == 0 {
			return r, errors.New("gremlins' baseline test time was not found in its output")
		}
		if err := runStages(ctx, copyDir, jobs, workers, limit, env, os.Stdout); err != nil {
			return r, err
		}
	}
	r.Took = time.Since(start)
	return r, nil
}

// lineWatcher passes gremlins' output through and notes the baseline:
// "Gathering coverage... done in 1m2.3s".
type lineWatcher struct {
	w          io.Writer
	buf        []byte
	baseline   time.Duration
	onBaseline func()
}

var baselineRE = regexp.MustCompile(`\bdone in (\S+)`)

func (l *lineWatcher) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		if m := baselineRE.FindSubmatch(l.buf[:i]); m != nil && l.baseline == 0 {
			if d, err := time.ParseDuration(string(m[1])); err == nil {
				l.baseline = d
			}
			if l.onBaseline != nil {
				l.onBaseline()
			}
		}
		l.buf = l.buf[i+1:]
	}
	return l.w.Write(p)
}

func gremlinsVersion(root string) string {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/go-gremlins/gremlins")
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		return "(unknown version)"
	}
	return strings.TrimSpace(string(b))
}

func saveJSON(path string, r result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func split(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, filepath.ToSlash(filepath.Clean(x)))
		}
	}
	return out
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutate:", err)
	os.Exit(2)
}
