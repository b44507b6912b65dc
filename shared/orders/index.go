package orders

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// How many shard Queries and order reads one call runs at once: enough
// that a listing's 32 Queries take about two round trips, few enough that
// one Lambda does not open a hundred connections.
const (
	queryParallelism = 16
	readParallelism  = 16
)

// The indexes project keys only, so a listing reads its orders from the
// table by id, with GetItem in parallel rather than BatchGetItem: the read
// units are the same (a strongly consistent read of an order of up to 4 KB
// is 1 RCU either way; 20 orders, 20 RCU, spread over the table's random
// id keys), each read is retried by the SDK on its own, and there are no
// UnprocessedKeys to chase under throttling. A page of 20 costs 32 small
// Queries (0.5 RCU each) and 20 reads, in about three round trips.
//
// Reads are strongly consistent because an index is not: an entry may
// name an order that has moved on (another status, deleted), and the
// order as it stands is what decides whether it is listed or due.

// List implements Store: a k-way merge of CreatedIndex's shards, newest
// first (createdAt, then id, descending). The cursor is the last listed
// (createdAt, id), the same for every shard; each shard is queried from
// createdAt <= the cursor's and the entries at or before the cursor are
// skipped, so a cursor stays valid whatever is created after it. Orders
// past their TTL count against limit and are left out, as in MemoryStore.
// next is "" exactly when nothing follows: the merge reads limit+1 keys.
func (s *DynamoStore) List(ctx context.Context, now time.Time, limit int, cur string) ([]*Order, string, error) {
	c, err := listStart(cur)
	if err != nil {
		return nil, "", fmt.Errorf("orders: list: %w", err)
	}
	limit = clampLimit(limit)
	q := indexQuery{
		index:    CreatedIndex,
		hash:     func(n int) string { return shardKey(listPrefix, n) },
		hashAttr: attrListShard,
		sortAttr: attrCreatedAt,
		sortOf:   func(e indexEntry) int64 { return e.CreatedAt },
		desc:     true,
	}
	if c != nil {
		q.sortCond = func(k expression.KeyBuilder) expression.KeyConditionBuilder {
			return k.LessThanEqual(expression.Value(c.CreatedAt))
		}
		q.skip = func(e indexEntry) bool { return e.CreatedAt == c.CreatedAt && e.ID >= c.ID }
	}
	m := s.newMerge(q, int32(limit+1))
	entries, err := m.next(ctx, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("orders: list: %w", err)
	}
	page := entries[:min(limit, len(entries))]
	got, err := s.readAll(ctx, page)
	if err != nil {
		return nil, "", fmt.Errorf("orders: list: %w", err)
	}
	items := make([]*Order, 0, len(got))
	for _, o := range got {
		if o != nil && live(o.ExpiresAt, now) {
			items = append(items, o)
		}
	}
	if len(entries) <= limit {
		return items, "", nil
	}
	last := page[len(page)-1]
	return items, encodeCursor(cursor{CreatedAt: last.CreatedAt, ID: last.ID}), nil
}

// LapsedClaims implements Store with Queries on DueIndex's CLAIM shards.
func (s *DynamoStore) LapsedClaims(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	ms := now.UnixMilli()
	return s.due(ctx, "lapsed claims", dueClaim, now, limit,
		func(k expression.KeyBuilder) expression.KeyConditionBuilder { return k.LessThan(expression.Value(ms)) },
		func(o *Order) bool { return o.Status == StatusConfirming && after(ms, o.ClaimExpiresAt) })
}

// Overdue implements Store with Queries on DueIndex's UNPAID shards,
// using the same "PayableUntil <= now" as Expire.
func (s *DynamoStore) Overdue(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	ms := now.UnixMilli()
	return s.due(ctx, "overdue", dueUnpaid, now, limit,
		func(k expression.KeyBuilder) expression.KeyConditionBuilder {
			return k.LessThanEqual(expression.Value(ms))
		},
		func(o *Order) bool { return o.Status.Payable() && overdue(ms, o.PayableUntil) })
}

