package tosstest

import (
	"slices"
	"testing"
)

func TestPaymentKeysListsEveryIssuedKey(t *testing.T) {
	s := New(Config{})
	if keys := s.PaymentKeys(); len(keys) != 0 {
		t.Fatalf("a new sandbox lists %v", keys)
	}
	a := s.Authorize("order-keys-1", "Tea", 1000)
	b := s.Authorize("order-keys-1", "Tea", 1000) // a second attempt of one order
	fixed := s.Authorize("order-keys-2", "Rice cake", 2000, WithPaymentKey("tgen_fixed_key_0001"))
	want := []string{a, b, fixed}
	slices.Sort(want)
	if got := s.PaymentKeys(); !slices.Equal(got, want) {
		t.Fatalf("PaymentKeys() = %v, want %v", got, want)
	}
	s.Reset()
	if keys := s.PaymentKeys(); len(keys) != 0 {
		t.Fatalf("after Reset the sandbox lists %v", keys)
	}
}
