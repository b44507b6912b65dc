package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tossintl/backend/tools/samlocal/lambdarun"
)

// StreamEvent is one DynamoDB event of a function: Lambda's event source
// mapping that polls a table's stream and invokes the function with
// batches of its records.
type StreamEvent struct {
	Function         string // logical id
	Event            string // the event's name in the template
	Table            string // the table's logical id (Stream: !GetAtt <Table>.StreamArn)
	StartingPosition string // TRIM_HORIZON or LATEST
	BatchSize        int
	// MaxRetries is MaximumRetryAttempts; -1 (the default) retries until
	// the records age out, which the local stack never waits for.
	MaxRetries int
	// ReportBatchItemFailures: the function's answer names the records
	// that failed, and the retry starts at the first of them.
	ReportBatchItemFailures bool
}

// StreamEvents lists the DynamoDB events of the template's functions, in
// template order.
func (t *Template) StreamEvents() ([]StreamEvent, error) {
	var out []StreamEvent
	for _, id := range t.Functions {
		evs := mapOf(t.Resources[id].Properties["Events"])
		for _, name := range sortedKeys(evs) {
			ev := mapOf(evs[name])
			if ev["Type"] != "DynamoDB" {
				continue
			}
			p := mapOf(ev["Properties"])
			if enabled, ok := p["Enabled"]; ok && scalarString(enabled) == "false" {
				continue
			}
			table, err := streamTable(p["Stream"])
			if err != nil {
				return nil, fmt.Errorf("%s event %s: %w", id, name, err)
			}
			se := StreamEvent{Function: id, Event: name, Table: table, StartingPosition: scalarString(p["StartingPosition"]), BatchSize: 100, MaxRetries: -1}
			for _, f := range []struct {
				key string
				v   *int
			}{{"BatchSize", &se.BatchSize}, {"MaximumRetryAttempts", &se.MaxRetries}} {
				if v, ok := p[f.key]; ok {
					n, err := strconv.Atoi(scalarString(v))
					if err != nil {
						return nil, fmt.Errorf("%s event %s: %s %v is not a whole number", id, name, f.key, v)
					}
					*f.v = n
				}
			}
			for _, rt := range stringList(p["FunctionResponseTypes"]) {
				se.ReportBatchItemFailures = se.ReportBatchItemFailures || rt == "ReportBatchItemFailures"
			}
			out = append(out, se)
		}
	}
	return out, nil
}

// streamTable is the table of Stream: !GetAtt <Table>.StreamArn, the only
// form the local stack can serve (its streams are DynamoDB Local's, read
// through the DynamoDB Streams API).
func streamTable(v any) (string, error) {
	arg := mapOf(v)["Fn::GetAtt"]
	var res, attr string
	switch x := arg.(type) {
	case string:
		res, attr, _ = strings.Cut(x, ".")
	case []any:
		if len(x) == 2 {
			res, attr = scalarString(x[0]), scalarString(x[1])
		}
	}
	if res == "" || attr != "StreamArn" {
		return "", fmt.Errorf("Stream %v: only !GetAtt <Table>.StreamArn runs locally", v)
	}
	return res, nil
}

// ttlDeletions are the items DeleteAsTTL removed, by DynamoDB Local,
// table and key: their REMOVE records are the TTL's.
type ttlDeletions struct {
	mu   sync.Mutex
	keys map[string]bool
}

func ttlKey(server, table string, keys map[string]types.AttributeValue) string {
	var parts []string
	for _, k := range sortedKeys(keys) {
		if s, ok := keys[k].(*types.AttributeValueMemberS); ok {
			parts = append(parts, k+"="+s.Value)
		}
	}
	return server + "|" + table + "|" + strings.Join(parts, ",")
}

var ttlDeleted = &ttlDeletions{keys: map[string]bool{}}

