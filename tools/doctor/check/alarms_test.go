package check

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// fakeCloudWatch answers as CloudWatch would for a few alarms and the
// data points of a few metrics.
type fakeCloudWatch struct {
	alarms  []cwtypes.MetricAlarm
	metrics map[string][]float64 // metric name → one value per dimension set
	err     error
	asked   [][]string // the alarm names of each DescribeAlarms
	window  time.Duration
}

func (f *fakeCloudWatch) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.asked = append(f.asked, in.AlarmNames)
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, a := range f.alarms {
		if p := aws.ToString(in.AlarmNamePrefix); p != "" && strings.HasPrefix(aws.ToString(a.AlarmName), p) {
			out.MetricAlarms = append(out.MetricAlarms, a)
		}
		for _, n := range in.AlarmNames {
			if aws.ToString(a.AlarmName) == n {
				out.MetricAlarms = append(out.MetricAlarms, a)
			}
		}
	}
	return out, nil
}

func (f *fakeCloudWatch) ListMetrics(_ context.Context, in *cloudwatch.ListMetricsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	if aws.ToString(in.Namespace) != metricsNamespace || in.RecentlyActive != cwtypes.RecentlyActivePt3h {
		return nil, errors.New("unexpected ListMetrics")
	}
	out := &cloudwatch.ListMetricsOutput{}
	for i := range f.metrics[aws.ToString(in.MetricName)] {
		out.Metrics = append(out.Metrics, cwtypes.Metric{Namespace: in.Namespace, MetricName: in.MetricName,
			Dimensions: []cwtypes.Dimension{{Name: aws.String("Function"), Value: aws.String(strings.Repeat("F", i+1))}}})
	}
	return out, nil
}

func (f *fakeCloudWatch) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.window = aws.ToTime(in.EndTime).Sub(aws.ToTime(in.StartTime))
	out := &cloudwatch.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		m := q.MetricStat.Metric
		vals := f.metrics[aws.ToString(m.MetricName)]
		i := len(aws.ToString(m.Dimensions[0].Value)) - 1
		if aws.ToString(q.MetricStat.Stat) != "Sum" || aws.ToInt32(q.MetricStat.Period) != 3600 {
			return nil, errors.New("unexpected query")
		}
		out.MetricDataResults = append(out.MetricDataResults, cwtypes.MetricDataResult{Id: q.Id, Values: []float64{vals[i]}})
	}
	return out, nil
}

func alarm(name, metric string, state cwtypes.StateValue, actions ...string) cwtypes.MetricAlarm {
	return cwtypes.MetricAlarm{AlarmName: aws.String(name), Namespace: aws.String(metricsNamespace), MetricName: aws.String(metric), StateValue: state, AlarmActions: actions}
}

