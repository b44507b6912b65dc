package orders_test

import (
	"math"
	"strings"
	"testing"

	"github.com/tossintl/backend/shared/orders"
)

// Every base62 character of an order ID and a checkout token is equally
// likely (NewID rejects the random bytes that would favour some): in
// 20,000 names (440,000 characters) each character's count stays within
// 6 standard deviations of 1/62 of them. A byte mapping that favoured one
// character by a quarter would put it some 20 deviations off.
func TestNamesAreUniform(t *testing.T) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	for name, gen := range map[string]struct {
		prefix string
		new    func() string
	}{
		"order ID":       {orders.IDPrefix, orders.NewID},
		"checkout token": {orders.TokenPrefix, orders.NewToken},
	} {
		t.Run(name, func(t *testing.T) {
			const names = 20000
			counts := map[rune]int{}
			total := 0
			for range names {
				rest, ok := strings.CutPrefix(gen.new(), gen.prefix)
				if !ok {
					t.Fatal("no prefix")
				}
				for _, r := range rest {
					counts[r]++
					total++
				}
			}
			p := 1.0 / float64(len(alphabet))
			mean := float64(total) * p
			sd := math.Sqrt(float64(total) * p * (1 - p))
			for _, r := range alphabet {
				if dev := (float64(counts[r]) - mean) / sd; math.Abs(dev) > 6 {
					t.Errorf("%q appeared %d times in %d characters: %.1f standard deviations from %.0f", r, counts[r], total, dev, mean)
				}
			}
		})
	}
}
