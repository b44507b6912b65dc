package orders_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

func TestClaim(t *testing.T) {
	type outcome int
	const (
		ok outcome = iota
		conflict
		notFound
		invalid
	)
	fail := orders.Failure{Code: "REJECT_CARD_COMPANY", Message: "declined"}
	cases := []struct {
		name    string
		prepare func(t *testing.T, s orders.Store, o *orders.Order)
		claim   func(o *orders.Order) orders.Claim
		want    outcome
	}{
		{"pending, exact amount", nil,
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(time.Minute)) }, ok},
		{"tampered amount", nil,
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0.Add(time.Minute))
				c.Amount = 100
				return c
			}, conflict},
		{"amount one won over", nil,
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0.Add(time.Minute))
				c.Amount++
				return c
			}, conflict},
		{"at PayableUntil", nil,
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", o.PayableUntil) }, conflict},
		{"after PayableUntil", nil,
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", o.PayableUntil.Add(time.Minute)) }, conflict},
		{"failed, another card",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Fail(ctx, o.ID, "pk_1", fail, t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			},
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_2", t0.Add(time.Minute)) }, ok},
		{"failed, same card again",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Fail(ctx, o.ID, "pk_1", fail, t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			},
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(time.Minute)) }, conflict},
		{"failed, after PayableUntil",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Fail(ctx, o.ID, "pk_1", fail, t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			},
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_2", o.PayableUntil.Add(time.Second)) }, conflict},
		{"live claim, other key",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_2", t0.Add(time.Second)) }, conflict},
		{"live claim, same key",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(time.Second)) }, conflict},
		{"claim at its exact end, same key",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(claimFor)) }, conflict},
		{"lapsed claim, same key (resume)",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(claimFor+time.Millisecond)) }, ok},
		{"lapsed claim, resumed after PayableUntil",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", o.PayableUntil.Add(time.Hour)) }, ok},
		{"lapsed claim, other key",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_2", t0.Add(time.Hour)) }, conflict},
		{"lapsed claim, same key, tampered amount",
			func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) },
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0.Add(time.Hour))
				c.Amount = 1
				return c
			}, conflict},
		{"done",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				mustClaim(t, s, o, "pk_1", t0)
				if _, err := s.Complete(ctx, o.ID, "pk_1", payment, t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			},
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(time.Hour)) }, conflict},
		{"expired",
			func(t *testing.T, s orders.Store, o *orders.Order) {
				if _, err := s.Expire(ctx, o.ID, o.PayableUntil); err != nil {
					t.Fatal(err)
				}
			},
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", t0.Add(time.Minute)) }, conflict},
		{"past TTL", nil,
			func(o *orders.Order) orders.Claim { return claimOf(o, "pk_1", o.ExpiresAt) }, notFound},
		{"unknown order", nil,
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0)
				c.OrderID = orders.NewID()
				return c
			}, notFound},
		{"malformed order ID", nil,
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0)
				c.OrderID = "../x"
				return c
			}, notFound},
		{"no payment key", nil,
			func(o *orders.Order) orders.Claim { return claimOf(o, "", t0) }, invalid},
		{"claim ends before it starts", nil,
			func(o *orders.Order) orders.Claim {
				c := claimOf(o, "pk_1", t0)
				c.Until = t0
				return c
			}, invalid},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				o := create(t, f.store, 15000, t0)
				if tc.prepare != nil {
					tc.prepare(t, f.store, o)
				}
				before := mustGet(t, f.store, o.ID, t0)
				c := tc.claim(o)
				got, err := f.store.Claim(ctx, c)
				switch tc.want {
				case ok:
					if err != nil {
						t.Fatalf("claim: %v", err)
					}
					want := *before
					want.Status, want.PaymentKey = orders.StatusConfirming, c.PaymentKey
					want.ClaimExpiresAt, want.ExpiresAt = ms(c.Until), time.Time{}
					want.UpdatedAt, want.Version = ms(c.Now), before.Version+1
					want.RecentAttempts = append([]time.Time{ms(c.Now)}, before.RecentAttempts...)
					if want.ClaimedAt.IsZero() {
						want.ClaimedAt = ms(c.Now) // a fresh claim; a resume keeps its own
					}
					equal(t, "claimed", got, &want)
					equal(t, "get after claim", mustGet(t, f.store, o.ID, c.Now), got)
					return
				case conflict:
					ce := wantConflict(t, err, before.Status)
					equal(t, "conflict's current", ce.Current, before)
					if ce.Current.Amount != 15000 {
						t.Errorf("current amount = %d, want the stored 15000", ce.Current.Amount)
					}
				case notFound:
					wantNotFound(t, err)
				case invalid:
					if !orders.IsValidation(err) {
						t.Fatalf("err = %v, want ValidationError", err)
					}
				}
				if got != nil {
					t.Errorf("refused claim returned %+v", got)
				}
				equal(t, "order after refused claim", mustGet(t, f.store, o.ID, t0), before)
			})
		}
	})
}