// Rechecks implements Store with Queries on DueIndex's RECHECK shards.
func (s *DynamoStore) Rechecks(ctx context.Context, now time.Time, limit int) ([]*Order, error) {
	ms := now.UnixMilli()
	return s.due(ctx, "rechecks", dueRecheck, now, limit,
		func(k expression.KeyBuilder) expression.KeyConditionBuilder {
			return k.LessThanEqual(expression.Value(ms))
		},
		func(o *Order) bool { return !o.RecheckAt.IsZero() && o.RecheckAt.UnixMilli() <= ms })
}

// due merges kind's shards of DueIndex oldest first and reads the orders
// until it has limit that are live and still due as they stand, or the due
// entries run out. An order past its TTL that DynamoDB has not deleted
// yet, or one whose entry the index has not caught up with, costs a read
// but never hides the due orders behind it.
func (s *DynamoStore) due(ctx context.Context, op, kind string, now time.Time, limit int,
	at func(expression.KeyBuilder) expression.KeyConditionBuilder, isDue func(*Order) bool) ([]*Order, error) {
	limit = clampLimit(limit)
	m := s.newMerge(indexQuery{
		index:    DueIndex,
		hash:     func(n int) string { return shardKey(kind, n) },
		hashAttr: attrDueShard,
		sortAttr: attrDueAt,
		sortOf:   func(e indexEntry) int64 { return e.DueAt },
		sortCond: at,
	}, int32(limit))
	out := make([]*Order, 0, limit)
	for len(out) < limit {
		entries, err := m.next(ctx, limit-len(out))
		if err != nil {
			return nil, fmt.Errorf("orders: %s: %w", op, err)
		}
		if len(entries) == 0 {
			break
		}
		got, err := s.readAll(ctx, entries)
		if err != nil {
			return nil, fmt.Errorf("orders: %s: %w", op, err)
		}
		for _, o := range got {
			if o != nil && live(o.ExpiresAt, now) && isDue(o) {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// indexQuery is what a merge of one index's shards asks of each shard.
type indexQuery struct {
	index              string
	hash               func(shard int) string // the shard's hash key value
	hashAttr, sortAttr string
	sortOf             func(indexEntry) int64
	sortCond           func(expression.KeyBuilder) expression.KeyConditionBuilder // nil: the whole shard
	skip               func(indexEntry) bool                                      // entries a cursor has passed
	desc               bool                                                       // newest first
}

// before orders two entries as the merge hands them out: by sort key, then
// by id, both descending when q.desc. The id settles ties, which are
// common (createdAt is in milliseconds), and makes a cursor exact.
func (q indexQuery) before(a, b indexEntry) int {
	c := cmp.Or(cmp.Compare(q.sortOf(a), q.sortOf(b)), cmp.Compare(a.ID, b.ID))
	if q.desc {
		return -c
	}
	return c
}

// shardStream is one shard's entries, read a page at a time.
type shardStream struct {
	key   string
	buf   []indexEntry // sorted by before
	start item         // ExclusiveStartKey of the next page
	done  bool         // no page left
}

// merge hands out the entries of every shard of an index in one order.
type merge struct {
	s       *DynamoStore
	q       indexQuery
	page    int32
	streams []*shardStream
}

func (s *DynamoStore) newMerge(q indexQuery, page int32) *merge {
	m := &merge{s: s, q: q, page: page}
	for n := range ShardCount {
		m.streams = append(m.streams, &shardStream{key: q.hash(n)})
	}
	return m
}

// ready reports whether st's head may be handed out: its buffer holds the
// head's whole tie group (a later entry with another sort key, or the
// shard's end). DynamoDB returns the entries of one sort key in no order
// of id, so a tie group cut by a page could otherwise hand out a larger id
// after a smaller one, and a cursor would then skip it.
func (m *merge) ready(st *shardStream) bool {
	if st.done {
		return true
	}
	n := len(st.buf)
	return n > 0 && m.q.sortOf(st.buf[n-1]) != m.q.sortOf(st.buf[0])
}

// next hands out up to n more entries in order: fewer only when every
// shard is exhausted.
func (m *merge) next(ctx context.Context, n int) ([]indexEntry, error) {
	var out []indexEntry
	for len(out) < n {
		if err := m.fill(ctx); err != nil {
			return nil, err
		}
		var best *shardStream
		for _, st := range m.streams {
			if len(st.buf) > 0 && (best == nil || m.q.before(st.buf[0], best.buf[0]) < 0) {
				best = st
			}
		}
		if best == nil {
			break
		}
		out = append(out, best.buf[0])
		best.buf = best.buf[1:]
	}
	return out, nil
}

// fill reads pages, the shards in parallel, until every shard is ready.
func (m *merge) fill(ctx context.Context) error {
	for {
		var pending []*shardStream
		for _, st := range m.streams {
			if !m.ready(st) {
				pending = append(pending, st)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if err := parallel(ctx, queryParallelism, len(pending), func(ctx context.Context, i int) error {
			return m.readPage(ctx, pending[i])
		}); err != nil {
			return err
		}
	}
}

// readPage reads st's next page into its buffer.
func (m *merge) readPage(ctx context.Context, st *shardStream) error {
	kc := expression.Key(m.q.hashAttr).Equal(expression.Value(st.key))
	if m.q.sortCond != nil {
		kc = kc.And(m.q.sortCond(expression.Key(m.q.sortAttr)))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return fmt.Errorf("build expression: %w", err)
	}
	res, err := m.s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(m.s.table),
		IndexName:                 aws.String(m.q.index),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(!m.q.desc),
		Limit:                     aws.Int32(m.page),
		ExclusiveStartKey:         st.start,
	})
	if err != nil {
		return fmt.Errorf("query %s %s: %w", m.q.index, st.key, err)
	}
	for _, it := range res.Items {
		var e indexEntry
		if err := attributevalue.UnmarshalMap(it, &e); err != nil {
			return fmt.Errorf("query %s %s: %w", m.q.index, st.key, err)
		}
		if !ValidID(e.ID) || m.q.sortOf(e) <= 0 {
			return fmt.Errorf("query %s %s: malformed entry %q", m.q.index, st.key, e.ID)
		}
		if m.q.skip == nil || !m.q.skip(e) {
			st.buf = append(st.buf, e)
		}
	}
	slices.SortFunc(st.buf, m.q.before)
	st.start = res.LastEvaluatedKey
	st.done = len(res.LastEvaluatedKey) == 0
	return nil
}

// readAll reads the orders of entries, in their order, nil for an order
// no longer in the table.
func (s *DynamoStore) readAll(ctx context.Context, entries []indexEntry) ([]*Order, error) {
	out := make([]*Order, len(entries))
	err := parallel(ctx, readParallelism, len(entries), func(ctx context.Context, i int) error {
		res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(s.table),
			Key:            key(entries[i].ID),
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return fmt.Errorf("get %s: %w", entries[i].ID, err)
		}
		if len(res.Item) == 0 {
			return nil
		}
		o, err := decodeOrder(res.Item)
		if err != nil {
			return fmt.Errorf("get %s: %w", entries[i].ID, err)
		}
		out[i] = o
		return nil
	})
	return out, err
}

// parallel runs do(0..n-1), at most width at a time, and returns the first
// error; the others' context is canceled then.
func parallel(ctx context.Context, width, n int, do func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		slots = make(chan struct{}, width)
	)
	started := 0
	for i := range n {
		slots <- struct{}{}
		if ctx.Err() != nil {
			<-slots
			break
		}
		started++
		wg.Go(func() {
			defer func() { <-slots }()
			if err := do(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		})
	}
	wg.Wait()
	if first == nil && started < n {
		return ctx.Err() // the caller's context ended before every call started
	}
	return first
}
