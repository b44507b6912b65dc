package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is one Schedule event of a function: EventBridge invoking it on
// a rate.
type Schedule struct {
	Function string        // logical id
	Event    string        // the event's name in the template
	Every    time.Duration // from rate(N minutes|hours|days)
}

// Schedules lists the Schedule events of the template's functions, in
// template order. Only rate() expressions are served locally: a cron()
// expression is an error, so a schedule is never silently not run.
func (t *Template) Schedules() ([]Schedule, error) {
	var out []Schedule
	for _, id := range t.Functions {
		evs := mapOf(t.Resources[id].Properties["Events"])
		for _, name := range sortedKeys(evs) {
			ev := mapOf(evs[name])
			if ev["Type"] != "Schedule" {
				continue
			}
			p := mapOf(ev["Properties"])
			if enabled, ok := p["Enabled"]; ok && scalarString(enabled) == "false" {
				continue
			}
			expr := scalarString(p["Schedule"])
			every, err := parseRate(expr)
			if err != nil {
				return nil, fmt.Errorf("%s event %s: %w", id, name, err)
			}
			out = append(out, Schedule{Function: id, Event: name, Every: every})
		}
	}
	return out, nil
}

// parseRate reads EventBridge's rate(value unit) expression.
func parseRate(expr string) (time.Duration, error) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(expr), "rate(")
	inner, closed := strings.CutSuffix(inner, ")")
	if !ok || !closed {
		return 0, fmt.Errorf("schedule %q: only rate(N unit) runs locally", expr)
	}
	fields := strings.Fields(inner)
	if len(fields) != 2 {
		return 0, fmt.Errorf("schedule %q: want rate(N unit)", expr)
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n < 1 {
		return 0, fmt.Errorf("schedule %q: %q is not a positive whole number", expr, fields[0])
	}
	units := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}
	unit, ok := units[fields[1]]
	if !ok {
		return 0, fmt.Errorf("schedule %q: unit %q is not minute(s), hour(s) or day(s)", expr, fields[1])
	}
	return time.Duration(n) * unit, nil
}

// scheduledEvent is the event EventBridge sends a scheduled function.
func scheduledEvent(sc Schedule, at time.Time) ([]byte, error) {
	b, err := json.Marshal(map[string]any{
		"version":     "0",
		"id":          fmt.Sprintf("local-%s-%d", sc.Event, at.UnixNano()),
		"detail-type": "Scheduled Event",
		"source":      "aws.events",
		"account":     AccountID,
		"time":        at.UTC().Format(time.RFC3339),
		"region":      Region,
		"resources":   []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%s-%s", Region, AccountID, StackName, sc.Event)},
		"detail":      map[string]any{},
	})
	if err != nil {
		return nil, fmt.Errorf("scheduled event: %w", err)
	}
	return b, nil
}

// RunSchedules invokes each scheduled function of this stack on its rate,
// or every override when it is positive (a faster local rate), until ctx
// ends. Each run and each failure is logged; a failed run is retried at the
// next tick, as EventBridge's next invocation would.
func (s *Stack) RunSchedules(ctx context.Context, override time.Duration) ([]Schedule, error) {
	all, err := s.Template.Schedules()
	if err != nil {
		return nil, err
	}
	var running []Schedule
	for _, sc := range all {
		if s.functions[sc.Function] == nil {
			continue // not started in this stack
		}
		if override > 0 {
			sc.Every = override
		}
		running = append(running, sc)
		go s.runSchedule(ctx, sc)
	}
	return running, nil
}

func (s *Stack) runSchedule(ctx context.Context, sc Schedule) {
	tick := time.NewTicker(sc.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case at := <-tick.C:
			event, err := scheduledEvent(sc, at)
			if err == nil {
				_, err = s.invokePayload(ctx, sc.Function, event)
			}
			if err != nil && ctx.Err() == nil {
				s.logf("schedule %s → %s: %v", sc.Event, sc.Function, err)
			}
		}
	}
}