// DeleteAsTTL deletes an item of a table (by its string hash key) as
// DynamoDB's TTL process would, which DynamoDB Local never does (it stores
// the TTL setting and deletes nothing): the item goes, and
// its REMOVE record reaches the stream's functions with the TTL service's
// userIdentity ({type: Service, principalId: dynamodb.amazonaws.com}).
func (s *Stack) DeleteAsTTL(ctx context.Context, tableID, hashKey, value string) error {
	name, err := s.TableName(tableID)
	if err != nil {
		return err
	}
	ttlDeleted.mu.Lock()
	ttlDeleted.keys[ttlKey(s.DynamoDBURL, name, map[string]types.AttributeValue{hashKey: &types.AttributeValueMemberS{Value: value}})] = true
	ttlDeleted.mu.Unlock()
	_, err = s.DynamoDB().DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(name), Key: map[string]ddbtypes.AttributeValue{hashKey: &ddbtypes.AttributeValueMemberS{Value: value}}})
	if err != nil {
		return fmt.Errorf("delete %s %s as the TTL would: %w", tableID, value, err)
	}
	return nil
}

// RunStreams polls the stream of each DynamoDB event of this stack's
// functions, every poll when a read finds nothing, and invokes the
// function as Lambda's event source mapping does, until ctx ends.
func (s *Stack) RunStreams(ctx context.Context, poll time.Duration) ([]StreamEvent, error) {
	all, err := s.Template.StreamEvents()
	if err != nil {
		return nil, err
	}
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	var running []StreamEvent
	for _, se := range all {
		if s.functions[se.Function] == nil {
			continue
		}
		p, err := s.newPoller(ctx, se)
		if err != nil {
			return nil, err
		}
		running = append(running, se)
		go p.run(ctx, poll)
	}
	return running, nil
}

type poller struct {
	s         *Stack
	se        StreamEvent
	table     string
	streamARN string
	client    *dynamodbstreams.Client
	// call is one invocation of the function: the stack's Invoke.
	call func(ctx context.Context, event []byte) (lambdarun.Result, error)
	// shards are the stream's shards as last described, at described.
	shards    []types.Shard
	described time.Time
}

// describeEvery is how often the poller looks for new shards, as Lambda's
// event source mapping does between its reads of the shards it knows:
// describing the stream before every read would double the requests
// DynamoDB Local serves under load for an answer that rarely changes.
const describeEvery = 10 * time.Second

func (s *Stack) newPoller(ctx context.Context, se StreamEvent) (*poller, error) {
	name, err := s.TableName(se.Table)
	if err != nil {
		return nil, err
	}
	d, err := s.DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("%s event %s: describe %s: %w", se.Function, se.Event, name, err)
	}
	if d.Table.LatestStreamArn == nil {
		return nil, fmt.Errorf("%s event %s: table %s has no stream: give it a StreamSpecification", se.Function, se.Event, name)
	}
	return &poller{s: s, se: se, table: name, streamARN: aws.ToString(d.Table.LatestStreamArn),
		client: streamsClient(s.DynamoDBURL),
		call: func(ctx context.Context, event []byte) (lambdarun.Result, error) {
			return s.Invoke(ctx, se.Function, event)
		}}, nil
}

// streamsClient reads DynamoDB Local's streams, with its images repaired
// (repairEmptyMaps).
func streamsClient(endpoint string) *dynamodbstreams.Client {
	return dynamodbstreams.New(dynamodbstreams.Options{Region: Region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(LocalAccessKeyID, LocalSecretAccessKey, ""),
		APIOptions:  []func(*middleware.Stack) error{repairEmptyMaps}})
}

// repairEmptyMaps fixes GetRecords' answers before the SDK reads them:
// DynamoDB Local writes an empty map attribute into a stream record's
// images as {}, without its type (DynamoDB, and DynamoDB Local's own
// GetItem, write {"M":{}}), and the SDK reads that as some other value
// entirely. An order's refunds map is empty once its last reservation is
// settled, so the stream's function would otherwise get a record it
// cannot decode.
func repairEmptyMaps(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("repairEmptyMaps",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			resp, ok := out.RawResponse.(*smithyhttp.Response)
			if err != nil || !ok || resp.StatusCode != 200 || middleware.GetOperationName(ctx) != "GetRecords" {
				return out, md, err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return out, md, fmt.Errorf("read GetRecords' answer: %w", err)
			}
			resp.Body = io.NopCloser(bytes.NewReader(typedEmptyMaps(body)))
			return out, md, nil
		}), middleware.After)
}

