package payments

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
	"github.com/tossintl/backend/shared/toss"
)

// lookupFails is a Toss whose lookups all answer err.
type lookupFails struct {
	*fakeToss
	err error
}

func (l lookupFails) Payment(context.Context, string, ...toss.CallOption) (*toss.Payment, error) {
	return nil, l.err
}

// TestConfigurationAnswers: Toss refusing a confirm for the merchant's
// configuration leaves the order as it was before the attempt (payable,
// nothing recorded) and answers *ConfigurationError, whoever asks.
func TestConfigurationAnswers(t *testing.T) {
	for _, code := range []string{toss.CodeUnauthorizedKey, toss.CodeInvalidAPIKey, toss.CodeIncorrectBasicAuthFormat,
		"NOT_FOUND_TERMINAL_ID", "NOT_REGISTERED_BUSINESS", "INVALID_UNREGISTERED_SUBMALL", "UNAPPROVED_ORDER_ID"} {
		for _, withToken := range []bool{false, true} {
			name := code
			if withToken {
				name += "/checkout token"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
				m := &countingMetrics{}
				f.engine.Metrics = m
				o := f.newOrder(t, 39000)
				const key = "tgen_config_0001"
				f.toss.declines[key] = &toss.Error{Status: toss.StatusOf(code), Code: code, Message: "m"}
				token := ""
				if withToken {
					token = o.CheckoutToken
				}
				res, err := f.engine.ConfirmWithToken(ctx, token, key, o.ID, o.Amount)
				var ce *ConfigurationError
				if res != nil || !errors.As(err, &ce) || !errors.Is(err, ErrTossConfiguration) || ce.Code != code || ce.Suspected {
					t.Fatalf("got %+v, %v; want *ConfigurationError %s", res, err, code)
				}
				got := f.get(t, o.ID)
				if got.Status != orders.StatusPending || got.LastFailure != nil || got.PaymentKey != "" {
					t.Errorf("order %s %q %+v, want PENDING as before the attempt", got.Status, got.PaymentKey, got.LastFailure)
				}
				if m.count("configuration") != 1 || m.count("declined") != 0 || m.count("config:"+code) != 0 {
					t.Errorf("outcomes %v: want configuration once, and the code left to the client to count", m.n)
				}
				if _, lookups := f.tossCalls(); lookups != 0 {
					t.Errorf("%d lookups for a code that names the configuration", lookups)
				}
			})
		}
	}
}

// TestAttemptRefusedDecidedByWhoAsks: NOT_FOUND_PAYMENT_SESSION and
// FORBIDDEN_REQUEST are configuration only for the checkout page's buyer
// (the token) whose paymentKey Toss then shows no payment for. Everyone
// else, and that buyer when Toss shows the attempt, get what they got
// before: never issued (released) or declined (recorded).
func TestAttemptRefusedDecidedByWhoAsks(t *testing.T) {
	const key = "tgen_attempt_0001"
	tests := []struct {
		name      string
		code      string
		token     bool
		shown     toss.PaymentStatus // Toss's record of key for the order; "" none
		otherOrd  bool               // Toss's record is of another order
		lookupErr *toss.Error        // the lookup fails so
		want      string             // "configuration", "never_issued", "declined", "done"
		lookups   int
	}{
		{"session: keys of two MIDs, the checkout page's buyer", toss.CodeNotFoundPaymentSession, true, "", false, nil, "configuration", 1},
		{"session: anyone else", toss.CodeNotFoundPaymentSession, false, "", false, nil, "never_issued", 0},
		{"session expired, the checkout page's buyer", toss.CodeNotFoundPaymentSession, true, toss.StatusExpired, false, nil, "never_issued", 1},
		{"session: the lookup is refused as well", toss.CodeNotFoundPaymentSession, true, "", false, &toss.Error{Status: 403, Code: toss.CodeForbiddenRequest}, "configuration", 1},
		{"session: the lookup cannot say", toss.CodeNotFoundPaymentSession, true, "", false, &toss.Error{Status: 500, Code: toss.CodeFailedInternalSystem}, "never_issued", 1},
		{"forbidden: keys of two MIDs, the checkout page's buyer", toss.CodeForbiddenRequest, true, "", false, nil, "configuration", 1},
		{"forbidden: anyone else", toss.CodeForbiddenRequest, false, "", false, nil, "declined", 0},
		{"forbidden: another order's attempt, the checkout page's buyer", toss.CodeForbiddenRequest, true, toss.StatusInProgress, true, nil, "declined", 1},
		{"forbidden: yet Toss shows it approved for this order", toss.CodeForbiddenRequest, true, toss.StatusDone, false, nil, "done", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
			m := &countingMetrics{}
			f.engine.Metrics = m
			o := f.newOrder(t, 39000)
			f.toss.declines[key] = &toss.Error{Status: toss.StatusOf(tt.code), Code: tt.code, Message: "m"}
			if tt.shown != "" {
				p := &toss.Payment{PaymentKey: key, OrderID: o.ID, TotalAmount: o.Amount, BalanceAmount: o.Amount, Status: tt.shown}
				if tt.otherOrd {
					p.OrderID = "ord_someoneelse000000000000"
				}
				f.toss.payments[key] = p
			}
			if tt.lookupErr != nil {
				f.engine.Toss = lookupFails{f.toss, tt.lookupErr}
			}
			token := ""
			if tt.token {
				token = o.CheckoutToken
			}
			res, err := f.engine.ConfirmWithToken(ctx, token, key, o.ID, o.Amount)
			got := f.get(t, o.ID)
			switch tt.want {
			case "configuration":
				var ce *ConfigurationError
				if !errors.As(err, &ce) || !ce.Suspected || ce.Code != tt.code {
					t.Fatalf("got %+v, %v; want a suspected *ConfigurationError", res, err)
				}
				if got.Status != orders.StatusPending || got.LastFailure != nil {
					t.Errorf("order %s %+v", got.Status, got.LastFailure)
				}
				if m.count("config:"+tt.code) != 1 {
					t.Errorf("outcomes %v: the concluded outage is not counted", m.n)
				}
			case "never_issued":
				if err != nil || res.Outcome != OutcomeDeclined || got.Status != orders.StatusPending || got.LastFailure != nil {
					t.Fatalf("got %+v, %v, order %s %+v; want declined to the caller, the order as it was", res, err, got.Status, got.LastFailure)
				}
			case "declined":
				if err != nil || res.Outcome != OutcomeDeclined || got.Status != orders.StatusFailed || got.LastFailure.Code != tt.code {
					t.Fatalf("got %+v, %v, order %s %+v; want declined and recorded", res, err, got.Status, got.LastFailure)
				}
			case "done":
				if err != nil || res.Outcome != OutcomeDone || got.Status != orders.StatusDone {
					t.Fatalf("got %+v, %v, order %s", res, err, got.Status)
				}
			}
			if tt.want != "configuration" && m.count("configuration") != 0 {
				t.Errorf("outcomes %v", m.n)
			}
			if tt.lookupErr == nil {
				if _, lookups := f.tossCalls(); lookups != tt.lookups {
					t.Errorf("%d lookups, want %d", lookups, tt.lookups)
				}
			}
		})
	}
}

