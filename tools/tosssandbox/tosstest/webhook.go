package tosstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Webhook timing as Toss documents it.
const (
	// DefaultWebhookRetryUnit is the unit of WebhookRetrySchedule: Toss's
	// schedule is in minutes.
	DefaultWebhookRetryUnit = time.Minute
	// WebhookTimeout bounds one delivery attempt.
	WebhookTimeout = 10 * time.Second
	// EventPaymentStatusChanged is the one event type the sandbox sends.
	EventPaymentStatusChanged = "PAYMENT_STATUS_CHANGED"
)

// WebhookRetrySchedule is how many retry units Toss waits before each retry
// of a delivery not answered 200: at most 7 retries, 8 attempts in all.
var WebhookRetrySchedule = []int{1, 4, 16, 64, 256, 1024, 4096}

// webhookCreatedAtLayout is Toss's createdAt: KST, microseconds, no offset.
const webhookCreatedAtLayout = "2006-01-02T15:04:05.000000"

// maxWebhookAnswerBytes is how much of an answer the sandbox reads.
const maxWebhookAnswerBytes = 64 << 10

// WebhookEvent is one webhook the sandbox made, as sent.
type WebhookEvent struct {
	ID         int    // 1, 2, … in the order the changes happened
	EventType  string // PAYMENT_STATUS_CHANGED
	CreatedAt  string // as in the body: KST, no offset
	PaymentKey string
	OrderID    string
	Status     string // the payment's status in data
	Balance    int64  // the payment's balanceAmount in data
	Body       []byte // the exact body sent
	Held       bool   // held by HoldWebhooks and not released yet
}

// WebhookDelivery is one attempt to deliver an event.
type WebhookDelivery struct {
	EventID    int
	Attempt    int       // 1 for the first send of the event, counting on through retries and redeliveries
	Redelivery bool      // a duplicate sent by RedeliverWebhooks
	URL        string    // where it was sent
	Status     int       // HTTP status answered; 0 when there was no answer
	Err        string    // why there was no answer
	At         time.Time // sandbox clock when sent
}

// webhookEvent is an event and its delivery state; webhooks.mu guards sent.
type webhookEvent struct {
	WebhookEvent
	sent int
}

// webhooks is the sandbox's webhook sender. Its lock is taken after s.mu
// when both are held (events are made while a payment changes).
type webhooks struct {
	ctx    context.Context // canceled by Close: attempts stop
	cancel context.CancelFunc
	client *http.Client

	mu         sync.Mutex
	url        string
	unit       time.Duration
	events     []*webhookEvent
	deliveries []WebhookDelivery
	held       []*webhookEvent
	holding    bool
	gen        int           // bumped by Reset: older deliveries stop
	reset      chan struct{} // closed by Reset, waking retry waits
	pending    int           // events being delivered or waiting for a retry
	idle       chan struct{} // closed while pending is 0
}

func (s *Sandbox) initWebhooks(url string, unit time.Duration) {
	w := &s.wh
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.client = &http.Client{Timeout: WebhookTimeout}
	w.url = url
	w.unit = unit
	if w.unit <= 0 {
		w.unit = DefaultWebhookRetryUnit
	}
	w.reset = make(chan struct{})
	w.idle = make(chan struct{})
	close(w.idle)
}

func (s *Sandbox) resetWebhooks() {
	w := &s.wh
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events, w.deliveries, w.held, w.holding = nil, nil, nil, false
	w.gen++
	close(w.reset)
	w.reset = make(chan struct{})
}

// SetWebhookURL sets where webhooks go from now on, retries of earlier
// events included; "" stops making new events.
func (s *Sandbox) SetWebhookURL(url string) {
	s.wh.mu.Lock()
	defer s.wh.mu.Unlock()
	s.wh.url = url
}

