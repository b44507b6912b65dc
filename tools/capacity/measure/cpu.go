package measure

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is Linux's USER_HZ, the unit of /proc's CPU times (100 on
// every architecture Go supports there).
const clockTicks = 100

// motoCPU is the CPU time, in seconds, used so far by the moto_server this
// process started (its child; moto runs Python under one interpreter lock,
// so a second a second is moto saturated). ok is false when there is none.
func motoCPU() (seconds float64, ok bool) {
	self := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
		if open < 0 || end < open {
			continue
		}
		comm := string(raw[open+1 : end])
		f := strings.Fields(string(raw[end+1:]))
		// After the command: state, ppid, …, utime (14th field of the
		// line), stime (15th).
		if len(f) < 13 || f[1] != self || !strings.HasPrefix(comm, "moto_server") {
			continue
		}
		u, _ := strconv.ParseFloat(f[11], 64)
		s, _ := strconv.ParseFloat(f[12], 64)
		return (u + s) / clockTicks, true
	}
	return 0, false
}

// machineCPU is the machine's busy and total CPU time so far, in ticks,
// everyone's work included.
func machineCPU() (busy, total float64) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		total += x
		if i != 3 && i != 4 { // idle, iowait
			busy += x
		}
	}
	return busy, total
}
