package check

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// CloudWatchAPI is what the alarm and metric checks call.
type CloudWatchAPI interface {
	DescribeAlarms(context.Context, *cloudwatch.DescribeAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	ListMetrics(context.Context, *cloudwatch.ListMetricsInput, ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error)
	GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// metricsNamespace is the functions' namespace (shared/obs.Namespace,
// which this tool does not import: it reads the stack as an operator).
const metricsNamespace = "TossIntl"

// watched are the metrics of what the real Toss, SDK and browsers can do
// that our own world never does: each must have an alarm in the stack, and
// any count in the last hour is something to read before taking payments.
var watched = []struct {
	metric string
	means  string // what a count of it means, for the report
	fix    string // what to do about a count
}{
	{"TossConfigurationErrors", "confirms Toss refused for the merchant's setup (keys of another MID, a key Toss does not accept)",
		"every confirm fails until the keys or the contract are fixed: see the runbook, \"Configuration errors\""},
	{"CspViolations", "reports of the checkout page's policy blocking (or, in report-only mode, about to block) something",
		"read CheckoutFunction's \"csp violation\" log lines: Toss's hosts blocked means the window may not open (README, \"Watching the checkout page's policy\")"},
}

// metricWindow is how far back the metric checks look.
const metricWindow = time.Hour

// checkAlarms reports, for each watched metric, the stack's alarm on it
// and its state.
func checkAlarms(ctx context.Context, t Target) []Result {
	name := func(m string) string { return "alarm on " + m }
	if t.CloudWatch == nil || t.AlarmsNote != "" {
		note := t.AlarmsNote
		if note == "" {
			note = t.CloudWatchNote
		}
		var out []Result
		for _, w := range watched {
			out = append(out, Result{Name: name(w.metric), Status: Skip, Detail: note})
		}
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	alarms, err := t.stackAlarms(ctx)
	if err != nil {
		var out []Result
		for _, w := range watched {
			out = append(out, Result{Name: name(w.metric), Status: Fail, Detail: "could not read the stack's alarms: " + err.Error(),
				Fix: "allow cloudwatch:DescribeAlarms to whoever runs make doctor"})
		}
		return out
	}
	var out []Result
	for _, w := range watched {
		i := slices.IndexFunc(alarms, func(a cwtypes.MetricAlarm) bool { return alarmWatches(a, w.metric) })
		if i < 0 {
			out = append(out, Result{Name: name(w.metric), Status: Fail, Detail: "the stack has no alarm on " + metricsNamespace + "/" + w.metric,
				Fix: "deploy the current template.yaml (sam build && sam deploy)"})
			continue
		}
		a := alarms[i]
		state := string(a.StateValue)
		r := Result{Name: name(w.metric), Status: Pass, Detail: fmt.Sprintf("%s is %s", aws.ToString(a.AlarmName), state)}
		if len(a.AlarmActions) == 0 {
			r.Detail += ", notifying no one (AlarmTopicArn is empty)"
		}
		if a.StateValue == cwtypes.StateValueAlarm {
			r.Status, r.Fix = Fail, w.fix
		}
		out = append(out, r)
	}
	return out
}

// stackAlarms are the stack's metric alarms: those CloudFormation lists
// among its resources (AlarmNames), and those named as CloudFormation
// names an alarm without a name of its own, <stack>-<logical id>-<suffix>
// (AlarmPrefix is "<stack>-"). The second finds them where the listing
// does not have them, as with moto's CloudFormation, which makes no alarms.
func (t Target) stackAlarms(ctx context.Context) ([]cwtypes.MetricAlarm, error) {
	var out []cwtypes.MetricAlarm
	// DescribeAlarms takes at most 100 names a call.
	for names := range slices.Chunk(t.AlarmNames, 100) {
		in := &cloudwatch.DescribeAlarmsInput{AlarmNames: names, AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}}
		if err := describeAlarms(ctx, t.CloudWatch, in, &out); err != nil {
			return nil, err
		}
	}
	if t.AlarmPrefix == "" {
		return out, nil
	}
	var named []cwtypes.MetricAlarm
	in := &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(t.AlarmPrefix), AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}}
	if err := describeAlarms(ctx, t.CloudWatch, in, &named); err != nil {
		return nil, err
	}
	for _, a := range named {
		// A logical id has no '-': "<stack>-dev-X-Y" is another stack's.
		rest := strings.TrimPrefix(aws.ToString(a.AlarmName), t.AlarmPrefix)
		if cfnGenerated.MatchString(rest) && !slices.Contains(t.AlarmNames, aws.ToString(a.AlarmName)) {
			out = append(out, a)
		}
	}
	return out, nil
}

