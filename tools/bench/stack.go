package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/tossintl/backend/shared/awsclient"
	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/tools/awsproxy"
	"github.com/tossintl/backend/tools/internal/load"
	"github.com/tossintl/backend/tools/samlocal/lambdarun"
	"github.com/tossintl/backend/tools/samlocal/stack"
	"github.com/tossintl/backend/tools/samlocal/tossintl"
)

// initBudget is the init kept, as a multiple of a bare aws-lambda-go
// function's under the same emulator in the same run. About 1 ms of each
// function's init is the AWS SDK's schema-based serializers (dynamodb 0.8
// ms, secretsmanager 0.2 ms), the price of staying on the SDK's fixes;
// against the bare function's 3 to 5 ms that alone is 1.2 to 1.3 times,
// and the ratio moves with the machine's load (1.27 to 1.47 on a quiet
// run, up to 3.4 on one shared with a mutation run). 2.5 keeps a quiet
// run's figures inside with room for that noise, and still flags a
// function that starts doing real work at init (a client built eagerly,
// a table read), which costs tens of milliseconds.
const initBudget = 2.5

// helloID names the bare aws-lambda-go function in the report.
const helloID = "hello-world (aws-lambda-go)"

// measureStack starts the local stack and runs the cold-start and
// end-to-end sections against it.
func measureStack(ctx context.Context, rep *report, o options, fns []string, scratch string, logs io.Writer,
	progress func(string, ...any)) error {
	calls := &awsCounter{}
	maxConc := 1
	for _, c := range o.levels {
		maxConc = max(maxConc, c)
	}
	s, err := stack.Start(ctx, stack.Options{
		BuildDir:       filepath.Join(scratch, "host"),
		ForceBuild:     true,
		NoAPI:          o.skip["e2e"],
		MaxConcurrency: maxConc,
		AWSProxy:       calls.proxy,
		Logs:           logs,
	})
	if err != nil {
		return err
	}
	defer s.Close()
	// The sandbox announces every status change to the stack's webhook
	// route, as Toss does; those deliveries would run TossWebhookFunction
	// in the background of every measurement (and restart processes the
	// cold starts have just killed). The webhook's cold start is measured
	// with its own event.
	s.Sandbox.SetWebhookURL("")
	if err := tossintl.SeedEvents(ctx, s); err != nil {
		return err
	}
	fx, err := newFixtures(s)
	if err != nil {
		return err
	}
	if !o.skip["cold"] {
		progress("cold start: %d runs of %d functions and the hello world", o.runs, len(fns))
		if err := measureCold(ctx, rep, s, fx, o.runs, fns, scratch, logs); err != nil {
			return err
		}
	}
	if !o.skip["e2e"] {
		progress("end to end: sandbox latency %s, concurrency %s", o.latency, joinInts(o.levels))
		if err := measureE2E(ctx, rep, s, o, calls, progress); err != nil {
			return err
		}
	}
	return nil
}

// fixtures makes fresh orders (and their sandbox payments) for events that
// would otherwise repeat the first run's work.
type fixtures struct {
	s     *stack.Stack
	store orders.Store
}

func newFixtures(s *stack.Stack) (*fixtures, error) {
	table, err := s.TableName("OrdersTable")
	if err != nil {
		return nil, err
	}
	env := awsclient.Env{Region: stack.Region, AccessKeyID: stack.LocalAccessKeyID,
		SecretAccessKey: stack.LocalSecretAccessKey, DynamoDBEndpoint: s.DynamoDBURL}
	return &fixtures{s: s, store: orders.Validated(orders.NewDynamoStore(env.DynamoDB(), table))}, nil
}

// order creates a PENDING order; with authorize, its payment is
// authenticated in the sandbox and the paymentKey returned.
func (f *fixtures) order(ctx context.Context, name string, amount int64, authorize bool) (id, paymentKey string, err error) {
	o, err := orders.New(orders.Draft{Name: name, Amount: amount}, time.Now(),
		orders.Policy{MaxAmount: 100_000_000, PayWindow: 24 * time.Hour, Retention: 7 * 24 * time.Hour})
	if err != nil {
		return "", "", err
	}
	if err := f.store.Create(ctx, o); err != nil {
		return "", "", err
	}
	if authorize {
		paymentKey = f.s.Sandbox.Authorize(o.ID, name, amount)
	}
	return o.ID, paymentKey, nil
}

