package stack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	good := map[string]time.Duration{
		"rate(5 minutes)": 5 * time.Minute,
		"rate(1 minute)":  time.Minute,
		"rate(2 hours)":   2 * time.Hour,
		"rate(1 day)":     24 * time.Hour,
	}
	for expr, want := range good {
		if got, err := parseRate(expr); err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", expr, got, err, want)
		}
	}
	for _, expr := range []string{"cron(0 12 * * ? *)", "rate(0 minutes)", "rate(5 fortnights)", "rate(five minutes)", "rate(5)", "rate(5 minutes"} {
		if _, err := parseRate(expr); err == nil {
			t.Errorf("parseRate(%q) accepted", expr)
		}
	}
}

// The project's template schedules the reconciler, and the local stack
// reads that schedule rather than a copy of it.
func TestRealTemplateSchedules(t *testing.T) {
	tpl, err := LoadTemplate(realTemplate)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.Schedules()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Function != "ReconcileFunction" || got[0].Every != 5*time.Minute {
		t.Errorf("schedules = %+v, want ReconcileFunction every 5m", got)
	}
}

func TestSchedulesRefuseCronAndSkipDisabled(t *testing.T) {
	tpl, err := ParseTemplate([]byte(`
Globals: {Function: {Runtime: provided.al2023, Handler: bootstrap}}
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Disabled: {Type: Schedule, Properties: {Schedule: rate(1 minute), Enabled: false}}
  B:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Nightly: {Type: Schedule, Properties: {Schedule: "cron(0 3 * * ? *)"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Schedules(); err == nil || !strings.Contains(err.Error(), "B event Nightly") {
		t.Errorf("a cron schedule: err = %v, want it named", err)
	}
}

func TestScheduledEventShape(t *testing.T) {
	b, err := scheduledEvent(Schedule{Function: "F", Event: "Every5Minutes", Every: time.Minute}, time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if ev["detail-type"] != "Scheduled Event" || ev["source"] != "aws.events" || ev["time"] != "2026-11-29T12:00:00Z" {
		t.Errorf("event = %s", b)
	}
}
