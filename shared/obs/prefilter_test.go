package obs

import (
	"regexp"
	"testing"
)

// asciiSecretPattern is what redactSecrets implements, as a regexp: the
// tests hold the scanner to it.
var asciiSecretPattern = regexp.MustCompile(`(?:[tT][eE][sS][tT]|[lL][iI][vV][eE])_(?:[sS][kK]|[gG][sS][kK])_[A-Za-z0-9_]+|[bB][aA][sS][iI][cC][\t\n\f\r ]+[A-Za-z0-9+/=]{8,}`)

var redactSeeds = []string{
	"", "ord_abc123", "POST /payments/confirm", "REJECT_CARD_COMPANY",
	"test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R", "key LIVE_SK_abc in the middle", "live_gsk_x", "TEST_GSK_Y",
	"Basic dGVzdF9za19", "basic\tAAAAAAAAAAAA", "BASIC  abcdefgh12", "bAsIc abcdefgh", "Basic abcdefg",
	"test_sk_", "test_sk_a test_sk_b", "xtest_sk_atest_sk_b", "Basic Basic abcdefghij", "basicbasic abcdefghijk",
	"카드사에서 거절했습니다 test_sk_abc", "_sk", "_gs", "basi", "b", "test_skx", "Basic", "tgen_20261122120000event00001",
	"test_gsk_", "live_sk_é", "Basic\v12345678", "Basic \x0012345678",
}

func checkRedact(t *testing.T, s string) {
	t.Helper()
	want := asciiSecretPattern.ReplaceAllString(s, "[redacted]")
	got, ok := redactSecrets(s)
	if got != want || ok != asciiSecretPattern.MatchString(s) {
		t.Fatalf("redactSecrets(%q) = %q, %v; the pattern gives %q", s, got, ok, want)
	}
}

func TestRedactSecretsMatchesThePattern(t *testing.T) {
	for _, s := range redactSeeds {
		checkRedact(t, s)
	}
	for _, s := range []string{"ord_abc123", "POST /payments/confirm", "tgen_20261122120000event00001"} {
		if _, ok := redactSecrets(s); ok {
			t.Errorf("redactSecrets(%q) changed an ordinary value", s)
		}
	}
}

func FuzzRedactSecrets(f *testing.F) {
	for _, s := range redactSeeds {
		f.Add(s)
	}
	f.Fuzz(checkRedact)
}
