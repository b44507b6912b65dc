// Package contract holds the functions to their published contract: the
// HTTP API to docs/openapi.yaml and the order events to the JSON schemas in
// docs/events/. The API tests (shared/api, at the handler) and the
// end-to-end suites (e2e, at the local stack's HTTP server and at each
// invocation of a bootstrap) pass every exchange through API.Check, so an
// answer the document does not describe fails the test that got it, and
// the coverage it keeps lets a package fail when a documented operation or
// status was never seen.
package contract

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Root is the repository's root, found from this file's place in it (the
// tests of every package run in their own directory).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// DocPath is the OpenAPI document.
func DocPath() string { return filepath.Join(Root(), "docs", "openapi.yaml") }

// GatewayOnly is the extension that marks a response only API Gateway
// gives (its throttling, its body limit, its timeout on a function that
// cannot otherwise answer that status): the handlers cannot be made to
// answer it, so handler-level coverage leaves it out.
const GatewayOnly = "x-answered-by"

// API is the loaded document with the coverage of the exchanges checked
// against it. One per test package: its coverage is that package's.
type API struct {
	Doc *openapi3.T
	ops []operation

	mu   sync.Mutex
	seen map[string]map[int]int // operation key → status → answers seen
}

// operation is one method on one path of the document.
type operation struct {
	method, path string
	segs         []string
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

// Key is the operation as a route key: "GET /orders/{orderId}".
func (o operation) Key() string { return o.method + " " + o.path }

var registerDecoders sync.Once

// LoadAPI reads and validates docs/openapi.yaml (its examples included).
func LoadAPI() (*API, error) {
	registerDecoders.Do(func() {
		// The buyer's pages are HTML, checked as the strings they are.
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		// Browsers' CSP violation reports are JSON under their own types.
		openapi3filter.RegisterBodyDecoder("application/csp-report", openapi3filter.JSONBodyDecoder)
		openapi3filter.RegisterBodyDecoder("application/reports+json", openapi3filter.JSONBodyDecoder)
	})
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(DocPath())
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", DocPath(), err)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", DocPath(), err)
	}
	a := &API{Doc: doc, seen: map[string]map[int]int{}}
	for _, p := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(p)
		for method, op := range item.Operations() {
			a.ops = append(a.ops, operation{method: method, path: p, segs: strings.Split(strings.TrimPrefix(p, "/"), "/"), item: item, op: op})
		}
	}
	// Literal segments before parameters, as API Gateway matches.
	sort.SliceStable(a.ops, func(i, j int) bool { return literals(a.ops[i].segs) > literals(a.ops[j].segs) })
	return a, nil
}

// MustLoadAPI is LoadAPI for a test package's variables.
func MustLoadAPI() *API {
	a, err := LoadAPI()
	if err != nil {
		panic(err)
	}
	return a
}

