package mix

import (
	"math"
	"testing"
)

// TestTimesSpreadsShares: n checkouts do round(n × share) of an action
// in all, spread evenly, for shares below and above one.
func TestTimesSpreadsShares(t *testing.T) {
	for _, c := range []struct {
		share float64
		n     int
		want  int
	}{
		{0.1, 200, 20}, {0.05, 200, 10}, {0.01, 200, 2}, {1, 200, 200}, {4, 200, 800}, {0, 200, 0}, {0.34, 3, 1}, {0.1, 5, 0},
	} {
		got, most := 0, 0
		for i := range c.n {
			k := times(i, c.share)
			got += k
			most = max(most, k)
		}
		if got != c.want {
			t.Errorf("share %g over %d checkouts: %d in all, want %d", c.share, c.n, got, c.want)
		}
		if limit := int(math.Ceil(c.share)); most > limit {
			t.Errorf("share %g: one checkout did %d, want at most %d (evenly spread)", c.share, most, limit)
		}
	}
}

func TestSharesCheck(t *testing.T) {
	if err := DefaultShares.Check(); err != nil {
		t.Errorf("the default mix: %v", err)
	}
	for name, s := range map[string]Shares{
		"no order of its own": {Creations: 0.5},
		"declines over one":   {Creations: 1, Declines: 1.5},
		"negative refunds":    {Creations: 1, Refunds: -0.1},
		"negative lists":      {Creations: 1, Lists: -1},
	} {
		if s.Check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
