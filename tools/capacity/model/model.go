// Package model is the capacity model: from the DynamoDB requests a run of
// the checkout mix recorded, it computes the read and write units each
// partition key of each table and index takes per completed checkout, the
// hottest key's load at a target rate against DynamoDB's per-partition
// limits, and what else the rate needs (Lambda concurrency, Secrets
// Manager and Toss calls) and costs. It knows nothing of how the run was
// made: its input is a Run, which tests build from testdata.
package model

import (
	"fmt"
	"math"
	"regexp"
	"sort"
)

// Invocation is one function invocation, from RIE's REPORT line.
type Invocation struct {
	Function   string  `json:"function"`
	DurationMs float64 `json:"durationMs"`
}

// Run is what one run of the checkout mix recorded.
type Run struct {
	Schema    Schema    `json:"schema"`
	Checkouts int       `json:"checkouts"` // completed checkouts (orders paid)
	Creations int       `json:"creations"` // orders created, paid or not
	Requests  []Request `json:"requests"`
	// Invocations, MemoryMB, APIRequests, SecretCalls, Environments,
	// SecretCacheSeconds and TossCalls are optional: a sample of DynamoDB
	// requests alone yields the partition table.
	Invocations []Invocation `json:"invocations,omitempty"`
	// Timings are durations measured apart from the recorded run (the
	// recorder's reads around each write slow the functions down); when a
	// function has some, its durations come from them, its count of
	// invocations still from Invocations.
	Timings            []Invocation   `json:"timings,omitempty"`
	MemoryMB           map[string]int `json:"memoryMB,omitempty"`
	APIRequests        int            `json:"apiRequests,omitempty"`
	SecretCalls        map[string]int `json:"secretCalls,omitempty"`  // GetSecretValue by function
	Environments       map[string]int `json:"environments,omitempty"` // warm environments by function at the end
	SecretCacheSeconds float64        `json:"secretCacheSeconds,omitempty"`
	TossCalls          map[string]int `json:"tossCalls,omitempty"` // by call ("POST /v1/payments/confirm")
	// Mix is the run's shares per checkout by name, and Concurrency its
	// buyers at a time: what the doc says the run was.
	Mix         map[string]float64 `json:"mix,omitempty"`
	Concurrency int                `json:"concurrency,omitempty"`
}

// Figures are everything the model computes from a run at a rate.
type Figures struct {
	Rate  float64
	Loads []Load // priced with DynamoDB Local's figures where it gave them
	// Rules are the same loads priced by AWS's documented rules alone, and
	// Differences the requests whose two prices differ.
	Rules       []Load
	Differences []Difference
	PricedBy    map[string]int    // requests by how they were priced (ByDynamoDBLocal, …)
	WhatIf      map[string][]Load // Loads as if every index had that projection
	Functions   []FunctionLoad
	Secrets     Secrets
	Cost        Cost
}

// Compute computes the figures of run at rate completed checkouts a second.
func Compute(run Run, rate float64) (Figures, error) {
	f := Figures{Rate: rate, WhatIf: map[string][]Load{}, PricedBy: map[string]int{}}
	var err error
	if f.Loads, err = Loads(run, rate); err != nil {
		return f, err
	}
	if f.Rules, err = Loads(WithRules(run), rate); err != nil {
		return f, err
	}
	if f.Differences, err = Compare(run); err != nil {
		return f, err
	}
	for _, r := range run.Requests {
		f.PricedBy[run.Schema.PricedBy(r)]++
	}
	for _, proj := range []string{ProjectKeysOnly, ProjectAll} {
		if f.WhatIf[proj], err = Loads(WithProjection(run, proj), rate); err != nil {
			return f, err
		}
	}
	f.Functions = Functions(run, rate)
	f.Secrets = SecretsLoad(run, f.Functions)
	f.Cost = CostPerThousand(run, f.Loads, f.Functions, f.Secrets, rate)
	return f, nil
}

// KeyLoad is one partition key's load.
type KeyLoad struct {
	Key    string
	Items  int     // distinct base items whose requests touched the key
	Read   float64 // units in the run
	Write  float64
	Shared bool // more than one item: its load grows with the rate
	Shards int  // a family of this many shards (Key is its prefix and "*"); 0 for one key
	// ReadPerSec and WritePerSec are the key's units a second at the
	// target rate: a shared key's share of the run scaled to the rate; a
	// key of one item carries that item's units once, bounded here by all
	// of them in one second.
	ReadPerSec, WritePerSec float64
}

// minShards is how many numbered keys of one prefix make a family of
// shards (two or three numbered status keys are not sharding).
const minShards = 4

