package orders_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tossintl/backend/shared/internal/awstest"
	"github.com/tossintl/backend/shared/orders"
)

func TestShardOfSpreadsOrders(t *testing.T) {
	const n = 64_000
	counts := make([]int, orders.ShardCount)
	for range n {
		id := orders.NewID()
		s := orders.ShardOf(id)
		if s < 0 || s >= orders.ShardCount {
			t.Fatalf("ShardOf(%s) = %d, out of 0..%d", id, s, orders.ShardCount-1)
		}
		if again := orders.ShardOf(id); again != s {
			t.Fatalf("ShardOf(%s) = %d, then %d", id, s, again)
		}
		counts[s]++
	}
	// The hottest shard is what the capacity arithmetic divides by: within
	// 10% of an even share (2,000 per shard; 3.5 standard deviations is 160).
	mean := n / orders.ShardCount
	for s, c := range counts {
		if c < mean*9/10 || c > mean*11/10 {
			t.Errorf("shard %d holds %d of %d orders, want %d ± 10%%", s, c, n, mean)
		}
	}
}

// idInShard returns a new order id whose shard is shard.
func idInShard(shard int) string {
	for {
		if id := orders.NewID(); orders.ShardOf(id) == shard {
			return id
		}
	}
}

// createWithID stores an order made at created under id.
func createWithID(t *testing.T, s orders.Store, id string, created time.Time) *orders.Order {
	t.Helper()
	o, err := orders.New(orders.Draft{Name: "Fan meeting ticket", Amount: 55000}, created, policy)
	if err != nil {
		t.Fatal(err)
	}
	o.ID = id
	if err := s.Create(ctx, o); err != nil {
		t.Fatalf("create %s: %v", id, err)
	}
	return o
}

// newestFirst sorts os as GET /orders lists them: createdAt, then id, descending.
func newestFirst(os []*orders.Order) []string {
	os = slices.Clone(os)
	slices.SortFunc(os, func(a, b *orders.Order) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return ids(os)
}

// listAll pages through the store with limit and returns what it listed
// and how many pages it took. Every page but the last must be full, and
// the last must not be empty unless the store is: next is exact.
func listAll(t *testing.T, s orders.Store, now time.Time, limit int) (got []string, pages int) {
	t.Helper()
	cursor := ""
	for {
		items, next, err := s.List(ctx, now, limit, cursor)
		if err != nil {
			t.Fatalf("limit %d, page %d: %v", limit, pages+1, err)
		}
		pages++
		if next != "" && len(items) != limit || len(items) > limit || next == "" && len(items) == 0 && pages > 1 {
			t.Fatalf("limit %d, page %d: %d items, next %q: want full pages and no empty last page", limit, pages, len(items), next)
		}
		got = append(got, ids(items)...)
		if next == "" {
			return got, pages
		}
		if pages > 1000 {
			t.Fatal("list never ended")
		}
		cursor = next
	}
}

// The sharded listing keeps GET /orders' contract: newest first with the id
// breaking ties, every order exactly once at every page size, hasNext
// exact. Orders share createdAt milliseconds across shards and within one
// (a tie group then spans the index's pages), and one case puts every
// order in a single shard, the merge's worst case.
func TestListMergesShards(t *testing.T) {
	now := t0.Add(time.Hour)
	layouts := []struct {
		name  string
		shard func(i int) string // the id of the i-th order
		at    func(i int) time.Time
		n     int
	}{
		// 12 orders in 3 milliseconds, over random shards.
		{"equal createdAt across shards", func(int) string { return orders.NewID() },
			func(i int) time.Time { return now.Add(-time.Duration(i%3) * time.Millisecond) }, 12},
		// 8 orders in one shard, in 2 milliseconds.
		{"one shard", func(int) string { return idInShard(7) },
			func(i int) time.Time { return now.Add(-time.Duration(i%2) * time.Millisecond) }, 8},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, f fixture) {
				var made []*orders.Order
				for i := range l.n {
					made = append(made, createWithID(t, f.store, l.shard(i), l.at(i)))
				}
				want := newestFirst(made)
				for limit := 1; limit <= l.n+1; limit++ {
					got, pages := listAll(t, f.store, now, limit)
					if !slices.Equal(got, want) {
						t.Fatalf("limit %d listed\n%v\nwant\n%v", limit, got, want)
					}
					if wantPages := max(1, (l.n+limit-1)/limit); pages != wantPages {
						t.Errorf("limit %d took %d pages, want %d", limit, pages, wantPages)
					}
				}
			})
		})
	}
}

// A cursor names a position, not a page: orders created after it was
// given out (newer, on any shard) never shift what follows it.
func TestListCursorStableUnderNewerOrders(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		base := t0.Add(time.Hour)
		var made []*orders.Order
		for i := range 12 {
			made = append(made, createWithID(t, f.store, orders.NewID(), base.Add(-time.Duration(i/2)*time.Second)))
		}
		want := newestFirst(made)
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			items, next, err := f.store.List(ctx, base.Add(time.Hour), 5, cursor)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids(items)...)
			if next == "" {
				break
			}
			cursor = next
			// A flash sale goes on between the pages.
			for i := range 4 {
				createWithID(t, f.store, orders.NewID(), base.Add(time.Duration(page*4+i+1)*time.Millisecond))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("listed\n%v\nwant\n%v", got, want)
		}
	})
}

