// Package measure runs the checkout mix through the local stack (every
// function's real bootstrap under aws-lambda-rie, AWS's DynamoDB Local,
// moto_server's Secrets Manager, the Toss sandbox) and returns what it
// recorded, as the capacity model's Run; and it runs the local load test.
package measure

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tossintl/backend/shared/awsclient"
	"github.com/tossintl/backend/tools/capacity/mix"
	"github.com/tossintl/backend/tools/capacity/model"
	"github.com/tossintl/backend/tools/capacity/record"
	"github.com/tossintl/backend/tools/internal/load"
	"github.com/tossintl/backend/tools/internal/proccpu"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// Options configure a measurement.
type Options struct {
	Template    string // template.yaml when empty
	Checkouts   int    // completed checkouts in the recorded run
	Concurrency int    // buyers at once in the recorded run
	Shares      mix.Shares
	Logs        io.Writer // the stack's output (functions' logs); discarded when nil
	Progress    func(format string, args ...any)
}

// Session is a running local stack with the recorder in its AWS proxy.
type Session struct {
	Stack       *stack.Stack
	Schema      model.Schema
	Recorder    *record.Recorder
	Durations   *record.Durations
	Driver      *load.Driver
	reconcile   func(context.Context) error
	functions   []string
	progress    func(string, ...any)
	stopStreams context.CancelFunc
}

