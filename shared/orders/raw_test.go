package orders_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// tossJSON is a Payment object as Toss answers a confirm: what POST /confirm
// gives back, byte for byte, on every repeat.
const tossJSON = `{"version":"2022-11-16","paymentKey":"pk_1","orderId":"x","method":"카드","totalAmount":15000,"status":"DONE","card":{"number":"43301234****123*"}}`

// Payment.Raw is written with the DONE transition, read back byte for byte
// (from the transition's answer, from Get, and from a refused write's
// ALL_OLD), and left alone by the refund transitions.
func TestPaymentRawIsKeptFromApproval(t *testing.T) {
	now := t0.Add(10 * time.Second)
	forEachStore(t, func(t *testing.T, f fixture) {
		for name, record := range map[string]func(o *orders.Order, p orders.Payment) (*orders.Order, error){
			"complete": func(o *orders.Order, p orders.Payment) (*orders.Order, error) {
				mustClaim(t, f.store, o, "pk_1", t0)
				return f.store.Complete(ctx, o.ID, "pk_1", p, now)
			},
			"settle from toss": func(o *orders.Order, p orders.Payment) (*orders.Order, error) {
				return f.store.SettleFromToss(ctx, o.ID, "pk_1", p, now)
			},
		} {
			t.Run(name, func(t *testing.T) {
				o := create(t, f.store, 15000, t0)
				withRaw := payment
				withRaw.Raw = []byte(tossJSON)
				done, err := record(o, withRaw)
				if err != nil {
					t.Fatal(err)
				}
				if done.Payment == nil || string(done.Payment.Raw) != tossJSON {
					t.Fatalf("answer's raw = %q", done.Payment.Raw)
				}
				withRaw.Raw[0] = '['      // the caller's slice is not the store's
				done.Payment.Raw[1] = '[' // nor is the answer's
				done.Payment.Raw[1] = '"'
				equal(t, "get after the DONE transition", mustGet(t, f.store, o.ID, now), done)

				// A repeat's claim is refused with the order, raw included.
				_, err = f.store.Claim(ctx, claimOf(o, "pk_1", now))
				if ce := wantConflict(t, err, orders.StatusDone); string(ce.Current.Payment.Raw) != tossJSON {
					t.Errorf("refused claim's order has raw %q", ce.Current.Payment.Raw)
				}

				// A refund changes the summary, never the approval's raw.
				refunded := canceled(5000)
				refunded.Raw = []byte(`{"status":"PARTIAL_CANCELED"}`)
				after, err := f.store.ApplyCancel(ctx, o.ID, "pk_1", refunded, now.Add(time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				if string(after.Payment.Raw) != tossJSON || after.Payment.BalanceAmount != 10000 {
					t.Errorf("after a refund: raw %q, balance %d", after.Payment.Raw, after.Payment.BalanceAmount)
				}
				equal(t, "get after a refund", mustGet(t, f.store, o.ID, now.Add(time.Minute)), after)
			})
		}

		t.Run("no raw reads back as nil", func(t *testing.T) {
			o := create(t, f.store, 15000, t0)
			mustClaim(t, f.store, o, "pk_1", t0)
			empty := payment
			empty.Raw = []byte{}
			done, err := f.store.Complete(ctx, o.ID, "pk_1", empty, now)
			if err != nil {
				t.Fatal(err)
			}
			if done.Payment.Raw != nil {
				t.Errorf("raw = %q, want nil", done.Payment.Raw)
			}
			equal(t, "get", mustGet(t, f.store, o.ID, now), done)
		})
	})
}

// A raw the order could not keep or give back as it came is refused before
// any I/O, by both DONE transitions.
func TestPaymentRawRefusedBeforeIO(t *testing.T) {
	cases := map[string][]byte{
		"not JSON":        []byte(`{"status":`),
		"an array":        []byte(`[1,2]`),
		"a string":        []byte(`"DONE"`),
		"invalid UTF-8":   []byte("{\"method\":\"\xff\"}"),
		"over the bound":  []byte(`{"metadata":"` + strings.Repeat("x", orders.MaxPaymentRaw) + `"}`),
		"trailing object": []byte(`{} {}`),
	}
	now := t0.Add(10 * time.Second)
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, o, "pk_1", t0)
		for name, raw := range cases {
			p := payment
			p.Raw = raw
			if f.calls != nil {
				f.calls.Reset()
			}
			_, err := f.store.Complete(ctx, o.ID, "pk_1", p, now)
			var ve *orders.ValidationError
			if !errors.As(err, &ve) || ve.Field != "payment.raw" {
				t.Errorf("%s: complete err = %v, want a ValidationError on payment.raw", name, err)
			}
			_, err = f.store.SettleFromToss(ctx, o.ID, "pk_1", p, now)
			if !errors.As(err, &ve) || ve.Field != "payment.raw" {
				t.Errorf("%s: settle err = %v, want a ValidationError on payment.raw", name, err)
			}
			if f.calls != nil && f.calls.Count() != 0 {
				t.Errorf("%s: refused writes reached DynamoDB: %s", name, f.calls)
			}
		}
		if got := mustGet(t, f.store, o.ID, now); got.Status != orders.StatusConfirming {
			t.Errorf("status %s after refused writes", got.Status)
		}
		// At the bound exactly is kept.
		p := payment
		p.Raw = append(append([]byte(`{"m":"`), bytes.Repeat([]byte("x"), orders.MaxPaymentRaw-8)...), `"}`...)
		if len(p.Raw) != orders.MaxPaymentRaw {
			t.Fatalf("fixture is %d bytes", len(p.Raw))
		}
		if _, err := f.store.Complete(ctx, o.ID, "pk_1", p, now); err != nil {
			t.Errorf("raw of exactly MaxPaymentRaw bytes: %v", err)
		}
	})
}
