package sim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/secrets"
)

// The merchant reaches the engine as in production: through the API's own
// handlers (api.Service: its authentication, its Idempotency-Key guard
// over a stepped idempotency store, its answers), called directly rather
// than through Service.JSON, whose panic recovery would swallow an
// invocation's death.

const merchantKey = "sim_merchant_key_0001"

type merchantKeys struct{}

func (merchantKeys) Keys(context.Context) (secrets.Keys, error) {
	return secrets.Keys{TossSecretKey: "test_sk_sim", TossClientKey: "test_ck_sim", MerchantAPIKey: merchantKey}, nil
}

func (s *Sim) newAPI() *api.Service {
	clock := func() time.Time { return s.now }
	return &api.Service{
		Orders: store{s: s, mem: s.mem},
		Engine: s.eng,
		Keys:   merchantKeys{},
		Guard:  idempotency.New(idemStore{s: s, mem: idempotency.NewMemoryStore()}, idempotency.Options{Clock: clock}),
		Clock:  clock,
	}
}

func (s *Sim) merchantRequest(method, path string, params map[string]string, body string, idemKey string) *apigw.Request {
	s.reqSeq++
	r := &apigw.Request{
		RawPath:        path,
		PathParameters: params,
		Body:           body,
		Headers: map[string]string{
			"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(merchantKey+":")),
			"content-type":  "application/json",
		},
	}
	if idemKey != "" {
		r.Headers["idempotency-key"] = idemKey
	}
	r.RequestContext.HTTP.Method = method
	r.RequestContext.RequestID = fmt.Sprintf("req-%d", s.reqSeq)
	return r
}

// refundOverHTTP is one merchant request for the refund in: POST
// /payments/{paymentKey}/cancel, under the intent's Idempotency-Key if it
// has one. It checks what the merchant is told: a replay answers the
// first stored answer, byte for byte, and of the fresh answers about one
// refund at most one says it refunded something new.
func (s *Sim) refundOverHTTP(ctx context.Context, in *intent) string {
	body := fmt.Sprintf(`{"cancelReason":%q}`, in.reason)
	if in.amount > 0 {
		body = fmt.Sprintf(`{"cancelReason":%q,"cancelAmount":%d}`, in.reason, in.amount)
	}
	path := "/payments/" + in.paymentKey + "/cancel"
	resp := s.api.CancelPayment(ctx, s.merchantRequest(http.MethodPost, path, map[string]string{"paymentKey": in.paymentKey}, body, in.callerKey))
	replayed := resp.Headers["Idempotent-Replayed"] == "true"
	if s.cur.replayOf != "" && !replayed {
		s.violate("refund #%d: a request under key %q found its first answer stored and was not answered with it", in.id, in.callerKey)
	}
	if replayed {
		first, ok := s.firstAnswer[s.cur.replayOf]
		switch {
		case !ok:
			s.violate("refund #%d: a replay under key %q answers what no request of that key completed", in.id, in.callerKey)
		case first != resp.Body:
			s.violate("refund #%d: a replay under key %q answers\n%s\nnot the first answer\n%s", in.id, in.callerKey, resp.Body, first)
		}
	}
	var answer struct {
		EntityBody struct {
			Repeated bool `json:"repeated"`
		} `json:"entityBody"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &answer); err != nil {
		s.violate("refund #%d: an answer that is not JSON (%d): %q", in.id, resp.StatusCode, resp.Body)
	}
	if resp.StatusCode == http.StatusOK && !replayed && !answer.EntityBody.Repeated {
		in.newAnswers++
		if in.newAnswers > 1 {
			s.violate("refund #%d (key %q): two fresh answers say it refunded something new", in.id, in.callerKey)
		}
	}
	// A merchant retries what did not get a definitive answer.
	in.failed = resp.StatusCode >= 500 || resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusTooManyRequests
	if resp.StatusCode == http.StatusOK {
		return fmt.Sprintf("200 (repeated %v, replayed %v)", answer.EntityBody.Repeated, replayed)
	}
	return fmt.Sprintf("%d %s (replayed %v)", resp.StatusCode, answer.Error.Code, replayed)
}

// deleteOverHTTP is the merchant deleting an order: DELETE /orders/{id}.
// The store refuses a paid or claimed order; checkStep and checkFinal hold
// that no payment Toss approved is lost to it.
func (s *Sim) deleteOverHTTP(ctx context.Context, o *simOrder) string {
	resp := s.api.DeleteOrder(ctx, s.merchantRequest(http.MethodDelete, "/orders/"+o.id, map[string]string{"orderId": o.id}, "", ""))
	if resp.StatusCode == http.StatusOK {
		o.deleted = true
	}
	return fmt.Sprintf("%d", resp.StatusCode)
}

// idemStore is the API's idempotency.Store: the real MemoryStore behind a
// scheduled step per call, with the store faults.
type idemStore struct {
	s   *Sim
	mem *idempotency.MemoryStore
}

var _ idempotency.Store = idemStore{}

func (st idemStore) Lock(ctx context.Context, rec idempotency.Record, now time.Time) (idempotency.Record, bool, error) {
	type locked struct {
		old idempotency.Record
		ok  bool
	}
	l, err := do(st.s, "Idempotency.Lock", func() (locked, error) {
		old, ok, err := st.mem.Lock(ctx, rec, now)
		return locked{old, ok}, err
	})
	_, completed := st.s.firstAnswer[rec.ID]
	switch {
	case err != nil:
	case completed && l.ok:
		st.s.violate("Idempotency-Key record %.12s… was completed, and a later request locked it again: its answer is not replayed", rec.ID)
	case completed:
		st.s.cur.replayOf = rec.ID
	}
	return l.old, l.ok, err
}

func (st idemStore) Complete(ctx context.Context, id, token string, resp idempotency.Response, now time.Time) error {
	_, err := do(st.s, "Idempotency.Complete", func() (struct{}, error) {
		err := st.mem.Complete(ctx, id, token, resp, now)
		if _, seen := st.s.firstAnswer[id]; err == nil && !seen {
			st.s.firstAnswer[id] = string(resp.Body)
		}
		return struct{}{}, err
	})
	return err
}

func (st idemStore) Release(ctx context.Context, id, token string) error {
	_, err := do(st.s, "Idempotency.Release", func() (struct{}, error) { return struct{}{}, st.mem.Release(ctx, id, token) })
	return err
}
