package obs

import "testing"

// mayHoldSecret may only skip strings the pattern cannot match: a false
// negative would let a secret through unscrubbed.
var prefilterSeeds = []string{
	"", "ord_abc123", "POST /payments/confirm", "REJECT_CARD_COMPANY",
	"test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R", "key LIVE_SK_abc in the middle", "live_gsk_x", "TEST_GSK_Y",
	"Basic dGVzdF9za19", "basic\tAAAAAAAAAAAA", "BASIC  abcdefgh12", "bAsIc abcdefgh",
	"test_ſk_abc", "test_sK_abc", "live_gſk_x", "ſ", "카드사에서 거절했습니다 test_sk_abc",
	"_sk", "_gs", "basi", "b", "test_skx", "Basic", "tgen_20261122120000event00001",
}

func checkPrefilter(t *testing.T, s string) {
	t.Helper()
	if secretPattern.MatchString(s) && !mayHoldSecret(s) {
		t.Fatalf("mayHoldSecret(%q) = false, but the pattern matches it", s)
	}
}

func TestMayHoldSecretNeverHidesAMatch(t *testing.T) {
	for _, s := range prefilterSeeds {
		checkPrefilter(t, s)
	}
	for _, s := range []string{"ord_abc123", "POST /payments/confirm", "REJECT_CARD_COMPANY", "tgen_20261122120000event00001"} {
		if mayHoldSecret(s) {
			t.Errorf("mayHoldSecret(%q) = true: the prefilter saves nothing on ordinary values", s)
		}
	}
}

func FuzzMayHoldSecret(f *testing.F) {
	for _, s := range prefilterSeeds {
		f.Add(s)
	}
	f.Fuzz(checkPrefilter)
}
