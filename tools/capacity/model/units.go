package model

import (
	"fmt"
	"math"
)

// DynamoDB's per-partition ceilings (one partition serves at most this
// many units a second) and the share of them the design may use.
const (
	PartitionWriteLimit = 1000.0
	PartitionReadLimit  = 3000.0
	// Budget is the share of a partition's limits any one key may use at
	// the target rate (the "no key above 50%").
	Budget = 0.5
)

// Projections of a global secondary index.
const (
	ProjectAll      = "ALL"
	ProjectKeysOnly = "KEYS_ONLY"
	ProjectInclude  = "INCLUDE"
)

// Schema is what the model needs of the tables: their keys and their
// global secondary indexes with their projections.
type Schema struct {
	Tables []Table `json:"tables"`
}

// Table is one table.
type Table struct {
	LogicalID string  `json:"logicalId"`
	Name      string  `json:"name"`
	Hash      string  `json:"hash"`
	Range     string  `json:"range,omitempty"`
	Indexes   []Index `json:"indexes,omitempty"`
}

// Index is one global secondary index.
type Index struct {
	Name       string   `json:"name"`
	Hash       string   `json:"hash"`
	Range      string   `json:"range,omitempty"`
	Projection string   `json:"projection"`
	NonKey     []string `json:"nonKey,omitempty"`
}