// A configuration outage on an order a declined attempt left FAILED puts
// it back as it was: FAILED under the declined attempt, with Toss's
// failure, not the outage.
func TestConfigurationLeavesAnEarlierDeclineAsItWas(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	o := f.newOrder(t, 39000)
	f.toss.declines["tgen_declined_0001"] = &toss.Error{Status: 403, Code: toss.CodeRejectCardCompany, Message: "declined"}
	if res, err := f.engine.Confirm(ctx, "tgen_declined_0001", o.ID, o.Amount); err != nil || res.Outcome != OutcomeDeclined {
		t.Fatalf("declined: %v %+v", err, res)
	}
	declined := f.get(t, o.ID)
	f.toss.declines["tgen_config_0002"] = &toss.Error{Status: 400, Code: toss.CodeInvalidAPIKey, Message: "m"}
	if _, err := f.engine.Confirm(ctx, "tgen_config_0002", o.ID, o.Amount); !errors.Is(err, ErrTossConfiguration) {
		t.Fatalf("got %v", err)
	}
	got := f.get(t, o.ID)
	if got.Status != orders.StatusFailed || got.PaymentKey != "tgen_declined_0001" || *got.LastFailure != *declined.LastFailure {
		t.Fatalf("order %s %q %+v, want as declined: %+v", got.Status, got.PaymentKey, got.LastFailure, declined.LastFailure)
	}
}

// A resumed claim is never given back on a configuration answer: the
// confirm sent under it before may have run at Toss (its outcome was not
// known, which is why the claim lapsed), and Toss refusing our key now
// tells nothing about it. The order stays CONFIRMING for the reconciler,
// and the caller hears a plain outage, not that nothing was charged.
func TestConfigurationKeepsAResumedClaim(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, orders.Validated(orders.NewMemoryStore()))
	m := &countingMetrics{}
	f.engine.Metrics = m
	o := f.newOrder(t, 39000)
	const key = "tgen_resumed_0001"
	f.toss.faults = []error{&toss.Error{Method: "POST", Path: "/v1/payments/confirm", Err: errors.New("connection reset")}}
	if res, err := f.engine.ConfirmWithToken(ctx, o.CheckoutToken, key, o.ID, o.Amount); err != nil || res.Outcome != OutcomeProcessing {
		t.Fatalf("first confirm: %+v, %v; want processing", res, err)
	}
	f.clock.Advance(f.engine.ClaimDuration + time.Second)
	f.toss.declines[key] = &toss.Error{Status: 401, Code: toss.CodeUnauthorizedKey, Message: "m"}
	res, err := f.engine.ConfirmWithToken(ctx, o.CheckoutToken, key, o.ID, o.Amount)
	if err == nil || errors.Is(err, ErrTossConfiguration) || toss.CodeOf(err) != toss.CodeUnauthorizedKey {
		t.Fatalf("resume: %+v, %v; want a plain outage carrying Toss's answer", res, err)
	}
	if got := f.get(t, o.ID); got.Status != orders.StatusConfirming || got.PaymentKey != key || got.LastFailure != nil {
		t.Errorf("order %s %q %+v, want CONFIRMING under the resumed attempt", got.Status, got.PaymentKey, got.LastFailure)
	}
	if m.count("configuration") != 1 {
		t.Errorf("outcomes %v", m.n)
	}
}
