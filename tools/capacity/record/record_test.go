package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tossintl/backend/tools/awsproxy"
	"github.com/tossintl/backend/tools/capacity/model"
)

// fakeDynamo serves GetItem, PutItem (attribute_not_exists conditions
// refused when the item exists), DeleteItem and Query from a map, in
// DynamoDB's wire format, with one unit of ConsumedCapacity when asked and
// DynamoDB's X-Amz-Crc32: enough to see what the recorder reads around a
// write and what it asks for.
type fakeDynamo struct {
	mu    sync.Mutex
	items map[string]model.Item
	gets  int
	asked int // requests that asked for ConsumedCapacity
}

func (f *fakeDynamo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var in wireRequest
	var cond struct{ ConditionExpression string }
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &in)
	_ = json.Unmarshal(body, &cond)
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.IndexByte(op, '.')+1:]
	id := func(it model.Item) string { return model.Text(it["id"]) }
	out := map[string]any{}
	if in.ReturnConsumedCapacity == "INDEXES" {
		f.asked++
		out["ConsumedCapacity"] = map[string]any{"TableName": in.TableName, "CapacityUnits": 1.0, "Table": map[string]any{"CapacityUnits": 1.0}}
	}
	switch op {
	case "GetItem":
		f.gets++
		if it, ok := f.items[id(in.Key)]; ok {
			out["Item"] = it
		}
	case "PutItem":
		if _, exists := f.items[id(in.Item)]; exists && cond.ConditionExpression != "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`)
			return
		}
		f.items[id(in.Item)] = in.Item
	case "DeleteItem":
		delete(f.items, id(in.Key))
	case "Query":
		var items []model.Item
		for _, it := range f.items {
			items = append(items, it)
		}
		out["Items"], out["Count"] = items, len(items)
	case "DescribeTable":
		out = map[string]any{"Table": map[string]any{}}
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":%q}`, op)
		return
	}
	b, _ := json.Marshal(out)
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	_, _ = w.Write(b)
}

// proxied serves function's calls through the recorder to db, as the
// stack's AWS proxy does.
func proxied(t *testing.T, r *Recorder, function string, db http.Handler) http.Handler {
	srv := httptest.NewServer(db)
	t.Cleanup(srv.Close)
	return awsproxy.New(srv.URL, srv.URL).Handler(function, r.Proxy(function))
}

func call(t *testing.T, h http.Handler, op string, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("POST", "/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if c := rec.Header().Get("X-Amz-Crc32"); c != "" && c != strconv.FormatUint(uint64(crc32.ChecksumIEEE(rec.Body.Bytes())), 10) {
		t.Errorf("%s: X-Amz-Crc32 %s does not match the body the function got", op, c)
	}
	return rec.Code, rec.Body.String()
}