// typedEmptyMaps gives every untyped {} attribute value in the records'
// Keys, NewImage and OldImage its type, {"M":{}}; anything it cannot read
// it leaves as it was.
func typedEmptyMaps(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers (SizeBytes, times) re-encode exactly
	var doc map[string]any
	if dec.Decode(&doc) != nil {
		return body
	}
	recs, _ := doc["Records"].([]any)
	for _, r := range recs {
		change, _ := mapOf(r)["dynamodb"].(map[string]any)
		for _, img := range []string{"Keys", "NewImage", "OldImage"} {
			if attrs, ok := change[img].(map[string]any); ok {
				for name, v := range attrs {
					attrs[name] = typedValue(v)
				}
			}
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

func typedValue(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if len(m) == 0 {
		return map[string]any{"M": map[string]any{}}
	}
	if members, ok := m["M"].(map[string]any); ok {
		for k, e := range members {
			members[k] = typedValue(e)
		}
	}
	if elems, ok := m["L"].([]any); ok {
		for i, e := range elems {
			elems[i] = typedValue(e)
		}
	}
	return m
}

func (p *poller) logf(format string, args ...any) {
	p.s.logf("stream %s → %s: "+format, append([]any{p.se.Table, p.se.Function}, args...)...)
}

func (p *poller) run(ctx context.Context, poll time.Duration) {
	iters := map[string]*string{} // shard → iterator
	for ctx.Err() == nil {
		found, err := p.pollOnce(ctx, iters)
		if err != nil && ctx.Err() == nil {
			p.logf("%v", err)
		}
		if !found || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(poll):
			}
		}
	}
}

// pollOnce reads each shard once and hands what it read to the function.
func (p *poller) pollOnce(ctx context.Context, iters map[string]*string) (bool, error) {
	if len(p.shards) == 0 || time.Since(p.described) >= describeEvery {
		d, err := p.client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.streamARN)})
		if err != nil {
			return false, fmt.Errorf("describe stream: %w", err)
		}
		p.shards, p.described = d.StreamDescription.Shards, time.Now()
	}
	found := false
	for _, sh := range p.shards {
		id := aws.ToString(sh.ShardId)
		if iters[id] == nil {
			typ := types.ShardIteratorTypeTrimHorizon
			if p.se.StartingPosition == "LATEST" {
				typ = types.ShardIteratorTypeLatest
			}
			it, err := p.client.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.streamARN), ShardId: sh.ShardId, ShardIteratorType: typ})
			if err != nil {
				return found, fmt.Errorf("shard iterator: %w", err)
			}
			iters[id] = it.ShardIterator
		}
		out, err := p.client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iters[id], Limit: aws.Int32(int32(min(p.se.BatchSize, 1000)))})
		if err != nil {
			iters[id] = nil // read again from the start position
			return found, fmt.Errorf("get records: %w", err)
		}
		if len(out.Records) > 0 {
			found = true
			if err := p.deliver(ctx, out.Records); err != nil {
				return found, err
			}
		}
		if out.NextShardIterator != nil {
			iters[id] = out.NextShardIterator
		}
	}
	return found, nil
}

// deliver invokes the function with recs, as Lambda does: on a batch item
// failure it retries from the first failed record, on a function error
// the whole rest; after MaxRetries retries the first record of the rest is
// set aside (Lambda's on-failure destination: here a log line) and the
// stream goes on past it, so a poison record never blocks it.
func (p *poller) deliver(ctx context.Context, recs []types.Record) error {
	tries := 0
	for len(recs) > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		done, err := p.invokeBatch(ctx, recs)
		if err != nil && errors.Is(err, context.Canceled) {
			return err
		}
		if err == nil && done == len(recs) {
			return nil
		}
		if done > 0 {
			recs, tries = recs[done:], 0
			continue
		}
		tries++
		if p.se.MaxRetries >= 0 && tries > p.se.MaxRetries {
			p.logf("record %s set aside after %d retries (the on-failure destination): %v", aws.ToString(recs[0].Dynamodb.SequenceNumber), p.se.MaxRetries, err)
			recs, tries = recs[1:], 0
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(min(tries, 10)) * 50 * time.Millisecond):
		}
	}
	return nil
}