func TestCompleteAndFail(t *testing.T) {
	failure := orders.Failure{Code: "REJECT_CARD_COMPANY", Message: "declined", PaymentKey: "pk_1", Amount: 15000, At: t0.Add(5 * time.Second)}
	now := t0.Add(10 * time.Second)
	type op func(s orders.Store, id, key string) (*orders.Order, error)
	complete := func(s orders.Store, id, key string) (*orders.Order, error) {
		return s.Complete(ctx, id, key, payment, now)
	}
	fail := func(s orders.Store, id, key string) (*orders.Order, error) {
		return s.Fail(ctx, id, key, failure, now)
	}
	claim := func(t *testing.T, s orders.Store, o *orders.Order) { mustClaim(t, s, o, "pk_1", t0) }
	completed := func(t *testing.T, s orders.Store, o *orders.Order) {
		claim(t, s, o)
		if _, err := complete(s, o.ID, "pk_1"); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T, s orders.Store, o *orders.Order)
		op      op
		key     string
		unknown bool          // act on an ID nobody created
		want    orders.Status // on success; "" expects a refusal
		current orders.Status // the refused order's status; "" expects ErrNotFound
	}{
		{"complete", claim, complete, "pk_1", false, orders.StatusDone, ""},
		{"complete, other key", claim, complete, "pk_2", false, "", orders.StatusConfirming},
		{"complete, pending", nil, complete, "pk_1", false, "", orders.StatusPending},
		{"complete twice", completed, complete, "pk_1", false, "", orders.StatusDone},
		{"complete, unknown order", claim, complete, "pk_1", true, "", ""},
		{"fail", claim, fail, "pk_1", false, orders.StatusFailed, ""},
		{"fail, other key", claim, fail, "pk_2", false, "", orders.StatusConfirming},
		{"fail, pending", nil, fail, "pk_1", false, "", orders.StatusPending},
		{"fail after done", completed, fail, "pk_1", false, "", orders.StatusDone},
		{"fail, unknown order", claim, fail, "pk_1", true, "", ""},
	}
	forEachStore(t, func(t *testing.T, f fixture) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				o := create(t, f.store, 15000, t0)
				if tc.prepare != nil {
					tc.prepare(t, f.store, o)
				}
				before := mustGet(t, f.store, o.ID, t0)
				id := o.ID
				if tc.unknown {
					id = orders.NewID()
				}
				got, err := tc.op(f.store, id, tc.key)
				switch {
				case tc.want != "":
					if err != nil {
						t.Fatal(err)
					}
					want := *before
					want.Status, want.ClaimExpiresAt, want.ClaimedAt = tc.want, time.Time{}, time.Time{}
					want.UpdatedAt, want.Version = ms(now), before.Version+1
					if tc.want == orders.StatusDone {
						p := payment
						p.ApprovedAt = ms(p.ApprovedAt)
						want.Payment = &p
					} else {
						fl := failure
						fl.At = ms(fl.At)
						want.LastFailure, want.ExpiresAt = &fl, o.ExpiresAt
					}
					equal(t, tc.name, got, &want)
					equal(t, "get after "+tc.name, mustGet(t, f.store, o.ID, now), got)
					return
				case tc.current == "":
					wantNotFound(t, err)
				default:
					ce := wantConflict(t, err, tc.current)
					equal(t, "conflict's current", ce.Current, before)
				}
				equal(t, "order after refusal", mustGet(t, f.store, o.ID, t0), before)
			})
		}
	})
}

