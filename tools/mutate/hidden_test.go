package main

import (
	"strings"
	"testing"
)

const switchSrc = `package p

const window = 10 * 60

func f(a, b int) int {
	x := a + b
	switch {
	case a > b:
		return 1
	case a == b:
		return 2
	case b-a > 5:
		return 3
	default:
		return x
	}
}

func g(a int) int {
	switch {
	case a > 0:
		return 1
	case a < -10:
	}
	return 0
}
`

func TestParseProfileMergesBinaries(t *testing.T) {
	_, err := parseProfile(strings.NewReader(`mode: set
m/p/p.go:5:22,7.9 1 0
m/p/p.go:5.22,7.9 1 1
m/p/p.go:8.13,9.11 1 0
`), "m")
	if err == nil {
		t.Fatal("a malformed line was accepted")
	}
	prof, err := parseProfile(strings.NewReader(`mode: atomic
m/p/p.go:5.22,7.9 1 0
m/p/p.go:5.22,7.9 1 3
m/p/p.go:8.13,9.11 1 0
`), "m")
	if err != nil {
		t.Fatal(err)
	}
	if !prof.covered("p/p.go", 6, 1) || !prof.covered("p/p.go", 5, 22) || prof.covered("p/p.go", 5, 21) || prof.covered("p/p.go", 8, 20) {
		t.Errorf("profile %v", prof)
	}
}

func TestHiddenSites(t *testing.T) {
	// Blocks as go test -cover writes them for switchSrc: f's body up to
	// the switch's brace, each clause body from its colon.
	prof, err := parseProfile(strings.NewReader(`mode: set
m/p.go:5.22,7.11 2 1
m/p.go:8.13,9.11 1 1
m/p.go:10.14,11.11 1 0
m/p.go:12.15,13.11 1 0
m/p.go:14.10,15.11 1 1
m/p.go:19.18,20.11 1 1
m/p.go:21.13,22.11 1 1
m/p.go:23.15,23.15 0 0
m/p.go:25.2,25.10 1 0
`), "m")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		line, col         int
		hidden, evaluated bool
	}{
		{3, 19, true, true},  // const declaration
		{6, 9, false, false}, // a + b: in a block
		{8, 9, true, true},   // first case of a reached switch
		{10, 9, true, true},  // a later clause (default) ran
		{12, 10, true, true}, // b-a: the default ran, so every case was false
		{12, 13, true, true}, // > of the same case
		{21, 9, true, true},  // g: first case
		{23, 9, true, false}, // g: a < -10 never evaluated as far as the profile shows
	}
	for _, c := range cases {
		h, e, err := hiddenSite("p.go", []byte(switchSrc), prof, c.line, c.col)
		if err != nil {
			t.Fatalf("%d:%d: %v", c.line, c.col, err)
		}
		if h != c.hidden || e != c.evaluated {
			t.Errorf("%d:%d: hidden %v evaluated %v, want %v %v", c.line, c.col, h, e, c.hidden, c.evaluated)
		}
	}
	// A switch never reached: its cases are not evaluated.
	h, e, _ := hiddenSite("p.go", []byte(switchSrc), coverProfile{}, 8, 9)
	if !h || e {
		t.Errorf("unreached switch: hidden %v evaluated %v", h, e)
	}
}

func TestMutateSource(t *testing.T) {
	cases := []struct {
		line, col int
		mutator   string
		want      string
	}{
		{8, 9, "CONDITIONALS_BOUNDARY", "case a >= b:"},
		{8, 9, "CONDITIONALS_NEGATION", "case a <= b:"},
		{10, 9, "CONDITIONALS_NEGATION", "case a != b:"},
		{12, 8, "ARITHMETIC_BASE", "case b+a > 5:"},
		{23, 9, "CONDITIONALS_NEGATION", "case a >= -10:"},
		{23, 11, "INVERT_NEGATIVES", "case a < +10:"},
		{3, 19, "ARITHMETIC_BASE", "const window = 10 / 60"},
	}
	for _, c := range cases {
		out, err := mutateSource([]byte(switchSrc), c.line, c.col, c.mutator)
		if err != nil {
			t.Errorf("%d:%d %s: %v", c.line, c.col, c.mutator, err)
			continue
		}
		if !strings.Contains(string(out), c.want) || len(strings.Split(string(out), "\n")) != len(strings.Split(switchSrc, "\n")) {
			t.Errorf("%d:%d %s: got\n%s", c.line, c.col, c.mutator, out)
		}
	}
	for _, bad := range []struct {
		line, col int
		mutator   string
	}{
		{8, 8, "CONDITIONALS_BOUNDARY"},  // a space
		{10, 9, "CONDITIONALS_BOUNDARY"}, // == has no boundary
		{8, 9, "INVERT_LOGICAL"},         // not a default mutator
		{99, 1, "ARITHMETIC_BASE"},
	} {
		if _, err := mutateSource([]byte(switchSrc), bad.line, bad.col, bad.mutator); err == nil {
			t.Errorf("%d:%d %s: accepted", bad.line, bad.col, bad.mutator)
		}
	}
}
