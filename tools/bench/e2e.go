package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/tossintl/backend/tools/internal/proccpu"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// pathResult is one confirm path: create, authorize, confirm.
type pathResult struct {
	confirm, total time.Duration
	err            error
}

// e2eClient drives the local stack's API as a merchant server and a buyer's
// frontend would.
type e2eClient struct {
	s    *stack.Stack
	hc   *http.Client
	auth string
}

func newE2EClient(s *stack.Stack, conns int) *e2eClient {
	return &e2eClient{
		s: s,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 2 * conns, MaxIdleConnsPerHost: 2 * conns, IdleConnTimeout: time.Minute}},
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(s.Keys.MerchantAPIKey+":")),
	}
}

type envelope struct {
	EntityBody json.RawMessage `json:"entityBody"`
	Error      *struct {
		Code string `json:"code"`
	} `json:"error"`
}

func (c *e2eClient) post(ctx context.Context, path string, body any, auth bool, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.s.URL+path, jsonBody(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var e envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("POST %s: %d %.200s", path, resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusOK || e.Error != nil {
		return fmt.Errorf("POST %s: %d %.200s", path, resp.StatusCode, raw)
	}
	return json.Unmarshal(e.EntityBody, into)
}

// path runs one confirm path and times the confirm and the whole.
func (c *e2eClient) path(ctx context.Context) pathResult {
	start := time.Now()
	const name, amount = "Bench order", 39000
	var order struct {
		OrderID     string `json:"orderId"`
		CheckoutURL string `json:"checkoutUrl"`
	}
	if err := c.post(ctx, "/orders", map[string]any{"orderName": name, "amount": amount}, true, &order); err != nil {
		return pathResult{err: err}
	}
	// A single-page frontend confirms with the checkout token its own
	// POST /orders gave it: the order's budget of payment attempts, not
	// the anonymous one every other caller shares.
	token := ""
	if u, err := url.Parse(order.CheckoutURL); err == nil {
		token = u.Query().Get("token")
	}
	key := c.s.Sandbox.Authorize(order.OrderID, name, amount)
	cs := time.Now()
	var pay struct {
		Status string `json:"status"`
	}
	if err := c.post(ctx, "/payments/confirm", map[string]any{"paymentKey": key, "orderId": order.OrderID, "amount": amount, "checkoutToken": token}, false, &pay); err != nil {
		return pathResult{err: err}
	}
	if pay.Status != "DONE" {
		return pathResult{err: fmt.Errorf("confirm: status %q", pay.Status)}
	}
	now := time.Now()
	return pathResult{confirm: now.Sub(cs), total: now.Sub(start)}
}

// level runs n paths (or until the deadline) on conc workers.
func (c *e2eClient) level(ctx context.Context, conc, n int, limit time.Duration) (res []pathResult, wall time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				if ctx.Err() != nil {
					return
				}
				r := c.path(ctx)
				if ctx.Err() != nil && r.err != nil {
					return // cut off by the time limit: not a failure of the path
				}
				mu.Lock()
				res = append(res, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res, time.Since(start)
}

func measureE2E(ctx context.Context, rep *report, s *stack.Stack, o options, calls *awsCounter, progress func(string, ...any)) error {
	s.Sandbox.SetLatency(o.latency)
	defer s.Sandbox.SetLatency(0)
	maxConc := 1
	for _, c := range o.levels {
		maxConc = max(maxConc, c)
	}
	client := newE2EClient(s, maxConc)
	calls.reset()
	var confirms int
	const confirmFn = "ConfirmPaymentFunction"
	for _, conc := range o.levels {
		// Warm-up: one path per worker brings up the processes this level
		// needs, so the level measures warm functions.
		warm, _ := client.level(ctx, conc, conc, o.levelTimeout)
		if err := failed(warm); err != nil {
			return fmt.Errorf("warm-up at concurrency %d: %w", conc, err)
		}
		confirms += len(warm)
		n := o.requests
		if n <= 0 {
			n = max(40, 10*conc)
		}
		progress("end to end: concurrency %d, up to %d paths or %s", conc, n, o.levelTimeout)
		dynamoBefore := calls.time(confirmFn, "dynamodb")
		procsBefore := proccpu.Take()
		res, wall := client.level(ctx, conc, n, o.levelTimeout)
		if err := failed(res); err != nil {
			return fmt.Errorf("concurrency %d: %w", conc, err)
		}
		if len(res) == 0 {
			return fmt.Errorf("concurrency %d: no path finished within %s", conc, o.levelTimeout)
		}
		cpu := proccpu.Take().Since(procsBefore)
		confirms += len(res)
		dynamoTime := calls.time(confirmFn, "dynamodb") - dynamoBefore
		var conf, total []time.Duration
		for _, r := range res {
			conf = append(conf, r.confirm)
			total = append(total, r.total)
		}
		conf, total = sortDurations(conf), sortDurations(total)
		p50 := percentile(conf, 50)
		over := p50 - o.latency
		var sum time.Duration
		for _, d := range conf {
			sum += d
		}
		// DynamoDB's share is known only as a mean, so the figure net of it is too.
		dynamo := dynamoTime / time.Duration(len(res))
		rest := sum/time.Duration(len(conf)) - o.latency - dynamo
		target, v := "—", "—"
		if conc == 16 {
			target = "overhead ≤ 15 ms p50"
			switch limit := 15 * time.Millisecond; {
			case over <= limit:
				v = "ok"
			case rest <= limit:
				v = "ok net of DynamoDB Local"
			default:
				v = "OVER"
			}
		}
		rep.add("end to end", fmt.Sprintf("POST /payments/confirm, concurrency %d", conc),
			fmt.Sprintf("p50 %s, p99 %s; overhead %s above the sandbox's %s; mean net of DynamoDB Local's time (%s) %s",
				ms(p50), ms(percentile(conf, 99)), ms(over), ms(o.latency), ms(dynamo), ms(rest)), target, v)
		rep.add("end to end", fmt.Sprintf("confirm path (create + authorize + confirm), concurrency %d", conc),
			fmt.Sprintf("p50 %s, p99 %s, %.1f paths/s (%d paths in %s); CPU by process (cores): %s", ms(percentile(total, 50)), ms(percentile(total, 99)),
				float64(len(res))/wall.Seconds(), len(res), wall.Round(time.Millisecond), proccpu.Format(cpu, "bench")), "—", "—")
	}
	for _, fn := range []string{"ConfirmPaymentFunction", "CreateOrderFunction"} {
		envs := len(s.Function(fn).PIDs())
		rep.add("round trips (real bootstraps)", fn,
			fmt.Sprintf("DynamoDB %.2f per request; Secrets Manager %d for %d environments", float64(calls.get(fn, "dynamodb"))/float64(confirms),
				calls.get(fn, "secretsmanager"), envs), "SM ≤ 1 per environment", verdict(calls.get(fn, "secretsmanager") <= envs))
	}
	rep.note("End to end: HTTP to the local stack's API (in-process router, aws-lambda-rie, real bootstraps, AWS's DynamoDB Local " +
		"behind the stack's AWS proxy with a counting and timing hook, the sandbox with its latency fixed and its webhooks off), all on 127.0.0.1. The confirm's overhead is its " +
		"p50 minus the sandbox's latency: our code, the emulator, the loopback hops and DynamoDB Local's time; \"net of DynamoDB Local\" is the mean confirm minus the sandbox's " +
		"latency and DynamoDB Local's mean time per confirm. Each level is preceded by a warm-up of one path per worker. " +
		"CPU by process is each level's whole-stack CPU profile: the cores each kind of process used over the level (bench: this tool, i.e. the API router, " +
		"the AWS proxy, the sandbox and the load generator), on a machine shared with other work.")
	return nil
}

func failed(res []pathResult) error {
	for _, r := range res {
		if r.err != nil {
			return r.err
		}
	}
	return nil
}
