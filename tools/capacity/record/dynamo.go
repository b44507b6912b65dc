// Package record records what a run of the local stack asks of AWS, for
// the capacity model: every DynamoDB request of every function with the
// capacity DynamoDB Local reports for it and the item before and after
// each write, every call by function (through tools/samlocal/stack's
// AWSRecorder), and each invocation's duration from the emulator's REPORT
// lines.
package record

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"

	"github.com/tossintl/backend/tools/awsproxy"
	"github.com/tossintl/backend/tools/capacity/model"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// Recorder is an Options.AWSProxy for stack.Start that records each
// function's DynamoDB requests as the model's Requests, each with the
// capacity DynamoDB Local reports for it.
//
// The units are DynamoDB Local's: the recorder adds ReturnConsumedCapacity
// INDEXES to each request it forwards and strips ConsumedCapacity from
// the answer, so the function sees what it would have seen. Which
// partition keys the units land on is not in that figure, so the recorder
// also reads the item right before and right after a write (its index keys
// before and after), holding its own lock across the three requests, so
// no other recorded write can come between them. ReturnValues could give
// one image but not both, and it would change the requests and answers
// the functions see; the reads around a write change nothing the code
// under test sees.
type Recorder struct {
	// Calls counts every AWS call by function (Secrets Manager's among them).
	Calls stack.AWSRecorder

	schema    model.Schema
	recording atomic.Bool

	mu     sync.Mutex // one recorded DynamoDB request (and its reads) at a time
	reqs   []model.Request
	errors []string
}

// New records requests to the tables of schema; it starts recording.
func New(schema model.Schema) *Recorder {
	r := &Recorder{schema: schema}
	r.recording.Store(true)
	return r
}

// SetRecording turns recording of DynamoDB requests on or off (the load
// run measures the stack without the recorder's extra reads).
func (r *Recorder) SetRecording(on bool) { r.recording.Store(on) }

// Requests are the requests recorded so far (a copy).
func (r *Recorder) Requests() []model.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]model.Request(nil), r.reqs...)
}

// Errors are DynamoDB requests that failed other than by their condition
// (each would be a bug in the run or the stack).
func (r *Recorder) Errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

// Reset forgets the DynamoDB requests recorded (Calls keeps counting:
// callers take differences).
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs, r.errors = nil, nil
}

// CallCounts counts each function's calls of each action so far.
func (r *Recorder) CallCounts(functions []string) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, fn := range functions {
		m := map[string]int{}
		for _, c := range r.Calls.Calls(fn) {
			m[c.Action]++
		}
		out[fn] = m
	}
	return out
}

// Proxy is the Options.AWSProxy: the call counter, then the DynamoDB
// recorder.
func (r *Recorder) Proxy(function string) awsproxy.Hook {
	return awsproxy.Chain(r.Calls.Proxy(function), func(c *awsproxy.Call, next awsproxy.Next) *awsproxy.Answer {
		return r.record(function, c, next)
	})
}

// wireRequest is the fields of a DynamoDB request the recorder reads.
type wireRequest struct {
	TableName                 string
	IndexName                 string
	Item                      model.Item
	Key                       model.Item
	ConsistentRead            bool
	KeyConditionExpression    string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues model.Item
	ReturnConsumedCapacity    string
}

type wireResponse struct {
	Item             model.Item
	Items            []model.Item
	ConsumedCapacity *wireConsumed
}

// wireConsumed is DynamoDB's ConsumedCapacity with INDEXES.
type wireConsumed struct {
	CapacityUnits          float64
	Table                  *struct{ CapacityUnits float64 }
	GlobalSecondaryIndexes map[string]struct{ CapacityUnits float64 }
}

func (w *wireConsumed) model() *model.Consumed {
	if w == nil {
		return nil
	}
	c := &model.Consumed{Table: w.CapacityUnits}
	if w.Table != nil {
		c.Table = w.Table.CapacityUnits
	}
	for name, ix := range w.GlobalSecondaryIndexes {
		if c.Indexes == nil {
			c.Indexes = map[string]float64{}
		}
		c.Indexes[name] = ix.CapacityUnits
	}
	return c
}

