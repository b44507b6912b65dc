package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/obs"
)

// alarmMetric is one metric an alarm of template.yaml watches.
type alarmMetric struct {
	Namespace  string `yaml:"Namespace"`
	MetricName string `yaml:"MetricName"`
	Dimensions []struct {
		Name  string `yaml:"Name"`
		Value string `yaml:"Value"`
	} `yaml:"Dimensions"`
}

type alarmProps struct {
	alarmMetric `yaml:",inline"`
	Metrics     []struct {
		MetricStat *struct {
			Metric alarmMetric `yaml:"Metric"`
		} `yaml:"MetricStat"`
	} `yaml:"Metrics"`
}

// emitted is every dimension set under which the functions emit each
// metric an alarm may watch, read from the EMF lines obs writes for them.
func emitted(t *testing.T) map[string][][]string {
	t.Helper()
	var buf bytes.Buffer
	m := obs.NewMetrics(&buf, "F")
	m.ConfirmOutcome("declined")
	m.TossConfigurationError("INVALID_API_KEY")
	m.PaymentFailRedirect("PAY_PROCESS_ABORTED")
	m.TossAPIVersionMismatch("1.4")
	m.Put("ReconcilePending", 1, obs.Count, nil)      // as api.Service.Reconcile does
	m.Put(api.MetricCSPViolations, 1, obs.Count, nil) // as api.Service.CSPReports does
	sets := map[string][][]string{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var line struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		for _, d := range line.AWS.CloudWatchMetrics {
			for _, mt := range d.Metrics {
				for _, set := range d.Dimensions {
					s := slices.Clone(set)
					slices.Sort(s)
					sets[mt.Name] = append(sets[mt.Name], s)
				}
			}
		}
	}
	return sets
}

// TestAlarmsWatchWhatTheFunctionsEmit: every metric of ours an alarm in
// template.yaml watches is emitted under exactly the dimensions the alarm
// names, by a function the template has. CloudWatch treats each dimension
// set as a metric of its own, so an alarm naming one dimension too many or
// too few watches a metric nobody writes, and never fires.
func TestAlarmsWatchWhatTheFunctionsEmit(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string     `yaml:"Type"`
			Properties alarmProps `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	sets := emitted(t)
	watched := map[string]bool{}
	for id, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		ms := []alarmMetric{r.Properties.alarmMetric}
		for _, q := range r.Properties.Metrics {
			if q.MetricStat != nil {
				ms = append(ms, q.MetricStat.Metric)
			}
		}
		for _, m := range ms {
			if m.Namespace != obs.Namespace {
				continue
			}
			watched[m.MetricName] = true
			var names []string
			for _, d := range m.Dimensions {
				names = append(names, d.Name)
				if d.Name == "Function" {
					if fn, ok := tpl.Resources[d.Value]; !ok || fn.Type != "AWS::Serverless::Function" {
						t.Errorf("%s watches %s of %q, which is no function of the template", id, m.MetricName, d.Value)
					}
				}
			}
			slices.Sort(names)
			known, ok := sets[m.MetricName]
			switch {
			case !ok:
				t.Errorf("%s watches %s, which this test does not know an emitter of", id, m.MetricName)
			case !slices.ContainsFunc(known, func(s []string) bool { return slices.Equal(s, names) }):
				t.Errorf("%s watches %s by %v; it is emitted by %v", id, m.MetricName, names, known)
			}
		}
	}
	for _, name := range []string{obs.MetricTossConfigurationErrors, obs.MetricPaymentFailRedirects, "ConfirmOutcome"} {
		if !watched[name] {
			t.Errorf("no alarm watches %s", name)
		}
	}
	for _, p := range []string{"DeclinedConfirmSharePercent", "PaymentAbortedAlarmThreshold"} {
		if !strings.Contains(string(b), "!Ref "+p) {
			t.Errorf("no alarm's threshold is the stack parameter %s", p)
		}
	}
}

// TestConfigurationAlarmHearsEveryFunctionThatCallsToss: the Toss client
// counts configuration answers in whichever function made the call, under
// that function's name, and the alarm sums one metric per function. A
// function wired with the engine (so with the Toss client) that the alarm
// does not name would refuse payments unheard.
func TestConfigurationAlarmHearsEveryFunctionThatCallsToss(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Properties alarmProps `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	var heard []string
	for _, q := range tpl.Resources["TossConfigurationErrorsAlarm"].Properties.Metrics {
		if q.MetricStat == nil || q.MetricStat.Metric.MetricName != obs.MetricTossConfigurationErrors {
			continue
		}
		for _, d := range q.MetricStat.Metric.Dimensions {
			heard = append(heard, d.Value)
		}
	}
	mains, err := filepath.Glob("../../functions/*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no mains: %v", err)
	}
	var calling []string
	for _, m := range mains {
		src, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), ".WithEngine()") {
			calling = append(calling, filepath.Base(filepath.Dir(m)))
		}
	}
	slices.Sort(heard)
	slices.Sort(calling)
	if !slices.Equal(heard, calling) {
		t.Errorf("TossConfigurationErrorsAlarm hears %v; the functions that call Toss are %v", heard, calling)
	}
}
