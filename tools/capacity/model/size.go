package model

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Item is a DynamoDB item in the wire format the service speaks: each
// attribute's value is its typed JSON ({"S": "…"}, {"N": "12"}, {"M": {…}}).
// Keeping the wire format lets the recorder store what DynamoDB Local answered
// without a round trip through the SDK's types.
type Item map[string]json.RawMessage

// Size is the item's size as DynamoDB counts it for capacity units: the
// UTF-8 bytes of every attribute name plus its value's size (sizeOf).
func (it Item) Size() (int, error) {
	n := 0
	for name, v := range it {
		s, err := valueSize(v)
		if err != nil {
			return 0, fmt.Errorf("attribute %q: %w", name, err)
		}
		n += len(name) + s
	}
	return n, nil
}

// Project keeps the attributes an index stores for the item: its own keys,
// the table's keys and the projection's attributes.
func (it Item) Project(keys []string, ix Index) Item {
	if ix.Projection == ProjectAll {
		return it
	}
	keep := map[string]bool{}
	for _, k := range keys {
		keep[k] = true
	}
	keep[ix.Hash] = true
	if ix.Range != "" {
		keep[ix.Range] = true
	}
	if ix.Projection == ProjectInclude {
		for _, a := range ix.NonKey {
			keep[a] = true
		}
	}
	out := Item{}
	for k, v := range it {
		if keep[k] {
			out[k] = v
		}
	}
	return out
}

// Has reports whether every named attribute is present.
func (it Item) Has(names ...string) bool {
	for _, n := range names {
		if n == "" {
			continue
		}
		if _, ok := it[n]; !ok {
			return false
		}
	}
	return len(it) > 0
}

// Equal compares two items attribute by attribute, by canonical value
// (map key order in the JSON never makes two equal values differ).
func (it Item) Equal(other Item) bool {
	if len(it) != len(other) {
		return false
	}
	for k, v := range it {
		w, ok := other[k]
		if !ok || canonical(v) != canonical(w) {
			return false
		}
	}
	return true
}

// Text is a key attribute's value as a reader would write it: the string
// or number itself, base64 for binary.
func Text(v json.RawMessage) string {
	var tv map[string]json.RawMessage
	if json.Unmarshal(v, &tv) != nil {
		return string(v)
	}
	for _, t := range []string{"S", "N", "B"} {
		if raw, ok := tv[t]; ok {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return s
			}
		}
	}
	return canonical(v)
}

// canonical re-encodes a JSON value with sorted map keys (encoding/json
// sorts them), so equal values compare equal as strings.
func canonical(v json.RawMessage) string {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return string(v)
	}
	b, _ := json.Marshal(x)
	return string(b)
}

// valueSize is one typed value's size by AWS's rules (DynamoDB item sizes
// and formats, docs.aws.amazon.com/amazondynamodb/latest/developerguide/
// CapacityUnitCalculations.html): strings their UTF-8 bytes; numbers one
// byte per two significant digits plus one; binary its raw bytes; null and
// Boolean one byte; lists and maps 3 bytes plus one per element plus the
// elements (a map's element names count as attribute names); sets the sum
// of their members.
func valueSize(v json.RawMessage) (int, error) {
	var tv map[string]json.RawMessage
	if err := json.Unmarshal(v, &tv); err != nil || len(tv) != 1 {
		return 0, fmt.Errorf("not a typed DynamoDB value: %.80s", v)
	}
	for t, raw := range tv {
		switch t {
		case "S":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return 0, err
			}
			return len(s), nil
		case "N":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return 0, err
			}
			return numberSize(s), nil
		case "B":
			return binarySize(raw)
		case "BOOL", "NULL":
			return 1, nil
		case "SS", "NS", "BS":
			var members []json.RawMessage
			if err := json.Unmarshal(raw, &members); err != nil {
				return 0, err
			}
			n := 0
			for _, m := range members {
				s, err := valueSize(json.RawMessage(fmt.Sprintf(`{%q:%s}`, t[:1], m)))
				if err != nil {
					return 0, err
				}
				n += s
			}
			return n, nil
		case "L":
			var elems []json.RawMessage
			if err := json.Unmarshal(raw, &elems); err != nil {
				return 0, err
			}
			n := 3
			for _, e := range elems {
				s, err := valueSize(e)
				if err != nil {
					return 0, err
				}
				n += 1 + s
			}
			return n, nil
		case "M":
			var m Item
			if err := json.Unmarshal(raw, &m); err != nil {
				return 0, err
			}
			n := 3 + len(m)
			s, err := m.Size()
			if err != nil {
				return 0, err
			}
			return n + s, nil
		default:
			return 0, fmt.Errorf("unknown DynamoDB type %q", t)
		}
	}
	return 0, nil // unreachable: one type, handled above
}

// numberSize: leading and trailing zeroes are trimmed, the sign and the
// decimal point are not digits.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	mant, _, _ := strings.Cut(strings.ToLower(s), "e")
	digits := strings.ReplaceAll(mant, ".", "")
	digits = strings.Trim(digits, "0")
	if digits == "" {
		digits = "0"
	}
	return (len(digits)+1)/2 + 1
}

func binarySize(raw json.RawMessage) (int, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return 0, fmt.Errorf("binary value: %w", err)
	}
	return len(b), nil
}

// keyText names an item by its key attributes, in the order given.
func keyText(it Item, names ...string) string {
	var parts []string
	for _, n := range names {
		if n == "" {
			continue
		}
		parts = append(parts, Text(it[n]))
	}
	return strings.Join(parts, "|")
}
