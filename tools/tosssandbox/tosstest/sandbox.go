package tosstest

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tossintl/backend/tools/tossrules"
)

// Default keys of a sandbox built without keys. They are obviously fake on
// purpose: nothing real may ever be configured in their place by accident.
const (
	DefaultSecretKey = "test_sk_sandbox_0000000000000000"
	DefaultClientKey = "test_ck_sandbox_0000000000000000"
)

// Defaults for the time windows Toss documents.
const (
	// DefaultSessionTTL is how long an authenticated payment can be confirmed
	// (docs/toss-api.md#the-10-minute-confirm-window: 10 minutes after the
	// buyer's authentication).
	DefaultSessionTTL = 10 * time.Minute
	// DefaultIdempotencyTTL is how long an Idempotency-Key stays bound to its
	// first answer (docs/toss-api.md#idempotency-key: 15 days from first use).
	DefaultIdempotencyTTL = 15 * 24 * time.Hour
	// DefaultMID is the merchant id written into Payment objects.
	DefaultMID = "tsandboxintl"
)

// EstimatedKRWPerUSD is the fixed rate the sandbox window uses for its USD
// estimate. Toss shows a live estimate; a fixed rate keeps pages testable.
const EstimatedKRWPerUSD = 1380

// maxRecordedRequests bounds the request log of a long-running standalone
// sandbox; tests never come near it.
const maxRecordedRequests = 10000

// Config configures a Sandbox. Zero values take the defaults.
type Config struct {
	SecretKey      string           // API secret key; DefaultSecretKey when empty
	ClientKey      string           // client key the SDK stand-in and window accept; DefaultClientKey when empty
	MID            string           // merchant id in Payment objects; DefaultMID when empty
	Clock          func() time.Time // time source for the session and idempotency windows; time.Now when nil
	SessionTTL     time.Duration    // confirm window after authentication; DefaultSessionTTL when zero
	IdempotencyTTL time.Duration    // Idempotency-Key lifetime; DefaultIdempotencyTTL when zero
	Latency        time.Duration    // added to every API call after the idempotency check
	Logger         *slog.Logger     // one line per request, never a key; discarded when nil
	PublicURL      string           // base URL for links and the window; derived from each request when empty
	// WebhookURL receives PAYMENT_STATUS_CHANGED webhooks; none are sent
	// while it is empty. SetWebhookURL changes it at run time.
	WebhookURL string
	// WebhookRetryUnit scales Toss's retry schedule (1, 4, 16, 64, 256,
	// 1024, 4096 units); DefaultWebhookRetryUnit (a minute, as Toss) when zero.
	WebhookRetryUnit time.Duration
}

// Sandbox is a fake of Toss Payments' core API and international card
// payment window. It is an http.Handler; its methods steer and inspect it.
// All methods are safe for concurrent use.
type Sandbox struct {
	sessionTTL time.Duration
	idemTTL    time.Duration
	mid        string
	publicURL  string
	log        *slog.Logger
	configured time.Duration // Config.Latency, restored by Reset

	clockMu sync.Mutex
	clock   func() time.Time
	offset  time.Duration

	latMu     sync.Mutex
	latency   time.Duration
	latencyCh chan struct{} // closed and replaced when the latency changes, waking sleepers

	closing   chan struct{}
	closeOnce sync.Once

	wh webhooks

	mu              sync.Mutex
	secretKey       string
	clientKey       string
	book            *tossrules.Book[paymentDetail]
	idem            map[string]*idemEntry
	idemInserts     int
	faults          []Fault
	approveThenDrop int
	cancelThenDrop  int
	requests        []*Request
	sessions        map[string]*windowSession
	inFlight        int
	paymentVersion  string // the version Payment objects name
}