func TestRecordFailure(t *testing.T) {
	f1 := orders.Failure{Code: "AMOUNT_MISMATCH", Message: "amount differs", PaymentKey: "pk_9", Amount: 1, At: t0}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		got, err := f.store.RecordFailure(ctx, o.ID, f1, t0.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		wantF := f1
		wantF.At = ms(f1.At)
		if got.Status != orders.StatusPending || !reflect.DeepEqual(got.LastFailure, &wantF) || got.Version != 2 {
			t.Errorf("after record failure: %+v", got)
		}
		mustClaim(t, f.store, o, "pk_1", t0.Add(2*time.Second))
		_, err = f.store.RecordFailure(ctx, o.ID, f1, t0.Add(3*time.Second))
		wantConflict(t, err, orders.StatusConfirming)
		_, err = f.store.RecordFailure(ctx, orders.NewID(), f1, t0)
		wantNotFound(t, err)
	})
}

// A recorded failure is never replaced by another: a wrong amount anyone
// can send must not overwrite the decline Toss reported, which the
// declined attempt's own repeat is answered from (the simulator's seed
// 376653 found the race the engine's own check left open).
func TestRecordFailureKeepsTheFailureRecorded(t *testing.T) {
	mismatch := orders.Failure{Code: "AMOUNT_MISMATCH", Message: "amount differs", PaymentKey: "pk_2", Amount: 1, At: t0}
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, o, "pk_1", t0.Add(time.Second))
		declined, err := f.store.Fail(ctx, o.ID, "pk_1", orders.Failure{Code: "REJECT_CARD_COMPANY", PaymentKey: "pk_1", Amount: 15000, At: t0}, t0.Add(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.store.RecordFailure(ctx, o.ID, mismatch, t0.Add(3*time.Second))
		ce := wantConflict(t, err, orders.StatusFailed)
		equal(t, "conflict's current", ce.Current, declined)
		equal(t, "order after refusal", mustGet(t, f.store, o.ID, t0.Add(3*time.Second)), declined)

		// A PENDING order's first recorded failure is kept the same way.
		p := create(t, f.store, 15000, t0)
		if _, err := f.store.RecordFailure(ctx, p.ID, mismatch, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		other := mismatch
		other.PaymentKey, other.Amount = "pk_3", 2
		_, err = f.store.RecordFailure(ctx, p.ID, other, t0.Add(2*time.Second))
		wantConflict(t, err, orders.StatusPending)
	})
}

func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	const n = 50
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		var (
			wg        sync.WaitGroup
			start     = make(chan struct{})
			mu        sync.Mutex
			winners   []string
			conflicts int
			others    []error
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				key := fmt.Sprintf("pk_%02d", i)
				_, err := f.store.Claim(ctx, claimOf(o, key, t0.Add(time.Minute)))
				var ce *orders.ConflictError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, key)
				case errors.As(err, &ce):
					conflicts++
				default:
					others = append(others, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 || conflicts != n-1 || len(others) != 0 {
			t.Fatalf("winners %v, conflicts %d, other errors %v; want 1 winner, %d conflicts", winners, conflicts, others, n-1)
		}
		got := mustGet(t, f.store, o.ID, t0.Add(time.Minute))
		if got.Status != orders.StatusConfirming || got.PaymentKey != winners[0] || got.Version != 2 {
			t.Errorf("after the race: %+v, want CONFIRMING for %s at version 2", got, winners[0])
		}
	})
}

