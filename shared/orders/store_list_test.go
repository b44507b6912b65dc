package orders_test

import (
	"encoding/base64"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

func TestDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		got, err := f.store.Delete(ctx, o.ID, o.Version, t0)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "deleted", got, o)
		_, err = f.store.Get(ctx, o.ID, t0)
		wantNotFound(t, err)
		_, err = f.store.Delete(ctx, o.ID, o.Version, t0)
		wantNotFound(t, err)

		expired := create(t, f.store, 15000, t0)
		exp, err := f.store.Expire(ctx, expired.ID, expired.PayableUntil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Delete(ctx, expired.ID, exp.Version, expired.PayableUntil); err != nil {
			t.Errorf("delete expired: %v", err)
		}

		// A delete of the order as read before it changed is refused:
		// what the caller checked about it may no longer hold.
		failed := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, failed, "pk_1", t0)
		fl, err := f.store.Fail(ctx, failed.ID, "pk_1", orders.Failure{Code: "X"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.store.Delete(ctx, failed.ID, failed.Version, t0)
		wantConflict(t, err, orders.StatusFailed)
		if _, err := f.store.Delete(ctx, failed.ID, fl.Version, t0); err != nil {
			t.Errorf("delete failed order at its version: %v", err)
		}

		paid := create(t, f.store, 15000, t0)
		claimed := mustClaim(t, f.store, paid, "pk_1", t0)
		_, err = f.store.Delete(ctx, paid.ID, claimed.Version, t0)
		wantConflict(t, err, orders.StatusConfirming)
		done, err := f.store.Complete(ctx, paid.ID, "pk_1", payment, t0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.store.Delete(ctx, paid.ID, done.Version, t0)
		wantConflict(t, err, orders.StatusDone)
		equal(t, "paid order after refused delete", mustGet(t, f.store, paid.ID, t0), done)
	})
}

func TestList(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		now := t0.Add(8 * 24 * time.Hour)
		// One order, in the middle, is past its TTL at now: a short-lived
		// order made under a policy with no retention.
		short := orders.Policy{MaxAmount: 1000, PayWindow: time.Millisecond}
		var want []string
		for i := range 7 {
			created := now.Add(-time.Duration(10-i) * time.Minute)
			if i == 3 {
				o, err := orders.New(orders.Draft{Name: "Short-lived", Amount: 1000}, created, short)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.store.Create(ctx, o); err != nil {
					t.Fatal(err)
				}
				continue
			}
			o := create(t, f.store, int64(1000+i), created)
			want = append([]string{o.ID}, want...) // newest first
		}
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("list never ended")
			}
			items, next, err := f.store.List(ctx, now, 2, cursor)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) > 2 {
				t.Fatalf("page of %d, limit 2", len(items))
			}
			got = append(got, ids(items)...)
			if next == "" {
				break
			}
			cursor = next
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("listed %v, want %v", got, want)
		}

		b64 := base64.RawURLEncoding.EncodeToString
		bad := []string{
			"!!!",
			b64([]byte(`{"c":1}`)),                        // no ID
			b64([]byte(`{"c":1,"i":"x"}`)),                // not an order ID
			b64([]byte(`{"c":-5,"i":"ord_123456"}`)),      // no such time
			b64([]byte(`{"c":1,"i":"ord_123456","z":1}`)), // not ours
			b64([]byte(`{"c":1,"i":"ord_123456"}{}`)),     // trailing data
			b64([]byte(`{"c":"1","i":"ord_123456"}`)),     // wrong type
			b64([]byte(`[]`)),                             // not an object
			string(make([]byte, 300)),                     // too long
		}
		for _, c := range bad {
			_, _, err := f.store.List(ctx, now, 2, c)
			var ve *orders.ValidationError
			if !errors.As(err, &ve) || ve.Field != "cursor" {
				t.Errorf("cursor %q: err = %v, want ValidationError on cursor", c, err)
			}
		}
	})
}

// canceled is the payment summary Toss reports after cancels of the given
// amounts on payment (15,000 won). Times carry nanoseconds on purpose.
