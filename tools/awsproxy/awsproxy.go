// Package awsproxy is the local world's one reader of AWS requests: a proxy
// that sends each call of the AWS JSON protocols to the server that serves
// its service (DynamoDB and DynamoDB Streams to DynamoDB Local, the rest to
// moto_server) and runs hooks on the way, each of which may observe a call,
// count it, change it or its answer, answer it with a fault, or serve it
// itself.
//
// The local stack gives every function an endpoint of its own on it (so a
// hook knows which function called), the capacity tool records and prices
// DynamoDB requests with a hook, the benchmarks count round trips with one,
// the reliability campaign injects DynamoDB's and Secrets Manager's
// failures with one, and the stack's EventBridge serves PutEvents as one.
// None of them reads X-Amz-Target or forwards a request itself.
package awsproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Services, as Call.Service names them.
const (
	DynamoDB       = "dynamodb"
	Streams        = "dynamodbstreams"
	SecretsManager = "secretsmanager"
	Events         = "events"
)

// Call is one AWS call on its way through the proxy.
type Call struct {
	// Function is the caller: the logical id whose endpoint it used; ""
	// on an endpoint of no function.
	Function string
	// Service is the service the call is for (the constants above); for a
	// target of another service, its X-Amz-Target prefix; "" without one.
	Service string
	Op      string // the operation: "UpdateItem", "GetSecretValue", …
	Target  string // X-Amz-Target as sent
	// Body is the request's JSON. A hook may replace it (the capacity
	// recorder asks for consumed capacity); the server gets what the last
	// hook left.
	Body []byte
	// Header holds the request's headers: its signature, which names the
	// caller's access key and region (DynamoDB Local keeps one database
	// per pair) and which no local server checks.
	Header http.Header
	Path   string

	ctx    context.Context
	once   sync.Once
	fields Fields
}

// Fields are the request fields the hooks look at, decoded once.
type Fields struct {
	TableName string
	IndexName string
	SecretID  string `json:"SecretId"`
	Key       map[string]json.RawMessage
	Item      map[string]json.RawMessage
}

// Context is the caller's request context.
func (c *Call) Context() context.Context {
	if c.ctx == nil {
		return context.Background()
	}
	return c.ctx
}

// Fields decodes the common fields of the body (empty where it is not JSON).
func (c *Call) Fields() Fields {
	c.once.Do(func() { _ = json.Unmarshal(c.Body, &c.fields) })
	return c.fields
}

// Decode decodes the body into v.
func (c *Call) Decode(v any) error {
	if err := json.Unmarshal(c.Body, v); err != nil {
		return fmt.Errorf("%s %s: %w", c.Service, c.Op, err)
	}
	return nil
}

// WithOp is a new call of the same caller, signature and context for
// another operation of the same service: a hook's own request (the
// capacity recorder reads an item around a write).
func (c *Call) WithOp(op string, body []byte) *Call {
	prefix, _, _ := strings.Cut(c.Target, ".")
	h := c.Header.Clone()
	h.Set("X-Amz-Target", prefix+"."+op)
	return &Call{Function: c.Function, Service: c.Service, Op: op, Target: prefix + "." + op, Body: body, Header: h, Path: c.Path, ctx: c.ctx}
}

// Answer is what the caller gets.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	// Hangup closes the caller's connection without an answer, as a
	// network fault would.
	Hangup bool
	// Took is how long the server took (zero for answers no server gave).
	Took time.Duration
}

// OK reports a 2xx answer.
func (a *Answer) OK() bool { return a.Status >= 200 && a.Status < 300 }

// ErrorType is the error's name from a failed answer's __type
// ("ConditionalCheckFailedException"), "" for a success.
func (a *Answer) ErrorType() string {
	if a.OK() {
		return ""
	}
	var e struct {
		Type string `json:"__type"`
	}
	_ = json.Unmarshal(a.Body, &e)
	if i := strings.LastIndexAny(e.Type, "#."); i >= 0 {
		return e.Type[i+1:]
	}
	return e.Type
}

// SetBody replaces the body, and its X-Amz-Crc32 when the server sent one:
// the DynamoDB SDKs check it.
func (a *Answer) SetBody(b []byte) {
	a.Body = b
	if a.Header.Get("X-Amz-Crc32") != "" {
		a.Header.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	}
}

// Error is an answer in the JSON protocols' error shape, as the service
// answers a throttle or a failure: jsonVersion is "1.0" for DynamoDB,
// "1.1" for Secrets Manager and EventBridge.
func Error(status int, jsonVersion, errorType, message string) *Answer {
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-"+jsonVersion)
	h.Set("X-Amzn-Requestid", "awsproxy")
	body, _ := json.Marshal(map[string]string{"__type": errorType, "message": message})
	return &Answer{Status: status, Header: h, Body: body}
}

// JSON is a 200 answer of v in the JSON protocol of jsonVersion.
func JSON(jsonVersion string, v any) *Answer {
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-"+jsonVersion)
	body, err := json.Marshal(v)
	if err != nil {
		return Error(http.StatusInternalServerError, jsonVersion, "InternalFailure", err.Error())
	}
	return &Answer{Status: http.StatusOK, Header: h, Body: body}
}