func ids(os []*orders.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

func TestLapsedClaimsAndOverdue(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		s := f.store
		now := t0.Add(24 * time.Hour)
		// Past its TTL at now, and the oldest due: DynamoDB still holds it
		// at the head of the index, in front of the live ones.
		create(t, s, 1000, now.Add(-policy.Retention-time.Hour))
		overdueOld := create(t, s, 1000, now.Add(-3*time.Hour))
		failedOverdue := create(t, s, 1000, now.Add(-2*time.Hour))
		mustClaim(t, s, failedOverdue, "pk_f", now.Add(-2*time.Hour))
		if _, err := s.Fail(ctx, failedOverdue.ID, "pk_f", orders.Failure{Code: "X"}, now.Add(-2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		create(t, s, 1000, now.Add(-time.Minute)) // still payable
		lapsed := create(t, s, 1000, now.Add(-time.Hour))
		mustClaim(t, s, lapsed, "pk_l", now.Add(-time.Hour))
		live := create(t, s, 1000, now.Add(-time.Minute))
		mustClaim(t, s, live, "pk_live", now.Add(-time.Second))
		done := create(t, s, 1000, now.Add(-5*time.Hour))
		mustClaim(t, s, done, "pk_d", now.Add(-5*time.Hour))
		if _, err := s.Complete(ctx, done.ID, "pk_d", payment, now.Add(-5*time.Hour)); err != nil {
			t.Fatal(err)
		}
		expired := create(t, s, 1000, now.Add(-6*time.Hour))
		if _, err := s.Expire(ctx, expired.ID, now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if f.calls != nil {
			f.calls.Reset()
		}

		cases := []struct {
			name  string
			list  func(limit int) ([]*orders.Order, error)
			limit int
			want  []string
		}{
			{"lapsed claims", func(l int) ([]*orders.Order, error) { return s.LapsedClaims(ctx, now, l) }, 10, []string{lapsed.ID}},
			{"overdue", func(l int) ([]*orders.Order, error) { return s.Overdue(ctx, now, l) }, 10, []string{overdueOld.ID, failedOverdue.ID}},
			{"overdue, limit 1", func(l int) ([]*orders.Order, error) { return s.Overdue(ctx, now, l) }, 1, []string{overdueOld.ID}},
			{"nothing lapsed yet", func(l int) ([]*orders.Order, error) { return s.LapsedClaims(ctx, now.Add(-time.Hour), l) }, 10, []string{}},
		}
		for _, c := range cases {
			got, err := c.list(c.limit)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !reflect.DeepEqual(ids(got), c.want) {
				t.Errorf("%s = %v, want %v", c.name, ids(got), c.want)
			}
		}
		if f.calls != nil {
			if n := f.calls.Count("Scan"); n != 0 {
				t.Errorf("reconciler queries scanned the table %d times", n)
			}
			// One Query per shard and kind at least, and the orders read
			// by key: the index holds keys only.
			if f.calls.Count("Query") < 2*orders.ShardCount || f.calls.Count() != f.calls.Count("Query")+f.calls.Count("GetItem") {
				t.Errorf("calls = %s, want only Query (every shard) and GetItem", f.calls)
			}
		}
	})
}

func TestExpire(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 15000, t0)
		_, err := f.store.Expire(ctx, o.ID, o.PayableUntil.Add(-time.Millisecond))
		wantConflict(t, err, orders.StatusPending)

		got, err := f.store.Expire(ctx, o.ID, o.PayableUntil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != orders.StatusExpired || got.Version != 2 || !got.ExpiresAt.Equal(o.ExpiresAt) {
			t.Errorf("expired: %+v, want EXPIRED, version 2, TTL kept", got)
		}
		if due, _ := f.store.Overdue(ctx, o.PayableUntil.Add(time.Hour), 10); len(due) != 0 {
			t.Errorf("expired order still overdue: %v", ids(due))
		}
		_, err = f.store.Expire(ctx, o.ID, o.PayableUntil.Add(time.Hour))
		wantConflict(t, err, orders.StatusExpired)

		claimed := create(t, f.store, 15000, t0)
		mustClaim(t, f.store, claimed, "pk_1", t0)
		_, err = f.store.Expire(ctx, claimed.ID, claimed.PayableUntil.Add(time.Hour))
		wantConflict(t, err, orders.StatusConfirming)

		_, err = f.store.Expire(ctx, orders.NewID(), t0)
		wantNotFound(t, err)
	})
}

