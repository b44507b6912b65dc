package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"
)

// Local stand-ins for the values CloudFormation would supply.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
	StackName = "local"
)

// Template is a SAM template as the local stack needs it: functions with
// their routes, tables, secrets and parameters. Values stay unresolved
// (intrinsic functions in CloudFormation's JSON form, {"Ref": …},
// {"Fn::Sub": …}) until a Resolver gives them local meaning.
type Template struct {
	Path       string
	Dir        string
	Parameters map[string]Parameter
	Conditions map[string]any
	Resources  map[string]Resource
	// Functions, Tables and Secrets list logical ids in template order.
	Functions []string
	Tables    []string
	Secrets   []string

	globals map[string]any // Globals.Function
}

// Parameter is a template parameter.
type Parameter struct {
	Type    string
	Default string
	HasDef  bool
}

// Resource is one template resource.
type Resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
}

// Route is one HttpApi event of a function.
type Route struct {
	Function string // logical id
	Event    string // the event's name in the template
	Method   string // upper case; "ANY" matches every method
	Path     string // "/orders/{orderId}", or "$default"
}

// Key is the route key API Gateway puts in the event ("GET /orders/{orderId}").
func (r Route) Key() string {
	if r.Path == "$default" {
		return "$default"
	}
	return r.Method + " " + r.Path
}

// Resource types the local stack gives meaning to.
const (
	TypeFunction = "AWS::Serverless::Function"
	TypeTable    = "AWS::DynamoDB::Table"
	TypeSecret   = "AWS::SecretsManager::Secret"
	TypeEventBus = "AWS::Events::EventBus"
)

// LoadTemplate reads and parses a SAM template (YAML or JSON, short or
// long intrinsic syntax).
func LoadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	t, err := ParseTemplate(b)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("template path: %w", err)
	}
	t.Path, t.Dir = abs, filepath.Dir(abs)
	return t, nil
}

// ParseTemplate parses template text.
func ParseTemplate(b []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty template")
	}
	root := doc.Content[0]
	v, err := fromNode(root)
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("template is not a mapping")
	}
	t := &Template{
		Parameters: map[string]Parameter{},
		Conditions: mapOf(top["Conditions"]),
		Resources:  map[string]Resource{},
		globals:    mapOf(mapOf(top["Globals"])["Function"]),
	}
	for name, raw := range mapOf(top["Parameters"]) {
		p := mapOf(raw)
		def, has := p["Default"]
		t.Parameters[name] = Parameter{Type: fmt.Sprint(p["Type"]), Default: scalarString(def), HasDef: has}
	}
	resources := mapOf(top["Resources"])
	if len(resources) == 0 {
		return nil, errors.New("template has no Resources")
	}
	for _, id := range orderedKeys(root, "Resources") {
		r := mapOf(resources[id])
		res := Resource{Type: fmt.Sprint(r["Type"]), Properties: mapOf(r["Properties"]), Metadata: mapOf(r["Metadata"])}
		t.Resources[id] = res
		switch res.Type {
		case TypeFunction:
			t.Functions = append(t.Functions, id)
		case TypeTable:
			t.Tables = append(t.Tables, id)
		case TypeSecret:
			t.Secrets = append(t.Secrets, id)
		}
	}
	return t, nil
}

// orderedKeys lists the keys of the top-level mapping section in file order.
func orderedKeys(root *yaml.Node, section string) []string {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != section {
			continue
		}
		m := root.Content[i+1]
		var keys []string
		for j := 0; j+1 < len(m.Content); j += 2 {
			keys = append(keys, m.Content[j].Value)
		}
		return keys
	}
	return nil
}

