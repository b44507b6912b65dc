package orders_test

import (
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/orders"
)

// ValidID is Toss's orderId rule: 6 to 64 letters, digits, '-' and '_'.
func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"", false},
		{"abcde", false},
		{"abcdef", true},
		{"ord_0123456789abcdefABCDEF", true},
		{"ord-_-_-_", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"../../etc", false},
		{"ord 123456", false},
		{"ord_é12345", false},
		{"abcdef\n", false},
		{"<script>", false},
	}
	for _, tt := range tests {
		if got := orders.ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
