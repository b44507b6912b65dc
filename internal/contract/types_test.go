package contract_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/internal/contract"
	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/orderevents"
)

// The Go types that make the answers and the events follow the schemas:
// the same JSON field names, the same required fields (those without
// omitempty), the same kinds, recursively. The exchanges checked in
// shared/api and e2e prove the answers seen; this proves the fields no
// test happened to fill (a new omitempty field, say) are documented too.

// schemaSet resolves "$ref"s of one document.
type schemaSet struct {
	prefix string
	defs   map[string]any
}

func (s schemaSet) get(name string) map[string]any {
	m, _ := s.defs[name].(map[string]any)
	return m
}

// resolve follows $ref and drops the null alternative of a nullable
// schema: what is left is the schema the Go value is held to.
func (s schemaSet) resolve(m map[string]any) (out map[string]any, nullable bool) {
	for range 10 {
		if ref, ok := m["$ref"].(string); ok {
			m = s.get(strings.TrimPrefix(ref, s.prefix))
			continue
		}
		if alts, ok := m["oneOf"].([]any); ok && len(alts) == 2 {
			var rest []map[string]any
			for _, a := range alts {
				am, _ := a.(map[string]any)
				if am["type"] == "null" {
					nullable = true
					continue
				}
				rest = append(rest, am)
			}
			if nullable && len(rest) == 1 {
				m = rest[0]
				continue
			}
		}
		break
	}
	if ts, ok := m["type"].([]any); ok && slices.Contains(ts, any("null")) {
		nullable = true
	}
	return m, nullable
}

func (s schemaSet) properties(m map[string]any) (props map[string]any, required []string) {
	props = map[string]any{}
	for _, part := range append([]any{m}, anySlice(m["allOf"])...) {
		pm, _ := s.resolve(part.(map[string]any))
		if pm == nil {
			continue
		}
		if p, ok := pm["properties"].(map[string]any); ok {
			for k, v := range p {
				props[k] = v
			}
		}
		for _, r := range anySlice(pm["required"]) {
			required = append(required, r.(string))
		}
		if len(anySlice(pm["allOf"])) > 0 && part.(map[string]any)["allOf"] == nil {
			p2, r2 := s.properties(pm)
			for k, v := range p2 {
				props[k] = v
			}
			required = append(required, r2...)
		}
	}
	sort.Strings(required)
	return props, slices.Compact(required)
}

func anySlice(v any) []any { s, _ := v.([]any); return s }

func hasType(m map[string]any, want string) bool {
	switch t := m["type"].(type) {
	case string:
		return t == want
	case []any:
		return slices.Contains(t, any(want))
	}
	if c, ok := m["const"]; ok {
		switch c.(type) {
		case string:
			return want == "string"
		}
	}
	return false
}

var timeType = reflect.TypeOf(time.Time{})

// omitted marks the omitempty fields seen: their nil is no null.
var omitted = map[string]bool{}

// follow holds Go type typ to schema m at path. skip names fields to leave
// out ("detail.refund"), or, with a "!", omitempty fields the schema may
// require because that schema's events always carry them.
func (s schemaSet) follow(t *testing.T, path string, typ reflect.Type, m map[string]any, skip map[string]bool) {
	t.Helper()
	m, nullable := s.resolve(m)
	if m == nil {
		t.Errorf("%s: no schema", path)
		return
	}
	if typ.Kind() == reflect.Pointer {
		if !nullable && !omitted[path] {
			t.Errorf("%s: Go may write null (%s), the schema does not allow it", path, typ)
		}
		typ = typ.Elem()
	}
	switch {
	case typ == timeType:
		if !hasType(m, "string") || m["format"] != "date-time" {
			t.Errorf("%s: a time, the schema says %v", path, m)
		}
	case typ.Kind() == reflect.Struct:
		if !hasType(m, "object") && m["allOf"] == nil {
			t.Errorf("%s: an object in Go, the schema says %v", path, m["type"])
		}
		fields := jsonFields(typ)
		props, required := s.properties(m)
		var goRequired []string
		for name, f := range fields {
			if skip[path+"."+name] {
				continue
			}
			ps, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s.%s: Go writes it, the schema does not have it", path, name)
				continue
			}
			if !f.omitempty || skip[path+"."+name+"!"] {
				goRequired = append(goRequired, name)
			}
			if f.omitempty {
				omitted[path+"."+name] = true // a nil pointer is left out, never null
			}
			if f.typ.Kind() != reflect.Interface && f.typ != reflect.TypeOf(json.RawMessage(nil)) {
				s.follow(t, path+"."+name, f.typ, ps, skip)
			}
		}
		for name := range props {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s.%s: the schema has it, Go never writes it", path, name)
			}
		}
		sort.Strings(goRequired)
		if !slices.Equal(goRequired, required) {
			t.Errorf("%s: Go always writes %v, the schema requires %v", path, goRequired, required)
		}
	case typ.Kind() == reflect.Slice:
		if !hasType(m, "array") {
			t.Errorf("%s: a list in Go, the schema says %v", path, m["type"])
			return
		}
		items, _ := m["items"].(map[string]any)
		s.follow(t, path+"[]", typ.Elem(), items, skip)
	case typ.Kind() == reflect.String:
		if !hasType(m, "string") && m["enum"] == nil {
			t.Errorf("%s: a string in Go, the schema says %v", path, m["type"])
		}
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		if !hasType(m, "integer") {
			t.Errorf("%s: an integer in Go, the schema says %v", path, m["type"])
		}
	case typ.Kind() == reflect.Bool:
		if !hasType(m, "boolean") {
			t.Errorf("%s: a boolean in Go, the schema says %v", path, m["type"])
		}
	default:
		t.Errorf("%s: no rule for Go's %s", path, typ)
	}
}

