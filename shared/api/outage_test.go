package api_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/orders"
)

// errTableUnreachable is what an orders table that cannot be reached
// answers (the SDK's error after its own retries).
var errTableUnreachable = errors.New("operation error DynamoDB: UpdateItem: ProvisionedThroughputExceededException")

// unreachableClaims refuses every claim of an order as a throttled table
// would: a confirm can neither start nor be read back.
type unreachableClaims struct{ orders.Store }

func (unreachableClaims) Claim(context.Context, orders.Claim) (*orders.Order, error) {
	return nil, errTableUnreachable
}

// A confirm whose order cannot be claimed is our outage on every route
// that confirms: 503 with Retry-After (a page saying so on the success
// redirect), never an answer that looks final.
func TestConfirmWithTheTableUnreachable(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	h.svc.Engine.Orders = unreachableClaims{h.svc.Engine.Orders}

	wantError(t, h.confirm(key, o.OrderID, o.Amount, ""), http.StatusServiceUnavailable, api.CodeServiceUnavailable)
	onEverySampleRoute(t, func(t *testing.T) {
		wantSampleError(t, h.samplePage(successURL(o.OrderID, key, "39000")), http.StatusServiceUnavailable, api.CodeServiceUnavailable)
	})
	resp := h.success(o.OrderID, key, o.Amount)
	wantPage(t, resp, http.StatusServiceUnavailable, "unavailable")
	if resp.Headers["Retry-After"] == "" {
		t.Errorf("the unavailable page has no Retry-After: %v", resp.Headers)
	}
	if n := h.confirmRequests(o.OrderID); n != 0 {
		t.Errorf("%d confirms reached Toss without a claim", n)
	}
}

// heldCreates holds every Create until released: the first request under
// an Idempotency-Key is still running while the next one arrives.
type heldCreates struct {
	orders.Store
	started chan struct{}
	release chan struct{}
}

func (s *heldCreates) Create(ctx context.Context, o *orders.Order) error {
	s.started <- struct{}{}
	<-s.release
	return s.Store.Create(ctx, o)
}

// A repeat under an Idempotency-Key while the first request still runs is
// 409 IDEMPOTENT_REQUEST_PROCESSING on the merchant routes too, and runs
// nothing; once the first is answered, the repeat gets its answer.
func TestMerchantRepeatWhileTheFirstRuns(t *testing.T) {
	t.Run("POST /orders", func(t *testing.T) {
		h := newHarness(t)
		held := &heldCreates{Store: h.svc.Orders, started: make(chan struct{}), release: make(chan struct{})}
		h.svc.Orders = held
		post := func() *envelope {
			resp := h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(),
				Headers: jsonHeaders("idempotency-key", "order-while-running"), Body: createBody("Hanbok", 39000)})
			e := decodeEnvelope(t, resp)
			if resp.StatusCode != 200 {
				return &e
			}
			return nil
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); post() }()
		<-held.started
		wantError(t, h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(),
			Headers: jsonHeaders("idempotency-key", "order-while-running"), Body: createBody("Hanbok", 39000)}),
			http.StatusConflict, api.CodeIdempotentProcessing)
		close(held.release)
		wg.Wait()
		if e := post(); e != nil {
			t.Fatalf("the repeat after the first was answered: %+v", e.Error)
		}
	})

	t.Run("POST /payments/{paymentKey}/cancel", func(t *testing.T) {
		h := newHarness(t)
		key := h.paidOrder("Hanbok", 39000)
		held := &heldReservations{Store: h.svc.Engine.Orders, started: make(chan struct{}), release: make(chan struct{})}
		h.svc.Engine.Orders = held
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := h.refund(key, refundBody(9000), "refund-while-running", authHeader()); r.StatusCode != 200 {
				t.Errorf("the first refund: %d %s", r.StatusCode, r.Body)
			}
		}()
		<-held.started
		wantError(t, h.refund(key, refundBody(9000), "refund-while-running", authHeader()), http.StatusConflict, api.CodeIdempotentProcessing)
		close(held.release)
		wg.Wait()
		wantError(t, h.refund(key, refundBody(5000), "refund-while-running", authHeader()), http.StatusUnprocessableEntity, api.CodeIdempotencyKeyReused)
	})
	t.Run("POST /payments/confirm", func(t *testing.T) {
		h := newHarness(t)
		o := h.createOrder("Hanbok", 39000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		held := &heldClaims{Store: h.svc.Engine.Orders, started: make(chan struct{}), release: make(chan struct{})}
		h.svc.Engine.Orders = held
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := h.confirm(key, o.OrderID, o.Amount, "confirm-while-running"); r.StatusCode != 200 {
				t.Errorf("the first confirm: %d %s", r.StatusCode, r.Body)
			}
		}()
		<-held.started
		wantError(t, h.confirm(key, o.OrderID, o.Amount, "confirm-while-running"), http.StatusConflict, api.CodeIdempotentProcessing)
		close(held.release)
		wg.Wait()
		if r := h.confirm(key, o.OrderID, o.Amount, "confirm-while-running"); r.StatusCode != 200 {
			t.Fatalf("the repeat after the first: %d %s", r.StatusCode, r.Body)
		}
		if got := h.sb.ConfirmsExecuted(o.OrderID); got != 1 {
			t.Errorf("%d confirms executed, want 1", got)
		}
	})
}

// heldClaims holds every confirm's claim until released.
type heldClaims struct {
	orders.Store
	started chan struct{}
	release chan struct{}
}

func (s *heldClaims) Claim(ctx context.Context, c orders.Claim) (*orders.Order, error) {
	s.started <- struct{}{}
	<-s.release
	return s.Store.Claim(ctx, c)
}

// heldReservations holds every refund's reservation until released.
type heldReservations struct {
	orders.Store
	started chan struct{}
	release chan struct{}
}

func (s *heldReservations) ReserveRefund(ctx context.Context, id string, rr orders.RefundReservation, now time.Time) (*orders.Order, error) {
	s.started <- struct{}{}
	<-s.release
	return s.Store.ReserveRefund(ctx, id, rr, now)
}

// A checkout link whose query cannot be read is a page saying so, not a
// checkout of a guessed order.
func TestCheckoutMalformedQuery(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	resp := h.page(h.svc.Checkout, rq{Method: "GET", Path: "/checkout/" + o.OrderID, Query: "lang=%zz", Params: map[string]string{"orderId": o.OrderID}})
	wantPage(t, resp, http.StatusBadRequest, "bad-request")
}
