package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tossintl/backend/tools/awsproxy"
)

// The local stack serves EventBridge's PutEvents itself, as a hook of its
// AWS proxy, rather than through moto's own events service: what a
// developer needs to see is each event as a rule's target would receive
// it, one JSON line in the log and, with LOCAL_EVENTS_URL, POSTed to their
// own endpoint, as the stack's API destination does in AWS. moto would
// store the events with nowhere to deliver them locally, and could not be
// told to refuse some entries (FailedEntryCount), which the functions must
// survive.

// BusEvent is one event put on one of the template's buses, as EventBridge
// hands it to a rule's target.
type BusEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	Bus        string          `json:"-"` // the bus's name
}

// bus is the stack's EventBridge: the template's buses, the events put on
// them, and where they go.
type bus struct {
	names   map[string]string // bus name or ARN → name
	target  string            // LOCAL_EVENTS_URL; "" for none
	redact  func([]byte) []byte
	logs    io.Writer
	client  *http.Client
	mu      sync.Mutex
	events  []BusEvent
	refuse  int // the next n entries are refused (FailPutEvents)
	wg      sync.WaitGroup
	stopped bool
}

// newBus knows the template's AWS::Events::EventBus resources.
func (s *Stack) newBus(target string, redact func([]byte) []byte) *bus {
	b := &bus{names: map[string]string{}, target: target, redact: redact, logs: s.logs, client: &http.Client{Timeout: 5 * time.Second}}
	for _, id := range slices.Sorted(maps.Keys(s.Template.Resources)) {
		if s.Template.Resources[id].Type != TypeEventBus {
			continue
		}
		name := s.Resolver.names[id]
		b.names[name], b.names[EventBusARN(name)] = name, name
	}
	return b
}

// EventBusARN is the local ARN of the bus named name.
func EventBusARN(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", Region, AccountID, name)
}

// hook serves PutEvents and passes every other call on.
func (b *bus) hook(c *awsproxy.Call, next awsproxy.Next) *awsproxy.Answer {
	if c.Service != awsproxy.Events || c.Op != "PutEvents" {
		return next(c)
	}
	return b.putEvents(c)
}

type putEventsEntry struct {
	EventBusName string
	Source       string
	DetailType   string
	Detail       string
	Resources    []string
	Time         *float64 // epoch seconds, as the SDK sends timestamps in JSON 1.1
}

type putEventsResult struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

// PutEvents' limits in AWS: 1 to 10 entries a call, and entries of at most
// 256 KB together (so each of them too), counted as entrySize counts.
const (
	maxPutEventsEntries = 10
	maxPutEventsBytes   = 256 << 10
)