func TestAlarmAndMetricChecks(t *testing.T) {
	const topic = "arn:aws:sns:us-east-1:123456789012:ops"
	csp := alarm("tossintl-dev-CspViolationsAlarm-1", "CspViolations", cwtypes.StateValueOk, topic)
	// The configuration errors' alarm may be metric math over the metric.
	config := cwtypes.MetricAlarm{AlarmName: aws.String("tossintl-dev-TossConfigurationErrorsAlarm-1"), StateValue: cwtypes.StateValueOk, AlarmActions: []string{topic},
		Metrics: []cwtypes.MetricDataQuery{{Id: aws.String("m"), MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String(metricsNamespace), MetricName: aws.String("TossConfigurationErrors")}}}}}
	other := alarm("other-stack-CspViolationsAlarm-1", "CspViolations", cwtypes.StateValueOk)
	names := func(as ...cwtypes.MetricAlarm) (out []string) {
		for _, a := range as {
			out = append(out, aws.ToString(a.AlarmName))
		}
		return out
	}
	tests := []struct {
		name    string
		cw      *fakeCloudWatch
		stack   []string // the stack's alarm names
		prefix  string   // AlarmPrefix
		want    map[string]string
		noCloud string // CloudWatchNote, with no CloudWatch
	}{
		{
			name: "all clear", cw: &fakeCloudWatch{alarms: []cwtypes.MetricAlarm{csp, config, other}}, stack: names(csp, config),
			want: map[string]string{
				"alarm on TossConfigurationErrors":         "✓ alarm on TossConfigurationErrors: tossintl-dev-TossConfigurationErrorsAlarm-1 is OK",
				"alarm on CspViolations":                   "✓ alarm on CspViolations: tossintl-dev-CspViolationsAlarm-1 is OK",
				"TossConfigurationErrors in the last hour": "✓ TossConfigurationErrors in the last hour: none",
				"CspViolations in the last hour":           "✓ CspViolations in the last hour: none",
			},
		},
		{
			// Another stack's alarm is not this stack's.
			name: "an alarm missing", cw: &fakeCloudWatch{alarms: []cwtypes.MetricAlarm{csp, config, other}}, stack: names(config),
			want: map[string]string{"alarm on CspViolations": "✗ alarm on CspViolations: the stack has no alarm on TossIntl/CspViolations — deploy the current template.yaml"},
		},
		{
			name: "firing, and counts in the last hour",
			cw: &fakeCloudWatch{
				alarms:  []cwtypes.MetricAlarm{alarm("s-CspViolationsAlarm-1", "CspViolations", cwtypes.StateValueAlarm), config},
				metrics: map[string][]float64{"CspViolations": {3, 4}, "TossConfigurationErrors": {0}},
			},
			stack: []string{"s-CspViolationsAlarm-1", aws.ToString(config.AlarmName)},
			want: map[string]string{
				"alarm on CspViolations":                   "✗ alarm on CspViolations: s-CspViolationsAlarm-1 is ALARM, notifying no one (AlarmTopicArn is empty) — read CheckoutFunction's",
				"CspViolations in the last hour":           "✗ CspViolations in the last hour: 7 reports of the checkout page's policy",
				"TossConfigurationErrors in the last hour": "✓ TossConfigurationErrors in the last hour: none",
			},
		},
		{
			// Named as CloudFormation names them, though not listed; a
			// stack whose name only starts with this one's is another.
			name: "found by name", prefix: "tossintl-",
			cw: &fakeCloudWatch{alarms: []cwtypes.MetricAlarm{
				alarm("tossintl-CspViolationsAlarm-AB12", "CspViolations", cwtypes.StateValueOk),
				alarm("tossintl-dev-TossConfigurationErrorsAlarm-CD34", "TossConfigurationErrors", cwtypes.StateValueOk),
			}},
			want: map[string]string{
				"alarm on CspViolations":           "✓ alarm on CspViolations: tossintl-CspViolationsAlarm-AB12 is OK",
				"alarm on TossConfigurationErrors": "✗ alarm on TossConfigurationErrors: the stack has no alarm",
			},
		},
		{
			name: "CloudWatch refuses", cw: &fakeCloudWatch{err: errors.New("AccessDenied")}, stack: names(csp),
			want: map[string]string{
				"alarm on CspViolations":         "✗ alarm on CspViolations: could not read the stack's alarms: AccessDenied — allow cloudwatch:DescribeAlarms",
				"CspViolations in the last hour": "✗ CspViolations in the last hour: could not read it: ",
			},
		},
		{
			name: "the local stack", noCloud: "not checked: no CloudWatch here",
			want: map[string]string{
				"alarm on CspViolations":         "- alarm on CspViolations: not checked: no CloudWatch here",
				"CspViolations in the last hour": "- CspViolations in the last hour: not checked: no CloudWatch here",
			},
		},
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := Target{AlarmNames: tt.stack, AlarmPrefix: tt.prefix, CloudWatchNote: tt.noCloud, Now: func() time.Time { return now }}
			if tt.cw != nil {
				tg.CloudWatch = tt.cw
			}
			got := map[string]string{}
			for _, r := range append(checkAlarms(t.Context(), tg), checkMetrics(t.Context(), tg)...) {
				got[r.Name] = Line(r)
			}
			if len(got) != 4 {
				t.Errorf("%d results: %v", len(got), got)
			}
			for name, want := range tt.want {
				if !strings.HasPrefix(got[name], want) {
					t.Errorf("%s:\n got %q\nwant %q…", name, got[name], want)
				}
			}
			if tt.cw != nil && tt.cw.window != 0 && tt.cw.window != time.Hour {
				t.Errorf("metrics over %v", tt.cw.window)
			}
		})
	}
}

// A stack named by hand has no list of its alarms: those are not checked,
// the metrics are.
func TestAlarmChecksSkippedByHand(t *testing.T) {
	tg := Target{CloudWatch: &fakeCloudWatch{}, AlarmsNote: "not checked: STACK= finds the stack's alarms"}
	for _, r := range checkAlarms(t.Context(), tg) {
		if r.Status != Skip || !strings.Contains(r.Detail, "STACK=") {
			t.Errorf("%s", Line(r))
		}
	}
	for _, r := range checkMetrics(t.Context(), tg) {
		if r.Status != Pass {
			t.Errorf("%s", Line(r))
		}
	}
}
