package main

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io"
	"strings"
)

// Go's coverage counts statements in blocks. Two kinds of mutable code lie
// in no block at all, so gremlins (which tries only the mutants inside a
// covered block) reports their mutants NOT COVERED however often they run:
//
//   - the expressions of a switch's case clauses (cover puts the switch
//     header in the enclosing block, up to the brace, and each clause's
//     body in a block of its own, from the colon);
//   - constant and variable declarations outside functions.
//
// In this code they carry much of the logic (tagless switches choose what
// the engine does), so make mutate runs those mutants itself, the way
// gremlins would (see runStaged), when the coverage profile shows that the
// case expression is evaluated.

// block is one coverage block with its count.
type block struct {
	StartLine, StartCol, EndLine, EndCol int
	Count                                int
}

func (b block) contains(line, col int) bool {
	if line < b.StartLine || line > b.EndLine {
		return false
	}
	if line == b.StartLine && col < b.StartCol {
		return false
	}
	if line == b.EndLine && col > b.EndCol {
		return false
	}
	return true
}

// coverProfile is a coverage profile by file (relative to the module root),
// with only the blocks some test executed. Blocks listed more than once
// (one per test binary, with -coverpkg) are covered if any count is.
type coverProfile map[string][]block

// parseProfile reads a go test -coverprofile file.
func parseProfile(r io.Reader, modulePath string) (coverProfile, error) {
	p := coverProfile{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if strings.HasPrefix(line, "mode:") {
				continue
			}
		}
		if line == "" {
			continue
		}
		// name.go:12.3,14.5 2 1
		colon := strings.LastIndexByte(line, ':')
		if colon < 0 {
			return nil, fmt.Errorf("coverage profile: bad line %q", line)
		}
		file := strings.TrimPrefix(line[:colon], modulePath+"/")
		var b block
		var stmts int
		if _, err := fmt.Sscanf(line[colon+1:], "%d.%d,%d.%d %d %d", &b.StartLine, &b.StartCol, &b.EndLine, &b.EndCol, &stmts, &b.Count); err != nil {
			return nil, fmt.Errorf("coverage profile: bad line %q: %v", line, err)
		}
		if b.Count > 0 {
			p[file] = append(p[file], b)
		}
	}
	return p, sc.Err()
}

func (p coverProfile) covered(file string, line, col int) bool {
	for _, b := range p[file] {
		if b.contains(line, col) {
			return true
		}
	}
	return false
}

// coveredIn reports whether an executed block starts inside [from, to].
func (p coverProfile) coveredIn(file string, from, to token.Position) bool {
	for _, b := range p[file] {
		after := b.StartLine > from.Line || b.StartLine == from.Line && b.StartCol >= from.Column
		before := b.StartLine < to.Line || b.StartLine == to.Line && b.StartCol <= to.Column
		if after && before {
			return true
		}
	}
	return false
}

// hiddenSite says whether the mutable token at line:col is one of the two
// kinds coverage cannot see, and if so whether the tests run it: a case
// expression is evaluated when its switch is reached and the clause, a
// later one or the default ran (all earlier cases were then false); a
// package-level declaration is always evaluated.
func hiddenSite(file string, src []byte, prof coverProfile, line, col int) (hidden, evaluated bool, err error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, 0)
	if err != nil {
		return false, false, err
	}
	tf := fset.File(f.Pos())
	if line < 1 || line > tf.LineCount() {
		return false, false, fmt.Errorf("%s:%d: no such line", file, line)
	}
	pos := tf.LineStart(line) + token.Pos(col-1)
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Pos() <= pos && pos < g.End() && (g.Tok == token.CONST || g.Tok == token.VAR) {
			return true, true, nil
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if hidden || n == nil || pos < n.Pos() || pos >= n.End() {
			return !hidden && n != nil
		}
		sw, ok := n.(*ast.SwitchStmt)
		if !ok {
			return true
		}
		for k, s := range sw.Body.List {
			cc := s.(*ast.CaseClause)
			if len(cc.List) == 0 || pos < cc.List[0].Pos() || pos >= cc.Colon {
				continue
			}
			hidden = true
			sp := fset.Position(sw.Pos())
			if !prof.covered(file, sp.Line, sp.Column) {
				return false
			}
			for _, later := range sw.Body.List[k:] {
				lc := later.(*ast.CaseClause)
				if prof.coveredIn(file, fset.Position(lc.Colon), fset.Position(lc.End())) {
					evaluated = true
				}
			}
			for _, any := range sw.Body.List {
				dc := any.(*ast.CaseClause)
				if dc.List == nil && prof.coveredIn(file, fset.Position(dc.Colon), fset.Position(dc.End())) {
					evaluated = true
				}
			}
			if k == 0 {
				evaluated = true
			}
			return false
		}
		return true
	})
	return hidden, evaluated, nil
}

// replacements are gremlins' token swaps for its default mutators.
var replacements = map[string]map[string]string{
	"ARITHMETIC_BASE":       {"+": "-", "*": "/", "/": "*", "%": "*", "-": "+"},
	"CONDITIONALS_BOUNDARY": {">=": ">", ">": ">=", "<=": "<", "<": "<="},
	"CONDITIONALS_NEGATION": {"==": "!=", "!=": "==", ">=": "<", ">": "<=", "<=": ">", "<": ">="},
	"INCREMENT_DECREMENT":   {"++": "--", "--": "++"},
	"INVERT_NEGATIVES":      {"-": "+"},
}

// mutateSource applies one mutant to a file's source: the operator at
// line:col (columns count bytes, from 1) swapped as gremlins swaps it.
func mutateSource(src []byte, line, col int, mutator string) ([]byte, error) {
	swaps, ok := replacements[mutator]
	if !ok {
		return nil, fmt.Errorf("mutator %s is not supported", mutator)
	}
	fset := token.NewFileSet()
	tf := fset.AddFile("src.go", -1, len(src))
	var sc scanner.Scanner
	sc.Init(tf, src, nil, 0)
	for {
		pos, tok, _ := sc.Scan()
		if tok == token.EOF {
			return nil, fmt.Errorf("%d:%d: no token there", line, col)
		}
		p := fset.Position(pos)
		if p.Line < line || p.Line == line && p.Column < col {
			continue
		}
		if p.Line != line || p.Column != col {
			return nil, fmt.Errorf("%d:%d: no token there", line, col)
		}
		op := tok.String()
		to, ok := swaps[op]
		if !ok {
			return nil, fmt.Errorf("%d:%d: %s does not apply to %q", line, col, mutator, op)
		}
		off := tf.Offset(pos)
		out := make([]byte, 0, len(src)+1)
		out = append(out, src[:off]...)
		out = append(out, to...)
		out = append(out, src[off+len(op):]...)
		return out, nil
	}
}
