package stack

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Local stand-ins for the values CloudFormation would supply.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
	StackName = "local"
)

// Template is a SAM template as the local stack needs it: the template as
// written (Parameters, Conditions, Resources; intrinsic functions in
// CloudFormation's JSON form, {"Ref": …}, {"Fn::Sub": …}) and the AWS SAM
// translator's CloudFormation for it, whose functions have Globals merged
// in and whose roles hold the functions' Policies, policy templates
// expanded. Values stay unresolved until a Resolver gives them local meaning.
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

	translated map[string]Resource // the SAM translator's CloudFormation resources
	codeURI    map[string]string   // each function's CodeUri (or Globals')
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

// nameProperty is the property holding a resource's name, for the types
// whose Ref is their name locally.
var nameProperty = map[string]string{TypeTable: "TableName", TypeSecret: "Name", TypeEventBus: "Name"}

// ErrNoSAMTranslator is LoadTemplate's error when python3 or its
// aws-sam-translator package is missing.
var ErrNoSAMTranslator = errors.New("the local stack reads the template through the AWS SAM translator: install python3 and pip install aws-sam-translator")

//go:embed translate.py
var translateScript string

// translations caches the translator's output by template text: the
// suites load the same template for each stack they start.
var translations sync.Map // [sha256.Size]byte → []byte

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

// ParseTemplate parses template text through the AWS SAM translator
// (translate.py, run by python3).
func ParseTemplate(b []byte) (*Template, error) {
	key := sha256.Sum256(b)
	out, ok := translations.Load(key)
	if !ok {
		cmd := exec.Command("python3", "-c", translateScript)
		cmd.Stdin = bytes.NewReader(b)
		res, err := cmd.Output()
		var exit *exec.ExitError
		switch {
		case errors.Is(err, exec.ErrNotFound), errors.As(err, &exit) && exit.ExitCode() == 3:
			return nil, ErrNoSAMTranslator
		case exit != nil:
			lines := strings.Split(strings.TrimSpace(string(exit.Stderr)), "\n")
			return nil, fmt.Errorf("SAM translator: %s", lines[len(lines)-1])
		case err != nil:
			return nil, fmt.Errorf("SAM translator: %w", err)
		}
		out, _ = translations.LoadOrStore(key, res)
	}
	var doc struct {
		Source struct {
			Parameters map[string]map[string]any
			Conditions map[string]any
			Resources  map[string]Resource
		}
		Order      []string
		CodeURI    map[string]string `json:"CodeUri"`
		Translated struct{ Resources map[string]Resource }
	}
	if err := json.Unmarshal(out.([]byte), &doc); err != nil {
		return nil, fmt.Errorf("SAM translator's output: %w", err)
	}
	if len(doc.Source.Resources) == 0 {
		return nil, errors.New("template has no Resources")
	}
	t := &Template{Parameters: map[string]Parameter{}, Conditions: doc.Source.Conditions, Resources: doc.Source.Resources,
		translated: doc.Translated.Resources, codeURI: doc.CodeURI}
	for name, p := range doc.Source.Parameters {
		def, has := p["Default"]
		t.Parameters[name] = Parameter{Type: scalarString(p["Type"]), Default: scalarString(def), HasDef: has}
	}
	for _, id := range doc.Order {
		switch t.Resources[id].Type {
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

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// scalarString renders a scalar as CloudFormation passes it on: as text.
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
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
		for _, name := range sortedKeys(evs) {
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
// defaults or overrides, resource names from their properties, fake but
// well-formed ARNs. goformation's intrinsics processor walks the values
// and applies the functions; the handlers here answer what only the local
// stack knows (Ref and Fn::GetAtt of resources, Fn::Sub over both) and
// report what it cannot answer.
type Resolver struct {
	t          *Template
	params     map[string]string
	conditions map[string]any    // each condition, evaluated
	names      map[string]string // tables', secrets' and buses' local names
}

// Resolver returns a resolver with the given parameter overrides.
func (t *Template) Resolver(overrides map[string]string) (*Resolver, error) {
	r := &Resolver{t: t, params: map[string]string{}, names: map[string]string{}}
	for name, p := range t.Parameters {
		if p.HasDef {
			r.params[name] = p.Default
		}
	}
	for name, v := range overrides {
		if _, ok := t.Parameters[name]; !ok {
			return nil, fmt.Errorf("parameter override %s: no such parameter in the template", name)
		}
		r.params[name] = v
	}
	conds, err := r.process(map[string]any{"Conditions": t.Conditions}, true)
	if err != nil {
		return nil, fmt.Errorf("conditions: %w", err)
	}
	r.conditions = mapOf(conds["Conditions"])
	for name, v := range r.conditions {
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("condition %s is not a boolean: %v", name, v)
		}
	}
	// Names first: every Ref and Fn::GetAtt of these resources needs them
	// (and a name made of another resource's name is an error, not a cycle).
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		if prop := nameProperty[res.Type]; prop != "" {
			name := id // CloudFormation would generate one
			if v, ok := res.Properties[prop]; ok {
				if name, err = r.String(v); err != nil {
					return nil, fmt.Errorf("%s.%s: %w", id, prop, err)
				}
			}
			r.names[id] = name
		}
	}
	return r, nil
}

// Param returns a parameter's value.
func (r *Resolver) Param(name string) (string, bool) {
	v, ok := r.params[name]
	return v, ok
}

// Value resolves every intrinsic function in v. AWS::NoValue resolves to nil.
func (r *Resolver) Value(v any) (any, error) {
	doc, err := r.process(map[string]any{"Conditions": r.conditions, "Value": v}, false)
	if err != nil {
		return nil, err
	}
	return doc["Value"], nil
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
	return scalarString(rv), nil
}

// process runs goformation's processor over doc with the local handlers.
func (r *Resolver) process(doc map[string]any, evaluateConditions bool) (map[string]any, error) {
	var errs []error
	handler := func(f func(arg any) (any, error)) intrinsics.IntrinsicHandler {
		return func(_ string, arg, _ any) any {
			v, err := f(arg)
			if err != nil {
				errs = append(errs, err)
			}
			return v
		}
	}
	unsupported := func(name string, _, _ any) any {
		errs = append(errs, fmt.Errorf("%s is not supported locally", name))
		return nil
	}
	handlers := map[string]intrinsics.IntrinsicHandler{
		"Ref": handler(func(arg any) (any, error) { return r.ref(scalarString(arg)) }),
		"Fn::GetAtt": handler(func(arg any) (any, error) {
			parts, _ := arg.([]any)
			if s, ok := arg.(string); ok {
				res, attr, _ := strings.Cut(s, ".")
				parts = []any{res, attr}
			}
			if len(parts) != 2 {
				return nil, fmt.Errorf("Fn::GetAtt %v: want [resource, attribute]", arg)
			}
			return r.getAtt(scalarString(parts[0]), scalarString(parts[1]))
		}),
		"Fn::Sub": handler(r.sub),
		"Fn::If": handler(func(arg any) (any, error) {
			parts, _ := arg.([]any)
			if len(parts) != 3 {
				return nil, fmt.Errorf("Fn::If %v: want [condition, then, else]", arg)
			}
			cond, ok := r.conditions[scalarString(parts[0])].(bool)
			if !ok {
				return nil, fmt.Errorf("Fn::If: no condition %v", parts[0])
			}
			if cond {
				return parts[1], nil
			}
			return parts[2], nil
		}),
		"Fn::ImportValue": unsupported, "Fn::FindInMap": unsupported, "Fn::GetAZs": unsupported, "Fn::Cidr": unsupported, "Fn::Transform": unsupported,
	}
	in, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	out, err := intrinsics.ProcessJSON(in, &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: handlers, EvaluateConditions: evaluateConditions})
	if err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var resolved map[string]any
	if err := json.Unmarshal(out, &resolved); err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	return resolved, nil
}

// ref is Ref: a parameter's value, a pseudo parameter, or a resource's
// local identity (a table's, secret's or bus's name, anything else's
// logical id). CloudFormation's Ref of a secret is its ARN; the SDK takes
// the name wherever it takes the ARN, and the name is what a reader knows.
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
		return nil, nil
	case "AWS::NotificationARNs":
		return []any{}, nil
	}
	res, ok := r.t.Resources[name]
	if !ok {
		return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
	}
	if nameProperty[res.Type] == "" {
		return name, nil
	}
	n, ok := r.names[name]
	if !ok {
		return nil, fmt.Errorf("Ref %s: a resource's name refers to another resource's name", name)
	}
	return n, nil
}

