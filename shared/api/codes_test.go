package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestEveryCodeHasAnEntry: a Code constant left out of the codes table
// would answer 400 with an empty message, so each one declared in codes.go
// must have a status and both messages.
func TestEveryCodeHasAnEntry(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatalf("parse codes.go: %v", err)
	}
	declared := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			for i, name := range v.Names {
				if !strings.HasPrefix(name.Name, "Code") {
					continue
				}
				declared++
				code, err := strconv.Unquote(v.Values[i].(*ast.BasicLit).Value)
				if err != nil {
					t.Fatalf("%s: %v", name.Name, err)
				}
				c, ok := codes[code]
				if !ok || c.status < 400 || c.ko == "" || c.en == "" {
					t.Errorf("%s (%s): entry %+v", name.Name, code, c)
				}
			}
		}
	}
	if declared != len(codes) {
		t.Errorf("%d codes declared, %d in the table", declared, len(codes))
	}
}