// New returns a Sandbox configured by cfg.
func New(cfg Config) *Sandbox {
	s := &Sandbox{
		sessionTTL: cfg.SessionTTL,
		idemTTL:    cfg.IdempotencyTTL,
		mid:        cfg.MID,
		publicURL:  strings.TrimRight(cfg.PublicURL, "/"),
		log:        cfg.Logger,
		configured: cfg.Latency,
		clock:      cfg.Clock,
		latency:    cfg.Latency,
		latencyCh:  make(chan struct{}),
		closing:    make(chan struct{}),
		secretKey:  cfg.SecretKey,
		clientKey:  cfg.ClientKey,
	}
	if s.sessionTTL <= 0 {
		s.sessionTTL = DefaultSessionTTL
	}
	if s.idemTTL <= 0 {
		s.idemTTL = DefaultIdempotencyTTL
	}
	if s.mid == "" {
		s.mid = DefaultMID
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.secretKey == "" {
		s.secretKey = DefaultSecretKey
	}
	if s.clientKey == "" {
		s.clientKey = DefaultClientKey
	}
	s.resetLocked()
	s.initWebhooks(cfg.WebhookURL, cfg.WebhookRetryUnit)
	return s
}

// resetLocked empties all state; s.mu is held or s is not shared yet.
func (s *Sandbox) resetLocked() {
	s.book = tossrules.New[paymentDetail](s.sessionTTL, newTransactionKey)
	s.idem = make(map[string]*idemEntry)
	s.idemInserts = 0
	s.faults = nil
	s.approveThenDrop = 0
	s.cancelThenDrop = 0
	s.requests = nil
	s.sessions = make(map[string]*windowSession)
	s.paymentVersion = PaymentVersion
}

// SetPaymentVersion makes Payment objects name version, as Toss's do for
// a MID set to another API version in its developer center ("" restores
// PaymentVersion). Only the field changes: the object keeps the fields of
// PaymentVersion, so a client is checked on what it does with the name.
func (s *Sandbox) SetPaymentVersion(version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if version == "" {
		version = PaymentVersion
	}
	s.paymentVersion = version
}

// ServeHTTP serves the API (/v1/...), the SDK stand-in (/v2/standard), the
// payment window (/window), the dashboard stand-in (/dashboard/) and the
// drills (/sandbox/, see controlPrefix).
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/"):
		s.serveAPI(w, r)
	case strings.HasPrefix(r.URL.Path, dashboardPrefix):
		s.serveDashboard(w, r)
	case strings.HasPrefix(r.URL.Path, controlPrefix):
		s.serveControl(w, r)
	case r.URL.Path == "/v2/standard":
		s.serveSDK(w, r)
	case r.URL.Path == windowPath:
		s.serveWindow(w, r)
	case strings.HasPrefix(r.URL.Path, "/receipt/"), strings.HasPrefix(r.URL.Path, "/checkout/"):
		s.serveReceipt(w, r)
	case r.URL.Path == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	case r.URL.Path == "/":
		s.serveIndex(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Close ends added latency for requests waiting on it, so a server can shut
// down promptly. The sandbox keeps answering without latency afterwards.
// Webhook deliveries stop too: pending retries are dropped.
func (s *Sandbox) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.wh.cancel()
	})
}

// SecretKey returns the secret key the API currently accepts. Tests use it
// to build their client; it is never written to a log or a page.
func (s *Sandbox) SecretKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secretKey
}

// ClientKey returns the client key the SDK stand-in and the window accept.
func (s *Sandbox) ClientKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientKey
}

// RotateSecretKey replaces the secret key, as re-issuing it in Toss's
// developer center does: from now on the old key gets 401 UNAUTHORIZED_KEY.
// Payments and idempotency records stay (they belong to the merchant, not the key).
func (s *Sandbox) RotateSecretKey(newKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secretKey = newKey
}

// Now returns the sandbox clock's current time.
func (s *Sandbox) Now() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	return s.clock().Add(s.offset)
}

// SetClock replaces the time source and clears any Advance offset.
func (s *Sandbox) SetClock(clock func() time.Time) {
	if clock == nil {
		clock = time.Now
	}
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.clock = clock
	s.offset = 0
}

// Advance moves the sandbox clock forward by d (the session and idempotency
// windows see it; added latency does not, it is real time).
func (s *Sandbox) Advance(d time.Duration) {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.offset += d
}

// SetLatency sets the delay added to every API call. It also applies to
// calls already waiting: they wait until the new latency has passed since
// they started, so SetLatency(0) releases them at once.
func (s *Sandbox) SetLatency(d time.Duration) {
	s.latMu.Lock()
	defer s.latMu.Unlock()
	s.latency = d
	close(s.latencyCh)
	s.latencyCh = make(chan struct{})
}

func (s *Sandbox) latencyState() (time.Duration, <-chan struct{}) {
	s.latMu.Lock()
	defer s.latMu.Unlock()
	return s.latency, s.latencyCh
}

