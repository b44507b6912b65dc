// Command capacity runs a scripted checkout mix through the local stack
// while recording every DynamoDB request, computes from those requests the
// read and write units each partition key takes per completed checkout and
// the hottest key's load at a target rate, what else that rate needs
// (Lambda concurrency, Secrets Manager and Toss calls) and what 1,000
// checkouts use, runs a short local load test, and writes it all to
// docs/capacity.md (`make capacity`).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tossintl/backend/tools/capacity/measure"
	"github.com/tossintl/backend/tools/capacity/mix"
	"github.com/tossintl/backend/tools/capacity/model"
	"github.com/tossintl/backend/tools/capacity/report"
)

type options struct {
	out, saveRun, fromRun, mixSpec, loadRates, logPath, cpuProfile string
	rate                                                           float64
	checkouts, concurrency, timed                                  int
	loadStep, tossLatency                                          time.Duration
	noLoad                                                         bool
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "docs/capacity.md", "write the doc here (empty: stdout)")
	flag.Float64Var(&o.rate, "rate", 2000, "target rate, completed checkouts a second")
	flag.IntVar(&o.checkouts, "checkouts", 200, "completed checkouts in the recorded run")
	flag.IntVar(&o.concurrency, "concurrency", 4, "buyers at a time in the recorded run")
	flag.IntVar(&o.timed, "timed", 30, "checkouts of the timed run (one at a time, recorder off) that the functions' durations come from")
	flag.StringVar(&o.mixSpec, "mix", "", "shares per checkout, e.g. creations=5,declines=0.1,refreshes=1,confirms=1,refunds=0.05,lists=0.1,reconciles=0.01 (unset ones keep their default)")
	flag.StringVar(&o.loadRates, "load-rates", "4,8,12,16,20,24,28,32,40,48,64", "load run: checkouts a second offered, in turn")
	flag.DurationVar(&o.tossLatency, "toss-latency", 0, "the timed run: Toss's latency, added by the sandbox to every API call (0: the sandbox answers at once)")
	flag.DurationVar(&o.loadStep, "load-step", 8*time.Second, "load run: length of each rate's step")
	flag.BoolVar(&o.noLoad, "no-load", false, "skip the local load run")
	flag.StringVar(&o.saveRun, "save-run", "", "also write the recorded run (JSON) here, e.g. for a testdata sample")
	flag.StringVar(&o.fromRun, "from-run", "", "compute from a recorded run (JSON) instead of running the stack")
	flag.StringVar(&o.logPath, "log", "", "write the stack's logs here (default: a temporary file, named on failure)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of this process (the API router, the AWS proxy, the sandbox, the buyers) during the load run here (go tool pprof)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "capacity:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	shares, err := parseMix(o.mixSpec)
	if err != nil {
		return err
	}
	if o.rate <= 0 {
		return fmt.Errorf("-rate %g: a positive rate", o.rate)
	}
	in := report.Input{Generated: time.Now(), TossLatency: o.tossLatency, Command: "go run ./tools/capacity " + strings.Join(os.Args[1:], " "),
		StepLength: o.loadStep,
		Host:       fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())}
	if o.fromRun != "" {
		raw, err := os.ReadFile(o.fromRun)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &in.Run); err != nil {
			return fmt.Errorf("%s: %w", o.fromRun, err)
		}
	} else if err := measureStack(ctx, o, shares, &in); err != nil {
		return err
	}
	if in.Figures, err = model.Compute(in.Run, o.rate); err != nil {
		return err
	}
	var doc bytes.Buffer
	if err := report.Write(&doc, in); err != nil {
		return err
	}
	if o.out == "" {
		_, err := os.Stdout.Write(doc.Bytes())
		return err
	}
	if err := os.WriteFile(o.out, doc.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "capacity: wrote", o.out)
	return nil
}

func measureStack(ctx context.Context, o options, shares mix.Shares, in *report.Input) (err error) {
	var logs io.Writer
	if o.logPath == "" {
		f, ferr := os.CreateTemp("", "tossintl-capacity-*.log")
		if ferr != nil {
			return ferr
		}
		defer func() {
			f.Close()
			if err != nil {
				fmt.Fprintln(os.Stderr, "capacity: the stack's logs are in", f.Name())
			} else {
				os.Remove(f.Name())
			}
		}()
		logs = f
	} else {
		f, ferr := os.Create(o.logPath)
		if ferr != nil {
			return ferr
		}
		defer f.Close()
		logs = f
	}
	// The stack's reverse proxies log to the standard logger (a request
	// cut off as the stack stops): into the log file with the rest.
	log.SetOutput(logs)
	progress := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "capacity: "+format+"\n", args...) }
	mo := measure.Options{Checkouts: o.checkouts, Concurrency: o.concurrency, Shares: shares, Logs: logs, Progress: progress}
	progress("starting the local stack (builds what is stale)")
	s, err := measure.Start(ctx, mo)
	if err != nil {
		return err
	}
	defer s.Close()
	progress("recorded run: %d checkouts, %d buyers at a time", o.checkouts, o.concurrency)
	if in.Run, err = s.Record(ctx, mo); err != nil {
		return err
	}
	progress("timed run: %d checkouts one at a time, recorder off", o.timed)
	if in.Run.Timings, err = s.Timings(ctx, o.timed, shares, o.tossLatency); err != nil {
		return err
	}
	if o.saveRun != "" {
		raw, err := json.MarshalIndent(in.Run, "", " ")
		if err != nil {
			return err
		}
		// The orders hold the sandbox's paymentKeys: none leaves in a
		// saved run. Masked to the same length, so every size is kept.
		raw = paymentKey.ReplaceAllFunc(raw, func(k []byte) []byte {
			return append([]byte("tgen_"), bytes.Repeat([]byte("x"), len(k)-len("tgen_"))...)
		})
		if err := os.WriteFile(o.saveRun, raw, 0o644); err != nil {
			return err
		}
	}
	if o.noLoad {
		return nil
	}
	rates, err := parseRates(o.loadRates)
	if err != nil {
		return err
	}
	in.Background = measure.Background(ctx, 3*time.Second)
	progress("load run (the machine was %.0f%% busy with the stack idle)", 100*in.Background)
	load := shares
	load.Creations, load.Reconciles = 1, 0
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
	}
	in.Steps, err = s.Load(ctx, rates, o.loadStep, load)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	progress("measuring DynamoDB Local's own ceiling")
	in.DynamoDBCeiling, err = s.DynamoDBCeiling(ctx, 3*time.Second)
	return err
}

// paymentKey is a key as the sandbox issues them (Toss's test keys' shape).
var paymentKey = regexp.MustCompile(`tgen_[A-Za-z0-9]+`)

// parseMix reads "name=value,…" over the default shares.
func parseMix(spec string) (mix.Shares, error) {
	s := mix.DefaultShares
	fields := map[string]*float64{"creations": &s.Creations, "declines": &s.Declines, "refreshes": &s.Refreshes,
		"confirms": &s.Confirms, "refunds": &s.Refunds, "lists": &s.Lists, "reconciles": &s.Reconciles}
	for _, kv := range strings.Split(spec, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		p, known := fields[strings.TrimSpace(name)]
		if !ok || !known {
			return s, fmt.Errorf("-mix: %q is not name=value with a name of creations, declines, refreshes, confirms, refunds, lists, reconciles", kv)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return s, fmt.Errorf("-mix %s: %w", name, err)
		}
		*p = v
	}
	return s, s.Check()
}

func parseRates(spec string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(spec, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("-load-rates: %q is not a positive rate", f)
		}
		out = append(out, v)
	}
	return out, nil
}
