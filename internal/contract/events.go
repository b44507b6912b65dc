package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// EventsDir holds one JSON schema (draft-04, EventBridge's schema registry
// format) per detail-type of the order events: the one source the
// template's registry, the Go types and the merchants' code bindings
// follow.
func EventsDir() string { return filepath.Join(Root(), "docs", "events") }

// EventSchema is one schema of docs/events.
type EventSchema struct {
	File       string         // its file name
	DetailType string         // x-amazon-events-detail-type
	Source     string         // x-amazon-events-source
	Doc        map[string]any // the schema as read
	schema     *jsonschema.Schema
}

// Events is docs/events compiled, with the events checked against it.
type Events struct {
	ByType map[string]*EventSchema

	mu   sync.Mutex
	seen map[string]int
}

// LoadEvents reads and compiles every schema in docs/events.
func LoadEvents() (*Events, error) {
	files, err := filepath.Glob(filepath.Join(EventsDir(), "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no event schemas in %s (%v)", EventsDir(), err)
	}
	ev := &Events{ByType: map[string]*EventSchema{}, seen: map[string]int{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		url := "file://" + filepath.ToSlash(f)
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("%s is not a valid JSON schema: %w", f, err)
		}
		m, _ := doc.(map[string]any)
		dt, _ := m["x-amazon-events-detail-type"].(string)
		src, _ := m["x-amazon-events-source"].(string)
		if dt == "" || src == "" {
			return nil, fmt.Errorf("%s names no x-amazon-events-detail-type or x-amazon-events-source", f)
		}
		if prev, dup := ev.ByType[dt]; dup {
			return nil, fmt.Errorf("%s and %s both describe %q", prev.File, filepath.Base(f), dt)
		}
		ev.ByType[dt] = &EventSchema{File: filepath.Base(f), DetailType: dt, Source: src, Doc: m, schema: sch}
	}
	return ev, nil
}

// Check validates one event as EventBridge hands it to a rule's target
// against its detail-type's schema.
func (e *Events) Check(event []byte) error {
	var head struct {
		DetailType string `json:"detail-type"`
		ID         string `json:"id"`
	}
	if err := json.Unmarshal(event, &head); err != nil {
		return fmt.Errorf("an event that is not JSON: %w", err)
	}
	s, ok := e.ByType[head.DetailType]
	if !ok {
		return fmt.Errorf("event %s: detail-type %q has no schema in docs/events", head.ID, head.DetailType)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("event %s: %w", head.ID, err)
	}
	if err := s.schema.Validate(v); err != nil {
		return fmt.Errorf("event %s (%s) does not match docs/events/%s: %w", head.ID, head.DetailType, s.File, err)
	}
	e.mu.Lock()
	e.seen[head.DetailType]++
	e.mu.Unlock()
	return nil
}

// Unseen lists the detail-types no checked event had.
func (e *Events) Unseen() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for dt := range e.ByType {
		if e.seen[dt] == 0 {
			out = append(out, dt)
		}
	}
	sort.Strings(out)
	return out
}