func TestRecorderReadsAroundWrites(t *testing.T) {
	schema := model.Schema{Tables: []model.Table{{Name: "orders", Hash: "id"}}}
	db := &fakeDynamo{items: map[string]model.Item{}}
	r := New(schema)
	h := proxied(t, r, "CreateOrderFunction", db)

	put := `{"TableName":"orders","Item":{"id":{"S":"ord_1"},"status":{"S":"PENDING"}},"ConditionExpression":"attribute_not_exists(id)"}`
	if code, body := call(t, h, "PutItem", put); code != 200 {
		t.Fatalf("first put: %d %s", code, body)
	}
	// The same put again: refused by its condition, and the function
	// still gets the server's answer unchanged.
	if code, body := call(t, h, "PutItem", put); code != 400 || !strings.Contains(body, "ConditionalCheckFailed") {
		t.Fatalf("second put: %d %s", code, body)
	}
	if code, body := call(t, h, "Query", `{"TableName":"orders","KeyConditionExpression":"#0 = :0","ExpressionAttributeNames":{"#0":"id"},"ExpressionAttributeValues":{":0":{"S":"ord_1"}}}`); code != 200 || strings.Contains(body, "ConsumedCapacity") {
		t.Fatalf("query: %d %s (the function never asked for ConsumedCapacity)", code, body)
	}
	if code, _ := call(t, h, "DeleteItem", `{"TableName":"orders","Key":{"id":{"S":"ord_1"}}}`); code != 200 {
		t.Fatal("delete")
	}
	if code, _ := call(t, h, "DescribeTable", `{"TableName":"orders"}`); code != 200 {
		t.Fatal("describe")
	}
	reqs := r.Requests()
	if len(reqs) != 4 {
		t.Fatalf("recorded %d requests, want 4 (DescribeTable costs no capacity): %+v", len(reqs), reqs)
	}
	first, refused, query, del := reqs[0], reqs[1], reqs[2], reqs[3]
	if first.Function != "CreateOrderFunction" || first.Op != "PutItem" || first.Failed || first.Old != nil || model.Text(first.New["status"]) != "PENDING" ||
		first.Consumed == nil || first.Consumed.Table != 1 {
		t.Errorf("first put: %+v", first)
	}
	if db.asked != 4 {
		t.Errorf("%d requests asked for ConsumedCapacity, want the 4 recorded ones (never the recorder's own reads)", db.asked)
	}
	if !refused.Failed || refused.Old == nil || !refused.Old.Equal(refused.New) || refused.Sent == nil || refused.Consumed != nil {
		t.Errorf("refused put: want Failed with the item unchanged before and after: %+v", refused)
	}
	if query.Op != "Query" || len(query.Items) != 1 || model.Text(query.KeyEq["id"]) != "ord_1" {
		t.Errorf("query: %+v", query)
	}
	if del.Old == nil || del.New != nil {
		t.Errorf("delete: want the item before and none after: %+v", del)
	}
	if db.gets != 6 {
		t.Errorf("the recorder read the item %d times, want before and after each of 3 writes", db.gets)
	}
	calls := r.CallCounts([]string{"CreateOrderFunction"})["CreateOrderFunction"]
	if calls["dynamodb:PutItem"] != 2 || calls["dynamodb:DescribeTable"] != 1 {
		t.Errorf("call counts %v", calls)
	}

	// Recording off: requests pass untouched and unread.
	r.SetRecording(false)
	before := db.gets
	call(t, h, "PutItem", `{"TableName":"orders","Item":{"id":{"S":"ord_2"}}}`)
	if len(r.Requests()) != 4 || db.gets != before {
		t.Error("a request was recorded, or the item read, with recording off")
	}
	if errs := r.Errors(); len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}

func TestRecorderRefusesWhatItCannotPrice(t *testing.T) {
	r := New(model.Schema{Tables: []model.Table{{Name: "orders", Hash: "id"}}})
	call(t, proxied(t, r, "F", &fakeDynamo{items: map[string]model.Item{}}), "TransactWriteItems", `{"TransactItems":[]}`)
	if len(r.Errors()) == 0 {
		t.Error("a TransactWriteItems went by without an error: the model would miss its units")
	}
}

func TestDurations(t *testing.T) {
	var next bytes.Buffer
	d := &Durations{Next: &next}
	d.SetRecording(true)
	lines := "[CreateOrderFunction] START RequestId: a Version: $LATEST\n" +
		"[CreateOrderFunction] REPORT RequestId: a\tInit Duration: 0.02 ms\tDuration: 57.15 ms\tBilled Duration: 58 ms\tMemory Size: 256 MB\t\n" +
		"[CheckoutFunction] REPORT RequestId: b\tDuration: 3.5 ms\tBilled Duration: 4 ms\n" +
		"[CheckoutFunction] a log line that says Duration: 99 ms\n"
	// Written in two pieces that split a line: still read whole.
	_, _ = d.Write([]byte(lines[:70]))
	_, _ = d.Write([]byte(lines[70:]))
	got := d.Invocations()
	want := []model.Invocation{{Function: "CreateOrderFunction", DurationMs: 57.15}, {Function: "CheckoutFunction", DurationMs: 3.5}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("durations %v, want %v (Init Duration is not the invocation's)", got, want)
	}
	if next.String() != lines {
		t.Error("the log lines were not all passed on")
	}
}
