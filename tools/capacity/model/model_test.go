package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

// s, n and m build typed attribute values.
func s(v string) json.RawMessage { b, _ := json.Marshal(map[string]string{"S": v}); return b }
func n(v string) json.RawMessage { b, _ := json.Marshal(map[string]string{"N": v}); return b }
func m(it Item) json.RawMessage  { b, _ := json.Marshal(map[string]Item{"M": it}); return b }

func TestItemSize(t *testing.T) {
	for _, c := range []struct {
		name string
		item Item
		want int
	}{
		{"string: name and UTF-8 bytes", Item{"id": s("abc")}, 2 + 3},
		{"multi-byte string", Item{"k": s("가나")}, 1 + 6},
		{"number: a byte per two significant digits, plus one", Item{"n": n("12345")}, 1 + 3 + 1},
		{"number: zeros trimmed, sign and point not digits", Item{"n": n("-0012.3400")}, 1 + 2 + 1},
		{"bool and null", Item{"b": json.RawMessage(`{"BOOL":true}`), "z": json.RawMessage(`{"NULL":true}`)}, 2 + 2},
		{"binary: raw bytes", Item{"b": json.RawMessage(`{"B":"AAECAw=="}`)}, 1 + 4},
		{"map: 3 bytes, one per element, names and values", Item{"m": m(Item{"a": s("xy")})}, 1 + 3 + 1 + (1 + 2)},
		{"list: 3 bytes, one per element", Item{"l": json.RawMessage(`{"L":[{"S":"a"},{"N":"1"}]}`)}, 1 + 3 + (1 + 1) + (1 + 2)},
		{"string set: the members", Item{"ss": json.RawMessage(`{"SS":["ab","c"]}`)}, 2 + 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.item.Size()
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("Size = %d, want %d", got, c.want)
			}
		})
	}
	if _, err := (Item{"x": json.RawMessage(`"bare"`)}).Size(); err == nil {
		t.Error("an untyped value sized without error")
	}
}

// orders is a table like this project's: per-order id, two indexes.
var orders = Schema{Tables: []Table{{Name: "orders", Hash: "id", Indexes: []Index{
	{Name: "due", Hash: "dueKind", Range: "dueAt", Projection: ProjectAll},
	{Name: "created", Hash: "listKey", Range: "createdAt", Projection: ProjectAll},
	{Name: "slim", Hash: "listKey", Range: "createdAt", Projection: ProjectKeysOnly},
}}}}

// order is a small order item; pad makes it bigger.
func order(id, due string, pad int) Item {
	it := Item{"id": s(id), "listKey": s("ORDER"), "createdAt": n("1795988608029"), "status": s("PENDING")}
	if due != "" {
		it["dueKind"], it["dueAt"] = s(due), n("1795988608999")
	}
	if pad > 0 {
		it["pad"] = s(strings.Repeat("x", pad))
	}
	return it
}

func with(it Item, k string, v json.RawMessage) Item {
	out := Item{}
	for a, b := range it {
		out[a] = b
	}
	out[k] = v
	return out
}

func sum(cs []Charge, index string) (read, write float64, keys []string) {
	for _, c := range cs {
		if c.Index != index {
			continue
		}
		read += c.Read
		write += c.Write
		keys = append(keys, c.Key)
	}
	return read, write, keys
}

