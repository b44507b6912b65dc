package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// AWSCall is one AWS API call of a function as IAM sees it: the action
// ("dynamodb:GetItem") and the resource, in the form Resolver.Statements
// gives a function's Policies (a table's ARN, with "/index/<name>" for a
// query on an index; a secret's id as the caller named it).
type AWSCall struct{ Action, Resource string }

// AWSRecorder records each function's AWS calls. Its Proxy is an
// Options.AWSProxy; held against Resolver.Allows, the calls show whether
// a function's code and its Policies in the template agree, which nothing
// else checks before a deployment. The zero value is ready to use.
type AWSRecorder struct {
	mu    sync.Mutex
	calls map[string][]AWSCall
}

// Proxy notes each call's action (from X-Amz-Target) and resource, then
// forwards it to moto unchanged.
func (a *AWSRecorder) Proxy(function string, moto http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, fmt.Sprintf("samlocal: read the AWS request: %v", err), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		c := parseAWSCall(r.Header.Get("X-Amz-Target"), body)
		a.mu.Lock()
		if a.calls == nil {
			a.calls = map[string][]AWSCall{}
		}
		a.calls[function] = append(a.calls[function], c)
		a.mu.Unlock()
		moto.ServeHTTP(w, r)
	})
}

// parseAWSCall names a call of the JSON protocols DynamoDB, Secrets
// Manager and EventBridge speak; anything else is "unknown:<target>",
// which no policy grants.
func parseAWSCall(target string, body []byte) AWSCall {
	var in struct {
		TableName, IndexName, SecretId string
		Entries                        []struct{ EventBusName string } // PutEvents
	}
	_ = json.Unmarshal(body, &in) // a body that is not JSON leaves the resource empty: still a call to report
	service, op, _ := strings.Cut(target, ".")
	switch {
	case strings.HasPrefix(service, "DynamoDB_"):
		c := AWSCall{"dynamodb:" + op, fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", Region, AccountID, in.TableName)}
		if in.IndexName != "" {
			c.Resource += "/index/" + in.IndexName
		}
		return c
	case service == "secretsmanager":
		return AWSCall{"secretsmanager:" + op, in.SecretId}
	case service == "AWSEvents" && len(in.Entries) > 0:
		// IAM checks each entry's bus; the functions put on one bus a call.
		bus := in.Entries[0].EventBusName
		if !strings.HasPrefix(bus, "arn:") {
			bus = EventBusARN(bus)
		}
		return AWSCall{"events:" + op, bus}
	}
	return AWSCall{"unknown:" + target, ""}
}

// Calls are function's calls so far, in order (a copy).
func (a *AWSRecorder) Calls(function string) []AWSCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls[function])
}

// Allows reports whether function's Policies grant c: an Allow statement
// names its action and resource and no Deny statement does. Names match
// exactly; wildcards are not expanded (this project's template grants
// none, and the end-to-end suites refuse them). A function the template
// does not have is an error, not a refusal, so a misspelt name cannot pass
// for least privilege.
func (r *Resolver) Allows(function string, c AWSCall) (bool, error) {
	if _, err := r.t.selectFunctions([]string{function}); err != nil {
		return false, err
	}
	stmts, err := r.Statements(function)
	if err != nil {
		return false, err
	}
	allowed := false
	for _, st := range stmts {
		if !slices.Contains(st.Actions, c.Action) || !slices.Contains(st.Resources, c.Resource) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false, nil
		case "Allow":
			allowed = true
		}
	}
	return allowed, nil
}