// Start builds and starts the stack with the recorder.
func Start(ctx context.Context, o Options) (*Session, error) {
	if o.Template == "" {
		o.Template = "template.yaml"
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	schema, err := Schema(o.Template)
	if err != nil {
		return nil, err
	}
	rec := record.New(schema)
	durs := &record.Durations{Next: o.Logs}
	s, err := stack.Start(ctx, stack.Options{Template: o.Template, AWSProxy: rec.Proxy, Logs: durs,
		MaxConcurrency: max(16, o.Concurrency)})
	if err != nil {
		return nil, err
	}
	// The tables' streams reach their functions as Lambda's event source
	// mappings would (their invocations are part of a checkout's cost;
	// the stream reads themselves are not charged to the table).
	streamCtx, stopStreams := context.WithCancel(context.Background())
	if _, err := s.RunStreams(streamCtx, 0); err != nil {
		stopStreams()
		_ = s.Close()
		return nil, err
	}
	// Each checkout's reconcile pass is the scheduled event EventBridge sends.
	event := []byte(`{"version":"0","id":"capacity","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`)
	reconcile := func(ctx context.Context) error {
		res, err := s.Invoke(ctx, "ReconcileFunction", event)
		if err == nil {
			err = res.Err()
		}
		return err
	}
	return &Session{Stack: s, Schema: schema, Recorder: rec, Durations: durs, Driver: load.NewDriver(s.URL, s.Keys.MerchantAPIKey, s.Sandbox, 256),
		reconcile: reconcile, functions: s.Template.Functions, progress: o.Progress, stopStreams: stopStreams}, nil
}

// checkout runs checkout i of the mix and returns the orders it created.
func (s *Session) checkout(ctx context.Context, i int, shares mix.Shares) (int, error) {
	created, err := mix.Checkout(ctx, s.Driver, i, shares, s.reconcile)
	if err != nil {
		err = fmt.Errorf("checkout %d: %w", i, err)
	}
	return created, err
}

// Close stops the streams' pollers and the stack.
func (s *Session) Close() error {
	s.stopStreams()
	return s.Stack.Close()
}

// settle waits until no invocation has ended for a second (the streams'
// functions run after the requests that wrote the records), 20 s at most.
func (s *Session) settle(ctx context.Context) {
	last, quiet := len(s.Durations.Invocations()), 0
	for i := 0; i < 80 && quiet < 4 && ctx.Err() == nil; i++ {
		time.Sleep(250 * time.Millisecond)
		if n := len(s.Durations.Invocations()); n != last {
			last, quiet = n, 0
		} else {
			quiet++
		}
	}
}

// Schema reads the tables, their keys and indexes from the template, as
// the local stack creates them.
func Schema(template string) (model.Schema, error) {
	t, err := stack.LoadTemplate(template)
	if err != nil {
		return model.Schema{}, err
	}
	res, err := t.Resolver(nil)
	if err != nil {
		return model.Schema{}, err
	}
	var out model.Schema
	for _, id := range t.Tables {
		tbl, err := res.Table(id)
		if err != nil {
			return model.Schema{}, err
		}
		mt := model.Table{LogicalID: id, Name: tbl.Name}
		for _, k := range tbl.Create.KeySchema {
			if k.KeyType == "HASH" {
				mt.Hash = *k.AttributeName
			} else {
				mt.Range = *k.AttributeName
			}
		}
		for _, g := range tbl.Create.GlobalSecondaryIndexes {
			ix := model.Index{Name: *g.IndexName, Projection: model.ProjectAll}
			for _, k := range g.KeySchema {
				if k.KeyType == "HASH" {
					ix.Hash = *k.AttributeName
				} else {
					ix.Range = *k.AttributeName
				}
			}
			if g.Projection != nil {
				ix.Projection = string(g.Projection.ProjectionType)
				ix.NonKey = g.Projection.NonKeyAttributes
			}
			mt.Indexes = append(mt.Indexes, ix)
		}
		out.Tables = append(out.Tables, mt)
	}
	return out, nil
}

// Record runs the mix for o.Checkouts completed checkouts on o.Concurrency
// buyers and returns what it recorded.
func (s *Session) Record(ctx context.Context, o Options) (model.Run, error) {
	if err := o.Shares.Check(); err != nil {
		return model.Run{}, err
	}
	st := s.Stack
	s.Recorder.Reset()
	s.Recorder.SetRecording(true)
	s.Durations.Reset()
	s.Durations.SetRecording(true)
	callsBefore := s.Recorder.CallCounts(s.functions)
	apiBefore := s.Driver.Requests()
	webhooksBefore := len(st.Sandbox.Webhooks())
	// The sandbox keeps its latest 10,000 requests: the run's are those
	// since it began (the sandbox's clock is the real one here).
	began := st.Sandbox.Now()

	runs, err := load.Closed(ctx, load.Plan{Workers: max(1, o.Concurrency), Runs: o.Checkouts}, func(ctx context.Context, i int) (int, error) {
		if (i+1)%50 == 0 {
			s.progress("recorded run: %d of %d checkouts", i+1, o.Checkouts)
		}
		return s.checkout(ctx, i, o.Shares)
	})
	if err != nil {
		return model.Run{}, err
	}
	created := 0
	for _, r := range runs {
		created += r.Value
	}
	// The webhooks the sandbox sent are part of each checkout.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := st.Sandbox.WaitWebhooks(wctx); err != nil {
		return model.Run{}, fmt.Errorf("waiting for the sandbox's webhooks: %w", err)
	}
	s.settle(ctx)
	s.Recorder.SetRecording(false)
	s.Durations.SetRecording(false)
	if errs := s.Recorder.Errors(); len(errs) > 0 {
		return model.Run{}, fmt.Errorf("%d DynamoDB requests failed during the run, first: %s", len(errs), errs[0])
	}
	deliveries := st.Sandbox.Webhooks()[webhooksBefore:]
	for _, w := range deliveries {
		if w.Status != http.StatusOK {
			return model.Run{}, fmt.Errorf("a webhook delivery was answered %d (%s)", w.Status, w.Err)
		}
	}

	run := model.Run{Schema: s.Schema, Checkouts: o.Checkouts, Creations: created,
		Requests: s.Recorder.Requests(), Invocations: s.Durations.Invocations(),
		APIRequests: s.Driver.Requests() - apiBefore + len(deliveries),
		MemoryMB:    map[string]int{}, SecretCalls: map[string]int{}, Environments: map[string]int{}, TossCalls: map[string]int{},
		Mix: o.Shares.Map(), Concurrency: max(1, o.Concurrency)}
	after := s.Recorder.CallCounts(s.functions)
	for _, fn := range s.functions {
		mem, err := st.Resolver.MemoryMB(fn)
		if err != nil {
			return model.Run{}, err
		}
		run.MemoryMB[fn] = mem
		if n := after[fn]["secretsmanager:GetSecretValue"] - callsBefore[fn]["secretsmanager:GetSecretValue"]; n > 0 {
			run.SecretCalls[fn] = n
		}
		if f := st.Function(fn); f != nil {
			run.Environments[fn] = len(f.PIDs())
		}
		if v, err := strconv.ParseFloat(st.Env(fn)["SECRET_CACHE_SECONDS"], 64); err == nil && v > run.SecretCacheSeconds {
			run.SecretCacheSeconds = v
		}
	}
	if run.SecretCacheSeconds == 0 {
		run.SecretCacheSeconds = 300 // shared/config's default when the template sets none
	}
	for _, r := range st.Sandbox.Requests() {
		if !r.Time.Before(began) {
			run.TossCalls[r.Method+" "+tossRoute(r.Path)]++
		}
	}
	return run, nil
}

