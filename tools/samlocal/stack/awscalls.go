package stack

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/tossintl/backend/tools/awsproxy"
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

// Proxy is the hook that notes each call of function, by its action and
// resource, and passes it on unchanged.
func (a *AWSRecorder) Proxy(function string) awsproxy.Hook {
	return func(c *awsproxy.Call, next awsproxy.Next) *awsproxy.Answer {
		call := IAMCall(c)
		a.mu.Lock()
		if a.calls == nil {
			a.calls = map[string][]AWSCall{}
		}
		a.calls[function] = append(a.calls[function], call)
		a.mu.Unlock()
		return next(c)
	}
}

// IAMCall names a call of the JSON protocols DynamoDB, Secrets Manager
// and EventBridge speak as IAM does; anything else is
// "unknown:<target>", which no policy grants.
func IAMCall(c *awsproxy.Call) AWSCall {
	f := c.Fields()
	switch c.Service {
	case awsproxy.DynamoDB:
		call := AWSCall{"dynamodb:" + c.Op, fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", Region, AccountID, f.TableName)}
		if f.IndexName != "" {
			call.Resource += "/index/" + f.IndexName
		}
		return call
	case awsproxy.SecretsManager:
		return AWSCall{"secretsmanager:" + c.Op, f.SecretID}
	case awsproxy.Events:
		var in struct {
			Entries []struct{ EventBusName string }
		}
		if c.Decode(&in) == nil && len(in.Entries) > 0 {
			// IAM checks each entry's bus; the functions put on one bus a call.
			bus := in.Entries[0].EventBusName
			if !strings.HasPrefix(bus, "arn:") {
				bus = EventBusARN(bus)
			}
			return AWSCall{"events:" + c.Op, bus}
		}
	}
	return AWSCall{"unknown:" + c.Target, ""}
}

// Calls are function's calls so far, in order (a copy).
func (a *AWSRecorder) Calls(function string) []AWSCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls[function])
}

// Allows reports whether function's Policies (policy templates expanded)
// grant c: an Allow statement matches its action and resource and no Deny
// statement does. Patterns match as IAM's do: * any run of characters, ?
// any one, actions regardless of case. A function the template does not
// have is an error, not a refusal, so a misspelt name cannot pass for
// least privilege.
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
		if !slices.ContainsFunc(st.Actions, matches(c.Action, true)) || !slices.ContainsFunc(st.Resources, matches(c.Resource, false)) {
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

// matches returns whether an IAM pattern matches name.
func matches(name string, foldCase bool) func(pattern string) bool {
	return func(pattern string) bool {
		re := strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern))
		if foldCase {
			re = "(?i)" + re
		}
		ok, _ := regexp.MatchString("^"+re+"$", name)
		return ok
	}
}