func literals(segs []string) int {
	n := 0
	for _, s := range segs {
		if !isParam(s) {
			n++
		}
	}
	return n
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// Routes is the document's routes as route keys, sorted.
func (a *API) Routes() []string {
	var keys []string
	for _, o := range a.ops {
		keys = append(keys, o.Key())
	}
	sort.Strings(keys)
	return keys
}

// Exchange is one request and the answer it got.
type Exchange struct {
	Method string
	// Path is the request's path as sent (escaped), without the query.
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	// PathParams are API Gateway's, when the exchange is a Lambda event:
	// the route is then the function's whatever the path looks like.
	PathParams map[string]string
	// Event says the exchange reached the function as an API Gateway
	// event (no HTTP server in front): no route means a test sent an
	// event for a route the document lacks.
	Event bool

	Status     int
	RespHeader http.Header
	RespBody   []byte
}

// Check validates one exchange against the document and counts it. It
// fails when the answer is not one the document describes for that
// operation and status, when the function accepted (2xx) a request the
// document refuses, and when a request to no documented route got any
// answer but API Gateway's 404.
func (a *API) Check(x Exchange) error {
	if x.Method == http.MethodOptions && x.Header.Get("Access-Control-Request-Method") != "" {
		return nil // a CORS preflight: API Gateway's CORS configuration answers it
	}
	op, params, ok := a.match(x)
	if !ok {
		if !x.Event && x.Status == http.StatusNotFound && isGatewayMessage(x.RespBody, "Not Found") {
			return nil
		}
		return fmt.Errorf("%s %s: no route in docs/openapi.yaml, answered %d %.200s", x.Method, x.Path, x.Status, x.RespBody)
	}
	req, err := httpRequest(x)
	if err != nil {
		return err
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params,
		Route:   &routers.Route{Spec: a.Doc, Path: op.path, PathItem: op.item, Method: op.method, Operation: op.op},
		Options: &openapi3filter.Options{AuthenticationFunc: basicAuth, MultiError: true},
	}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: x.Status, Header: x.RespHeader,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(x.RespBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s answered %d, which docs/openapi.yaml does not describe: %w\nbody: %.600s", op.Key(), x.Status, err, x.RespBody)
	}
	if reqErr != nil && x.Status/100 == 2 {
		return fmt.Errorf("%s answered %d to a request docs/openapi.yaml refuses: %w", op.Key(), x.Status, reqErr)
	}
	a.count(op.Key(), x.Status)
	return nil
}

// match finds the exchange's operation: by the path's segments as API
// Gateway matches them, else, for an event, by its path parameters put back
// into a route's path (a test's event may carry a path API Gateway would
// have normalised, "/orders/../x", with orderId "../x").
func (a *API) match(x Exchange) (operation, map[string]string, bool) {
	parts := strings.Split(strings.TrimPrefix(x.Path, "/"), "/")
	for _, o := range a.ops {
		if o.method != x.Method || len(o.segs) != len(parts) {
			continue
		}
		params, ok := map[string]string{}, true
		for i, s := range o.segs {
			switch {
			case isParam(s):
				v, err := url.PathUnescape(parts[i])
				if err != nil || parts[i] == "" {
					ok = false
				}
				params[s[1:len(s)-1]] = v
			default:
				// Literal segments compare decoded, as API Gateway's do.
				if lit, err := url.PathUnescape(parts[i]); err != nil || lit != s {
					ok = false
				}
			}
		}
		if ok {
			return o, params, true
		}
	}
	if x.Event && len(x.PathParams) > 0 {
		for _, o := range a.ops {
			filled := o.path
			for k, v := range x.PathParams {
				filled = strings.ReplaceAll(filled, "{"+k+"}", v)
			}
			if o.method == x.Method && filled == x.Path {
				return o, x.PathParams, true
			}
		}
	}
	return operation{}, nil, false
}

func httpRequest(x Exchange) (*http.Request, error) {
	// The route and its path parameters are match's; the URL carries the
	// query. A path no URL parser takes (a test's hostile event) is kept
	// as plain text.
	u, err := url.Parse(x.Path)
	if err != nil {
		u = &url.URL{Path: x.Path}
	}
	u.Scheme, u.Host, u.RawQuery = "https", "api.contract.test", x.RawQuery
	req, err := http.NewRequest(x.Method, u.String(), bytes.NewReader(x.Body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", x.Method, x.Path, err)
	}
	req.Header = x.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	return req, nil
}

// basicAuth holds a request to the merchantKey scheme's form: Basic, base64
// of the key and a colon (the key itself is the function's to judge).
func basicAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return errors.New("no Basic credentials")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return fmt.Errorf("the credentials of a Basic header are not base64: %w", err)
	}
	if user, _, colon := strings.Cut(string(raw), ":"); !colon || user == "" {
		return errors.New("the credentials of a Basic header are not key + \":\"")
	}
	return nil
}

func isGatewayMessage(body []byte, msg string) bool {
	return string(bytes.TrimSpace(body)) == `{"message":`+strconv.Quote(msg)+`}`
}

func (a *API) count(op string, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen[op] == nil {
		a.seen[op] = map[int]int{}
	}
	a.seen[op][status]++
}

// Unexercised lists what no checked exchange reached: every operation
// never called, and every documented status of an operation never
// answered ("POST /orders 409"), leaving out the responses only API Gateway
// gives when gateway is false.
func (a *API) Unexercised(gateway bool) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var missing []string
	for _, o := range a.ops {
		seen := a.seen[o.Key()]
		if len(seen) == 0 {
			missing = append(missing, o.Key()+" (never called)")
			continue
		}
		for code, ref := range o.op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil {
				continue // ranges and default: none in this document
			}
			if !gateway && ref.Value != nil && ref.Value.Extensions[GatewayOnly] != nil {
				continue
			}
			if seen[status] == 0 {
				missing = append(missing, fmt.Sprintf("%s %d", o.Key(), status))
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// UncalledOperations lists the operations no checked exchange reached.
func (a *API) UncalledOperations() []string {
	var out []string
	for _, m := range a.Unexercised(true) {
		if strings.HasSuffix(m, "(never called)") {
			out = append(out, strings.TrimSuffix(m, " (never called)"))
		}
	}
	return out
}

// readAll reads what a body holds, at most limit bytes more than fit.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, fmt.Errorf("read the body: %w", err)
	}
	return b, nil
}
