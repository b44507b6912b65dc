package obs

import (
	"encoding/json"
	"io"
	"os"
	"slices"
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
	m.put(name, value, unit, dims, false)
}

// put emits one metric value with the Function dimension plus dims; with
// rollup, also under Function alone, so that an alarm can watch the total
// without naming every value of dims (EMF makes one data point per
// dimension set of the line).
func (m *Metrics) put(name string, value float64, unit Unit, dims map[string]string, rollup bool) {
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
	slices.Sort(keys[1:]) // the same line for the same dims, whatever the map's order
	sets := [][]string{keys}
	if rollup && len(keys) > 1 {
		sets = [][]string{{"Function"}, keys}
	}
	doc[name] = value
	doc["_aws"] = emfMeta{
		Timestamp: m.now().UnixMilli(),
		CloudWatchMetrics: []emfDirective{{
			Namespace:  Namespace,
			Dimensions: sets,
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

// Metric names the alarms in template.yaml watch.
const (
	MetricTossConfigurationErrors = "TossConfigurationErrors"
	MetricTossAPIVersionMismatch  = "TossApiVersionMismatch"
	MetricPaymentFailRedirects    = "PaymentFailRedirects"
)

// TossConfigurationError counts one Toss answer that blames the merchant's
// configuration (keys, MID, contract) rather than a buyer, by Toss's code,
// and under Function alone for the alarm (TossConfigurationErrorsAlarm).
// code is Toss's, from an answer to our own call, or one the engine
// concluded: a short, bounded set.
func (m *Metrics) TossConfigurationError(code string) {
	m.put(MetricTossConfigurationErrors, 1, Count, map[string]string{"Code": code}, true)
}

// TossAPIVersionMismatch counts one Payment object Toss answered with
// another API version than the one the client models. The version itself
// goes to the log line beside it, not to a dimension: what Toss puts there
// is not ours to bound.
func (m *Metrics) TossAPIVersionMismatch(string) {
	m.Put(MetricTossAPIVersionMismatch, 1, Count, nil)
}

// PaymentFailRedirect counts one arrival on the failUrl by the code it
// carries. The redirect is the buyer's browser's word, so code must come
// from a bounded set (api.failCode maps anything else to OTHER): every
// distinct dimension value is a metric CloudWatch bills for.
func (m *Metrics) PaymentFailRedirect(code string) {
	m.put(MetricPaymentFailRedirects, 1, Count, map[string]string{"Code": code}, true)
}
