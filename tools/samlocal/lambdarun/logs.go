package lambdarun

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// logPipe carries one output stream of an RIE process (and of the bootstrap
// it runs, which inherits it) to its destination, line by line. The layer
// keeps its own copy of the write end so that it can
// put a marker into the stream: everything the process wrote before it
// answered lies ahead of the marker in the pipe, so once the reader reaches
// the marker, the invocation's log lines are out. That keeps each
// invocation's lines before its END/REPORT lines, as in CloudWatch, and lets
// a test read the logs of an invocation as soon as Invoke returns.
type logPipe struct {
	r, w *os.File
	lw   *lineWriter
	done chan struct{} // reader reached EOF

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]chan struct{}
}

// syncMarker starts a marker; NUL bytes never appear in text logs.
var syncMarker = []byte("\x00lambdarun-sync:")

// syncWait bounds a marker's trip, should a stray writer wedge the pipe.
const syncWait = 2 * time.Second

// newLogPipe starts the pipe's reader; hook, when set, sees every complete
// line (without prefix) before it is forwarded.
func newLogPipe(dst io.Writer, prefix []byte, hook func(line []byte)) (*logPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("lambdarun: log pipe: %w", err)
	}
	p := &logPipe{r: r, w: w, done: make(chan struct{}), pending: map[uint64]chan struct{}{}}
	p.lw = &lineWriter{dst: dst, prefix: prefix, synced: p.synced, hook: hook}
	go p.read()
	return p, nil
}

func (p *logPipe) read() {
	defer close(p.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := p.r.Read(buf)
		if n > 0 {
			p.lw.write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	p.lw.flush()
	_ = p.r.Close()
	p.mu.Lock()
	for seq, ch := range p.pending {
		close(ch)
		delete(p.pending, seq)
	}
	p.mu.Unlock()
}

// sync returns once everything written to the pipe so far has been forwarded.
func (p *logPipe) sync() {
	p.mu.Lock()
	p.seq++
	seq := p.seq
	ch := make(chan struct{})
	p.pending[seq] = ch
	p.mu.Unlock()
	marker := append(append(bytes.Clone(syncMarker), strconv.FormatUint(seq, 10)...), 0)
	if _, err := p.w.Write(marker); err != nil {
		p.synced(seq)
	}
	timer := time.NewTimer(syncWait)
	defer timer.Stop()
	select {
	case <-ch:
	case <-p.done:
	case <-timer.C:
	}
}

func (p *logPipe) synced(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch, ok := p.pending[seq]; ok {
		close(ch)
		delete(p.pending, seq)
	}
}

// close releases the emulator's write end once the process has exited and
// waits for the reader to drain what is left.
func (p *logPipe) close() {
	_ = p.w.Close()
	timer := time.NewTimer(syncWait)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		// A bootstrap that outlived its RIE still holds the pipe: stop
		// reading rather than hang.
		_ = p.r.Close()
		<-p.done
	}
}

// outMu serialises whole lines across every process and function writing to
// shared terminals, so lines never interleave mid-way.
var outMu sync.Mutex

func writeLine(w io.Writer, line []byte) {
	outMu.Lock()
	defer outMu.Unlock()
	_, _ = w.Write(line)
}

// lineWriter forwards complete lines with an optional prefix and takes sync
// markers out of the stream. Only the pipe's reader goroutine calls it.
type lineWriter struct {
	dst    io.Writer
	prefix []byte
	buf    []byte
	synced func(seq uint64)
	hook   func(line []byte)
}

func (w *lineWriter) write(p []byte) {
	w.buf = append(w.buf, p...)
	for {
		m := bytes.Index(w.buf, syncMarker)
		nl := bytes.IndexByte(w.buf, '\n')
		if m >= 0 && (nl < 0 || m < nl) {
			rest := w.buf[m+len(syncMarker):]
			end := bytes.IndexByte(rest, 0)
			if end < 0 {
				break // the marker's end is still in the pipe
			}
			seq, _ := strconv.ParseUint(string(rest[:end]), 10, 64)
			if m > 0 {
				// A line the invocation left without its newline (its
				// process exited mid-line) is its last: end it here, or
				// RIE's next START would be glued to it.
				w.emit(append(bytes.Clone(w.buf[:m]), '\n'))
			}
			w.buf = append(w.buf[:0], rest[end+1:]...)
			w.synced(seq)
			continue
		}
		if nl < 0 {
			break
		}
		w.emit(w.buf[:nl+1])
		w.buf = w.buf[nl+1:]
	}
	// A runaway line without newline still reaches the terminal.
	if len(w.buf) > 64<<10 && !bytes.Contains(w.buf, syncMarker) {
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
}

func (w *lineWriter) emit(line []byte) {
	if w.hook != nil {
		w.hook(bytes.TrimRight(line, "\r\n"))
	}
	out := make([]byte, 0, len(w.prefix)+len(line))
	out = append(out, w.prefix...)
	out = append(out, line...)
	writeLine(w.dst, out)
}

// flush writes a last line that had no newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
}