// fromNode turns YAML into plain values, short-form intrinsics (!Ref X)
// into their JSON form ({"Ref": "X"}), so one resolver handles both.
func fromNode(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return fromNode(n.Content[0])
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	switch tag := n.Tag[1:]; tag {
	case "Ref", "Condition":
		return map[string]any{tag: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			return map[string]any{"Fn::GetAtt": []any{res, attr}}, nil
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + tag: v}, nil
	}
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// scalarString renders a YAML scalar as CloudFormation passes it on: as text.
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// FunctionProperty returns a function's property, falling back to
// Globals.Function as SAM does.
func (t *Template) FunctionProperty(id, name string) (any, bool) {
	if v, ok := t.Resources[id].Properties[name]; ok {
		return v, true
	}
	v, ok := t.globals[name]
	return v, ok
}

// Routes lists the HttpApi events of the given functions (all when none),
// in template order.
func (t *Template) Routes(functions ...string) ([]Route, error) {
	if len(functions) == 0 {
		functions = t.Functions
	}
	var routes []Route
	for _, id := range functions {
		evs := mapOf(t.Resources[id].Properties["Events"])
		names := make([]string, 0, len(evs))
		for name := range evs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			ev := mapOf(evs[name])
			if ev["Type"] != "HttpApi" {
				continue
			}
			p := mapOf(ev["Properties"])
			if v, ok := p["PayloadFormatVersion"]; ok && scalarString(v) != "2.0" {
				return nil, fmt.Errorf("%s event %s: PayloadFormatVersion %v: only 2.0 is served locally", id, name, v)
			}
			r := Route{Function: id, Event: name, Method: "ANY", Path: "$default"}
			if m, ok := p["Method"].(string); ok && m != "" {
				r.Method = strings.ToUpper(m)
			}
			if path, ok := p["Path"].(string); ok && path != "" {
				r.Path = path
			}
			if r.Method == "X-AMAZON-APIGATEWAY-ANY-METHOD" {
				r.Method = "ANY"
			}
			routes = append(routes, r)
		}
	}
	return routes, nil
}

// Resolver gives intrinsic functions local values: parameters from their
// defaults or overrides, resource names from their properties, fake ARNs.
type Resolver struct {
	t      *Template
	params map[string]string
}

// Resolver returns a resolver with the given parameter overrides.
func (t *Template) Resolver(overrides map[string]string) (*Resolver, error) {
	params := map[string]string{}
	for name, p := range t.Parameters {
		if p.HasDef {
			params[name] = p.Default
		}
	}
	for name, v := range overrides {
		if _, ok := t.Parameters[name]; !ok {
			return nil, fmt.Errorf("parameter override %s: no such parameter in the template", name)
		}
		params[name] = v
	}
	return &Resolver{t: t, params: params}, nil
}

// Param returns a parameter's value.
func (r *Resolver) Param(name string) (string, bool) {
	v, ok := r.params[name]
	return v, ok
}

// noValue is AWS::NoValue: the property disappears.
type noValueT struct{}

var noValue = noValueT{}

// maxDepth stops a self-referencing template from recursing forever.
const maxDepth = 32

// Value resolves every intrinsic function in v.
func (r *Resolver) Value(v any) (any, error) { return r.value(v, 0) }

func (r *Resolver) value(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("intrinsic functions nest too deep (a reference cycle?)")
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return r.intrinsic(k, arg, depth+1)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			rv, err := r.value(e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if rv != noValue {
				out[k] = rv
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			rv, err := r.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			if rv != noValue {
				out = append(out, rv)
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

// String resolves v to a string, as CloudFormation renders scalars.
func (r *Resolver) String(v any) (string, error) {
	rv, err := r.Value(v)
	if err != nil {
		return "", err
	}
	switch rv.(type) {
	case map[string]any, []any:
		return "", fmt.Errorf("expected a scalar, got %v", rv)
	}
	if rv == noValue {
		return "", nil
	}
	return scalarString(rv), nil
}

func (r *Resolver) intrinsic(fn string, arg any, depth int) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Ref of %v: want a name", arg)
		}
		return r.ref(name)
	case "Fn::GetAtt":
		a, err := r.value(arg, depth)
		if err != nil {
			return nil, err
		}
		parts, ok := a.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt %v: want [resource, attribute]", arg)
		}
		return r.getAtt(scalarString(parts[0]), scalarString(parts[1]))
	case "Fn::Sub":
		return r.sub(arg, depth)
	case "Fn::Join":
		a, err := r.value(arg, depth)
		if err != nil {
			return nil, err
		}
		parts, ok := a.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Join %v: want [delimiter, list]", arg)
		}
		list, ok := parts[1].([]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Join: %v is not a list", parts[1])
		}
		s := make([]string, len(list))
		for i, e := range list {
			s[i] = scalarString(e)
		}
		return strings.Join(s, scalarString(parts[0])), nil
	case "Fn::Select":
		a, err := r.value(arg, depth)
		if err != nil {
			return nil, err
		}
		parts, ok := a.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Select %v: want [index, list]", arg)
		}
		i, err := strconv.Atoi(scalarString(parts[0]))
		list, ok := parts[1].([]any)
		if err != nil || !ok || i < 0 || i >= len(list) {
			return nil, fmt.Errorf("Fn::Select %v: index out of range", arg)
		}
		return list[i], nil
	case "Fn::Split":
		a, err := r.value(arg, depth)
		if err != nil {
			return nil, err
		}
		parts, ok := a.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Split %v: want [delimiter, string]", arg)
		}
		var out []any
		for _, s := range strings.Split(scalarString(parts[1]), scalarString(parts[0])) {
			out = append(out, s)
		}
		return out, nil
	case "Fn::If":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 3 {
			return nil, fmt.Errorf("Fn::If %v: want [condition, then, else]", arg)
		}
		cond, err := r.condition(scalarString(parts[0]), depth)
		if err != nil {
			return nil, err
		}
		if cond {
			return r.value(parts[1], depth)
		}
		return r.value(parts[2], depth)
	case "Condition":
		return r.condition(scalarString(arg), depth)
	case "Fn::Equals":
		a, err := r.value(arg, depth)
		if err != nil {
			return nil, err
		}
		parts, ok := a.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Equals %v: want two values", arg)
		}
		return scalarString(parts[0]) == scalarString(parts[1]), nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		a, err := r.value(arg, depth)
		if err != nil {
			return nil, err
		}
		parts, ok := a.([]any)
		if !ok || len(parts) == 0 {
			return nil, fmt.Errorf("%s %v: want a list of conditions", fn, arg)
		}
		bools := make([]bool, len(parts))
		for i, p := range parts {
			b, ok := p.(bool)
			if !ok {
				return nil, fmt.Errorf("%s: %v is not a condition", fn, p)
			}
			bools[i] = b
		}
		switch fn {
		case "Fn::Not":
			return !bools[0], nil
		case "Fn::And":
			for _, b := range bools {
				if !b {
					return false, nil
				}
			}
			return true, nil
		default:
			for _, b := range bools {
				if b {
					return true, nil
				}
			}
			return false, nil
		}
	}
	return nil, fmt.Errorf("%s is not supported locally", fn)
}

