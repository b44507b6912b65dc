package record

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"sync"

	"github.com/tossintl/backend/tools/capacity/model"
)

// Durations is the stack's Logs writer: it passes every line on to Next
// and takes each invocation's duration from RIE's REPORT line
// ("[Fn] REPORT RequestId: …\tDuration: 12.34 ms\t…"), as Lambda's
// CloudWatch REPORT line gives it.
type Durations struct {
	Next io.Writer // nil discards

	mu        sync.Mutex
	buf       []byte
	recording bool
	inv       []model.Invocation
}

// "Init Duration" comes first on some lines: the tab before Duration tells them apart.
var reportLine = regexp.MustCompile(`^\[([A-Za-z0-9]+)\] REPORT RequestId: \S+\t(?:.*\t)?Duration: ([0-9.]+) ms`)

// SetRecording turns the collection of durations on or off.
func (d *Durations) SetRecording(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recording = on
}

// Write implements io.Writer.
func (d *Durations) Write(p []byte) (int, error) {
	d.mu.Lock()
	d.buf = append(d.buf, p...)
	for {
		i := bytes.IndexByte(d.buf, '\n')
		if i < 0 {
			break
		}
		line := d.buf[:i]
		if m := reportLine.FindSubmatch(line); m != nil && d.recording {
			if ms, err := strconv.ParseFloat(string(m[2]), 64); err == nil {
				d.inv = append(d.inv, model.Invocation{Function: string(m[1]), DurationMs: ms})
			}
		}
		d.buf = d.buf[i+1:]
	}
	d.mu.Unlock()
	if d.Next != nil {
		return d.Next.Write(p)
	}
	return len(p), nil
}

// Invocations are the durations collected so far (a copy).
func (d *Durations) Invocations() []model.Invocation {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]model.Invocation(nil), d.inv...)
}

// Reset forgets them.
func (d *Durations) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inv = nil
}