func TestRelease(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		t.Run("from PENDING", func(t *testing.T) {
			o := create(t, f.store, 15000, t0)
			before := mustGet(t, f.store, o.ID, t0)
			claimed := mustClaim(t, f.store, o, "pk_forged", t0)
			if !claimed.ClaimedAt.Equal(ms(t0)) {
				t.Fatalf("ClaimedAt %v, want %v", claimed.ClaimedAt, ms(t0))
			}
			_, err := f.store.Release(ctx, o.ID, "pk_other", t0)
			wantConflict(t, err, orders.StatusConfirming)
			now := t0.Add(time.Second)
			got, err := f.store.Release(ctx, o.ID, "pk_forged", now)
			if err != nil {
				t.Fatal(err)
			}
			want := *before
			want.RecentAttempts = claimed.RecentAttempts
			want.UpdatedAt, want.Version = ms(now), claimed.Version+1
			equal(t, "released", got, &want)
			equal(t, "get after release", mustGet(t, f.store, o.ID, now), got)
			if over, _ := f.store.Overdue(ctx, o.PayableUntil, 100); !containsID(over, o.ID) {
				t.Error("a released order is not due at its pay window's end")
			}
			_, err = f.store.Release(ctx, o.ID, "pk_forged", now)
			wantConflict(t, err, orders.StatusPending)
			// It had a Toss call, so it expires as a FAILED order does:
			// with a recheck (Toss may approve one of its attempts late),
			// where an order nobody ever tried expires with none.
			if !got.TossAttempted() {
				t.Fatal("a released order does not say Toss calls were made for it")
			}
			untried := create(t, f.store, 15000, t0)
			for _, tc := range []struct {
				o       *orders.Order
				recheck bool
			}{{o, true}, {untried, false}} {
				expired, err := f.store.Expire(ctx, tc.o.ID, o.PayableUntil)
				if err != nil {
					t.Fatal(err)
				}
				if expired.Status != orders.StatusExpired || expired.RecheckAt.IsZero() == tc.recheck {
					t.Fatalf("expired %s with RecheckAt %v, want a recheck %v", expired.Status, expired.RecheckAt, tc.recheck)
				}
			}
		})
		t.Run("payable again after release", func(t *testing.T) {
			o := create(t, f.store, 15000, t0)
			mustClaim(t, f.store, o, "pk_forged", t0)
			if _, err := f.store.Release(ctx, o.ID, "pk_forged", t0); err != nil {
				t.Fatal(err)
			}
			mustClaim(t, f.store, o, "pk_forged", t0.Add(time.Second)) // by any key, the same included
		})
		t.Run("from FAILED, across a resume", func(t *testing.T) {
			o := create(t, f.store, 15000, t0)
			mustClaim(t, f.store, o, "pk_declined", t0)
			fl := orders.Failure{Code: "REJECT_CARD_COMPANY", Message: "declined", PaymentKey: "pk_declined", Amount: 15000, At: t0}
			failed, err := f.store.Fail(ctx, o.ID, "pk_declined", fl, t0)
			if err != nil {
				t.Fatal(err)
			}
			claimed := mustClaim(t, f.store, o, "pk_forged", t0)
			later := t0.Add(claimFor + time.Second)
			resumed := mustClaim(t, f.store, o, "pk_forged", later) // the claim lapsed; its attempt resumes it
			if !resumed.ClaimedAt.Equal(claimed.ClaimedAt) {
				t.Fatalf("a resume moved ClaimedAt: %v, want %v", resumed.ClaimedAt, claimed.ClaimedAt)
			}
			got, err := f.store.Release(ctx, o.ID, "pk_forged", later)
			if err != nil {
				t.Fatal(err)
			}
			want := *failed
			want.RecentAttempts = resumed.RecentAttempts
			want.UpdatedAt, want.Version = ms(later), resumed.Version+1
			equal(t, "released", got, &want)
			// The declined attempt is refused again, as before the claim.
			_, err = f.store.Claim(ctx, claimOf(o, "pk_declined", later))
			wantConflict(t, err, orders.StatusFailed)
		})
		t.Run("unknown or unclaimed", func(t *testing.T) {
			o := create(t, f.store, 15000, t0)
			_, err := f.store.Release(ctx, o.ID, "pk_forged", t0)
			wantConflict(t, err, orders.StatusPending)
			_, err = f.store.Release(ctx, orders.NewID(), "pk_forged", t0)
			wantNotFound(t, err)
			if _, err := f.store.Release(ctx, o.ID, "", t0); !orders.IsValidation(err) {
				t.Fatalf("release without a key: %v", err)
			}
		})
	})
}

func containsID(os []*orders.Order, id string) bool {
	for _, o := range os {
		if o.ID == id {
			return true
		}
	}
	return false
}