// getAtt gives fake but well-formed ARNs (IAM-style checks can match them
// against the names the functions use).
func (r *Resolver) getAtt(id, attr string) (any, error) {
	res, ok := r.t.Resources[id]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: no such resource", id, attr)
	}
	if _, err := r.ref(id); err != nil {
		return nil, err
	}
	name := r.names[id]
	switch {
	case res.Type == TypeTable && attr == "Arn":
		return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", Region, AccountID, name), nil
	case res.Type == TypeTable && attr == "StreamArn":
		return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s/stream/local", Region, AccountID, name), nil
	case res.Type == TypeSecret && (attr == "Arn" || attr == "Id"):
		return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", Region, AccountID, name), nil
	case res.Type == TypeFunction && attr == "Arn":
		return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", Region, AccountID, id), nil
	case res.Type == TypeEventBus && attr == "Arn":
		return EventBusARN(name), nil
	case attr == "Arn":
		return fmt.Sprintf("arn:aws:local:%s:%s:%s", Region, AccountID, id), nil
	}
	return id + "." + attr, nil
}

var subVariable = regexp.MustCompile(`\$\{[^}]*\}`)

// sub is Fn::Sub in both forms, "text ${Var}" and [text, {Var: value}],
// its variables' values already resolved.
func (r *Resolver) sub(arg any) (any, error) {
	text, ok := arg.(string)
	var vars map[string]any
	if list, isList := arg.([]any); isList && len(list) == 2 {
		text, ok = list[0].(string)
		vars = mapOf(list[1])
	}
	if !ok {
		return nil, fmt.Errorf("Fn::Sub %v: want a string or [string, variables]", arg)
	}
	if strings.Contains(subVariable.ReplaceAllString(text, ""), "${") {
		return nil, fmt.Errorf("Fn::Sub %q: unclosed ${", text)
	}
	var err error
	out := subVariable.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if literal, ok := strings.CutPrefix(name, "!"); ok {
			return "${" + literal + "}"
		}
		v, ok := vars[name]
		if !ok {
			var e error
			if res, attr, dot := strings.Cut(name, "."); dot {
				v, e = r.getAtt(res, attr)
			} else {
				v, e = r.ref(name)
			}
			if e != nil && err == nil {
				err = fmt.Errorf("Fn::Sub ${%s}: %w", name, e)
			}
		}
		return scalarString(v)
	})
	return out, err
}

