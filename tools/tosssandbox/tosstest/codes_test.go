package tosstest

import (
	"testing"

	"github.com/tossintl/backend/shared/toss"
)

// The sandbox answers each documented code with the status the product's
// table (shared/toss/codes.go) expects of Toss: two readings of Toss's
// error codes page that must not drift apart.
func TestTestCodeStatusesMatchTheClientsTable(t *testing.T) {
	for code, status := range testCodeStatus {
		if !toss.Known(code) {
			t.Errorf("the sandbox knows %s, the client's table does not", code)
			continue
		}
		if got := toss.StatusOf(code); got != status {
			t.Errorf("%s: the sandbox answers %d, the client's table says %d", code, status, got)
		}
	}
}