// The reconciler's queries walk every shard: a lapsed claim and an
// overdue order in each of the 32 are all found, oldest first.
func TestDueOrdersInEveryShard(t *testing.T) {
	forEachStore(t, func(t *testing.T, f fixture) {
		now := t0.Add(24 * time.Hour)
		var lapsed, unpaid []*orders.Order
		for s := range orders.ShardCount {
			at := now.Add(-time.Hour + time.Duration(s)*time.Second)
			o := createWithID(t, f.store, idInShard(s), at)
			lapsed = append(lapsed, mustClaim(t, f.store, o, fmt.Sprintf("pk_%02d", s), at))
			unpaid = append(unpaid, createWithID(t, f.store, idInShard(s), now.Add(-policy.PayWindow-time.Duration(s)*time.Second)))
		}
		slices.Reverse(unpaid) // the longest overdue first
		got, err := f.store.LapsedClaims(ctx, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), ids(lapsed)) {
			t.Errorf("lapsed claims %v\nwant %v", ids(got), ids(lapsed))
		}
		got, err = f.store.Overdue(ctx, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), ids(unpaid)) {
			t.Errorf("overdue %v\nwant %v", ids(got), ids(unpaid))
		}
		// A limit takes the oldest across the shards.
		got, err = f.store.Overdue(ctx, now, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), ids(unpaid[:3])) {
			t.Errorf("overdue, limit 3: %v, want %v", ids(got), ids(unpaid[:3]))
		}
	})
}

// tiesAdverse answers Queries as DynamoDB may: it documents no order of
// id among entries of one sort key. It reads the whole key range from DynamoDB Local
// and pages through it itself, with each tie group in the opposite id
// order to the merge's, so that a tie group cut by a page hands the merge
// its smaller ids first.
type tiesAdverse struct{ orders.DynamoAPI }

func (d tiesAdverse) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	whole := *in
	whole.Limit, whole.ExclusiveStartKey = nil, nil
	var all []map[string]types.AttributeValue
	for {
		out, err := d.DynamoAPI.Query(ctx, &whole, opts...)
		if err != nil {
			return nil, err
		}
		all = append(all, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		whole.ExclusiveStartKey = out.LastEvaluatedKey
	}
	str := func(it map[string]types.AttributeValue, k string) string {
		switch v := it[k].(type) {
		case *types.AttributeValueMemberN:
			return fmt.Sprintf("%020s", v.Value)
		case *types.AttributeValueMemberS:
			return v.Value
		}
		return ""
	}
	sortKey := func(it map[string]types.AttributeValue) string { return str(it, "createdAt") + str(it, "dueAt") }
	forward := in.ScanIndexForward == nil || *in.ScanIndexForward
	slices.SortStableFunc(all, func(a, b map[string]types.AttributeValue) int {
		c := cmp.Compare(sortKey(a), sortKey(b))
		if c == 0 {
			// Ties: ids ascending on a descending query and the reverse.
			c = -cmp.Compare(str(a, "id"), str(b, "id"))
		}
		if !forward {
			c = -c
		}
		return c
	})
	start := 0
	if in.ExclusiveStartKey != nil {
		start = slices.IndexFunc(all, func(it map[string]types.AttributeValue) bool { return str(it, "id") == str(in.ExclusiveStartKey, "id") }) + 1
	}
	end := len(all)
	if in.Limit != nil {
		end = min(end, start+int(*in.Limit))
	}
	out := &dynamodb.QueryOutput{Items: all[start:end]}
	if end < len(all) {
		out.LastEvaluatedKey = all[end-1]
	}
	return out, nil
}

func TestListCompletesTieGroupsAcrossPages(t *testing.T) {
	db := awstest.DynamoDB(t)
	table := awstest.UniqueName("orders")
	awstest.CreateTable(t, db, orders.TableDefinition(table))
	s := orders.Validated(orders.NewDynamoStore(tiesAdverse{db}, table))
	now := t0.Add(time.Hour)
	var made []*orders.Order
	for i := range 6 {
		made = append(made, createWithID(t, s, idInShard(3), now.Add(-time.Duration(i/3)*time.Millisecond)))
	}
	want := newestFirst(made)
	for limit := 1; limit <= 3; limit++ {
		if got, _ := listAll(t, s, now, limit); !slices.Equal(got, want) {
			t.Errorf("limit %d listed\n%v\nwant\n%v", limit, got, want)
		}
	}
}

// A page costs one Query per shard and one read per listed order: the
// figures README and orders.ShardCount's arithmetic give.
func TestListCallsPerPage(t *testing.T) {
	f := newDynamoFixture(t)
	now := t0.Add(time.Hour)
	for i := range 25 {
		createWithID(t, f.store, orders.NewID(), now.Add(-time.Duration(i)*time.Second))
	}
	cursor := ""
	for page, want := range []int{20, 5} {
		f.calls.Reset()
		items, next, err := f.store.List(ctx, now, 20, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != want || f.calls.Count("Query") != orders.ShardCount || f.calls.Count("GetItem") != want ||
			f.calls.Count() != orders.ShardCount+want {
			t.Errorf("page %d: %d items with calls %s, want %d items, %d Queries and %d GetItems", page+1, len(items), f.calls, want, orders.ShardCount, want)
		}
		cursor = next
	}
	if cursor != "" {
		t.Error("a cursor after the last page")
	}
}
