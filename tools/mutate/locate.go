package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"strings"
)

// site is a place gremlins can mutate: an operator or an assignment or
// increment token, with the function it is in and the expression it
// belongs to, printed on one line.
type site struct {
	Line, Col int
	Func      string
	Expr      string
	// Nth counts, from 1, the sites of the same function with the same
	// expression, in source order.
	Nth int
}

// maxExpr bounds the printed expression (long ones are cut, stably).
const maxExpr = 100

// sites parses a Go file and indexes its mutable sites by line and column.
func sites(filename string, src []byte) (map[[2]int]site, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filename, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	out := map[[2]int]site{}
	seen := map[string]int{}
	visit := func(fn string) func(n ast.Node) bool {
		return func(n ast.Node) bool {
			var pos token.Pos
			switch n := n.(type) {
			case *ast.AssignStmt:
				pos = n.TokPos
			case *ast.BinaryExpr:
				pos = n.OpPos
			case *ast.BranchStmt:
				pos = n.TokPos
			case *ast.IncDecStmt:
				pos = n.TokPos
			case *ast.UnaryExpr:
				pos = n.OpPos
			default:
				return true
			}
			p := fset.Position(pos)
			expr := printed(fset, n)
			k := fn + "\x00" + expr
			seen[k]++
			out[[2]int{p.Line, p.Column}] = site{Line: p.Line, Col: p.Column, Func: fn, Expr: expr, Nth: seen[k]}
			return true
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			ast.Inspect(d, visit(funcName(d)))
		case *ast.GenDecl:
			ast.Inspect(d, visit(genDeclName(d)))
		}
	}
	return out, nil
}

// funcName is Name, T.Name or (*T).Name, without type parameters.
func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	t := d.Recv.List[0].Type
	star := false
	if s, ok := t.(*ast.StarExpr); ok {
		star, t = true, s.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	name := "?"
	if id, ok := t.(*ast.Ident); ok {
		name = id.Name
	}
	if star {
		return "(*" + name + ")." + d.Name.Name
	}
	return name + "." + d.Name.Name
}

// genDeclName names a package-level declaration by its first name.
func genDeclName(d *ast.GenDecl) string {
	for _, s := range d.Specs {
		switch s := s.(type) {
		case *ast.ValueSpec:
			if len(s.Names) > 0 {
				return d.Tok.String() + " " + s.Names[0].Name
			}
		case *ast.TypeSpec:
			return "type " + s.Name.Name
		}
	}
	return d.Tok.String()
}

func printed(fset *token.FileSet, n ast.Node) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, n); err != nil {
		return fmt.Sprintf("<%T>", n)
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if r := []rune(s); len(r) > maxExpr {
		s = string(r[:maxExpr-1]) + "…"
	}
	return s
}

// key identifies a mutant across edits that move lines: the file, the
// function, the mutator and the expression (with its rank when the
// function has the same expression more than once).
func key(file string, s site, mutator string) string {
	expr := s.Expr
	if s.Nth > 1 {
		expr = fmt.Sprintf("%s #%d", expr, s.Nth)
	}
	return strings.Join([]string{file, s.Func, mutator, expr}, keySep)
}

const keySep = " | "