// invokeBatch runs one batch and says how many of its first records are done.
func (p *poller) invokeBatch(ctx context.Context, recs []types.Record) (int, error) {
	ev, err := p.lambdaEvent(recs)
	if err != nil {
		return 0, err
	}
	res, err := p.call(ctx, ev)
	if err != nil {
		return 0, err
	}
	if res.Error != nil {
		return 0, fmt.Errorf("function error: %v", res.Error)
	}
	if !p.se.ReportBatchItemFailures {
		return len(recs), nil
	}
	var resp events.DynamoDBEventResponse
	if len(res.Payload) > 0 && string(res.Payload) != "null" {
		if err := json.Unmarshal(res.Payload, &resp); err != nil {
			// Lambda treats an answer it cannot read as a failure of the whole batch.
			return 0, fmt.Errorf("batch response: %w", err)
		}
	}
	first := len(recs)
	for _, f := range resp.BatchItemFailures {
		i := -1
		for j, r := range recs {
			if aws.ToString(r.Dynamodb.SequenceNumber) == f.ItemIdentifier {
				i = j
			}
		}
		if i < 0 {
			// An identifier of no record of the batch: the whole batch failed.
			return 0, fmt.Errorf("batch item failure %q names no record of the batch", f.ItemIdentifier)
		}
		first = min(first, i)
	}
	if first < len(recs) {
		return first, fmt.Errorf("batch item failure at %s", aws.ToString(recs[first].Dynamodb.SequenceNumber))
	}
	return first, nil
}

// lambdaEvent is the event Lambda sends for recs (events.DynamoDBEvent).
func (p *poller) lambdaEvent(recs []types.Record) ([]byte, error) {
	type change struct {
		ApproximateCreationDateTime int64          `json:"ApproximateCreationDateTime"`
		Keys                        map[string]any `json:"Keys"`
		NewImage                    map[string]any `json:"NewImage,omitempty"`
		OldImage                    map[string]any `json:"OldImage,omitempty"`
		SequenceNumber              string         `json:"SequenceNumber"`
		SizeBytes                   int64          `json:"SizeBytes"`
		StreamViewType              string         `json:"StreamViewType"`
	}
	type record struct {
		EventID        string                       `json:"eventID"`
		EventName      string                       `json:"eventName"`
		EventVersion   string                       `json:"eventVersion"`
		EventSource    string                       `json:"eventSource"`
		AWSRegion      string                       `json:"awsRegion"`
		Change         change                       `json:"dynamodb"`
		EventSourceARN string                       `json:"eventSourceARN"`
		UserIdentity   *events.DynamoDBUserIdentity `json:"userIdentity,omitempty"`
	}
	out := struct {
		Records []record `json:"Records"`
	}{Records: make([]record, 0, len(recs))}
	for _, r := range recs {
		d := r.Dynamodb
		rec := record{EventID: aws.ToString(r.EventID), EventName: string(r.EventName), EventVersion: "1.1", EventSource: "aws:dynamodb",
			AWSRegion: Region, EventSourceARN: p.streamARN,
			Change: change{Keys: jsonImage(d.Keys), NewImage: jsonImage(d.NewImage), OldImage: jsonImage(d.OldImage),
				SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes), StreamViewType: string(d.StreamViewType)}}
		if d.ApproximateCreationDateTime != nil {
			rec.Change.ApproximateCreationDateTime = d.ApproximateCreationDateTime.Unix()
		}
		if r.EventName == types.OperationTypeRemove {
			k := ttlKey(p.s.DynamoDBURL, p.table, d.Keys)
			ttlDeleted.mu.Lock()
			if ttlDeleted.keys[k] {
				rec.UserIdentity = &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}
			}
			ttlDeleted.mu.Unlock()
		}
		out.Records = append(out.Records, rec)
	}
	return json.Marshal(out)
}

// jsonImage is an image in DynamoDB's JSON ({"S": "…"}, {"N": "…"}, …).
func jsonImage(img map[string]types.AttributeValue) map[string]any {
	if img == nil {
		return nil
	}
	out := make(map[string]any, len(img))
	for k, v := range img {
		out[k] = jsonValue(v)
	}
	return out
}

func jsonValue(v types.AttributeValue) map[string]any {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": x.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": x.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": x.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": x.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": x.Value} // []byte marshals as base64, as Lambda sends it
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": x.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": x.Value}
	case *types.AttributeValueMemberBS:
		return map[string]any{"BS": x.Value}
	case *types.AttributeValueMemberL:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = jsonValue(e)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": jsonImage(x.Value)}
	}
	return map[string]any{"NULL": true}
}