func (r *Resolver) condition(name string, depth int) (bool, error) {
	c, ok := r.t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	v, err := r.value(c, depth+1)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is not a boolean: %v", name, v)
	}
	return b, nil
}

// ref is Ref: a parameter's value, a pseudo parameter, or a resource's
// local identity (a table's or secret's name, a function's logical id).
func (r *Resolver) ref(name string) (any, error) {
	if v, ok := r.params[name]; ok {
		return v, nil
	}
	if _, ok := r.t.Parameters[name]; ok {
		return nil, fmt.Errorf("parameter %s has no Default and no override", name)
	}
	switch name {
	case "AWS::Region":
		return Region, nil
	case "AWS::AccountId":
		return AccountID, nil
	case "AWS::StackName":
		return StackName, nil
	case "AWS::StackId":
		return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/local", Region, AccountID, StackName), nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::NoValue":
		return noValue, nil
	case "AWS::NotificationARNs":
		return []any{}, nil
	}
	res, ok := r.t.Resources[name]
	if !ok {
		return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
	}
	switch res.Type {
	case TypeTable:
		return r.named(name, "TableName")
	case TypeSecret:
		// CloudFormation's Ref of a secret is its ARN; the SDK accepts the
		// name wherever it accepts the ARN, and the name is what a local
		// reader recognises.
		return r.named(name, "Name")
	case TypeEventBus:
		return r.named(name, "Name")
	}
	return name, nil
}

// named resolves a resource's name property, or falls back to its logical
// id where CloudFormation would generate a name.
func (r *Resolver) named(id, prop string) (string, error) {
	v, ok := r.t.Resources[id].Properties[prop]
	if !ok {
		return id, nil
	}
	s, err := r.String(v)
	if err != nil {
		return "", fmt.Errorf("%s.%s: %w", id, prop, err)
	}
	return s, nil
}

// getAtt gives fake but well-formed ARNs (IAM-style checks can match them
// against the names the functions use).
func (r *Resolver) getAtt(id, attr string) (any, error) {
	res, ok := r.t.Resources[id]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: no such resource", id, attr)
	}
	switch res.Type {
	case TypeTable:
		name, err := r.named(id, "TableName")
		if err != nil {
			return nil, err
		}
		arn := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", Region, AccountID, name)
		switch attr {
		case "Arn":
			return arn, nil
		case "StreamArn":
			return arn + "/stream/local", nil
		}
	case TypeSecret:
		name, err := r.named(id, "Name")
		if err != nil {
			return nil, err
		}
		if attr == "Id" || attr == "Arn" {
			return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", Region, AccountID, name), nil
		}
	case TypeFunction:
		if attr == "Arn" {
			return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", Region, AccountID, id), nil
		}
	case TypeEventBus:
		name, err := r.named(id, "Name")
		if err != nil {
			return nil, err
		}
		if attr == "Arn" {
			return EventBusARN(name), nil
		}
	}
	if attr == "Arn" {
		return fmt.Sprintf("arn:aws:local:%s:%s:%s", Region, AccountID, id), nil
	}
	return id + "." + attr, nil
}