func TestCharges(t *testing.T) {
	big := order("ord_1", "UNPAID", 1150) // about 1.2 KB
	if sz, _ := big.Size(); sz <= 1024 || sz > 2048 {
		t.Fatalf("fixture: big order is %d bytes, want 1–2 KB", sz)
	}
	small := order("ord_1", "UNPAID", 0)
	claimed := with(with(small, "dueKind", s("CLAIM")), "status", s("CONFIRMING"))
	fiveKB := []Item{order("a", "", 1000), order("b", "", 1000), order("c", "", 1000), order("d", "", 1000), order("e", "", 1000)}
	for _, c := range []struct {
		name  string
		req   Request
		index string // which charges to sum ("" the table's)
		read  float64
		write float64
		keys  []string
	}{
		{"a 1.2 KB item written is 2 WCU", Request{Op: "PutItem", Table: "orders", New: big}, "", 0, 2, []string{"ord_1"}},
		{"the index with ALL projection pays the whole 1.2 KB again", Request{Op: "PutItem", Table: "orders", New: big}, "created", 0, 2, []string{"ORDER"}},
		{"KEYS_ONLY pays for the keys alone", Request{Op: "PutItem", Table: "orders", New: big}, "slim", 0, 1, []string{"ORDER"}},
		{"an update is sized by the larger image", Request{Op: "UpdateItem", Table: "orders", Old: big, New: small}, "", 0, 2, []string{"ord_1"}},
		{"an index key changed is a delete and a put", Request{Op: "UpdateItem", Table: "orders", Old: small, New: claimed}, "due", 0, 2, []string{"UNPAID", "CLAIM"}},
		{"a projected attribute changed is one index write", Request{Op: "UpdateItem", Table: "orders", Old: small, New: claimed}, "created", 0, 1, []string{"ORDER"}},
		{"a non-key attribute changed costs a KEYS_ONLY index nothing", Request{Op: "UpdateItem", Table: "orders", Old: small, New: claimed}, "slim", 0, 0, nil},
		{"an index key removed is one delete", Request{Op: "UpdateItem", Table: "orders", Old: small, New: order("ord_1", "", 0)}, "due", 0, 1, []string{"UNPAID"}},
		{"an index key added is one put", Request{Op: "UpdateItem", Table: "orders", Old: order("ord_1", "", 0), New: small}, "due", 0, 1, []string{"UNPAID"}},
		{"a refused write costs the table the existing item", Request{Op: "UpdateItem", Table: "orders", Failed: true, Old: big, New: big}, "", 0, 2, []string{"ord_1"}},
		{"a refused write costs the indexes nothing", Request{Op: "UpdateItem", Table: "orders", Failed: true, Old: big, New: big}, "created", 0, 0, nil},
		{"a refused put of a new item costs its own size", Request{Op: "PutItem", Table: "orders", Failed: true, Sent: big}, "", 0, 2, []string{"ord_1"}},
		{"a deleted item's index entry is deleted", Request{Op: "DeleteItem", Table: "orders", Old: small}, "due", 0, 1, []string{"UNPAID"}},
		{"a transaction doubles", Request{Op: "PutItem", Table: "orders", Transaction: true, New: small}, "", 0, 2, []string{"ord_1"}},
		{"a strongly consistent GetItem of 1.2 KB is 1 RCU", Request{Op: "GetItem", Table: "orders", Consistent: true, Items: []Item{big}}, "", 1, 0, []string{"ord_1"}},
		{"a GetItem that finds nothing still costs half a unit", Request{Op: "GetItem", Table: "orders", KeyEq: Item{"id": s("ord_9")}}, "", 0.5, 0, []string{"ord_9"}},
		{"an eventually consistent Query of 5 KB is 1 RCU", Request{Op: "Query", Table: "orders", Index: "created", Items: fiveKB}, "created", 1, 0, []string{"ORDER", "ORDER", "ORDER", "ORDER", "ORDER"}},
		{"the same Query strongly consistent is 2", Request{Op: "Query", Table: "orders", Index: "created", Consistent: true, Items: fiveKB}, "created", 2, 0, []string{"ORDER", "ORDER", "ORDER", "ORDER", "ORDER"}},
		{"a Query of a KEYS_ONLY index reads the entries, not the items", Request{Op: "Query", Table: "orders", Index: "slim", Items: fiveKB}, "slim", 0.5, 0, []string{"ORDER", "ORDER", "ORDER", "ORDER", "ORDER"}},
		{"an empty Query is charged to its key", Request{Op: "Query", Table: "orders", Index: "due", KeyEq: Item{"dueKind": s("CLAIM")}}, "due", 0.5, 0, []string{"CLAIM"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs, err := orders.Charges(c.req)
			if err != nil {
				t.Fatal(err)
			}
			read, write, keys := sum(cs, c.index)
			if read != c.read || write != c.write || fmt.Sprint(keys) != fmt.Sprint(c.keys) {
				t.Errorf("read %g write %g keys %v; want read %g write %g keys %v", read, write, keys, c.read, c.write, c.keys)
			}
		})
	}
	if _, err := orders.Charges(Request{Op: "BatchWriteItem", Table: "orders"}); err == nil {
		t.Error("an operation the model does not price was priced")
	}
}

