// Package ratelimit keeps a ceiling on how many calls of one kind may be
// made in a calendar minute across every Lambda at once: here, the Toss
// calls that callers without an order's checkout token cause (their
// confirms, redirects, lookups and webhooks), so that however many orders
// an attacker knows the ids of, the merchant's Toss secret key is never
// driven toward Toss's own rate limit by them.
//
// The count lives on DynamoDB, where every Lambda sees it, as one counter
// item per shard per minute: a single counter item would be one hot
// partition key taking every anonymous call's write (one partition serves
// 1,000 writes a second), so the minute's ceiling is split over Shards
// items and each admission increments one picked at random, the same
// reasoning that spreads the orders' indexes over 32 keys
// (orders.ShardCount). Each item is a conditional ADD, refused once its
// share of the ceiling is used: one write per admission, no read.
package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// DefaultShards is how many counter items share a minute's ceiling: as
// many as the orders' indexes have keys (orders.ShardCount), which keeps
// every item below half a partition's write limit at the flash sale's
// rate of anonymous calls (README, "Abuse limits").
const DefaultShards = 32

// Window is the ceiling's period: a calendar minute, so at most PerMinute
// calls are admitted between hh:mm:00 and hh:mm:59.999, and at most twice
// that in the 60 seconds around a minute's turn.
const Window = time.Minute

// Counter adds one to the count under key if it is below limit, and reports
// whether it did. expires is when the count may be forgotten (a TTL).
type Counter interface {
	Increment(ctx context.Context, key string, limit int64, expires time.Time) (bool, error)
}

// Ceiling admits at most PerMinute calls a minute across every process
// sharing Counter. The zero PerMinute admits nothing; a nil *Ceiling
// admits everything (no ceiling configured).
type Ceiling struct {
	Name      string // the key's prefix: what is counted
	PerMinute int
	Counter   Counter
	// Shards is how many counter items share the minute (DefaultShards
	// when 0). A ceiling below Shards uses PerMinute items of one call each.
	Shards int
	// Pick returns a shard in [0, n); nil picks at random. Tests fix it.
	Pick func(n int) int
}

// Admit counts one call at now. It returns 0 when the call is admitted,
// else how long until the next minute, when calls are admitted again.
// An error means the count could not be kept (its store failed), never an
// admission: whether to make the call then is the caller's choice (the
// payments engine makes it, since every call it counts here is bounded
// per order already).
//
// It tries a second shard when the first is full: shards fill unevenly,
// and without it a call could be refused while most of the minute's
// ceiling is unused. Refusals near the ceiling can still leave a few calls
// of it unused: the ceiling is a bound, never a promise.
func (c *Ceiling) Admit(ctx context.Context, now time.Time) (time.Duration, error) {
	if c == nil {
		return 0, nil
	}
	minute := now.Truncate(Window)
	next := minute.Add(Window)
	wait := max(next.Sub(now), time.Millisecond)
	shards := c.shards()
	if shards == 0 {
		return wait, nil
	}
	first := c.pick(shards)
	tries := []int{first}
	if shards > 1 {
		tries = append(tries, (first+1+c.pick(shards-1))%shards) // another shard than first
	}
	// The counts outlive their minute by an hour: long enough that no
	// clock skew between Lambdas makes one count a minute twice.
	expires := next.Add(time.Hour)
	for _, shard := range tries {
		ok, err := c.Counter.Increment(ctx, c.key(minute, shard), c.share(shard, shards), expires)
		if err != nil {
			return 0, fmt.Errorf("ratelimit: %s: count a call: %w", c.Name, err)
		}
		if ok {
			return 0, nil
		}
	}
	return wait, nil
}

func (c *Ceiling) shards() int {
	n := c.Shards
	if n <= 0 {
		n = DefaultShards
	}
	return max(0, min(n, c.PerMinute))
}

// share is shard's part of PerMinute: the shares add up to PerMinute
// exactly.
func (c *Ceiling) share(shard, shards int) int64 {
	s := c.PerMinute / shards
	if shard < c.PerMinute%shards {
		s++
	}
	return int64(s)
}

func (c *Ceiling) pick(n int) int {
	if c.Pick != nil {
		return c.Pick(n)
	}
	return rand.IntN(n)
}

// key names shard's counter of the minute starting at minute.
func (c *Ceiling) key(minute time.Time, shard int) string {
	return fmt.Sprintf("%s#%d#%02d", c.Name, minute.Unix(), shard)
}

// MemoryCounter is a Counter in one process, for tests and the simulation.
type MemoryCounter struct {
	mu     sync.Mutex
	counts map[string]int64
}

// Increment implements Counter.
func (m *MemoryCounter) Increment(_ context.Context, key string, limit int64, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts == nil {
		m.counts = map[string]int64{}
	}
	if m.counts[key] >= limit {
		return false, nil
	}
	m.counts[key]++
	return true, nil
}