// sub is Fn::Sub in both forms: "text ${Var}" and [text, {Var: value}].
func (r *Resolver) sub(arg any, depth int) (any, error) {
	text, vars := "", map[string]any{}
	switch x := arg.(type) {
	case string:
		text = x
	case []any:
		if len(x) != 2 {
			return nil, fmt.Errorf("Fn::Sub %v: want [string, variables]", arg)
		}
		s, ok := x[0].(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub %v: want a string", x[0])
		}
		text, vars = s, mapOf(x[1])
	default:
		return nil, fmt.Errorf("Fn::Sub %v: want a string", arg)
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		b.WriteString(text[:i])
		end := strings.IndexByte(text[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("Fn::Sub %q: unclosed ${", text)
		}
		name := text[i+2 : i+end]
		text = text[i+end+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}") // ${!Literal} stays literal
			continue
		}
		var v any
		var err error
		if val, ok := vars[name]; ok {
			v, err = r.value(val, depth)
		} else if res, attr, ok := strings.Cut(name, "."); ok {
			v, err = r.getAtt(res, attr)
		} else {
			v, err = r.ref(name)
		}
		if err != nil {
			return nil, fmt.Errorf("Fn::Sub ${%s}: %w", name, err)
		}
		b.WriteString(scalarString(v))
	}
}

// Environment is a function's Environment.Variables, Globals first, the
// function's own on top, resolved.
func (r *Resolver) Environment(id string) (map[string]string, error) {
	if r.t.Resources[id].Type != TypeFunction {
		return nil, fmt.Errorf("%s is not a function in the template", id)
	}
	out := map[string]string{}
	layers := []map[string]any{
		mapOf(mapOf(r.t.globals["Environment"])["Variables"]),
		mapOf(mapOf(r.t.Resources[id].Properties["Environment"])["Variables"]),
	}
	for _, vars := range layers {
		for k, v := range vars {
			s, err := r.String(v)
			if err != nil {
				return nil, fmt.Errorf("%s environment %s: %w", id, k, err)
			}
			out[k] = s
		}
	}
	return out, nil
}

// Timeout is a function's Timeout (or Globals'), or SAM's default of 3 s.
func (r *Resolver) Timeout(id string) (time.Duration, error) {
	n, err := r.intProperty(id, "Timeout", 3)
	return time.Duration(n) * time.Second, err
}

// MemoryMB is a function's MemorySize (or Globals'), or SAM's default 128.
func (r *Resolver) MemoryMB(id string) (int, error) {
	return r.intProperty(id, "MemorySize", 128)
}

// ReservedConcurrency is ReservedConcurrentExecutions, 0 when unset.
func (r *Resolver) ReservedConcurrency(id string) (int, error) {
	return r.intProperty(id, "ReservedConcurrentExecutions", 0)
}

func (r *Resolver) intProperty(id, name string, def int) (int, error) {
	v, ok := r.t.FunctionProperty(id, name)
	if !ok {
		return def, nil
	}
	s, err := r.String(v)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", id, name, err)
	}
	if s == "" {
		return def, nil // AWS::NoValue (an !If's other branch): as if unset
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %q is not a whole number", id, name, s)
	}
	return n, nil
}

// BuildMethod is the function's Metadata.BuildMethod.
func (t *Template) BuildMethod(id string) string {
	return scalarString(t.Resources[id].Metadata["BuildMethod"])
}

// CodeURI is the function's CodeUri (or Globals'), relative to the template.
func (t *Template) CodeURI(id string) string {
	v, _ := t.FunctionProperty(id, "CodeUri")
	s, _ := v.(string)
	if s == "" {
		s = "."
	}
	return s
}

// Table is a table as the local stack creates it.
type Table struct {
	LogicalID string
	Name      string
	Create    *dynamodb.CreateTableInput
	TTL       *dynamodb.UpdateTimeToLiveInput        // nil without TimeToLiveSpecification
	PITR      *dynamodb.UpdateContinuousBackupsInput // nil unless PointInTimeRecoverySpecification enables it
	Stream    *dynamodb.UpdateTableInput             // nil without StreamSpecification
}