var idemKeyField = regexp.MustCompile(`("idempotency-key":\s*")([^"]*)(")`)

// eventFile is a function's first event by the events/ naming:
// ConfirmPaymentFunction → events/confirm-payment.json.
func eventFile(fn string) string {
	var b strings.Builder
	for i, r := range strings.TrimSuffix(fn, "Function") {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return filepath.Join("events", b.String()+".json")
}

// paid makes an order paid through the (warm) ConfirmPaymentFunction.
func (f *fixtures) paid(ctx context.Context, amount int64) (id, paymentKey string, err error) {
	id, paymentKey, err = f.order(ctx, "Cold start fixture", amount, true)
	if err != nil {
		return "", "", err
	}
	raw, err := os.ReadFile(eventFile("ConfirmPaymentFunction"))
	if err != nil {
		return "", "", err
	}
	text := string(raw)
	ref := refsOf(text)
	text = strings.ReplaceAll(text, ref.orderID, id)
	text = strings.ReplaceAll(text, ref.paymentKey, paymentKey)
	text = strings.ReplaceAll(text, fmt.Sprintf(`\"amount\": %d`, ref.amount), fmt.Sprintf(`\"amount\": %d`, amount))
	text = idemKeyField.ReplaceAllString(text, "${1}${2}-"+randomHex(6)+"${3}")
	res, err := f.s.Invoke(ctx, "ConfirmPaymentFunction", []byte(text))
	if err == nil && res.Error != nil {
		err = res.Error
	}
	if err == nil && !bytes.Contains(res.Payload, []byte(`"statusCode":200`)) {
		err = fmt.Errorf("%.300s", res.Payload)
	}
	if err != nil {
		return "", "", fmt.Errorf("pay a fixture order: %w", err)
	}
	return id, paymentKey, nil
}

// refs are the order and payment an event refers to, wherever it names them:
// path parameters, query string, JSON body (or its "data").
type refs struct {
	orderID, paymentKey string
	amount              int64
}

func refsOf(text string) refs {
	var ev struct {
		PathParameters        map[string]string `json:"pathParameters"`
		QueryStringParameters map[string]string `json:"queryStringParameters"`
		Body                  string            `json:"body"`
	}
	_ = json.Unmarshal([]byte(text), &ev)
	type fields struct {
		OrderID     string `json:"orderId"`
		PaymentKey  string `json:"paymentKey"`
		Amount      int64  `json:"amount"`
		TotalAmount int64  `json:"totalAmount"`
	}
	var body struct {
		fields
		Data fields `json:"data"`
	}
	_ = json.Unmarshal([]byte(ev.Body), &body)
	first := func(v ...string) string {
		for _, s := range v {
			if s != "" {
				return s
			}
		}
		return ""
	}
	var r refs
	r.orderID = first(ev.PathParameters["orderId"], ev.QueryStringParameters["orderId"], body.OrderID, body.Data.OrderID)
	r.paymentKey = first(ev.PathParameters["paymentKey"], ev.QueryStringParameters["paymentKey"], body.PaymentKey, body.Data.PaymentKey)
	r.amount = max(body.Amount, body.Data.TotalAmount)
	if q, err := strconv.ParseInt(ev.QueryStringParameters["amount"], 10, 64); err == nil {
		r.amount = q
	}
	return r
}

// coldEvent is a function's first event from events/, made fresh where the
// event would repeat an earlier run's work (a confirm, a delete, a refund,
// a webhook, a create under the same Idempotency-Key): a new order (and
// payment) takes the place of the one the event names. ok is false when
// events/ has no event for fn.
func (f *fixtures) coldEvent(ctx context.Context, fn string) (event []byte, ok bool, err error) {
	raw, err := os.ReadFile(eventFile(fn))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	text := string(raw)
	ref := refsOf(text)
	amount := ref.amount
	if amount <= 0 {
		amount = 52000
	}
	var id, key string
	switch fn {
	case "ConfirmPaymentFunction", "PaymentSuccessFunction":
		id, key, err = f.order(ctx, "Cold start fixture", amount, true)
	case "DeleteOrderFunction":
		id, _, err = f.order(ctx, "Cold start fixture", amount, false)
	case "CancelPaymentFunction":
		id, key, err = f.paid(ctx, amount)
	case "TossWebhookFunction":
		// The webhook brings news: a refund made in Toss's dashboard.
		if id, key, err = f.paid(ctx, amount); err == nil {
			_, err = f.s.Sandbox.DashboardCancel(key, "refunded by the operator", 0)
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s fixture: %w", fn, err)
	}
	if id != "" && ref.orderID != "" {
		text = strings.ReplaceAll(text, ref.orderID, id)
	}
	if key != "" && ref.paymentKey != "" {
		text = strings.ReplaceAll(text, ref.paymentKey, key)
	}
	text = idemKeyField.ReplaceAllString(text, "${1}${2}-"+randomHex(6)+"${3}")
	return []byte(text), true, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// coldInvoke kills every bootstrap of f, then times one invocation, which
// RIE runs on a new bootstrap: init is RIE's INIT REPORT (exec of the
// bootstrap to its first request for an event), total adds the invocation
// from the event's hand-over to the answer. The start of the RIE process
// that replaces the killed environment is left out: an emulator cost that
// Lambda does not have.
func coldInvoke(ctx context.Context, f *lambdarun.Function, event []byte) (total, init time.Duration, status string, payload []byte, err error) {
	f.KillAll()
	for deadline := time.Now().Add(5 * time.Second); len(f.PIDs()) > 0; {
		if time.Now().After(deadline) {
			return 0, 0, "", nil, fmt.Errorf("%s: bootstraps still running after KillAll", f.Name())
		}
		time.Sleep(2 * time.Millisecond)
	}
	res, err := f.Invoke(ctx, event)
	if err != nil {
		return 0, 0, "", nil, err
	}
	if res.Error != nil {
		return 0, 0, "", nil, fmt.Errorf("%s: %w", f.Name(), res.Error)
	}
	if res.Init <= 0 {
		return 0, 0, "", nil, fmt.Errorf("%s: RIE reported no init: the invocation was not a cold start", f.Name())
	}
	var p struct {
		StatusCode *int `json:"statusCode"`
	}
	status = "ok"
	if json.Unmarshal(res.Payload, &p) == nil && p.StatusCode != nil {
		status = fmt.Sprint(*p.StatusCode)
	}
	return res.Init + res.Duration, res.Init, status, res.Payload, nil
}

func measureCold(ctx context.Context, rep *report, s *stack.Stack, fx *fixtures, runs int, fns []string, scratch string, logs io.Writer) error {
	hello, err := startHello(ctx, filepath.Join(scratch, "hello"), logs)
	if err != nil {
		return err
	}
	defer hello.Close()
	helloEvent, err := os.ReadFile(eventFile("CheckoutFunction"))
	if err != nil {
		return err
	}
	times := map[string][]time.Duration{}
	inits := map[string][]time.Duration{}
	statuses := map[string]map[string]bool{}
	record := func(id string, d, init time.Duration, status string) {
		times[id] = append(times[id], d)
		inits[id] = append(inits[id], init)
		if statuses[id] == nil {
			statuses[id] = map[string]bool{}
		}
		statuses[id][status] = true
	}
	// Round-robin, so slow patches of a shared machine spread over all.
	for run := 0; run < runs; run++ {
		d, init, st, _, err := coldInvoke(ctx, hello, helloEvent)
		if err != nil {
			return err
		}
		record(helloID, d, init, st)
		for _, fn := range fns {
			ev, ok, err := fx.coldEvent(ctx, fn)
			if err != nil {
				return err
			}
			if !ok {
				if run == 0 {
					rep.note("Cold start: %s has no %s; not measured.", fn, eventFile(fn))
				}
				continue
			}
			d, init, st, payload, err := coldInvoke(ctx, s.Function(fn), ev)
			if err != nil {
				return err
			}
			if (strings.HasPrefix(st, "4") || strings.HasPrefix(st, "5")) && !statuses[fn][st] {
				var p struct{ Body string }
				_ = json.Unmarshal(payload, &p)
				rep.note("Cold start: %s answered %s on run %d: %.200s", fn, st, run+1, p.Body)
			}
			record(fn, d, init, st)
		}
	}
	base := load.Percentile(times[helloID], 50)
	baseInit := load.Percentile(inits[helloID], 50)
	line := func(id string) {
		t := times[id]
		med, init := load.Percentile(t, 50), load.Percentile(inits[id], 50)
		var st []string
		for k := range statuses[id] {
			st = append(st, k)
		}
		sort.Strings(st)
		initRatio := float64(init) / float64(baseInit)
		measured := fmt.Sprintf("%s (min %s, max %s) = %.1f× hello; init %s = %.2f× hello's; first request's own work %s",
			ms(med), ms(slices.Min(t)), ms(slices.Max(t)), float64(med)/float64(base), ms(init), initRatio, ms(med-init))
		target, v := "—", "status "+strings.Join(st, ",")
		if id != helloID {
			target, v = fmt.Sprintf("init ≤ %.1f× hello's", initBudget), verdict(initRatio <= initBudget)+"; status "+strings.Join(st, ",")
		}
		rep.add("cold start (host build)", id, measured, target, v)
	}
	line(helloID)
	for _, fn := range fns {
		if len(times[fn]) > 0 {
			line(fn)
		}
	}
	rep.note("Cold start: every bootstrap runs under AWS's Lambda Runtime Interface Emulator (aws-lambda-rie, pinned in go.mod; " +
		"tools/samlocal/lambdarun keeps a pool of its processes), the hello world under the same RIE. Each run kills the function's " +
		"bootstraps, then times one invocation on a new one, median of the runs: its init is RIE's INIT REPORT (durationMs: exec of " +
		"the bootstrap to its first request for an event: what the binary and its package initialisers cost; the budget applies to it, " +
		"as no function does I/O at init), the total adds the invocation from the event's hand-over to RIE to its answer (the start of " +
		"the RIE process that replaces the killed environment, ~20 ms, is left out: Lambda has no such cost); the rest is the first " +
		"request's own work: its Secrets Manager calls on moto_server, its DynamoDB calls on DynamoDB Local, Toss's on the sandbox, and opening their connections; each function gets its first event from events/ with fresh " +
		"orders where the event would repeat an earlier run's work; DynamoDB Local, moto_server and the sandbox on loopback. " +
		"The hello world is tools/bench/testdata/hello, built with the same flags.")
	return nil
}

// startHello builds the bare function for this machine and starts it.
func startHello(ctx context.Context, dir string, logs io.Writer) (*lambdarun.Function, error) {
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-trimpath",
		"-o", bin, "./tools/bench/testdata/hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build the hello world: %w", err)
	}
	return lambdarun.Start(ctx, lambdarun.Config{Name: "HelloWorld", Bootstrap: bin, Stdout: logs, Stderr: logs,
		Env: map[string]string{"AWS_REGION": stack.Region}})
}

// awsCounter counts, per function, the AWS calls its processes send, and
// the time their servers took (a hook of the stack's AWS proxy).
type awsCounter struct {
	mu     sync.Mutex
	counts map[string]map[string]int           // function → "dynamodb" / "secretsmanager" → calls
	spent  map[string]map[string]time.Duration // the same → time the server took to answer
	byOp   map[string]map[string]int           // function → "UpdateItem on <table>" → DynamoDB calls
}

func (a *awsCounter) proxy(fn string) awsproxy.Hook {
	return func(c *awsproxy.Call, next awsproxy.Next) *awsproxy.Answer {
		ans := next(c)
		kind := c.Service
		if kind != awsproxy.DynamoDB && kind != awsproxy.SecretsManager {
			kind = "other"
		}
		op := c.Op
		if kind == awsproxy.DynamoDB {
			// The table name alone: Fields would also decode the keys
			// and items, CPU the measured stack would share.
			var t struct{ TableName string }
			if c.Decode(&t) == nil && t.TableName != "" {
				op += " on " + t.TableName
			}
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.counts == nil {
			a.counts, a.spent, a.byOp = map[string]map[string]int{}, map[string]map[string]time.Duration{}, map[string]map[string]int{}
		}
		if a.counts[fn] == nil {
			a.counts[fn], a.spent[fn], a.byOp[fn] = map[string]int{}, map[string]time.Duration{}, map[string]int{}
		}
		a.counts[fn][kind]++
		a.spent[fn][kind] += ans.Took
		if kind == awsproxy.DynamoDB {
			a.byOp[fn][op]++
		}
		return ans
	}
}

func (a *awsCounter) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.counts, a.spent, a.byOp = nil, nil, nil
}

// ops is the DynamoDB calls of fns so far, by operation and table.
func (a *awsCounter) ops(fns ...string) map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for _, fn := range fns {
		for k, v := range a.byOp[fn] {
			out[k] += v
		}
	}
	return out
}

func (a *awsCounter) time(fn, kind string) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.spent[fn][kind]
}

func (a *awsCounter) get(fn, kind string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.counts[fn][kind]
}