func (r *Recorder) record(function string, c *awsproxy.Call, next awsproxy.Next) *awsproxy.Answer {
	if c.Service != awsproxy.DynamoDB || !r.recording.Load() {
		return next(c)
	}
	var in wireRequest
	_ = json.Unmarshal(c.Body, &in) // not JSON: the server answers the error; nothing to record
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := model.Request{Function: function, Op: c.Op, Table: in.TableName, Index: in.IndexName, Consistent: in.ConsistentRead}
	var key model.Item
	switch c.Op {
	case "PutItem":
		key = r.keyOf(in.TableName, in.Item)
		rec.Sent = in.Item
	case "UpdateItem", "DeleteItem":
		key = in.Key
	case "GetItem", "Query", "Scan":
	case "TransactWriteItems", "BatchWriteItem", "TransactGetItems", "BatchGetItem":
		// Not used by this code base; the model refuses it rather than
		// miscount it, so a change that starts using one shows.
		r.errors = append(r.errors, fmt.Sprintf("%s: %s is not recorded item by item yet", function, c.Op))
		return next(c)
	default:
		return next(c) // DescribeTable and the like: no capacity
	}
	if key != nil {
		rec.Old = r.get(c, next, in.TableName, key)
	}
	// Ask for the units unless the caller did (then it gets them).
	added := in.ReturnConsumedCapacity == "" || in.ReturnConsumedCapacity == "NONE"
	fwd := c
	if added {
		body, err := withField(c.Body, "ReturnConsumedCapacity", "INDEXES")
		if err != nil {
			r.errors = append(r.errors, fmt.Sprintf("%s %s: %v", function, c.Op, err))
			return next(c)
		}
		fwd = c.WithOp(c.Op, body)
	}
	ans := next(fwd)
	switch {
	case ans.OK():
	case ans.ErrorType() == "ConditionalCheckFailedException":
		rec.Failed = true
	default:
		r.errors = append(r.errors, fmt.Sprintf("%s %s %s: %d %.200s", function, c.Op, in.TableName, ans.Status, ans.Body))
		return ans
	}
	var resp wireResponse
	if ans.OK() {
		if err := json.Unmarshal(ans.Body, &resp); err != nil {
			r.errors = append(r.errors, fmt.Sprintf("%s %s: answer: %v", function, c.Op, err))
			return ans
		}
		rec.Consumed = resp.ConsumedCapacity.model()
		if added {
			body, err := withoutField(ans.Body, "ConsumedCapacity")
			if err != nil {
				r.errors = append(r.errors, fmt.Sprintf("%s %s: answer: %v", function, c.Op, err))
				return ans
			}
			ans.SetBody(body)
		}
	}
	if key != nil {
		rec.New = r.get(c, next, in.TableName, key)
	}
	if c.Op == "GetItem" || c.Op == "Query" || c.Op == "Scan" {
		if resp.Item != nil {
			rec.Items = []model.Item{resp.Item}
		} else {
			rec.Items = resp.Items
		}
		if c.Op == "GetItem" {
			rec.KeyEq = in.Key
		}
		if c.Op == "Query" {
			rec.KeyEq = keyEquals(in)
		}
	}
	r.reqs = append(r.reqs, rec)
	return ans
}

// withField sets one top-level field of a JSON object.
func withField(body []byte, name string, value any) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("request is not a JSON object: %w", err)
	}
	v, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	m[name] = v
	return json.Marshal(m)
}

// withoutField removes one top-level field of a JSON object.
func withoutField(body []byte, name string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("answer is not a JSON object: %w", err)
	}
	if _, ok := m[name]; !ok {
		return body, nil
	}
	delete(m, name)
	return json.Marshal(m)
}

// keyOf is item's primary key, by the schema.
func (r *Recorder) keyOf(table string, item model.Item) model.Item {
	t, ok := r.schema.Table(table)
	if !ok {
		return nil
	}
	key := model.Item{t.Hash: item[t.Hash]}
	if t.Range != "" {
		key[t.Range] = item[t.Range]
	}
	return key
}

// get reads an item, strongly consistent, as the calling function (DynamoDB
// Local keeps a database per access key and region, taken from the
// request's signature).
func (r *Recorder) get(c *awsproxy.Call, next awsproxy.Next, table string, key model.Item) model.Item {
	body, _ := json.Marshal(map[string]any{"TableName": table, "Key": key, "ConsistentRead": true})
	ans := next(c.WithOp("GetItem", body))
	if !ans.OK() {
		r.errors = append(r.errors, fmt.Sprintf("recorder GetItem %s: %d %.200s", table, ans.Status, ans.Body))
		return nil
	}
	var resp wireResponse
	if err := json.Unmarshal(ans.Body, &resp); err != nil {
		r.errors = append(r.errors, fmt.Sprintf("recorder GetItem %s: %v", table, err))
	}
	return resp.Item
}

var keyEq = regexp.MustCompile(`(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)`)

// keyEquals reads a Query's equality conditions (name = :value) from its
// key condition, names and values resolved.
func keyEquals(in wireRequest) model.Item {
	out := model.Item{}
	for _, m := range keyEq.FindAllStringSubmatch(in.KeyConditionExpression, -1) {
		name := m[1]
		if n, ok := in.ExpressionAttributeNames[name]; ok {
			name = n
		}
		if v, ok := in.ExpressionAttributeValues[m[2]]; ok {
			out[name] = v
		}
	}
	return out
}
