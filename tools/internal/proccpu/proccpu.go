// Package proccpu is a whole-stack CPU profile by process: how much CPU
// this process and each of its descendants (the functions' bootstraps,
// aws-lambda-rie, DynamoDB Local's JVM, moto_server) used over a span, by
// what they are. A load run's bottleneck is the process that holds the
// cores, and on the local stack that is rarely the one whose queue grows.
package proccpu

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Self names this process's own group.
const Self = "self"

// Snapshot is the CPU seconds used so far by each live process under this
// one (and this one), and when it was taken.
type Snapshot struct {
	At    time.Time
	procs map[int]used
}

type used struct {
	group string
	cpu   float64
}

// Take reads /proc.
func Take() Snapshot {
	s := Snapshot{At: time.Now(), procs: map[int]used{}}
	self := os.Getpid()
	type proc struct {
		ppid int
		comm string
		cpu  float64
	}
	procs := map[int]proc{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(raw[end+1:]))
		// After the command: state, ppid, …, utime (the line's 14th
		// field), stime (15th), in USER_HZ ticks (100 wherever Go runs Linux).
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		u, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		procs[pid] = proc{ppid: ppid, comm: string(raw[open+1 : end]), cpu: (u + st) / 100}
	}
	under := func(pid int) bool {
		for i := 0; i < 64 && pid > 1; i++ {
			if pid == self {
				return true
			}
			pid = procs[pid].ppid
		}
		return false
	}
	for pid, p := range procs {
		if !under(pid) {
			continue
		}
		g := Group(p.comm)
		if pid == self {
			g = Self
		}
		s.procs[pid] = used{group: g, cpu: p.cpu}
	}
	return s
}

// Group names a process by its command: the stack's kinds of process.
func Group(comm string) string {
	switch {
	case comm == "bootstrap":
		return "bootstraps"
	case strings.HasPrefix(comm, "aws-lambda-rie"):
		return "aws-lambda-rie"
	case comm == "java":
		return "DynamoDB Local"
	case strings.HasPrefix(comm, "moto_server"), strings.HasPrefix(comm, "python"):
		return "moto_server"
	}
	return comm
}

// Share is one group's CPU over a span.
type Share struct {
	Group   string
	Seconds float64
	Cores   float64 // Seconds over the span's wall time
}

// Since is each group's CPU between before and s, busiest first: each
// live process's CPU since before, or since it started if it started in
// between. A process that ended in between is missing (its parent reaps
// its time into figures /proc does not split by child).
func (s Snapshot) Since(before Snapshot) []Share {
	wall := s.At.Sub(before.At).Seconds()
	if wall <= 0 {
		return nil
	}
	groups := map[string]float64{}
	for pid, u := range s.procs {
		groups[u.group] += max(0, u.cpu-before.procs[pid].cpu)
	}
	var out []Share
	for g, v := range groups {
		if v > 0 {
			out = append(out, Share{Group: g, Seconds: v, Cores: v / wall})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seconds > out[j].Seconds })
	return out
}

// Format lists shares as "bootstraps 0.62 cores, DynamoDB Local 0.31, …".
func Format(shares []Share, selfName string) string {
	var parts []string
	for _, sh := range shares {
		if sh.Cores < 0.005 {
			break // busiest first: the rest round to nothing
		}
		name := sh.Group
		if name == Self {
			name = selfName
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", name, sh.Cores))
	}
	return strings.Join(parts, ", ")
}
