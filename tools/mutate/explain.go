package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// An explanation is a person's word on one mutant, kept in the
// explanations file (docs/mutation-survivors.md) under a heading that is
// the mutant's key:
//
//	## shared/orders/order.go | (*Order).Refundable | CONDITIONALS_BOUNDARY | o.Refunded < o.Amount
//	equivalent: the two differ only when …
//
// The body's first word says what kind it is:
//
//   - "equivalent:" the mutant cannot change any behaviour; it is expected
//     to live, and the text says why.
//   - "killed:" a test now kills it; the text names the test. If such a
//     mutant lives again, the report flags it.
//
// Anything before the first heading is the file's preamble and is ignored.
type explanation struct {
	Key  string
	Kind string // "equivalent" or "killed"
	Text string
	Line int // of the heading, for messages
}

var kinds = []string{"equivalent", "killed"}

var mutators = []string{
	"ARITHMETIC_BASE", "CONDITIONALS_BOUNDARY", "CONDITIONALS_NEGATION", "INCREMENT_DECREMENT",
	"INVERT_ASSIGNMENTS", "INVERT_BITWISE", "INVERT_BWASSIGN", "INVERT_LOGICAL", "INVERT_LOOPCTRL",
	"INVERT_NEGATIVES", "REMOVE_SELF_ASSIGNMENTS",
}

// parseExplanations reads the explanations file.
func parseExplanations(r io.Reader) (map[string]explanation, error) {
	out := map[string]explanation{}
	var cur *explanation
	var body []string
	flush := func() error {
		if cur == nil {
			return nil
		}
		text := strings.Join(strings.Fields(strings.Join(body, " ")), " ")
		kind, rest, ok := strings.Cut(text, ":")
		kind = strings.ToLower(strings.TrimSpace(kind))
		if !ok || !slices.Contains(kinds, kind) {
			return fmt.Errorf("line %d: the explanation must start with one of %s followed by a colon", cur.Line, strings.Join(kinds, ", "))
		}
		cur.Kind, cur.Text = kind, strings.TrimSpace(rest)
		if cur.Text == "" {
			return fmt.Errorf("line %d: empty explanation", cur.Line)
		}
		if prev, dup := out[cur.Key]; dup {
			return fmt.Errorf("line %d: %q is already explained at line %d", cur.Line, cur.Key, prev.Line)
		}
		out[cur.Key] = *cur
		cur, body = nil, nil
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if h, ok := strings.CutPrefix(line, "## "); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			k, err := normalizeKey(h)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			cur = &explanation{Key: k, Line: n}
			continue
		}
		if cur != nil {
			body = append(body, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// normalizeKey checks a heading "file | func | MUTATOR | expression" and
// returns it with its fields trimmed.
func normalizeKey(h string) (string, error) {
	parts := strings.SplitN(h, "|", 4)
	if len(parts) != 4 {
		return "", fmt.Errorf("heading %q: want \"file | function | MUTATOR | expression\"", h)
	}
	for i := range parts {
		parts[i] = strings.Join(strings.Fields(parts[i]), " ")
		if parts[i] == "" {
			return "", fmt.Errorf("heading %q: empty field", h)
		}
	}
	if !slices.Contains(mutators, parts[2]) {
		return "", fmt.Errorf("heading %q: unknown mutator %q", h, parts[2])
	}
	return strings.Join(parts, keySep), nil
}