// Table builds the CreateTable (and UpdateTimeToLive) request for a table
// resource from its properties, whose names are the DynamoDB API's own.
func (r *Resolver) Table(id string) (*Table, error) {
	res := r.t.Resources[id]
	if res.Type != TypeTable {
		return nil, fmt.Errorf("%s is not an %s", id, TypeTable)
	}
	pv, err := r.Value(res.Properties)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	props := mapOf(pv)
	name, err := r.named(id, "TableName")
	if err != nil {
		return nil, err
	}
	// Only the schema: CloudFormation-only settings (SSE, tags) mean
	// nothing to a local table, and some differ in shape from the API. TTL
	// and point-in-time recovery are applied after creation, as the API
	// does, so that tools can check the local stack as a deployed one.
	schema := map[string]any{"TableName": name}
	for _, k := range []string{"BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"} {
		if v, ok := props[k]; ok {
			schema[k] = v
		}
	}
	b, err := json.Marshal(schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	in := &dynamodb.CreateTableInput{}
	if err := json.Unmarshal(b, in); err != nil {
		return nil, fmt.Errorf("%s: schema: %w", id, err)
	}
	if in.BillingMode == "" {
		in.BillingMode = types.BillingModeProvisioned // CloudFormation's default
	}
	if len(in.KeySchema) == 0 {
		return nil, fmt.Errorf("%s: no KeySchema", id)
	}
	tbl := &Table{LogicalID: id, Name: name, Create: in}
	if ttl := mapOf(props["TimeToLiveSpecification"]); ttl != nil {
		enabled, _ := ttl["Enabled"].(bool)
		attr := scalarString(ttl["AttributeName"])
		if enabled && attr != "" {
			tbl.TTL = &dynamodb.UpdateTimeToLiveInput{
				TableName:               aws.String(name),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(true)},
			}
		}
	}
	if view := scalarString(mapOf(props["StreamSpecification"])["StreamViewType"]); view != "" {
		tbl.Stream = &dynamodb.UpdateTableInput{
			TableName:           aws.String(name),
			StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(view)},
		}
	}
	if pitr := mapOf(props["PointInTimeRecoverySpecification"]); pitr != nil {
		if enabled, _ := pitr["PointInTimeRecoveryEnabled"].(bool); enabled {
			tbl.PITR = &dynamodb.UpdateContinuousBackupsInput{
				TableName:                        aws.String(name),
				PointInTimeRecoverySpecification: &types.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)},
			}
		}
	}
	return tbl, nil
}

// Secret is a secret as the local stack creates it.
type Secret struct {
	LogicalID    string
	Name         string
	SecretString string // from the template; may be empty
}

// Secret resolves a secret resource.
func (r *Resolver) Secret(id string) (*Secret, error) {
	res := r.t.Resources[id]
	if res.Type != TypeSecret {
		return nil, fmt.Errorf("%s is not an %s", id, TypeSecret)
	}
	name, err := r.named(id, "Name")
	if err != nil {
		return nil, err
	}
	s := &Secret{LogicalID: id, Name: name}
	if v, ok := res.Properties["SecretString"]; ok {
		if s.SecretString, err = r.String(v); err != nil {
			return nil, fmt.Errorf("%s.SecretString: %w", id, err)
		}
	}
	return s, nil
}

// Statement is one IAM policy statement of a function, resolved.
type Statement struct {
	Effect    string
	Actions   []string
	Resources []string
}

// Statements lists the inline policy statements of a function's Policies
// (named SAM policy templates and managed policy names are not expanded).
func (r *Resolver) Statements(id string) ([]Statement, error) {
	pv, err := r.Value(r.t.Resources[id].Properties["Policies"])
	if err != nil {
		return nil, fmt.Errorf("%s Policies: %w", id, err)
	}
	policies, _ := pv.([]any)
	if m, ok := pv.(map[string]any); ok {
		policies = []any{m}
	}
	var out []Statement
	for _, p := range policies {
		stmts := mapOf(p)["Statement"]
		list, ok := stmts.([]any)
		if !ok && stmts != nil {
			list = []any{stmts}
		}
		for _, s := range list {
			m := mapOf(s)
			out = append(out, Statement{
				Effect:    scalarString(m["Effect"]),
				Actions:   stringList(m["Action"]),
				Resources: stringList(m["Resource"]),
			})
		}
	}
	return out, nil
}

func stringList(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = scalarString(e)
		}
		return out
	default:
		return []string{scalarString(x)}
	}
}
