package ratelimit

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tossintl/backend/shared/internal/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var t0 = time.Date(2026, 12, 7, 12, 0, 15, 0, time.UTC)

// TestCeilingAdmitsPerMinute: at most PerMinute calls in a calendar minute,
// the rest refused with the time to the next minute; the next minute
// admits again. With shards picked in turn the ceiling fills exactly.
func TestCeilingAdmitsPerMinute(t *testing.T) {
	for _, tc := range []struct{ perMinute, shards int }{{600, 0}, {100, 32}, {12, 32}, {1, 32}, {50, 1}} {
		t.Run(fmt.Sprintf("%d over %d shards", tc.perMinute, tc.shards), func(t *testing.T) {
			turn := 0
			c := &Ceiling{Name: "t", PerMinute: tc.perMinute, Shards: tc.shards, Counter: &MemoryCounter{},
				Pick: func(n int) int { turn++; return turn % n }}
			admitted := 0
			for i := range 2*tc.perMinute + 10 {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				wait, err := c.Admit(context.Background(), now)
				switch {
				case err != nil:
					t.Fatal(err)
				case wait == 0:
					admitted++
				case wait != t0.Truncate(time.Minute).Add(time.Minute).Sub(now):
					t.Fatalf("wait %s at %s", wait, now)
				}
			}
			if admitted != tc.perMinute {
				t.Fatalf("admitted %d in a minute, want %d", admitted, tc.perMinute)
			}
			if wait, err := c.Admit(context.Background(), t0.Add(time.Minute)); err != nil || wait != 0 {
				t.Fatalf("the next minute: %s %v", wait, err)
			}
		})
	}
	var none *Ceiling
	if wait, err := none.Admit(context.Background(), t0); wait != 0 || err != nil {
		t.Fatal("a nil ceiling refused")
	}
}

// The shares of the shards add up to the ceiling exactly.
func TestSharesAddUp(t *testing.T) {
	for _, per := range []int{1, 7, 31, 32, 33, 600, 1000, 120000} {
		c := &Ceiling{PerMinute: per}
		n := c.shards()
		var sum int64
		for i := range n {
			if c.share(i, n) < 1 {
				t.Fatalf("%d: shard %d has no share", per, i)
			}
			sum += c.share(i, n)
		}
		if sum != int64(per) || n > DefaultShards {
			t.Fatalf("%d: %d shards sharing %d", per, n, sum)
		}
	}
}

// TestDynamoCounterUnderConcurrency: many Lambdas at once, shards picked at
// random as in production, on DynamoDB's conditional ADD (moto behind the
// atomic proxy): never more than the ceiling admitted in a minute, no
// counter item above its share (so no partition key takes more than its
// part of the writes), and each item carries its TTL.
func TestDynamoCounterUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	db := awstest.DynamoDB(t)
	table := awstest.UniqueName("limits")
	awstest.CreateTable(t, db, TableDefinition(table))
	if _, err := db.UpdateTimeToLive(ctx, TimeToLiveDefinition(table)); err != nil {
		t.Fatal(err)
	}
	// A minute of now, not of t0: an item whose TTL is in the past may be
	// deleted under the test (its count then starts again).
	t0 := time.Now().UTC().Truncate(time.Minute).Add(15 * time.Second)
	const perMinute = 40
	c := &Ceiling{Name: "anonymousTossCalls", PerMinute: perMinute, Shards: 8, Counter: NewDynamoCounter(db, table)}
	var mu sync.Mutex
	admitted, refused := 0, 0
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 8 {
				wait, err := c.Admit(ctx, t0.Add(time.Duration(w*8+i)*time.Millisecond))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if wait == 0 {
					admitted++
				} else {
					refused++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if admitted > perMinute || admitted < perMinute-8 || admitted+refused != 64 {
		t.Fatalf("admitted %d and refused %d of 64, want at most %d admitted (and few of it unused)", admitted, refused, perMinute)
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, it := range out.Items {
		id := it["id"].(*types.AttributeValueMemberS).Value
		var n, ttl int64
		if _, err := fmt.Sscan(it["n"].(*types.AttributeValueMemberN).Value, &n); err != nil {
			t.Fatalf("counter %s n: %v", id, err)
		}
		if _, err := fmt.Sscan(it["ttl"].(*types.AttributeValueMemberN).Value, &ttl); err != nil {
			t.Fatalf("counter %s ttl: %v", id, err)
		}
		if !strings.HasPrefix(id, fmt.Sprintf("anonymousTossCalls#%d#", t0.Truncate(time.Minute).Unix())) || n > perMinute/8 {
			t.Errorf("counter %s = %d, want at most %d", id, n, perMinute/8)
		}
		if want := t0.Truncate(time.Minute).Add(time.Minute + time.Hour).Unix(); ttl != want {
			t.Errorf("counter %s expires %d, want %d", id, ttl, want)
		}
		total += n
	}
	if total != int64(admitted) || len(out.Items) > 8 {
		t.Fatalf("%d counters hold %d, want %d on at most 8", len(out.Items), total, admitted)
	}
}

// A counter that cannot be kept is an error, never an admission.
func TestDynamoCounterErrorsAreNotAdmissions(t *testing.T) {
	db := awstest.DynamoDB(t)
	c := &Ceiling{Name: "t", PerMinute: 10, Counter: NewDynamoCounter(db, awstest.UniqueName("no-such-table"))}
	if wait, err := c.Admit(context.Background(), t0); err == nil {
		t.Fatalf("admitted (wait %s) with no table", wait)
	}
}