// TestChargesTakeDynamoDBLocalsFigures: a request DynamoDB Local priced is
// charged its units, on the keys the rule finds; where it gave none or
// gave 0 for a read, the rule's units stand, and PricedBy says so.
func TestChargesTakeDynamoDBLocalsFigures(t *testing.T) {
	small := order("ord_1", "UNPAID", 0)
	claimed := with(with(small, "dueKind", s("CLAIM")), "status", s("CONFIRMING"))
	for _, c := range []struct {
		name        string
		req         Request
		index       string
		read, write float64
		keys        []string
		by          string
	}{
		{"the table's units on the item's key", Request{Op: "PutItem", Table: "orders", New: small, Consumed: &Consumed{Table: 3}}, "", 0, 3, []string{"ord_1"}, ByDynamoDBLocal},
		{"a moved entry's units split between its old and new key", Request{Op: "UpdateItem", Table: "orders", Old: small, New: claimed,
			Consumed: &Consumed{Table: 1, Indexes: map[string]float64{"due": 4}}}, "due", 0, 4, []string{"UNPAID", "CLAIM"}, ByDynamoDBLocal},
		{"an index DynamoDB Local charged and the rule did not", Request{Op: "UpdateItem", Table: "orders", Old: small, New: claimed,
			Consumed: &Consumed{Table: 1, Indexes: map[string]float64{"slim": 1}}}, "slim", 0, 1, []string{"ORDER"}, ByDynamoDBLocal},
		{"an index it did not charge costs nothing", Request{Op: "UpdateItem", Table: "orders", Old: small, New: claimed,
			Consumed: &Consumed{Table: 1}}, "created", 0, 0, []string{"ORDER"}, ByDynamoDBLocal},
		{"a read's units on its key", Request{Op: "GetItem", Table: "orders", Consistent: true, Items: []Item{small}, Consumed: &Consumed{Table: 1}}, "", 1, 0, []string{"ord_1"}, ByDynamoDBLocal},
		{"a refused write keeps the rule", Request{Op: "UpdateItem", Table: "orders", Failed: true, Old: small, New: small}, "", 0, 1, []string{"ord_1"}, ByRuleRefused},
		{"an empty Query priced 0 keeps the rule's minimum", Request{Op: "Query", Table: "orders", Index: "due", KeyEq: Item{"dueKind": s("CLAIM")},
			Consumed: &Consumed{Indexes: map[string]float64{"due": 0}}}, "due", 0.5, 0, []string{"CLAIM"}, ByRuleEmptyRead},
		{"a run recorded without figures", Request{Op: "PutItem", Table: "orders", New: small}, "", 0, 1, []string{"ord_1"}, ByRuleUnrecorded},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs, err := orders.Charges(c.req)
			if err != nil {
				t.Fatal(err)
			}
			read, write, keys := sum(cs, c.index)
			if read != c.read || write != c.write || fmt.Sprint(keys) != fmt.Sprint(c.keys) {
				t.Errorf("read %g write %g keys %v; want read %g write %g keys %v", read, write, keys, c.read, c.write, c.keys)
			}
			if by := orders.PricedBy(c.req); by != c.by {
				t.Errorf("priced by %q, want %q", by, c.by)
			}
		})
	}
	// Compare lists what the two prices disagree on.
	run := Run{Schema: orders, Checkouts: 1, Requests: []Request{
		{Function: "F", Op: "PutItem", Table: "orders", New: small, Consumed: &Consumed{Table: 3, Indexes: map[string]float64{"created": 1, "due": 1, "slim": 1}}},
	}}
	diffs, err := Compare(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 1 || diffs[0].Index != "" || diffs[0].Local != 3 || diffs[0].Rule != 1 || diffs[0].Requests != 1 {
		t.Errorf("Compare = %+v, want the table's 3 units against the rule's 1", diffs)
	}
	rules, err := Loads(WithRules(run), 1)
	if err != nil {
		t.Fatal(err)
	}
	if rules[0].WritePerCheckout != 1 {
		t.Errorf("by the rules the put is %g WCU, want 1", rules[0].WritePerCheckout)
	}
}