// SetWebhookRetryUnit changes the unit of WebhookRetrySchedule for waits
// that start from now on (DefaultWebhookRetryUnit when d <= 0).
func (s *Sandbox) SetWebhookRetryUnit(d time.Duration) {
	if d <= 0 {
		d = DefaultWebhookRetryUnit
	}
	s.wh.mu.Lock()
	defer s.wh.mu.Unlock()
	s.wh.unit = d
}

// HoldWebhooks(true) keeps new events from being sent until
// ReleaseWebhooks sends them, so a test can deliver them late, reordered
// or not at all. HoldWebhooks(false) stops holding new events; events held
// so far stay held.
func (s *Sandbox) HoldWebhooks(hold bool) {
	s.wh.mu.Lock()
	defer s.wh.mu.Unlock()
	s.wh.holding = hold
}

// ReleaseWebhooks sends held events: those with the given IDs in the order
// given, or every held event oldest first when no ID is given. The first
// attempts are made one after another, each waiting for its answer, so the
// receiver sees them in exactly that order; an event not answered 200 is
// then retried on Toss's schedule like any other. IDs not held are skipped.
func (s *Sandbox) ReleaseWebhooks(ids ...int) {
	w := &s.wh
	w.mu.Lock()
	var out []*webhookEvent
	if len(ids) == 0 {
		out, w.held = w.held, nil
	} else {
		for _, id := range ids {
			for i, ev := range w.held {
				if ev.ID == id {
					out = append(out, ev)
					w.held = append(w.held[:i:i], w.held[i+1:]...)
					break
				}
			}
		}
	}
	gen := w.gen
	for _, ev := range out {
		ev.Held = false
		w.startPendingLocked()
	}
	w.mu.Unlock()
	for _, ev := range out {
		if s.sendWebhook(gen, ev, false) {
			s.webhookDone()
			continue
		}
		go s.retryWebhook(gen, ev)
	}
}

// RedeliverWebhooks sends events again, as Toss sometimes delivers one
// twice: those with the given IDs in the order given, or every event not
// held, oldest first, when no ID is given. Each is sent once more, waiting
// for its answer, and not retried.
func (s *Sandbox) RedeliverWebhooks(ids ...int) {
	w := &s.wh
	w.mu.Lock()
	var out []*webhookEvent
	if len(ids) == 0 {
		for _, ev := range w.events {
			if !ev.Held {
				out = append(out, ev)
			}
		}
	} else {
		for _, id := range ids {
			if id >= 1 && id <= len(w.events) && !w.events[id-1].Held {
				out = append(out, w.events[id-1])
			}
		}
	}
	gen := w.gen
	w.mu.Unlock()
	for _, ev := range out {
		s.sendWebhook(gen, ev, true)
	}
}

// WebhookEvents returns every event made since the start (or Reset), oldest first.
func (s *Sandbox) WebhookEvents() []WebhookEvent {
	s.wh.mu.Lock()
	defer s.wh.mu.Unlock()
	out := make([]WebhookEvent, len(s.wh.events))
	for i, ev := range s.wh.events {
		out[i] = ev.WebhookEvent
		out[i].Body = append([]byte(nil), ev.Body...)
	}
	return out
}

// Webhooks returns every delivery attempt so far, in the order they were answered.
func (s *Sandbox) Webhooks() []WebhookDelivery {
	s.wh.mu.Lock()
	defer s.wh.mu.Unlock()
	return append([]WebhookDelivery(nil), s.wh.deliveries...)
}