var trailingNumber = regexp.MustCompile(`^(.*\D)\d+$`)

// shardPrefix is a key's family when it ends in a number ("ORDER#07" →
// "ORDER#").
func shardPrefix(key string) (string, bool) {
	m := trailingNumber.FindStringSubmatch(key)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// familyLoad is the busiest shard of a family expected at the target
// rate. A hash spreads the family's items evenly over its shards, so a
// shard's expected load is the family's over the shards seen; at the
// target each shard takes λ items a second, a Poisson count, and the
// busiest of them in a second stays within three standard deviations:
// expected + 3 × (units per item) × √λ. The run's own busiest shard is
// not the estimate: with tens of items a shard, chance alone puts it a
// third or more above the rest (Load.Sampled shows it).
func familyLoad(prefix string, read, write float64, items, shards int, n, rate float64) KeyLoad {
	k := float64(shards)
	lambda := float64(items) / n * rate / k
	noise := 3 * math.Sqrt(lambda) / float64(items)
	return KeyLoad{Key: prefix + "*", Items: items, Read: read, Write: write, Shared: true, Shards: shards,
		ReadPerSec:  read/n*rate/k + noise*read,
		WritePerSec: write/n*rate/k + noise*write}
}

// ReadPct and WritePct are the key's load as a share of a partition's limits.
func (k KeyLoad) ReadPct() float64  { return 100 * k.ReadPerSec / PartitionReadLimit }
func (k KeyLoad) WritePct() float64 { return 100 * k.WritePerSec / PartitionWriteLimit }

// Pct is the larger of the two.
func (k KeyLoad) Pct() float64 { return math.Max(k.ReadPct(), k.WritePct()) }

// Load is one table's or index's load.
type Load struct {
	Table, Index string
	Keys         int // distinct partition key values seen
	// Units per completed checkout, all keys together.
	ReadPerCheckout, WritePerCheckout float64
	// Hot is the key nearest a limit at the target rate; for keys that
	// are shards of one family, the family's busiest shard expected at the
	// target (familyLoad).
	Hot KeyLoad
	// Sampled is the busiest single key of the run itself, scaled to the
	// rate: for shards, above their true share by the sample's chance.
	Sampled KeyLoad
	// Unspread are the keys many items share that are not shards of a
	// family: constant hash keys ("ORDER", "UNPAID"), whose load grows
	// with the rate however the items are chosen.
	Unspread []string
}

// Name is "table" or "table / index".
func (l Load) Name() string {
	if l.Index == "" {
		return l.Table
	}
	return l.Table + " / " + l.Index
}

// Within reports whether the hottest key stays within Budget of both limits.
func (l Load) Within() bool { return l.Hot.Pct() <= 100*Budget }

// Loads computes each table's and index's load at rate completed checkouts
// a second. Every table and index of the schema has a row, used or not.
func Loads(run Run, rate float64) ([]Load, error) {
	if run.Checkouts <= 0 {
		return nil, fmt.Errorf("the run completed no checkout")
	}
	type keyAcc struct {
		read, write float64
		items       map[string]bool
	}
	type acc struct {
		read, write float64
		keys        map[string]*keyAcc
	}
	accs := map[[2]string]*acc{}
	var order [][2]string
	for _, t := range run.Schema.Tables {
		id := [2]string{t.Name, ""}
		accs[id] = &acc{keys: map[string]*keyAcc{}}
		order = append(order, id)
		for _, ix := range t.Indexes {
			id := [2]string{t.Name, ix.Name}
			accs[id] = &acc{keys: map[string]*keyAcc{}}
			order = append(order, id)
		}
	}
	for i, r := range run.Requests {
		charges, err := run.Schema.Charges(r)
		if err != nil {
			return nil, fmt.Errorf("request %d (%s %s): %w", i, r.Function, r.Op, err)
		}
		for _, c := range charges {
			a := accs[[2]string{c.Table, c.Index}]
			if a == nil {
				return nil, fmt.Errorf("request %d: %s / %s is not in the schema", i, c.Table, c.Index)
			}
			a.read += c.Read
			a.write += c.Write
			k := a.keys[c.Key]
			if k == nil {
				k = &keyAcc{items: map[string]bool{}}
				a.keys[c.Key] = k
			}
			k.read += c.Read
			k.write += c.Write
			if c.Item != "" {
				k.items[c.Item] = true
			}
		}
	}
	n := float64(run.Checkouts)
	var out []Load
	for _, id := range order {
		a := accs[id]
		l := Load{Table: id[0], Index: id[1], Keys: len(a.keys), ReadPerCheckout: a.read / n, WritePerCheckout: a.write / n}
		names := make([]string, 0, len(a.keys))
		for k := range a.keys {
			names = append(names, k)
		}
		sort.Strings(names) // ties go to the first key by name: stable output
		// Shards: shared keys that differ only in a trailing number
		// ("ORDER#07") are one family, its items spread over them by a hash.
		type family struct {
			read, write float64
			items, keys int
		}
		fams := map[string]*family{}
		for _, name := range names {
			if k := a.keys[name]; len(k.items) > 1 {
				if prefix, ok := shardPrefix(name); ok {
					f := fams[prefix]
					if f == nil {
						f = &family{}
						fams[prefix] = f
					}
					f.read, f.write, f.items, f.keys = f.read+k.read, f.write+k.write, f.items+len(k.items), f.keys+1
				}
			}
		}
		consider := func(kl KeyLoad) {
			if l.Hot.Key == "" || kl.Pct() > l.Hot.Pct() {
				l.Hot = kl
			}
		}
		for _, name := range names {
			k := a.keys[name]
			kl := KeyLoad{Key: name, Items: len(k.items), Read: k.read, Write: k.write, Shared: len(k.items) > 1}
			if kl.Shared {
				kl.ReadPerSec, kl.WritePerSec = k.read/n*rate, k.write/n*rate
			} else {
				kl.ReadPerSec, kl.WritePerSec = k.read, k.write
			}
			if l.Sampled.Key == "" || kl.Pct() > l.Sampled.Pct() {
				l.Sampled = kl
			}
			if prefix, ok := shardPrefix(name); ok && kl.Shared && fams[prefix].keys >= minShards {
				continue // counted with its family below
			}
			if kl.Shared {
				l.Unspread = append(l.Unspread, name)
			}
			consider(kl)
		}
		prefixes := make([]string, 0, len(fams))
		for p := range fams {
			prefixes = append(prefixes, p)
		}
		sort.Strings(prefixes)
		for _, p := range prefixes {
			f := fams[p]
			if f.keys < minShards {
				continue
			}
			consider(familyLoad(p, f.read, f.write, f.items, f.keys, n, rate))
		}
		out = append(out, l)
	}
	return out, nil
}

// WithRules is the run priced by AWS's documented rules alone: without
// the capacity DynamoDB Local reported.
func WithRules(run Run) Run {
	out := run
	out.Requests = make([]Request, len(run.Requests))
	for i, r := range run.Requests {
		r.Consumed = nil
		out.Requests[i] = r
	}
	return out
}

// Difference is one kind of request (a function's operation on a table
// or index) whose units DynamoDB Local and AWS's rules price differently.
type Difference struct {
	Function, Op, Table, Index string // Index "" is the table itself
	Requests                   int    // requests of the kind that DynamoDB Local priced
	Local, Rule                float64
}

// Compare sums, for each kind of request DynamoDB Local priced, its units
// by DynamoDB Local and by the rules, and lists the kinds that differ.
func Compare(run Run) ([]Difference, error) {
	type key struct{ fn, op, table, index string }
	acc := map[key]*Difference{}
	var order []key
	for i, r := range run.Requests {
		if run.Schema.PricedBy(r) != ByDynamoDBLocal {
			continue
		}
		local, err := run.Schema.Charges(r)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
		rule, err := run.Schema.RuleCharges(r)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
		seen := map[key]bool{}
		add := func(cs []Charge, local bool) {
			for _, c := range cs {
				k := key{r.Function, r.Op, c.Table, c.Index}
				d := acc[k]
				if d == nil {
					d = &Difference{Function: r.Function, Op: r.Op, Table: c.Table, Index: c.Index}
					acc[k] = d
					order = append(order, k)
				}
				if !seen[k] {
					seen[k] = true
					d.Requests++
				}
				if local {
					d.Local += c.Read + c.Write
				} else {
					d.Rule += c.Read + c.Write
				}
			}
		}
		add(local, true)
		add(rule, false)
	}
	var out []Difference
	for _, k := range order {
		if d := acc[k]; math.Abs(d.Local-d.Rule) > 1e-9 {
			out = append(out, *d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return math.Abs(out[i].Local-out[i].Rule) > math.Abs(out[j].Local-out[j].Rule) })
	return out, nil
}

// WithProjection is the run as if every index projected projection,
// priced by the rules (the recorded before and after images of each write
// hold every attribute, so the index writes of another projection follow
// exactly; reads of an index would differ by the items the code then
// fetches from the table, which this does not guess).
func WithProjection(run Run, projection string) Run {
	out := WithRules(run)
	out.Schema = Schema{}
	for _, t := range run.Schema.Tables {
		t.Indexes = append([]Index(nil), t.Indexes...)
		for i := range t.Indexes {
			t.Indexes[i].Projection, t.Indexes[i].NonKey = projection, nil
		}
		out.Schema.Tables = append(out.Schema.Tables, t)
	}
	return out
}

// FunctionLoad is one function's share of the target rate.
type FunctionLoad struct {
	Function          string
	Invocations       int // in the recorded run
	Timed             int // durations the mean and p99 are of
	PerCheckout       float64
	MeanMs, P99Ms     float64
	MemoryMB          int
	PerSecond         float64 // invocations a second at the target
	Concurrency       float64 // PerSecond × mean duration
	GBSecondsCheckout float64 // billed GB-s per checkout (durations rounded up to the ms)
}

// Functions computes each function's invocations, durations and
// concurrency at rate (Little's law: concurrency = arrivals × time in
// service).
func Functions(run Run, rate float64) []FunctionLoad {
	by := map[string][]float64{}
	for _, inv := range run.Invocations {
		by[inv.Function] = append(by[inv.Function], inv.DurationMs)
	}
	timed := map[string][]float64{}
	for _, inv := range run.Timings {
		timed[inv.Function] = append(timed[inv.Function], inv.DurationMs)
	}
	n := float64(run.Checkouts)
	var out []FunctionLoad
	for fn, recorded := range by {
		ds := timed[fn]
		if len(ds) == 0 {
			ds = recorded
		}
		sort.Float64s(ds)
		var sum, billed float64
		for _, d := range ds {
			sum += d
			billed += math.Ceil(d)
		}
		mem := run.MemoryMB[fn]
		f := FunctionLoad{Function: fn, Invocations: len(recorded), Timed: len(timed[fn]), PerCheckout: float64(len(recorded)) / n,
			MeanMs: sum / float64(len(ds)), P99Ms: ds[int(math.Ceil(0.99*float64(len(ds))))-1], MemoryMB: mem}
		f.PerSecond = f.PerCheckout * rate
		f.Concurrency = f.PerSecond * f.MeanMs / 1000
		// Billed: each invocation's duration rounded up to the ms.
		f.GBSecondsCheckout = f.PerCheckout * (billed / float64(len(ds))) / 1000 * float64(mem) / 1024
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Function < out[j].Function })
	return out
}

// Secrets is the Secrets Manager load.
type Secrets struct {
	Recorded     int     // GetSecretValue calls in the run
	Environments int     // environments that ran in the run
	PerSecond    float64 // at the target rate, steady state
}

// SecretsLoad: each warm environment reads the secret once per cache
// period, so in steady state the calls a second are the environments the
// rate keeps warm (each function's concurrency, rounded up) over the cache
// period. The run's own count checks the premise: about one call per
// environment.
func SecretsLoad(run Run, fns []FunctionLoad) Secrets {
	s := Secrets{}
	for _, c := range run.SecretCalls {
		s.Recorded += c
	}
	for _, e := range run.Environments {
		s.Environments += e
	}
	if run.SecretCacheSeconds <= 0 {
		return s
	}
	for _, f := range fns {
		if f.Concurrency > 0 {
			s.PerSecond += math.Ceil(f.Concurrency) / run.SecretCacheSeconds
		}
	}
	return s
}

// Cost is what 1,000 completed checkouts use of each AWS service, and what
// that costs where a price is cited (prices.go).
type Cost struct {
	WRU, RRU, Invocations, GBSeconds, APIRequests, SecretCalls float64 // the quantities, per 1,000
	HTTPAPI                                                    float64 // USD
}

// CostPerThousand counts what 1,000 completed checkouts use and prices
// what it has a price for. DynamoDB storage, data transfer and CloudWatch
// are left out (the doc says so).
func CostPerThousand(run Run, loads []Load, fns []FunctionLoad, sec Secrets, rate float64) Cost {
	var c Cost
	for _, l := range loads {
		c.WRU += 1000 * l.WritePerCheckout
		c.RRU += 1000 * l.ReadPerCheckout
	}
	for _, f := range fns {
		c.Invocations += 1000 * f.PerCheckout
		c.GBSeconds += 1000 * f.GBSecondsCheckout
	}
	c.APIRequests = 1000 * float64(run.APIRequests) / float64(run.Checkouts)
	if rate > 0 {
		c.SecretCalls = 1000 * sec.PerSecond / rate
	}
	c.HTTPAPI = c.APIRequests * HTTPAPIRequest.unit()
	return c
}