// TestConstantKeyIsHot: every order's index entry under one hash key puts
// the whole index's units on it, and they grow with the rate; per-order
// keys spread and do not.
func TestConstantKeyIsHot(t *testing.T) {
	var reqs []Request
	const checkouts = 10
	for i := range checkouts {
		id := fmt.Sprintf("ord_%d", i)
		pending := order(id, "UNPAID", 0)
		claimed := with(with(pending, "dueKind", s("CLAIM")), "status", s("CONFIRMING"))
		done := with(order(id, "", 0), "status", s("DONE"))
		reqs = append(reqs,
			Request{Op: "PutItem", Table: "orders", New: pending},
			Request{Op: "UpdateItem", Table: "orders", Old: pending, New: claimed},
			Request{Op: "UpdateItem", Table: "orders", Old: claimed, New: done})
	}
	loads, err := Loads(Run{Schema: orders, Checkouts: checkouts, Requests: reqs}, 2000)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Load{}
	for _, l := range loads {
		by[l.Index] = l
	}
	// Per checkout: created 3 writes (put, two projected changes); due
	// put UNPAID, UNPAID→CLAIM (2), CLAIM removed (1): 4.
	created, due, table := by["created"], by["due"], by[""]
	if fmt.Sprint(created.Unspread) != "[ORDER]" || fmt.Sprint(due.Unspread) != "[CLAIM UNPAID]" || len(table.Unspread) != 0 {
		t.Errorf("constant keys: created %v, due %v, table %v", created.Unspread, due.Unspread, table.Unspread)
	}
	if created.Keys != 1 || created.Hot.Key != "ORDER" || !created.Hot.Shared || created.Hot.Items != checkouts {
		t.Fatalf("created: %+v", created)
	}
	if created.WritePerCheckout != 3 || created.Hot.Write != 30 || created.Hot.WritePerSec != 6000 || created.Hot.WritePct() != 600 || created.Within() {
		t.Errorf("created: %g WCU per checkout, hot key %g units, %g/s (%g%%); want 3, 30, 6000/s (600%%), over budget",
			created.WritePerCheckout, created.Hot.Write, created.Hot.WritePerSec, created.Hot.WritePct())
	}
	// UNPAID: a put and a delete per order; CLAIM the same: a tie, 20 each.
	if due.WritePerCheckout != 4 || due.Keys != 2 || (due.Hot.Key != "UNPAID" && due.Hot.Key != "CLAIM") || due.Hot.Write != 20 || due.Hot.WritePerSec != 4000 {
		t.Errorf("due: %+v", due)
	}
	if table.Keys != checkouts || table.Hot.Shared || table.Hot.Items != 1 || table.Hot.WritePerSec != 3 || !table.Within() {
		t.Errorf("table: per-order keys should spread, each its own 3 units: %+v", table)
	}
	// The rate scales shared keys only.
	half, _ := Loads(Run{Schema: orders, Checkouts: checkouts, Requests: reqs}, 1000)
	for _, l := range half {
		if l.Index == "created" && l.Hot.WritePerSec != 3000 {
			t.Errorf("created at 1,000/s: %g/s, want 3,000", l.Hot.WritePerSec)
		}
		if l.Index == "" && l.Hot.WritePerSec != 3 {
			t.Errorf("table at 1,000/s: %g/s, want 3 (one order's own units)", l.Hot.WritePerSec)
		}
	}
}

