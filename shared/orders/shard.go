package orders

import (
	"fmt"
	"hash/fnv"
)

// ShardCount is how many partition keys each of the orders table's
// indexes spreads its orders over. An order's shard is a hash of its id
// (ShardOf), so a write never needs to know more than the id, and a reader
// queries every shard and merges.
//
// Sized for a flash sale: 2,000 completed checkouts a second on top of
// 10,000 order creations a second (of which the checkouts' own), with no
// key taking more than half of what one DynamoDB partition serves (1,000
// write units and 3,000 read units a second), so 500 WCU per key at most.
//
// Both indexes project KEYS_ONLY. An entry is then its index key, the
// table key and the ~100 bytes DynamoDB counts per index item: under 300
// bytes with an id of at most 64, so every index write costs exactly 1
// WCU whatever the order holds. (With ALL, a paid order's item, which
// carries Toss's payment object of a few KB, cost that many units in each
// index at every write: the listing index took about three whole-item
// writes per checkout.) And an update that changes none of an index's key
// attributes does not write that index at all.
//
// created (listShard "ORDER#nn", createdAt): written once when an order
// is created and once when it is deleted (DELETE /orders or TTL), never in
// between, since id, createdAt and the shard never change.
//
//	10,000 creations/s / 32 = 312.5 WCU per key: 31% of 1,000.
//
// due (dueShard "UNPAID#nn" or "CLAIM#nn", dueAt; sparse: only orders the
// reconciler may act on): a create puts the order under UNPAID (1 WCU), a
// claim moves it to CLAIM (a key change: delete 1 + put 1), a complete
// removes it (1); a failed confirm moves it back to UNPAID (2).
//
//	UNPAID#nn: (10,000 puts + 2,000 claims leaving) / 32 = 375 WCU: 37.5%.
//	CLAIM#nn:  (2,000 puts + 2,000 completes leaving) / 32 = 125 WCU: 12.5%.
//
// Reads stay far below 3,000 RCU per key: a GET /orders page queries each
// shard once for at most limit+1 keys (a Query is charged the entries'
// attributes, under 100 bytes each: 21 keys are 0.5 RCU eventually
// consistent, 101 at most 1.5), the reconciler each shard once or twice
// per kind per pass; the orders themselves are read from the table, whose
// keys are the random ids. Listing 100 pages a second costs each key 150
// RCU at most: 5%.
//
// The hash spreads orders within a few percent of an even share
// (TestShardOfSpreadsOrders holds it to 10%: UNPAID#nn 412 WCU at worst).
// 24 shards would just meet the target on average (12,000 / 24 = 500);
// 32 keep the hottest key a quarter below the mark, for the hash's
// unevenness, bursts above the target, and the TTL's deletions of earlier
// sales' unpaid orders, which land on the same keys. More shards cost each
// listing one more small Query per shard. Changing ShardCount moves
// orders between keys: it needs new index attributes and a backfill, as
// README's migration describes, never an edit of this constant alone.
const ShardCount = 32

// Prefixes of the index hash keys: each is followed by "#" and the shard
// number in two digits.
const (
	listPrefix  = "ORDER"
	dueClaim    = "CLAIM"   // CONFIRMING: due when the claim lapses
	dueUnpaid   = "UNPAID"  // PENDING or FAILED: due when the pay window closes
	dueRecheck  = "RECHECK" // EXPIRED or paid: due at RecheckAt
	shardKeyFmt = "%s#%02d"
)

// ShardOf is the shard of order id: FNV-1a of the id modulo ShardCount.
// Order ids end in random characters (NewID), so orders spread evenly; a
// merchant's own ids spread as well as any hash spreads them.
func ShardOf(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id)) // hash.Hash.Write never fails
	return int(h.Sum32() % ShardCount)
}

// shardKey is the hash key of shard n under prefix.
func shardKey(prefix string, n int) string { return fmt.Sprintf(shardKeyFmt, prefix, n) }

// listShardOf is an order's hash key in CreatedIndex.
func listShardOf(id string) string { return shardKey(listPrefix, ShardOf(id)) }

// dueShardOf is an order's hash key in DueIndex under kind.
func dueShardOf(kind, id string) string { return shardKey(kind, ShardOf(id)) }