// function is a function's properties as the SAM translator writes them
// for Lambda: Globals merged in.
func (t *Template) function(id string) map[string]any { return t.translated[id].Properties }

// Environment is a function's Environment.Variables, Globals' and its
// own merged as SAM merges them, resolved.
func (r *Resolver) Environment(id string) (map[string]string, error) {
	if r.t.Resources[id].Type != TypeFunction {
		return nil, fmt.Errorf("%s is not a function in the template", id)
	}
	v, err := r.Value(mapOf(r.t.function(id)["Environment"])["Variables"])
	if err != nil {
		return nil, fmt.Errorf("%s environment: %w", id, err)
	}
	out := map[string]string{}
	for k, v := range mapOf(v) {
		if v != nil { // AWS::NoValue
			out[k] = scalarString(v)
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
	s, err := r.String(r.t.function(id)[name])
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", id, name, err)
	}
	if s == "" {
		return def, nil // unset, or AWS::NoValue (an !If's other branch)
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
func (t *Template) CodeURI(id string) string { return t.codeURI[id] }

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
	props, name := mapOf(pv), r.names[id]
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
	ttl := mapOf(props["TimeToLiveSpecification"])
	if attr := scalarString(ttl["AttributeName"]); ttl["Enabled"] == true && attr != "" {
		tbl.TTL = &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(true)},
		}
	}
	if view := scalarString(mapOf(props["StreamSpecification"])["StreamViewType"]); view != "" {
		tbl.Stream = &dynamodb.UpdateTableInput{
			TableName:           aws.String(name),
			StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(view)},
		}
	}
	if mapOf(props["PointInTimeRecoverySpecification"])["PointInTimeRecoveryEnabled"] == true {
		tbl.PITR = &dynamodb.UpdateContinuousBackupsInput{
			TableName:                        aws.String(name),
			PointInTimeRecoverySpecification: &types.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)},
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
	s, err := r.String(res.Properties["SecretString"])
	if err != nil {
		return nil, fmt.Errorf("%s.SecretString: %w", id, err)
	}
	return &Secret{LogicalID: id, Name: r.names[id], SecretString: s}, nil
}

// Statement is one IAM policy statement of a function, resolved.
type Statement struct {
	Effect    string
	Actions   []string
	Resources []string
}

// rolePolicy matches the names SAM gives the policies it makes of a
// function's Policies (inline statements and policy templates alike); the
// role's other policies are SAM's for the function's event sources (an
// on-failure queue's sqs:SendMessage), used by Lambda, not by the code.
var rolePolicy = regexp.MustCompile(`^(.+)Policy[0-9]+$`)

// Statements lists the statements of a function's Policies as the SAM
// translator writes them into its role, policy templates expanded
// (managed policies are names only, and not listed).
func (r *Resolver) Statements(id string) ([]Statement, error) {
	role, _ := mapOf(r.t.function(id)["Role"])["Fn::GetAtt"].([]any)
	if len(role) != 2 {
		return nil, nil // a role of the template's own, or none
	}
	roleID := scalarString(role[0])
	pv, err := r.Value(r.t.translated[roleID].Properties["Policies"])
	if err != nil {
		return nil, fmt.Errorf("%s Policies: %w", id, err)
	}
	var out []Statement
	for _, p := range toList(pv) {
		if m := rolePolicy.FindStringSubmatch(scalarString(mapOf(p)["PolicyName"])); m == nil || m[1] != roleID {
			continue
		}
		for _, s := range toList(mapOf(mapOf(p)["PolicyDocument"])["Statement"]) {
			m := mapOf(s)
			out = append(out, Statement{Effect: scalarString(m["Effect"]), Actions: stringList(m["Action"]), Resources: stringList(m["Resource"])})
		}
	}
	return out, nil
}

// toList is v as a list: itself, or a list of one.
func toList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func stringList(v any) []string {
	var out []string
	for _, e := range toList(v) {
		if e != nil {
			out = append(out, scalarString(e))
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