// TestShardedKeysSpread: orders spread over numbered shards of one hash
// key are one family; its busiest shard at the target is the family's
// share per shard plus three standard deviations of a second's Poisson
// count, not the run's busiest shard, which a short run inflates by chance.
func TestShardedKeysSpread(t *testing.T) {
	const checkouts, shards = 64, 8
	var reqs []Request
	for i := range checkouts {
		// Unevenly spread, as a short run is: shard 0 gets 14 orders, shard 1 two.
		shard := i % shards
		if i%shards == 1 && i >= 16 {
			shard = 0
		}
		it := with(order(fmt.Sprintf("ord_%d", i), "", 0), "listKey", s(fmt.Sprintf("ORDER#%02d", shard)))
		reqs = append(reqs, Request{Op: "PutItem", Table: "orders", New: it})
	}
	loads, err := Loads(Run{Schema: orders, Checkouts: checkouts, Requests: reqs}, 2000)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range loads {
		if l.Index != "created" {
			continue
		}
		// 64 orders of 1 WCU over 8 shards: 250 WCU/s a shard at
		// 2,000/s, λ = 250 orders a shard a second, + 3√250.
		want := 250 + 3*math.Sqrt(250)
		if len(l.Unspread) != 0 {
			t.Errorf("shards counted as constant keys: %v", l.Unspread)
		}
		if l.Hot.Key != "ORDER#*" || l.Hot.Shards != shards || l.Hot.Items != checkouts || math.Abs(l.Hot.WritePerSec-want) > 1e-9 || !l.Within() {
			t.Errorf("created over %d shards: hot %+v, want ORDER#* at %.1f WCU/s", shards, l.Hot, want)
		}
		// The run's own busiest shard: 14 of 64 orders.
		if l.Sampled.Key != "ORDER#00" || l.Sampled.Items != 14 || math.Abs(l.Sampled.WritePerSec-14.0/64*2000) > 1e-9 {
			t.Errorf("sampled: %+v", l.Sampled)
		}
	}
	// Two or three numbered keys are not a family: each counts alone.
	var few []Request
	for i := range 6 {
		few = append(few, Request{Op: "PutItem", Table: "orders", New: with(order(fmt.Sprintf("ord_%d", i), "", 0), "listKey", s(fmt.Sprintf("K%d", i%2)))})
	}
	loads, _ = Loads(Run{Schema: orders, Checkouts: 6, Requests: few}, 2000)
	for _, l := range loads {
		if l.Index == "created" && (l.Hot.Shards != 0 || l.Hot.WritePerSec != 1000) {
			t.Errorf("two keys: %+v, want one key's own 3 of 6 units × 2,000/s", l.Hot)
		}
	}
}

// TestWithProjection: the same recorded writes priced under another
// projection; ALL pays for every projected change that KEYS_ONLY skips.
func TestWithProjection(t *testing.T) {
	small := order("ord_1", "UNPAID", 0)
	claimed := with(with(small, "dueKind", s("CLAIM")), "status", s("CONFIRMING"))
	paid := with(claimed, "status", s("DONE"))
	run := Run{Schema: orders, Checkouts: 1, Requests: []Request{
		{Op: "PutItem", Table: "orders", New: small},
		{Op: "UpdateItem", Table: "orders", Old: small, New: claimed},
		{Op: "UpdateItem", Table: "orders", Old: claimed, New: paid},
	}}
	want := map[string]map[string]float64{
		// created: a put, then two projected changes (ALL) or none (KEYS_ONLY).
		ProjectAll:      {"created": 3, "due": 4, "slim": 3},
		ProjectKeysOnly: {"created": 1, "due": 3, "slim": 1},
	}
	for proj, byIndex := range want {
		loads, err := Loads(WithProjection(run, proj), 2000)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range loads {
			if w, ok := byIndex[l.Index]; ok && l.WritePerCheckout != w {
				t.Errorf("%s, %s: %g WCU per checkout, want %g", proj, l.Index, l.WritePerCheckout, w)
			}
		}
	}
	if orders.Tables[0].Indexes[2].Projection != ProjectKeysOnly {
		t.Error("WithProjection changed the schema it was given")
	}
}

func TestFunctionsAndCost(t *testing.T) {
	run := Run{Checkouts: 2, MemoryMB: map[string]int{"A": 1024}, SecretCacheSeconds: 300, APIRequests: 6,
		Invocations: []Invocation{{"A", 99}, {"A", 99}, {"A", 99}, {"A", 99}},
		Timings:     []Invocation{{"A", 9.5}, {"A", 10.5}}}
	fns := Functions(run, 100)
	if len(fns) != 1 {
		t.Fatalf("%+v", fns)
	}
	f := fns[0]
	// 2 invocations per checkout × 100/s = 200/s, × 10 ms mean (the timings') = 2.
	if f.PerCheckout != 2 || f.MeanMs != 10 || f.PerSecond != 200 || math.Abs(f.Concurrency-2) > 1e-9 || f.Timed != 2 {
		t.Errorf("%+v", f)
	}
	// Billed: 10 and 11 ms rounded up, mean 10.5 ms × 2 per checkout × 1 GB.
	if math.Abs(f.GBSecondsCheckout-0.021) > 1e-12 {
		t.Errorf("GB-s per checkout %g, want 0.021", f.GBSecondsCheckout)
	}
	sec := SecretsLoad(run, fns)
	if sec.PerSecond != 2.0/300 {
		t.Errorf("secrets %g/s, want 2 environments / 300 s", sec.PerSecond)
	}
	loads := []Load{{WritePerCheckout: 4, ReadPerCheckout: 2}}
	c := CostPerThousand(run, loads, fns, sec, 100)
	if c.WRU != 4000 || c.RRU != 2000 || c.Invocations != 2000 || c.APIRequests != 3000 {
		t.Errorf("quantities: %+v", c)
	}
	if math.Abs(c.GBSeconds-21) > 1e-9 || math.Abs(c.SecretCalls-1000*sec.PerSecond/100) > 1e-12 {
		t.Errorf("GB-s %g, Secrets Manager calls %g", c.GBSeconds, c.SecretCalls)
	}
	// 3,000 HTTP API requests at $1.00 a million.
	if math.Abs(c.HTTPAPI-0.003) > 1e-12 {
		t.Errorf("HTTP API $%g, want $0.003", c.HTTPAPI)
	}
}

