package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/payments"
	"github.com/tossintl/backend/shared/toss"
)

type cancelBody struct {
	CancelReason string          `json:"cancelReason"`
	CancelAmount json.RawMessage `json:"cancelAmount"`
}

// CancelEntityBody is the answer to a refund: the order after it, and
// whether this request refunded anything new.
type CancelEntityBody struct {
	OrderEntity
	Repeated bool `json:"repeated"`
}

// CancelPayment is POST /payments/{paymentKey}/cancel (merchant):
// {cancelReason, cancelAmount?} refunds all or part of the payment, once per
// request: the Idempotency-Key sent to Toss is derived from the request (and
// the caller's own Idempotency-Key), so a retried refund never refunds twice.
// Of the successful answers about one refund, however many identical
// requests race, exactly one says "repeated": false (payments.CancelResult),
// so a merchant counting them books it once; and a refund over what is
// refundable (the balance less the refunds in flight) is refused 400
// EXCEED_CANCEL_AMOUNT before Toss is called.
func (s *Service) CancelPayment(ctx context.Context, r *apigw.Request) apigw.Response {
	if resp, ok := s.merchant(ctx, r); !ok {
		return resp
	}
	paymentKey := r.PathParameters["paymentKey"]
	if paymentKey == "" || len(paymentKey) > 200 || !utf8.ValidString(paymentKey) || strings.ContainsAny(paymentKey, "/?#") {
		return Error(r, CodeNotFoundOrder, "")
	}
	var in cancelBody
	body, fail := readJSON(r, &in)
	if fail != nil {
		return *fail
	}
	callerKey := apigw.Header(r, "idempotency-key")
	return s.idempotent(ctx, r, "merchant", body, func(ctx context.Context) apigw.Response {
		var amount int64
		if len(in.CancelAmount) > 0 && string(in.CancelAmount) != "null" {
			a, ok := parseAmount(json.Number(in.CancelAmount))
			if !ok {
				return Error(r, CodeInvalidRequest, fieldMessage(LangOf(r), "cancelAmount", "must be a positive integer"))
			}
			amount = a
		}
		res, err := s.Engine.CancelPayment(ctx, paymentKey, in.CancelReason, amount, callerKey)
		if err != nil {
			return s.cancelError(ctx, r, err)
		}
		if res.Order != nil {
			ctx = withOrder(ctx, res.Order.ID)
		}
		s.log().InfoContext(ctx, "refund", "amount", amount, "repeated", res.Repeated)
		return Entity(r, http.StatusOK, "order", CancelEntityBody{OrderEntity: s.orderEntity(r, res.Order), Repeated: res.Repeated})
	})
}

func (s *Service) cancelError(ctx context.Context, r *apigw.Request, err error) apigw.Response {
	var te *toss.Error
	var ic *payments.InvalidCancelError
	switch {
	case errors.Is(err, idempotency.ErrInvalidKey):
		// s.idempotent applies the same rule first; this keeps the refund
		// path from ever answering a bad key with another code.
		return Error(r, CodeInvalidIdempotencyKey, keyMessage(err, LangOf(r)))
	case errors.As(err, &ic):
		return Error(r, CodeInvalidRequest, fieldMessage(LangOf(r), ic.Field, ic.Reason))
	case errors.Is(err, payments.ErrOrderNotFound):
		return Error(r, CodeNotFoundOrder, "")
	case errors.Is(err, payments.ErrNotCancelable):
		return Error(r, CodeNotCancelableOrder, "")
	case errors.As(err, new(*payments.CancelAmountError)):
		return Error(r, CodeExceedCancelAmount, "")
	case errors.Is(err, payments.ErrCancelUnknown):
		s.log().WarnContext(ctx, "refund outcome unknown", "error", err)
		return Error(r, CodeCancelOutcomeUnknown, "")
	case errors.As(err, &te) && toss.IsConfiguration(err):
		// Toss refused our own keys, MID or contract: our outage, not the
		// merchant's credentials or request, so never answered as their
		// 401 or 4xx (and, as a 5xx, never stored under their key).
		s.log().ErrorContext(ctx, "refund: Toss refuses the merchant's configuration (README, runbook)", "code", te.Code)
		return Error(r, CodeServiceUnavailable, "")
	case errors.As(err, &te) && toss.Classify(err) != toss.ClassDefinitive:
		// Toss's transient answers (PROVIDER_ERROR is a 400, 409 says
		// another request under the key is running): passed on as an
		// outage to retry, which no Idempotency-Key remembers; stored as
		// Toss's 4xx, they kept the same request from ever running again.
		s.log().WarnContext(ctx, "refund: Toss answered a transient error", "code", te.Code, "status", te.Status)
		return ErrorStatus(r, http.StatusServiceUnavailable, te.Code, te.Message)
	case errors.As(err, &te) && te.Code != "" && te.Status >= 400 && te.Status < 500:
		// Toss refused: its code and message, with its status.
		return ErrorStatus(r, te.Status, te.Code, te.Message)
	}
	s.log().ErrorContext(ctx, "refund", "error", err)
	return Error(r, CodeServiceUnavailable, "")
}