type jsonField struct {
	typ       reflect.Type
	omitempty bool
}

func jsonFields(typ reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{typ: f.Type, omitempty: strings.Contains(opts, "omitempty")}
	}
	return out
}

func openAPISchemas(t *testing.T) schemaSet {
	t.Helper()
	a, err := contract.LoadAPI()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(a.Doc.Components.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	var defs map[string]any
	if err := json.Unmarshal(b, &defs); err != nil {
		t.Fatal(err)
	}
	return schemaSet{prefix: "#/components/schemas/", defs: defs}
}

func TestAnswerTypesFollowTheDocument(t *testing.T) {
	s := openAPISchemas(t)
	for _, tc := range []struct {
		schema string
		typ    any
	}{
		{"Order", api.OrderEntity{}},
		{"RefundedOrder", api.CancelEntityBody{}},
		{"OrderList", api.OrderList{}},
		{"Deleted", api.DeletedEntity{}},
		{"Payment", api.PaymentEntity{}},
		{"WebhookAck", api.WebhookAck{}},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			m := s.get(tc.schema)
			if m == nil {
				t.Fatalf("docs/openapi.yaml has no schema %s", tc.schema)
			}
			s.follow(t, tc.schema, reflect.TypeOf(tc.typ), m, nil)
		})
	}
}

// TestEventTypesFollowTheSchemas holds each event's detail, as the events
// function writes it (orderevents.Detail with the API's order view, less
// the checkout token), to its schema in docs/events.
func TestEventTypesFollowTheSchemas(t *testing.T) {
	ev, err := contract.LoadEvents()
	if err != nil {
		t.Fatal(err)
	}
	types := []orderevents.Type{orderevents.Paid, orderevents.PaymentFailed, orderevents.Refunded, orderevents.Expired, orderevents.Deleted}
	for _, typ := range types {
		if ev.ByType[string(typ)] == nil {
			t.Errorf("docs/events has no schema for %q", typ)
		}
	}
	if len(ev.ByType) != len(types) {
		t.Errorf("docs/events describes %d detail-types, orderevents makes %d", len(ev.ByType), len(types))
	}
	for dt, es := range ev.ByType {
		t.Run(dt, func(t *testing.T) {
			defs, _ := es.Doc["definitions"].(map[string]any)
			s := schemaSet{prefix: "#/definitions/", defs: defs}
			if es.Source != orderevents.Source {
				t.Errorf("source %q, orderevents puts %q", es.Source, orderevents.Source)
			}
			props, _ := es.Doc["properties"].(map[string]any)
			detail, _ := props["detail"].(map[string]any)
			// A refund is on Order Refunded only: the other schemas leave it
			// out, and Go's omitempty leaves it out of their events.
			// ("detail.refund!": Go's omitempty field is always there in
			// this detail-type.)
			skip := map[string]bool{"detail.refund!": true}
			if dt != string(orderevents.Refunded) {
				skip = map[string]bool{"detail.refund": true}
			}
			s.follow(t, "detail", reflect.TypeOf(orderevents.Detail{}), detail, skip)
			// detail.order is an any in Go, filled with the API's order view
			// less the checkout token (api.Service.OrderView).
			detailSchema, _ := s.resolve(detail)
			dprops, _ := s.properties(detailSchema)
			order, _ := dprops["order"].(map[string]any)
			s.follow(t, "detail.order", reflect.TypeOf(api.OrderEntity{}), order, map[string]bool{"detail.order.checkoutToken": true})
		})
	}
}