// sleepLatency waits out the added latency in real time. The request's own
// context is deliberately ignored: Toss keeps processing a call whose
// client gave up, and that is exactly what timeout tests must see.
func (s *Sandbox) sleepLatency() {
	start := time.Now()
	for {
		d, changed := s.latencyState()
		remaining := d - time.Since(start)
		if remaining <= 0 {
			return
		}
		t := time.NewTimer(remaining)
		select {
		case <-t.C:
			return
		case <-changed:
			t.Stop()
		case <-s.closing:
			t.Stop()
			return
		}
	}
}

// FailNext queues n faults of kind f: the next n API calls (any endpoint)
// fail that way before authentication, idempotency or any processing, as a
// gateway in front of Toss would. Nothing is executed or recorded under an
// Idempotency-Key, so a retry under the same key is processed afresh.
// Calls to FailNext append: FailNext(1, Fault5xx); FailNext(1, Fault429)
// fails the next call with 500 and the one after with 429.
func (s *Sandbox) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

func (s *Sandbox) takeFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return 0, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

// ApproveThenDrop makes the next n confirms that approve a payment execute
// fully (payment DONE, counted, answer stored under the Idempotency-Key) and
// then close the connection without answering: the merchant cannot tell
// whether it was charged. Confirms that fail are answered normally.
func (s *Sandbox) ApproveThenDrop(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approveThenDrop += n
}

// Reset forgets payments, window sessions, idempotency records, recorded
// requests, pending faults, and webhook events, deliveries and retries
// (holding stops), and restores the configured latency. Keys, the clock
// and the webhook URL and retry unit are kept.
func (s *Sandbox) Reset() {
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
	s.resetWebhooks()
	s.SetLatency(s.configured)
}

// CancelThenDrop makes the next n successful answers of the cancel API,
// executed or replayed under an Idempotency-Key, close the connection
// instead: the refund happens (once), the merchant cannot tell. Replays
// count too, so a client's retries under the same key keep losing the
// answer until n is used up. Refusals are answered normally.
func (s *Sandbox) CancelThenDrop(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelThenDrop += n
}

func (s *Sandbox) takeCancelThenDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelThenDrop == 0 {
		return false
	}
	s.cancelThenDrop--
	return true
}

// ConfirmsExecuted returns how many confirms approved a payment of orderID.
// Replays, rejections and test-code answers do not count. A correct
// merchant never makes this exceed 1.
func (s *Sandbox) ConfirmsExecuted(orderID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.book.Approvals(orderID)
}

// InFlight returns how many API calls are past authentication and the
// idempotency check and not answered yet (for example held by latency).
func (s *Sandbox) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// Request is one request as the sandbox saw it. The Authorization header is
// never kept: AuthPresent and AuthOK say all a test needs.
type Request struct {
	Time           time.Time `json:"time"` // sandbox clock at arrival
	Method         string    `json:"method"`
	Path           string    `json:"path"`
	Query          string    `json:"query"`
	IdempotencyKey string    `json:"idempotencyKey"`
	TestCode       string    `json:"testCode"` // TossPayments-Test-Code header
	AcceptLanguage string    `json:"acceptLanguage"`
	AuthPresent    bool      `json:"authPresent"` // an Authorization header was sent
	AuthOK         bool      `json:"authOK"`      // it carried the current secret key in the right format
	Body           string    `json:"body"`        // at most 1 MiB; requests beyond that are refused
	Status         int       `json:"status"`      // status answered; 0 while in flight or when dropped
	Replayed       bool      `json:"replayed"`    // answered from the idempotency record
	Fault          Fault     `json:"fault"`       // injected fault that answered it, if any
	Dropped        bool      `json:"dropped"`     // the connection was closed without an answer
}

// Requests returns a copy of every request received, in arrival order
// (the most recent 10,000 in a long-running sandbox).
func (s *Sandbox) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
	}
	return out
}

func (s *Sandbox) record(r *http.Request, body []byte) *Request {
	rec := &Request{
		Time:           s.Now(),
		Method:         r.Method,
		Path:           r.URL.Path,
		Query:          r.URL.RawQuery,
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
		TestCode:       r.Header.Get("TossPayments-Test-Code"),
		AcceptLanguage: r.Header.Get("Accept-Language"),
		AuthPresent:    r.Header.Get("Authorization") != "",
		Body:           string(body),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	if len(s.requests) > maxRecordedRequests {
		s.requests = s.requests[len(s.requests)-maxRecordedRequests:]
	}
	return rec
}

// update changes a recorded request under the lock, since Requests may be
// copying it concurrently.
func (s *Sandbox) update(rec *Request, f func(*Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(rec)
}

// baseURL is where links in pages and Payment objects point.
func (s *Sandbox) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