// WaitWebhooks waits until no event is being delivered or waiting for a
// retry (held events do not count), or ctx ends.
func (s *Sandbox) WaitWebhooks(ctx context.Context) error {
	for {
		s.wh.mu.Lock()
		idle := s.wh.idle
		s.wh.mu.Unlock()
		select {
		case <-idle:
			s.wh.mu.Lock()
			done := s.wh.pending == 0
			s.wh.mu.Unlock()
			if done {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("tosstest: waiting for webhooks: %w", ctx.Err())
		}
	}
}

func (w *webhooks) startPendingLocked() {
	if w.pending == 0 {
		w.idle = make(chan struct{})
	}
	w.pending++
}

func (s *Sandbox) webhookDone() {
	w := &s.wh
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending--
	if w.pending == 0 {
		close(w.idle)
	}
}

type wireWebhook struct {
	EventType string      `json:"eventType"`
	CreatedAt string      `json:"createdAt"`
	Data      wirePayment `json:"data"`
}

// webhookLocked announces p's new status, as Toss does after a confirm or
// a cancel: the body is made now (the payment as it stands) and sent
// asynchronously, or held. s.mu is held.
func (s *Sandbox) webhookLocked(p *payment, now time.Time) {
	w := &s.wh
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.url == "" && !w.holding {
		return
	}
	base := p.Extra.base
	if s.publicURL != "" {
		base = s.publicURL
	}
	data := s.wireLocked(p, now, base, langKO)
	body, err := json.Marshal(wireWebhook{
		EventType: EventPaymentStatusChanged,
		CreatedAt: now.In(kst).Format(webhookCreatedAtLayout),
		Data:      data,
	})
	if err != nil {
		// Only the sandbox's own structs are marshalled; this cannot happen.
		panic(fmt.Errorf("tosstest: encode webhook: %w", err))
	}
	ev := &webhookEvent{WebhookEvent: WebhookEvent{
		ID: len(w.events) + 1, EventType: EventPaymentStatusChanged, CreatedAt: now.In(kst).Format(webhookCreatedAtLayout),
		PaymentKey: p.Key, OrderID: p.OrderID, Status: data.Status, Balance: data.BalanceAmount, Body: body,
	}}
	w.events = append(w.events, ev)
	if w.holding {
		ev.Held = true
		w.held = append(w.held, ev)
		return
	}
	w.startPendingLocked()
	gen := w.gen
	go func() {
		if s.sendWebhook(gen, ev, false) {
			s.webhookDone()
			return
		}
		s.retryWebhook(gen, ev)
	}()
}

// retryWebhook retries a failed event on Toss's schedule until it is
// answered 200, the retries run out, or the sandbox is reset or closed.
// The event counts as pending until then.
func (s *Sandbox) retryWebhook(gen int, ev *webhookEvent) {
	defer s.webhookDone()
	for _, units := range WebhookRetrySchedule {
		w := &s.wh
		w.mu.Lock()
		wait, reset, stale := time.Duration(units)*w.unit, w.reset, w.gen != gen
		w.mu.Unlock()
		if stale {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-reset:
			t.Stop()
			return
		case <-w.ctx.Done():
			t.Stop()
			return
		}
		if s.sendWebhook(gen, ev, false) {
			return
		}
	}
}

// sendWebhook makes one attempt and records it; it reports whether the
// receiver answered 200, the only answer Toss takes as delivered.
func (s *Sandbox) sendWebhook(gen int, ev *webhookEvent, redelivery bool) bool {
	w := &s.wh
	w.mu.Lock()
	url := w.url
	w.mu.Unlock()
	d := WebhookDelivery{EventID: ev.ID, Redelivery: redelivery, URL: url, At: s.Now()}
	if url == "" {
		d.Err = "no webhook URL"
	} else {
		d.Status, d.Err = s.post(url, ev.Body)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gen != gen {
		return true // forgotten by Reset: stop
	}
	ev.sent++
	d.Attempt = ev.sent
	w.deliveries = append(w.deliveries, d)
	s.log.Info("toss sandbox webhook", "event", ev.ID, "attempt", d.Attempt, "redelivery", redelivery,
		"status", d.Status, "error", d.Err)
	return d.Status == http.StatusOK
}

func (s *Sandbox) post(url string, body []byte) (status int, errText string) {
	req, err := http.NewRequestWithContext(s.wh.ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tosstest-webhook")
	resp, err := s.wh.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookAnswerBytes))
	return resp.StatusCode, ""
}