// cfnGenerated is what follows "<stack>-" in a name CloudFormation made.
var cfnGenerated = regexp.MustCompile(`^[A-Za-z0-9]+-[A-Za-z0-9]+$`)

func describeAlarms(ctx context.Context, cw CloudWatchAPI, in *cloudwatch.DescribeAlarmsInput, out *[]cwtypes.MetricAlarm) error {
	pages := cloudwatch.NewDescribeAlarmsPaginator(cw, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		*out = append(*out, page.MetricAlarms...)
	}
	return nil
}

// alarmWatches reports whether a watches metric in the functions'
// namespace, alone or in a metric math alarm.
func alarmWatches(a cwtypes.MetricAlarm, metric string) bool {
	if aws.ToString(a.Namespace) == metricsNamespace && aws.ToString(a.MetricName) == metric {
		return true
	}
	for _, q := range a.Metrics {
		if s := q.MetricStat; s != nil && s.Metric != nil &&
			aws.ToString(s.Metric.Namespace) == metricsNamespace && aws.ToString(s.Metric.MetricName) == metric {
			return true
		}
	}
	return false
}

// checkMetrics reports, for each watched metric, how many the functions
// counted in the last hour, over every dimension (function, code, …). The
// namespace is the account's and region's, not the stack's: another
// stack of this backend there counts too.
func checkMetrics(ctx context.Context, t Target) []Result {
	name := func(m string) string { return m + " in the last hour" }
	var out []Result
	for _, w := range watched {
		if t.CloudWatch == nil {
			out = append(out, Result{Name: name(w.metric), Status: Skip, Detail: t.CloudWatchNote})
			continue
		}
		n, err := lastHour(ctx, t.CloudWatch, w.metric, t.now())
		switch {
		case err != nil:
			out = append(out, Result{Name: name(w.metric), Status: Fail, Detail: "could not read it: " + err.Error(),
				Fix: "allow cloudwatch:ListMetrics and cloudwatch:GetMetricData to whoever runs make doctor"})
		case n == 0:
			out = append(out, Result{Name: name(w.metric), Status: Pass, Detail: "none"})
		default:
			out = append(out, Result{Name: name(w.metric), Status: Fail, Detail: fmt.Sprintf("%g %s", n, w.means), Fix: w.fix})
		}
	}
	return out
}

// lastHour sums metric over the hour before now, every dimension set of
// it that had data lately (ListMetrics' RecentlyActive), in one
// GetMetricData call of at most 500 of them.
func lastHour(ctx context.Context, cw CloudWatchAPI, metric string, now time.Time) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	var metrics []cwtypes.Metric
	pages := cloudwatch.NewListMetricsPaginator(cw, &cloudwatch.ListMetricsInput{
		Namespace: aws.String(metricsNamespace), MetricName: aws.String(metric), RecentlyActive: cwtypes.RecentlyActivePt3h,
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		metrics = append(metrics, page.Metrics...)
	}
	if len(metrics) == 0 {
		return 0, nil
	}
	metrics = metrics[:min(len(metrics), 500)]
	var queries []cwtypes.MetricDataQuery
	for i, m := range metrics {
		queries = append(queries, cwtypes.MetricDataQuery{
			Id:         aws.String(fmt.Sprintf("m%d", i)),
			MetricStat: &cwtypes.MetricStat{Metric: &m, Period: aws.Int32(int32(metricWindow / time.Second)), Stat: aws.String("Sum")},
			ReturnData: aws.Bool(true),
		})
	}
	var sum float64
	data := cloudwatch.NewGetMetricDataPaginator(cw, &cloudwatch.GetMetricDataInput{
		MetricDataQueries: queries, StartTime: aws.Time(now.Add(-metricWindow)), EndTime: aws.Time(now),
	})
	for data.HasMorePages() {
		page, err := data.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		for _, r := range page.MetricDataResults {
			for _, v := range r.Values {
				sum += v
			}
		}
	}
	return sum, nil
}