// entrySize is an entry's size as EventBridge counts it against the
// limit: 14 bytes for a Time, the UTF-8 bytes of Source, DetailType,
// Detail and each of Resources (not EventBusName, nor JSON's own quoting).
func entrySize(e putEventsEntry) int {
	n := len(e.Source) + len(e.DetailType) + len(e.Detail)
	if e.Time != nil {
		n += 14
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

func (b *bus) putEvents(c *awsproxy.Call) *awsproxy.Answer {
	var in struct{ Entries []putEventsEntry }
	if err := json.Unmarshal(c.Body, &in); err != nil || len(in.Entries) == 0 || len(in.Entries) > maxPutEventsEntries {
		// EventBridge refuses the whole call; nothing is put.
		return awsproxy.Error(http.StatusBadRequest, "1.1", "ValidationException", fmt.Sprintf("PutEvents takes 1 to %d entries", maxPutEventsEntries))
	}
	size := 0
	for _, e := range in.Entries {
		size += entrySize(e)
	}
	if size > maxPutEventsBytes {
		return awsproxy.Error(http.StatusBadRequest, "1.1", "ValidationException",
			fmt.Sprintf("Total size of the entries in the request is over the limit (%d bytes, at most %d).", size, maxPutEventsBytes))
	}
	out := struct {
		FailedEntryCount int
		Entries          []putEventsResult
	}{Entries: make([]putEventsResult, len(in.Entries))}
	var put []BusEvent
	for i, e := range in.Entries {
		ev, code, msg := b.accept(e)
		if code != "" {
			out.FailedEntryCount++
			out.Entries[i] = putEventsResult{ErrorCode: code, ErrorMessage: msg}
			continue
		}
		out.Entries[i] = putEventsResult{EventID: ev.ID}
		put = append(put, ev)
	}
	for _, ev := range put {
		b.deliver(ev)
	}
	return awsproxy.JSON("1.1", out)
}

// accept checks one entry as EventBridge does and records it, or says why not.
func (b *bus) accept(e putEventsEntry) (BusEvent, string, string) {
	name, ok := b.names[e.EventBusName]
	if !ok {
		return BusEvent{}, "NotAuthorizedForResourceException", fmt.Sprintf("no event bus %q in the template", e.EventBusName)
	}
	var detail map[string]any
	if e.Source == "" || e.DetailType == "" || json.Unmarshal([]byte(e.Detail), &detail) != nil || detail == nil {
		return BusEvent{}, "MalformedDetail", "an entry needs a Source, a DetailType and a Detail that is a JSON object"
	}
	at := time.Now().UTC()
	if e.Time != nil {
		sec, frac := math.Modf(*e.Time)
		at = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	ev := BusEvent{Version: "0", ID: hex.EncodeToString(id[:]), DetailType: e.DetailType, Source: e.Source, Account: AccountID,
		Time: at.Format(time.RFC3339), Region: Region, Resources: append([]string{}, e.Resources...), Detail: json.RawMessage(e.Detail), Bus: name}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refuse > 0 {
		b.refuse--
		return BusEvent{}, "InternalFailure", "refused by FailPutEvents"
	}
	b.events = append(b.events, ev)
	return ev, "", ""
}

// deliver logs the event as one JSON line (the log is CloudWatch's
// stand-in), through Options.RedactBusLog, and POSTs it whole to
// LOCAL_EVENTS_URL, as the API destination sends it to the merchant.
func (b *bus) deliver(ev BusEvent) {
	line, err := json.Marshal(struct {
		BusEvent
		EventBus string `json:"eventBus"`
	}{ev, ev.Bus})
	if err != nil {
		return
	}
	if b.redact != nil {
		line = b.redact(line)
	}
	fmt.Fprintf(&prefixWriter{w: b.logs, prefix: "[EventBridge] "}, "%s\n", line)
	if b.target == "" {
		return
	}
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return
	}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		b.post(ev)
	}()
}

// post sends ev to the target, retrying a few times as an API destination
// would (EventBridge retries 5xx, 429 and unreachable endpoints).
func (b *bus) post(ev BusEvent) {
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	var last string
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, b.target, bytes.NewReader(body))
		if err != nil {
			last = err.Error()
			break
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp, err := b.client.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return
		}
		last = resp.Status
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			break
		}
	}
	fmt.Fprintf(&prefixWriter{w: b.logs, prefix: "[EventBridge] "}, "event %s (%s) not delivered to LOCAL_EVENTS_URL: %s\n", ev.ID, ev.DetailType, last)
}

// close waits for the POSTs under way.
func (b *bus) close() error {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.wg.Wait()
	return nil
}

// BusEvents are the events put on the stack's buses so far, in order (a copy).
func (s *Stack) BusEvents() []BusEvent {
	if s.bus == nil {
		return nil
	}
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return slices.Clone(s.bus.events)
}

// FailPutEvents makes the stack's EventBridge refuse the next n entries
// put on it (ErrorCode InternalFailure, counted in FailedEntryCount), as
// EventBridge may under load.
func (s *Stack) FailPutEvents(n int) {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.bus.refuse = n
}