// TestRecordedSample holds the model to a small run recorded by `make
// capacity` on the design before the indexes were sharded (its schema is
// in the file): the constant hash keys come out hot and hold their whole
// index's units, the table's per-order keys spread, and the per-checkout
// figures add up to the charges of the requests.
func TestRecordedSample(t *testing.T) {
	raw, err := os.ReadFile("testdata/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var run Run
	if err := json.Unmarshal(raw, &run); err != nil {
		t.Fatal(err)
	}
	if run.Checkouts < 2 || len(run.Requests) == 0 {
		t.Fatalf("the sample holds %d checkouts, %d requests", run.Checkouts, len(run.Requests))
	}
	const rate = 2000
	loads, err := Loads(run, rate)
	if err != nil {
		t.Fatal(err)
	}
	// The charges, summed by hand from the requests, per table and index.
	want := map[[2]string][2]float64{}
	for _, r := range run.Requests {
		cs, err := run.Schema.Charges(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			k := [2]string{c.Table, c.Index}
			w := want[k]
			want[k] = [2]float64{w[0] + c.Read, w[1] + c.Write}
		}
	}
	for _, l := range loads {
		w := want[[2]string{l.Table, l.Index}]
		if math.Abs(l.ReadPerCheckout*float64(run.Checkouts)-w[0]) > 1e-9 || math.Abs(l.WritePerCheckout*float64(run.Checkouts)-w[1]) > 1e-9 {
			t.Errorf("%s: %g RCU, %g WCU per checkout; the requests add up to %g, %g over %d checkouts",
				l.Name(), l.ReadPerCheckout, l.WritePerCheckout, w[0], w[1], run.Checkouts)
		}
		switch l.Index {
		case "created":
			if l.Keys != 1 || l.Hot.Key != "ORDER" || !l.Hot.Shared || l.Within() {
				t.Errorf("created: the constant listKey should hold every entry and be over budget: %+v", l)
			}
			if math.Abs(l.Hot.WritePerSec-l.WritePerCheckout*rate) > 1e-9 {
				t.Errorf("created: the hot key carries %g WCU/s, want all of the index's %g", l.Hot.WritePerSec, l.WritePerCheckout*rate)
			}
		case "due":
			if l.Hot.Key != "UNPAID" && l.Hot.Key != "CLAIM" || !l.Hot.Shared || l.Within() {
				t.Errorf("due: a constant dueKind should be hot: %+v", l)
			}
		case "":
			if l.Hot.Shared || l.Hot.Items != 1 || !l.Within() {
				t.Errorf("%s: per-item keys should spread: %+v", l.Table, l)
			}
		}
	}
	// One request by hand: the first order created is one put in the
	// table and one in the created index, each of the item's own KBs.
	for _, r := range run.Requests {
		if r.Op != "PutItem" || r.Function != "CreateOrderFunction" || r.Failed || r.New["listKey"] == nil {
			continue
		}
		size, err := r.New.Size()
		if err != nil {
			t.Fatal(err)
		}
		units := math.Ceil(float64(size) / 1024)
		cs, err := run.Schema.Charges(r)
		if err != nil {
			t.Fatal(err)
		}
		_, table, _ := sum(cs, "")
		_, created, keys := sum(cs, "created")
		if table != units || created != units || fmt.Sprint(keys) != "[ORDER]" {
			t.Errorf("create of a %d-byte order: table %g, created %g under %v; want %g each under ORDER", size, table, created, keys, units)
		}
		return
	}
	t.Error("the sample holds no order creation")
}
