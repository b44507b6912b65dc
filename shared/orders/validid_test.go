package orders

import (
	"regexp"
	"strings"
	"testing"
)

// ValidID is Toss's orderId rule, written out by hand; the regexp states it.
var idRule = regexp.MustCompile(`^[A-Za-z0-9_-]{6,64}$`)

var idSeeds = []string{"", "abcde", "abcdef", "ord_0123456789abcdefABCDEF", "ord-_-_-_", "../../etc", "ord 123456",
	"ord_é12345", strings.Repeat("a", 64), strings.Repeat("a", 65), "abcdef\n", "<script>"}

func TestValidIDMatchesTossRule(t *testing.T) {
	for _, s := range idSeeds {
		if ValidID(s) != idRule.MatchString(s) {
			t.Errorf("ValidID(%q) = %v", s, ValidID(s))
		}
	}
	for i := 0; i < 100; i++ {
		if id := NewID(); !ValidID(id) {
			t.Fatalf("NewID() = %q is not valid", id)
		}
	}
}

func FuzzValidID(f *testing.F) {
	for _, s := range idSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidID(s) != idRule.MatchString(s) {
			t.Fatalf("ValidID(%q) = %v", s, ValidID(s))
		}
	})
}

func TestPlaceholders(t *testing.T) {
	names := exprNames("SET #status = :done, #a = :b REMOVE #ttl", "#status IN (:pending) AND #x")
	for _, want := range []string{"#status", "#a", "#ttl", "#x"} {
		if names[want] != want[1:] {
			t.Errorf("exprNames lacks %s: %v", want, names)
		}
	}
	if len(names) != 4 {
		t.Errorf("exprNames = %v", names)
	}
	vals := exprValues(item{":done": avS("DONE"), ":b": avN(1), ":unused": avN(2)}, "SET #s = :done, #a = :b, #c = :missing")
	if len(vals) != 2 || vals[":done"] == nil || vals[":b"] == nil {
		t.Errorf("exprValues = %v", vals)
	}
}
