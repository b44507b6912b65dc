package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// measureSizes builds each bootstrap as sam build does and reports its size.
func measureSizes(ctx context.Context, rep *report, fns []string, dir string, logs io.Writer) error {
	// 12 MiB: the page functions carry html/template (about 2.1 MiB of
	// methods its by-name lookup keeps alive) for the standard library's
	// contextual escaping; a Lambda zip of that size still cold-starts well
	// inside the init budget, which make bench checks separately.
	const limit = 12 << 20
	for _, fn := range fns {
		out := dir + "/" + fn
		cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "build-"+fn, "ARTIFACTS_DIR="+out)
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("make build-%s: %w", fn, err)
		}
		st, err := os.Stat(out + "/bootstrap")
		if err != nil {
			return err
		}
		n := st.Size()
		rep.add("size (linux/arm64)", fn, fmt.Sprintf("%d B = %.2f MiB", n, float64(n)/(1<<20)), "≤ 12 MiB", verdict(n <= limit))
	}
	rep.note("Size: what a binary holds shows with `go tool nm -size -sort size` on a build without `-s -w`. File sizes " +
		"move in 64 KiB steps (each ELF segment is 64 KiB aligned). The page functions render with html/template, whose " +
		"by-name method lookup makes the linker keep every exported method of every type reaching an interface: about 2.1 MiB each.")
	return nil
}

// benchResult is one line of go test -bench -benchmem.
type benchResult struct {
	Name                 string
	NsPerOp              float64
	BytesPerOp, Allocs   int64
	Iterations           int64
	PageTarget, NoTarget bool
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op`)

func parseBench(out []byte) []benchResult {
	var res []benchResult
	for _, l := range strings.Split(string(out), "\n") {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		r := benchResult{Name: strings.TrimPrefix(m[1], "Benchmark")}
		r.Iterations, _ = strconv.ParseInt(m[2], 10, 64)
		r.NsPerOp, _ = strconv.ParseFloat(m[3], 64)
		r.BytesPerOp, _ = strconv.ParseInt(m[4], 10, 64)
		r.Allocs, _ = strconv.ParseInt(m[5], 10, 64)
		res = append(res, r)
	}
	return res
}

// cpuTarget is the brief's target for a benchmark: pages 300 µs, confirms 100 µs.
func cpuTarget(name string) (ns float64, label string) {
	switch {
	case strings.HasPrefix(name, "Success"), strings.HasPrefix(name, "Fail"), strings.HasPrefix(name, "Checkout"):
		return 300_000, "≤ 300 µs (page)"
	case strings.HasPrefix(name, "Confirm"):
		return 100_000, "≤ 100 µs (confirm)"
	}
	return 0, "—"
}

func measureCPU(ctx context.Context, rep *report, benchtime string, logs io.Writer) error {
	out, err := goTest(ctx, logs, "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", benchtime, "./shared/api")
	if err != nil {
		return err
	}
	results := parseBench(out)
	if len(results) == 0 {
		return fmt.Errorf("go test -bench printed no results:\n%s", out)
	}
	for _, r := range results {
		target, label := cpuTarget(r.Name)
		v := "—"
		if target > 0 {
			v = verdict(r.NsPerOp <= target)
		}
		rep.add("warm CPU / request", r.Name, fmt.Sprintf("%.1f µs, %d B, %d allocs", r.NsPerOp/1000, r.BytesPerOp, r.Allocs), label, v)
	}
	return nil
}

// roundTrip is one case of TestRoundTrips: its "roundtrips" attribute.
type roundTrip struct {
	Case                     string
	DynamoDB, SecretsManager int
}

// parseRoundTrips reads the "roundtrips" attributes from go test -json's
// events (test2json's attr action).
func parseRoundTrips(out []byte) ([]roundTrip, error) {
	var res []roundTrip
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var ev struct{ Action, Key, Value string }
		if err := dec.Decode(&ev); err == io.EOF {
			return res, nil
		} else if err != nil {
			return nil, fmt.Errorf("go test -json: %w", err)
		}
		if ev.Action != "attr" || ev.Key != "roundtrips" {
			continue
		}
		var r roundTrip
		if err := json.Unmarshal([]byte(ev.Value), &r); err != nil {
			return nil, fmt.Errorf("roundtrips attribute %q: %w", ev.Value, err)
		}
		res = append(res, r)
	}
}

// roundTripTarget is the brief's target for a case, where it sets one.
func roundTripTarget(c string) (dynamo int, label string) {
	sm := "SM ≤ 1 per environment"
	switch {
	case strings.HasPrefix(c, "first confirm (POST"), strings.HasPrefix(c, "first confirm (GET"):
		return 2, "2 DynamoDB, " + sm
	case strings.HasPrefix(c, "repeat of a finished confirm"), strings.HasPrefix(c, "refresh of a finished"):
		return 1, "1 DynamoDB, " + sm
	}
	return -1, sm
}

func measureRoundTrips(ctx context.Context, rep *report, logs io.Writer) error {
	out, err := goTest(ctx, logs, "-count=1", "-run", "^TestRoundTrips$", "-json", "./shared/api")
	if err != nil {
		return err
	}
	rts, err := parseRoundTrips(out)
	if err != nil {
		return err
	}
	if len(rts) == 0 {
		return fmt.Errorf("TestRoundTrips printed no counts:\n%s", out)
	}
	for _, r := range rts {
		want, label := roundTripTarget(r.Case)
		ok := r.SecretsManager <= 1 && (want < 0 || r.DynamoDB == want)
		rep.add("round trips (awstest.Calls)", r.Case, fmt.Sprintf("DynamoDB %d, Secrets Manager %d", r.DynamoDB, r.SecretsManager), label, verdict(ok))
	}
	rep.note("Round trips: each case starts a fresh execution environment (shared/app wiring, as in main.go) over DynamoDB Local and moto_server's Secrets Manager; " +
		"\"warm keys\" cases reuse the environment of the case before. TestRoundTrips asserts every count in make test.")
	return nil
}

// goTest runs go test and returns its output; a failure carries the output.
func goTest(ctx context.Context, logs io.Writer, args ...string) ([]byte, error) {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", append([]string{"test"}, args...)...)
	cmd.Stdout = io.MultiWriter(&buf, logs)
	cmd.Stderr = io.MultiWriter(&buf, logs)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test %s: %w\n%s", strings.Join(args, " "), err, tail(buf.String(), 40))
	}
	return buf.Bytes(), nil
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
