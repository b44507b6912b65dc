// Package record records what a run of the local stack asks of AWS, for
// the capacity model: every DynamoDB request of every function with the
// item before and after each write, every call by function (through
// tools/samlocal/stack's AWSRecorder), and each invocation's duration from
// the emulator's REPORT lines.
package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tossintl/backend/tools/capacity/model"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// Recorder is an Options.AWSProxy for stack.Start that records each
// function's DynamoDB requests as the model's Requests.
//
// To know what a write did to the item (its size before and after, which
// index keys it added, changed or removed), the recorder reads the item
// from moto right before and right after forwarding the write, holding
// its own lock across the three requests, so no other recorded write can
// come between them. ReturnValues could give one image but not both, and
// it would change the requests and answers the functions see; the reads
// around a write change nothing the code under test sees.
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

// Proxy is the Options.AWSProxy: the call counter around the DynamoDB
// recorder around moto.
func (r *Recorder) Proxy(function string, moto http.Handler) http.Handler {
	return r.Calls.Proxy(function, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.serve(function, moto, w, req)
	}))
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
}

type wireResponse struct {
	Item  model.Item
	Items []model.Item
}

func (r *Recorder) serve(function string, moto http.Handler, w http.ResponseWriter, req *http.Request) {
	service, op, _ := strings.Cut(req.Header.Get("X-Amz-Target"), ".")
	if !strings.HasPrefix(service, "DynamoDB_") || !r.recording.Load() {
		moto.ServeHTTP(w, req)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, fmt.Sprintf("capacity recorder: read the request: %v", err), http.StatusBadRequest)
		return
	}
	var in wireRequest
	_ = json.Unmarshal(body, &in) // not JSON: moto answers the error; nothing to record
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := model.Request{Function: function, Op: op, Table: in.TableName, Index: in.IndexName, Consistent: in.ConsistentRead}
	var key model.Item
	switch op {
	case "PutItem":
		key = r.keyOf(in.TableName, in.Item)
		rec.Sent = in.Item
	case "UpdateItem", "DeleteItem":
		key = in.Key
	case "GetItem", "Query", "Scan":
	case "TransactWriteItems", "BatchWriteItem", "TransactGetItems", "BatchGetItem":
		// Not used by this code base; the model refuses it rather than
		// miscount it, so a change that starts using one shows.
		r.errors = append(r.errors, fmt.Sprintf("%s: %s is not recorded item by item yet", function, op))
	default:
		forward(moto, w, req, body) // DescribeTable and the like: no capacity
		return
	}
	if key != nil {
		rec.Old = r.get(moto, req, in.TableName, key)
	}
	status, out := forward(moto, w, req, body)
	switch {
	case status == http.StatusOK:
	case bytes.Contains(out, []byte("ConditionalCheckFailed")):
		rec.Failed = true
	default:
		r.errors = append(r.errors, fmt.Sprintf("%s %s %s: %d %.200s", function, op, in.TableName, status, out))
		return
	}
	if key != nil {
		rec.New = r.get(moto, req, in.TableName, key)
	}
	if op == "GetItem" || op == "Query" || op == "Scan" {
		var resp wireResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			r.errors = append(r.errors, fmt.Sprintf("%s %s: answer: %v", function, op, err))
			return
		}
		if resp.Item != nil {
			rec.Items = []model.Item{resp.Item}
		} else {
			rec.Items = resp.Items
		}
		if op == "GetItem" {
			rec.KeyEq = in.Key
		}
		if op == "Query" {
			rec.KeyEq = keyEquals(in)
		}
	}
	r.reqs = append(r.reqs, rec)
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

// get reads an item straight from moto, strongly consistent, with the
// original request's credentials (moto takes its account and region from
// them).
func (r *Recorder) get(moto http.Handler, orig *http.Request, table string, key model.Item) model.Item {
	body, _ := json.Marshal(map[string]any{"TableName": table, "Key": key, "ConsistentRead": true})
	req := orig.Clone(orig.Context())
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	req.Header.Del("Accept-Encoding")
	req.Header.Del("Content-Length")
	status, out := forward(moto, httptest.NewRecorder(), req, body)
	if status != http.StatusOK {
		r.errors = append(r.errors, fmt.Sprintf("recorder GetItem %s: %d %.200s", table, status, out))
		return nil
	}
	var resp wireResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		r.errors = append(r.errors, fmt.Sprintf("recorder GetItem %s: %v", table, err))
	}
	return resp.Item
}

// forward sends body to moto as req and copies the answer to w; it
// returns the status and body too.
func forward(moto http.Handler, w http.ResponseWriter, req *http.Request, body []byte) (int, []byte) {
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	rec := httptest.NewRecorder()
	moto.ServeHTTP(rec, req)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	out := rec.Body.Bytes()
	_, _ = w.Write(out)
	return rec.Code, out
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