// Next passes a call on: to the next hook, after the last to its server.
type Next func(*Call) *Answer

// Hook is what a tool puts in the calls' way. It returns the caller's
// answer: next's, changed or not, or one of its own without calling next.
type Hook func(c *Call, next Next) *Answer

// Chain runs hooks in order (nil ones skipped) as one.
func Chain(hooks ...Hook) Hook {
	var hs []Hook
	for _, h := range hooks {
		if h != nil {
			hs = append(hs, h)
		}
	}
	return func(c *Call, next Next) *Answer {
		return run(hs, c, next)
	}
}

func run(hooks []Hook, c *Call, last Next) *Answer {
	if len(hooks) == 0 {
		return last(c)
	}
	return hooks[0](c, func(c *Call) *Answer { return run(hooks[1:], c, last) })
}

// Proxy routes calls to their servers.
type Proxy struct {
	dynamo, other string // base URLs
	// Hooks run for every call, after the caller's own.
	hooks  []Hook
	client *http.Client
}

// New routes DynamoDB and DynamoDB Streams calls to dynamoURL (DynamoDB
// Local), every other call to otherURL (moto_server; "" answers them
// with an error), through hooks.
func New(dynamoURL, otherURL string, hooks ...Hook) *Proxy {
	return &Proxy{dynamo: strings.TrimSuffix(dynamoURL, "/"), other: strings.TrimSuffix(otherURL, "/"), hooks: hooks,
		client: &http.Client{Transport: &http.Transport{
			// Every function process keeps its own connections to its
			// endpoint; the proxy's to the two servers are shared by all
			// of them, so keep as many idle as calls run at once.
			// No Proxy: loopback only, whatever HTTP_PROXY says.
			MaxIdleConns: 1024, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute,
			DisableCompression: true,
		}}}
}

// Close drops the idle connections to the servers.
func (p *Proxy) Close() { p.client.CloseIdleConnections() }

// Handler serves function's endpoint: its calls go through hooks, then the
// proxy's own, then to their server.
func (p *Proxy) Handler(function string, hooks ...Hook) http.Handler {
	chain := Chain(append(append([]Hook(nil), hooks...), p.hooks...)...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, fmt.Sprintf("awsproxy: read the request: %v", err), http.StatusBadRequest)
			return
		}
		c := NewCall(r.Context(), function, r.Header, r.URL.Path, body)
		a := chain(c, p.Send)
		write(w, a)
	})
}

// NewCall is a call as the proxy reads it off the wire.
func NewCall(ctx context.Context, function string, header http.Header, path string, body []byte) *Call {
	c := &Call{Function: function, Target: header.Get("X-Amz-Target"), Header: header.Clone(), Path: path, Body: body, ctx: ctx}
	prefix, op, _ := strings.Cut(c.Target, ".")
	c.Op = op
	switch {
	case strings.HasPrefix(prefix, "DynamoDBStreams_"):
		c.Service = Streams
	case strings.HasPrefix(prefix, "DynamoDB_"):
		c.Service = DynamoDB
	case prefix == "secretsmanager":
		c.Service = SecretsManager
	case prefix == "AWSEvents":
		c.Service = Events
	default:
		c.Service = prefix
	}
	return c
}

// Send sends a call to its server, past every hook.
func (p *Proxy) Send(c *Call) *Answer {
	base := p.other
	if c.Service == DynamoDB || c.Service == Streams {
		base = p.dynamo
	}
	if base == "" {
		return Error(http.StatusNotImplemented, "1.1", "UnknownOperationException",
			fmt.Sprintf("the local stack serves no %q (X-Amz-Target %q)", c.Service, c.Target))
	}
	path := c.Path
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequestWithContext(c.Context(), http.MethodPost, base+path, bytes.NewReader(c.Body))
	if err != nil {
		return Error(http.StatusBadGateway, "1.1", "InternalFailure", "awsproxy: "+err.Error())
	}
	for k, v := range c.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "Te", "Trailer", "Upgrade", "Proxy-Connection":
			continue // hop by hop, or no longer true of the body
		}
		req.Header[k] = v
	}
	// Answers come back as the server wrote them, never compressed: a
	// hook reads them, and compression costs both ends CPU for nothing
	// on loopback.
	req.Header.Set("Accept-Encoding", "identity")
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return Error(http.StatusBadGateway, "1.1", "InternalFailure", fmt.Sprintf("awsproxy: %s unreachable: %v", base, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Error(http.StatusBadGateway, "1.1", "InternalFailure", fmt.Sprintf("awsproxy: %s answer cut: %v", base, err))
	}
	h := resp.Header.Clone()
	h.Del("Content-Length")
	return &Answer{Status: resp.StatusCode, Header: h, Body: body, Took: time.Since(start)}
}

func write(w http.ResponseWriter, a *Answer) {
	if a.Hangup {
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "awsproxy: this connection cannot be hung up", http.StatusInternalServerError)
			return
		}
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(a.Body)))
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(a.Body)
}