// Timings runs n more checkouts of the mix one at a time with the
// recorder's reads off and returns each invocation's duration: what a
// function takes without the recorder in its way or other buyers queued
// before it.
//
// tossLatency is added to every Toss API call the sandbox answers, for
// durations that include Toss's own time (the sandbox answers at once).
func (s *Session) Timings(ctx context.Context, n int, shares mix.Shares, tossLatency time.Duration) ([]model.Invocation, error) {
	s.Stack.Sandbox.SetLatency(tossLatency)
	defer s.Stack.Sandbox.SetLatency(0)
	s.Recorder.SetRecording(false)
	s.Durations.Reset()
	s.Durations.SetRecording(true)
	defer s.Durations.SetRecording(false)
	if _, err := load.Closed(ctx, load.Plan{Workers: 1, Runs: n}, func(ctx context.Context, i int) (int, error) {
		return s.checkout(ctx, 2_000_000+i, shares)
	}); err != nil {
		return nil, fmt.Errorf("timed run: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.Stack.Sandbox.WaitWebhooks(wctx); err != nil {
		return nil, fmt.Errorf("waiting for the sandbox's webhooks: %w", err)
	}
	s.settle(ctx)
	return s.Durations.Invocations(), nil
}

// tossRoute names a Toss API path without its paymentKey or orderId.
func tossRoute(path string) string {
	switch {
	case path == "/v1/payments/confirm":
		return path
	case strings.HasPrefix(path, "/v1/payments/orders/"):
		return "/v1/payments/orders/{orderId}"
	case strings.HasSuffix(path, "/cancel"):
		return "/v1/payments/{paymentKey}/cancel"
	case strings.HasPrefix(path, "/v1/payments/"):
		return "/v1/payments/{paymentKey}"
	}
	return path
}

// Step is one rate of the load run.
type Step struct {
	Offered      float64 // checkouts a second started
	Started      int
	Completed    int
	Errors       int
	FirstError   string
	Wall         time.Duration // first start to last finish
	Achieved     float64       // completed / Wall
	Drain        time.Duration // from the step's end to its last checkout done
	P50, P99     time.Duration // one checkout, end to end
	DynamoPerSec float64       // DynamoDB requests a second reaching DynamoDB Local
	DynamoCores  float64       // DynamoDB Local's CPU time over the step's wall time (1: one core)
	MachineBusy  float64       // share of the machine's CPUs busy, everyone's work included
	// CPU is the step's CPU by process (the stack's whole-process
	// profile): the bootstraps, aws-lambda-rie, DynamoDB Local, this tool
	// ("self": the API router, the AWS proxy, the sandbox and the buyers).
	CPU       []proccpu.Share
	Sustained bool
}

// Background is the share of the machine's CPUs busy over d with the
// stack idle: other work on a shared machine, which the load run competes
// with.
func Background(ctx context.Context, d time.Duration) float64 {
	busy0, total0 := machineCPU()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	busy1, total1 := machineCPU()
	if total1 <= total0 {
		return 0
	}
	return (busy1 - busy0) / (total1 - total0)
}

// MaxDrain is how long after a step's last start its checkouts may still
// be finishing for the step to count as sustained.
const MaxDrain = 2 * time.Second

// Load starts checkouts at each rate for per, in turn, and stops after
// the first rate the stack does not sustain (an error, or checkouts still
// running more than MaxDrain after the step). The recorder only counts
// during it.
func (s *Session) Load(ctx context.Context, rates []float64, per time.Duration, shares mix.Shares) ([]Step, error) {
	s.Recorder.SetRecording(false)
	var steps []Step
	for _, rate := range rates {
		st := s.loadStep(ctx, rate, per, shares)
		s.progress("load: %.0f checkouts/s offered: %d of %d done (drained %s after), %.1f/s, %d errors, p99 %s, DynamoDB Local %.0f req/s on %.0f%% of a core, machine %.0f%% busy; CPU by process (cores): %s",
			rate, st.Completed, st.Started, st.Drain.Round(time.Millisecond), st.Achieved, st.Errors, st.P99.Round(time.Millisecond), st.DynamoPerSec, 100*st.DynamoCores, 100*st.MachineBusy,
			proccpu.Format(st.CPU, "capacity"))
		steps = append(steps, st)
		if ctx.Err() != nil {
			return steps, ctx.Err()
		}
		if !st.Sustained {
			break
		}
	}
	return steps, nil
}

func (s *Session) dynamoCalls() int {
	n := 0
	for _, m := range s.Recorder.CallCounts(s.functions) {
		for action, c := range m {
			if strings.HasPrefix(action, "dynamodb:") {
				n += c
			}
		}
	}
	return n
}

func (s *Session) loadStep(ctx context.Context, rate float64, per time.Duration, shares mix.Shares) Step {
	step := Step{Offered: rate}
	ctx, cancel := context.WithTimeout(ctx, per+30*time.Second)
	defer cancel()
	before := s.dynamoCalls()
	dynBefore, dynOK := s.Stack.DynamoDBCPU()
	busyBefore, totalBefore := machineCPU()
	procsBefore := proccpu.Take()
	runs := load.Open(ctx, rate, per, func(ctx context.Context, i int) (int, error) {
		return s.checkout(ctx, 1_000_000+i, shares)
	})
	if len(runs) == 0 {
		return step // interrupted before its first checkout
	}
	var lat []time.Duration
	for _, r := range runs {
		if r.Err != nil {
			if step.Errors++; step.FirstError == "" {
				step.FirstError = r.Err.Error()
			}
			continue
		}
		lat = append(lat, r.Took())
	}
	step.Started, step.Completed = len(runs), len(lat)
	step.Wall = load.Span(runs)
	step.DynamoPerSec = float64(s.dynamoCalls()-before) / step.Wall.Seconds()
	step.CPU = proccpu.Take().Since(procsBefore)
	if dynAfter, ok := s.Stack.DynamoDBCPU(); ok && dynOK {
		step.DynamoCores = (dynAfter - dynBefore) / step.Wall.Seconds()
	}
	if busy, total := machineCPU(); total > totalBefore {
		step.MachineBusy = (busy - busyBefore) / (total - totalBefore)
	}
	step.Achieved = float64(step.Completed) / step.Wall.Seconds()
	step.P50, step.P99 = load.Percentile(lat, 50), load.Percentile(lat, 99)
	// Kept up: every checkout started done within MaxDrain of the step's
	// end. A stack that falls behind builds a queue, and the queue's
	// drain grows with the step.
	step.Drain = max(0, step.Wall-per)
	step.Sustained = step.Errors == 0 && step.Completed == step.Started && step.Drain <= MaxDrain
	return step
}

// DynamoDBCeiling measures how many DynamoDB requests a second DynamoDB
// Local serves with nothing else running: GetItems of an absent order from
// 8 clients for d, straight at it. The load run's DynamoDB rate against it
// says whether DynamoDB Local is the bottleneck.
func (s *Session) DynamoDBCeiling(ctx context.Context, d time.Duration) (float64, error) {
	table, err := s.Stack.TableName("OrdersTable")
	if err != nil {
		return 0, err
	}
	env := awsclient.Env{Region: stack.Region, AccessKeyID: stack.LocalAccessKeyID,
		SecretAccessKey: stack.LocalSecretAccessKey, DynamoDBEndpoint: s.Stack.DynamoDBURL}
	db := env.DynamoDB()
	t, _ := s.Schema.Table(table)
	key := map[string]types.AttributeValue{t.Hash: &types.AttributeValueMemberS{Value: "ord_capacity_absent"}}
	if t.Range != "" {
		return 0, fmt.Errorf("DynamoDB ceiling: the orders table has a sort key now; teach DynamoDBCeiling its value")
	}
	runs, err := load.Closed(ctx, load.Plan{Workers: 8, For: d}, func(ctx context.Context, _ int) (struct{}, error) {
		_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key})
		return struct{}{}, err
	})
	if err != nil {
		return 0, fmt.Errorf("DynamoDB ceiling: %w", err)
	}
	return float64(len(runs)) / load.Span(runs).Seconds(), nil
}
