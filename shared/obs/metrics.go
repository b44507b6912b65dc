package obs

import (
	"encoding/json"
	"io"
	"os"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every metric this product emits.
const Namespace = "TossIntl"

// Metrics writes CloudWatch Embedded Metric Format lines: CloudWatch turns
// each into a metric data point with no API call from the function.
type Metrics struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	now      func() time.Time
}

// NewMetrics writes EMF lines for function to w (os.Stdout when nil).
func NewMetrics(w io.Writer, function string) *Metrics {
	if w == nil {
		w = os.Stdout
	}
	return &Metrics{w: w, function: function, now: time.Now}
}

// Unit is a CloudWatch metric unit.
type Unit string

// Units used here.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

type emfMetric struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Put emits one metric value with the Function dimension plus dims.
func (m *Metrics) Put(name string, value float64, unit Unit, dims map[string]string) {
	if m == nil {
		return
	}
	doc := make(map[string]any, 3+len(dims))
	keys := make([]string, 0, 1+len(dims))
	keys = append(keys, "Function")
	doc["Function"] = m.function
	for k, v := range dims {
		keys = append(keys, k)
		doc[k] = v
	}
	doc[name] = value
	doc["_aws"] = emfMeta{
		Timestamp: m.now().UnixMilli(),
		CloudWatchMetrics: []emfDirective{{
			Namespace:  Namespace,
			Dimensions: [][]string{keys},
			Metrics:    []emfMetric{{Name: name, Unit: unit}},
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(append(line, '\n'))
}

// ConfirmOutcome counts one confirm by outcome (done, declined,
// amount_mismatch, in_progress, unknown, …).
func (m *Metrics) ConfirmOutcome(outcome string) {
	m.Put("ConfirmOutcome", 1, Count, map[string]string{"Outcome": outcome})
}

// Latency records how long a request took.
func (m *Metrics) Latency(d time.Duration) {
	m.Put("Latency", float64(d.Microseconds())/1000, Milliseconds, nil)
}
