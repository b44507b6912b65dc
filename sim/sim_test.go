package sim

import (
	"flag"
	"runtime"
	"strings"
	"testing"
)

var schedules = flag.Int("schedules", 5000, "seeded schedules TestSchedules runs")

// TestSchedules simulates every change: a few thousand seeded schedules
// over the real engine and store, each checked after every step.
func TestSchedules(t *testing.T) {
	n := *schedules
	if testing.Short() {
		n /= 10
	}
	sum := RunMany(1, n, runtime.GOMAXPROCS(0), 1)
	if len(sum.Failures) > 0 {
		f := sum.Failures[0]
		lines := strings.Split(strings.TrimRight(f.Trace, "\n"), "\n")
		t.Fatalf("seed %d violates: %s\n(replay: make simulate SEED=%d)\nlast steps:\n%s",
			f.Seed, f.Violation, f.Seed, strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
	t.Logf("%d schedules, %d steps, no violation", sum.Schedules, sum.Steps)
}

// TestDeterministic: a seed is its schedule. If this fails, something in
// the engine or the simulator draws on real time, map order or a shared
// random source, and a failing seed could not be replayed.
func TestDeterministic(t *testing.T) {
	for _, seed := range []uint64{1, 7, 45629, 99991} {
		a, b := Run(seed, true), Run(seed, true)
		if a.Trace != b.Trace || a.Violation != b.Violation {
			t.Errorf("seed %d: two runs differ", seed)
		}
		if a.Steps == 0 {
			t.Errorf("seed %d: no step taken", seed)
		}
	}
}

var actorNames = []string{":confirm(", ":refresh(", ":refund#", ":retry#", ":reconcile", ":webhook(", ":delete(", ":forged(", "dashboard", "other server", "clock",
	"Idempotency.Lock", "Idempotency.Complete", "Idempotency.Release", "(replayed true)"}

// TestFaultsInjected guards against a simulator that quietly stops
// biting: across a few hundred schedules every fault must be drawn, and
// every kind of actor must run.
func TestFaultsInjected(t *testing.T) {
	seen := map[string]bool{}
	for seed := uint64(1); seed <= 300; seed++ {
		for _, line := range strings.Split(Run(seed, true).Trace, "\n") {
			for _, f := range faultNames[1:] {
				if strings.Contains(line, "["+f+"]") {
					seen[f] = true
				}
			}
			for _, a := range actorNames {
				if strings.Contains(line, a) {
					seen[a] = true
				}
			}
		}
	}
	for _, want := range append(faultNames[1:], actorNames...) {
		if !seen[want] {
			t.Errorf("no schedule in 300 shows %q", want)
		}
	}
}

// TestFoundBugs replays the seeds of bugs the simulator found, each fixed:
// they must hold for good.
//
//   - 131886, 548328, 692323: a webhook whose Complete was refused because
//     the approval had been recorded meanwhile (from an older lookup, or a
//     write whose answer was lost) dropped the refunds Toss's newer record
//     carried, and the order stayed DONE while Toss showed it refunded.
//   - 3865 (21150 since forged redirects joined the mix, which moved
//     every later schedule): the merchant deleted a FAILED order for which
//     Toss held a payment approved by another server with our secret key,
//     while the order was claimed for a declined attempt: a paid order
//     lost (payments.Engine.Delete now asks Toss first).
//   - 88758 (91423 now): that delete read the order CONFIRMING (no lookup
//     needed) and deleted it FAILED, after another server's approval
//     (orders.Store.Delete now applies only to the version read).
//
// A seed replays the schedule of the simulator it was found with; when the
// mix of events changes, the seed that reproduces a bug moves, so both are
// kept.
func TestFoundBugs(t *testing.T) {
	for _, seed := range []uint64{131886, 548328, 692323, 3865, 21150, 88758, 91423} {
		if r := Run(seed, true); r.Violation != "" {
			lines := strings.Split(strings.TrimRight(r.Trace, "\n"), "\n")
			t.Errorf("seed %d violates: %s\nlast steps:\n%s", seed, r.Violation, strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	}
}