// Table finds a table by its (local) name.
func (s Schema) Table(name string) (Table, bool) {
	for _, t := range s.Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

func (t Table) index(name string) (Index, bool) {
	for _, ix := range t.Indexes {
		if ix.Name == name {
			return ix, true
		}
	}
	return Index{}, false
}

// keys are the table's key attribute names.
func (t Table) keys() []string {
	if t.Range == "" {
		return []string{t.Hash}
	}
	return []string{t.Hash, t.Range}
}

// Request is one DynamoDB request as recorded: for a write, the item
// before and after it (read from the store around the forwarded request);
// for a read, the items it returned. Batch and transaction requests are
// recorded as one Request per item they touch.
type Request struct {
	Function string `json:"function"`
	Op       string `json:"op"` // PutItem, UpdateItem, DeleteItem, GetItem, Query, Scan
	Table    string `json:"table"`
	Index    string `json:"index,omitempty"`
	// Consistent is a strongly consistent read.
	Consistent bool `json:"consistent,omitempty"`
	// Transaction marks a request made inside TransactWriteItems or
	// TransactGetItems: DynamoDB charges it twice.
	Transaction bool `json:"transaction,omitempty"`
	// Failed is a write its condition refused (it still consumes units).
	Failed bool `json:"failed,omitempty"`
	Old    Item `json:"old,omitempty"`  // the item before a write (absent: none)
	New    Item `json:"new,omitempty"`  // the item after a write (absent: none)
	Sent   Item `json:"sent,omitempty"` // PutItem's item as sent (sizes a refused put)
	// Items are what a read returned (GetItem: at most one).
	Items []Item `json:"items,omitempty"`
	// KeyEq is a Query's equality key condition (partition key name →
	// value), so a Query that found nothing is still charged to its key.
	KeyEq Item `json:"keyEq,omitempty"`
	// Consumed is the capacity DynamoDB Local reported for the request;
	// nil where it reports none (a write its condition refused) or in
	// runs recorded before it did.
	Consumed *Consumed `json:"consumed,omitempty"`
}

// Consumed is a request's ConsumedCapacity (ReturnConsumedCapacity
// INDEXES): the units it took from the table and from each index.
type Consumed struct {
	Table   float64            `json:"table"`
	Indexes map[string]float64 `json:"indexes,omitempty"`
}

func (c *Consumed) total() float64 {
	t := c.Table
	for _, v := range c.Indexes {
		t += v
	}
	return t
}

// How a request is priced (Request.PricedBy).
const (
	ByDynamoDBLocal = "DynamoDB Local's figure"
	// ByRuleRefused: DynamoDB Local answers a refused conditional write
	// without ConsumedCapacity, though DynamoDB charges it.
	ByRuleRefused = "AWS's rule: a write refused by its condition (DynamoDB Local reports no figure)"
	// ByRuleEmptyRead: DynamoDB Local reports 0 units for a Query that
	// finds nothing; DynamoDB charges a read's minimum.
	ByRuleEmptyRead = "AWS's rule: a read that returned nothing (DynamoDB Local reports 0; DynamoDB charges the minimum)"
	// ByRuleUnrecorded: a run recorded before the figures were.
	ByRuleUnrecorded = "AWS's rule: no figure recorded"
)

// PricedBy says whose units Charges gives the request.
func (s Schema) PricedBy(r Request) string {
	switch {
	case r.Consumed != nil && r.Consumed.total() > 0:
		return ByDynamoDBLocal
	case r.Consumed != nil:
		if rule, err := s.RuleCharges(r); err == nil && sumUnits(rule) > 0 {
			return ByRuleEmptyRead
		}
		return ByDynamoDBLocal
	case r.Failed:
		return ByRuleRefused
	}
	return ByRuleUnrecorded
}

func sumUnits(cs []Charge) float64 {
	t := 0.0
	for _, c := range cs {
		t += c.Read + c.Write
	}
	return t
}

// Charge is what one request costs one partition key of one table or
// index.
type Charge struct {
	Table string
	Index string // "" for the table itself
	Key   string // the partition key's value
	Item  string // the base item's primary key ("" when none was read)
	Read  float64
	Write float64
}

// writeUnits: 1 KB (rounded up) per write, at least one.
func writeUnits(size int) float64 { return math.Max(1, math.Ceil(float64(size)/1024)) }

// readUnits: 4 KB (rounded up) per strongly consistent read, half for an
// eventually consistent one, at least one 4 KB block.
func readUnits(size int, consistent bool) float64 {
	u := math.Max(1, math.Ceil(float64(size)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

// Charges prices one request with the units DynamoDB Local reported for
// it, placed on the partition keys it touched: the table's units on the
// item's key, each index's on the index keys the write added, moved or
// removed (split between the old and new key of a moved entry in the
// rule's proportions) or the query read. Where DynamoDB Local gave no
// figure (PricedBy), the rule's units stand.
func (s Schema) Charges(r Request) ([]Charge, error) {
	rule, err := s.RuleCharges(r)
	if err != nil || s.PricedBy(r) != ByDynamoDBLocal {
		return rule, err
	}
	t, _ := s.Table(r.Table)
	isRead := r.Op == "GetItem" || r.Op == "Query" || r.Op == "Scan"
	units := func(c Charge) float64 { return c.Read + c.Write }
	set := func(c *Charge, u float64) {
		if isRead {
			c.Read = u
		} else {
			c.Write = u
		}
	}
	// Each target (the table, or one index) gets DynamoDB Local's units,
	// spread over the rule's charges to it in the rule's proportions.
	spread := func(index string, u float64) []Charge {
		var mine []Charge
		total := 0.0
		for _, c := range rule {
			if c.Index == index {
				mine = append(mine, c)
				total += units(c)
			}
		}
		if len(mine) == 0 {
			if u == 0 {
				return nil
			}
			// The rule saw no change to this index's entry; DynamoDB
			// Local charged one: put it on the entry's key.
			ref := r.New
			if len(ref) == 0 {
				ref = r.Old
			}
			key := Text(ref[t.Hash])
			if ix, ok := t.index(index); ok {
				key = Text(firstOf(r.New, r.Old, ix.Hash))
			}
			c := Charge{Table: t.Name, Index: index, Key: key, Item: keyText(ref, t.keys()...)}
			set(&c, u)
			return []Charge{c}
		}
		for i := range mine {
			// A read's units stay on its key's first charge (the others
			// only count the items sharing the key).
			share := 1 / float64(len(mine))
			if total > 0 {
				share = units(mine[i]) / total
			}
			set(&mine[i], u*share)
		}
		return mine
	}
	if isRead {
		return spread(r.Index, r.Consumed.total()), nil
	}
	out := spread("", r.Consumed.Table)
	for _, ix := range t.Indexes {
		out = append(out, spread(ix.Name, r.Consumed.Indexes[ix.Name])...)
	}
	return out, nil
}

// RuleCharges prices one request by DynamoDB's documented rules:
//
//   - a write costs the table 1 unit per KB of the larger of the item
//     before and after it; a refused write still costs the table (the
//     existing item's size, or a put's own), and nothing in the indexes;
//   - each index pays for the entry the write adds (a put of the projected
//     entry), removes (a delete of the old entry), moves to another key (a
//     delete and a put) or changes in a projected attribute (one write of
//     the larger entry);
//   - a GetItem costs 4 KB blocks of the item, a Query or Scan the sum of
//     the returned entries' sizes rounded up once, half when eventually
//     consistent;
//   - requests made in a transaction cost twice.
func (s Schema) RuleCharges(r Request) ([]Charge, error) {
	t, ok := s.Table(r.Table)
	if !ok {
		return nil, fmt.Errorf("%s on unknown table %q", r.Op, r.Table)
	}
	mult := 1.0
	if r.Transaction {
		mult = 2
	}
	switch r.Op {
	case "PutItem", "UpdateItem", "DeleteItem":
		return s.writeCharges(t, r, mult)
	case "GetItem":
		size := 0
		var item Item
		if len(r.Items) > 0 {
			item = r.Items[0]
			var err error
			if size, err = item.Size(); err != nil {
				return nil, err
			}
		}
		return []Charge{{Table: t.Name, Key: Text(firstOf(item, r.KeyEq, t.Hash)), Item: keyText(firstItem(item, r.KeyEq), t.keys()...),
			Read: mult * readUnits(size, r.Consistent)}}, nil
	case "Query", "Scan":
		return s.readCharges(t, r, mult)
	}
	return nil, fmt.Errorf("operation %s is not modelled", r.Op)
}

func firstOf(a, b Item, name string) []byte {
	if v, ok := a[name]; ok {
		return v
	}
	return b[name]
}

func firstItem(a, b Item) Item {
	if len(a) > 0 {
		return a
	}
	return b
}

func (s Schema) writeCharges(t Table, r Request, mult float64) ([]Charge, error) {
	oldSize, err := r.Old.Size()
	if err != nil {
		return nil, fmt.Errorf("old item: %w", err)
	}
	newSize, err := r.New.Size()
	if err != nil {
		return nil, fmt.Errorf("new item: %w", err)
	}
	ref := r.New
	if len(ref) == 0 {
		ref = r.Old
	}
	if len(ref) == 0 {
		ref = r.Sent
	}
	if r.Failed {
		sentSize, err := r.Sent.Size()
		if err != nil {
			return nil, fmt.Errorf("sent item: %w", err)
		}
		// Nothing changed: the table is charged for the item the
		// condition was checked against, or the put's own item.
		return []Charge{{Table: t.Name, Key: Text(ref[t.Hash]), Item: keyText(ref, t.keys()...),
			Write: mult * writeUnits(max(oldSize, sentSize))}}, nil
	}
	out := []Charge{{Table: t.Name, Key: Text(ref[t.Hash]), Item: keyText(ref, t.keys()...),
		Write: mult * writeUnits(max(oldSize, newSize))}}
	keys := t.keys()
	for _, ix := range t.Indexes {
		before, after := r.Old.Has(ix.Hash, ix.Range), r.New.Has(ix.Hash, ix.Range)
		var oldEntry, newEntry Item
		if before {
			oldEntry = r.Old.Project(keys, ix)
		}
		if after {
			newEntry = r.New.Project(keys, ix)
		}
		oe, err := oldEntry.Size()
		if err != nil {
			return nil, err
		}
		ne, err := newEntry.Size()
		if err != nil {
			return nil, err
		}
		item := keyText(ref, keys...)
		switch {
		case !before && !after:
		case !before:
			out = append(out, Charge{Table: t.Name, Index: ix.Name, Key: Text(r.New[ix.Hash]), Item: item, Write: mult * writeUnits(ne)})
		case !after:
			out = append(out, Charge{Table: t.Name, Index: ix.Name, Key: Text(r.Old[ix.Hash]), Item: item, Write: mult * writeUnits(oe)})
		case keyText(r.Old, ix.Hash, ix.Range) != keyText(r.New, ix.Hash, ix.Range):
			// The entry moves: a delete under the old key, a put under the new.
			out = append(out,
				Charge{Table: t.Name, Index: ix.Name, Key: Text(r.Old[ix.Hash]), Item: item, Write: mult * writeUnits(oe)},
				Charge{Table: t.Name, Index: ix.Name, Key: Text(r.New[ix.Hash]), Item: item, Write: mult * writeUnits(ne)})
		case !oldEntry.Equal(newEntry):
			out = append(out, Charge{Table: t.Name, Index: ix.Name, Key: Text(r.New[ix.Hash]), Item: item, Write: mult * writeUnits(max(oe, ne))})
		}
	}
	return out, nil
}

func (s Schema) readCharges(t Table, r Request, mult float64) ([]Charge, error) {
	hash := t.Hash
	var ix Index
	if r.Index != "" {
		var ok bool
		if ix, ok = t.index(r.Index); !ok {
			return nil, fmt.Errorf("%s on unknown index %s of %s", r.Op, r.Index, t.Name)
		}
		hash = ix.Hash
	}
	// A Query reads one partition key; a Scan is charged per key it
	// returned, each key its own items (a Scan that returns nothing is
	// charged to no key: this design never scans).
	type group struct {
		size  int
		items []string
	}
	groups := map[string]*group{}
	var order []string
	for _, it := range r.Items {
		entry := it
		if r.Index != "" {
			entry = it.Project(t.keys(), ix)
		}
		n, err := entry.Size()
		if err != nil {
			return nil, err
		}
		k := Text(it[hash])
		g := groups[k]
		if g == nil {
			g = &group{}
			groups[k] = g
			order = append(order, k)
		}
		g.size += n
		g.items = append(g.items, keyText(it, t.keys()...))
	}
	if r.Op == "Query" && len(order) == 0 {
		k := Text(r.KeyEq[hash])
		groups[k] = &group{}
		order = append(order, k)
	}
	var out []Charge
	for _, k := range order {
		g := groups[k]
		units := mult * readUnits(g.size, r.Consistent)
		if len(g.items) == 0 {
			out = append(out, Charge{Table: t.Name, Index: r.Index, Key: k, Read: units})
			continue
		}
		// The request's units go to its key; spread over the items it
		// returned only to count which items share the key.
		for i, item := range g.items {
			c := Charge{Table: t.Name, Index: r.Index, Key: k, Item: item}
			if i == 0 {
				c.Read = units
			}
			out = append(out, c)
		}
	}
	return out, nil
}
