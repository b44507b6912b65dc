package api

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseBasic: any Authorization header parses or is refused without a
// panic, and a value built the Toss way always round-trips.
func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("key:")), "Basic a2V5", "Bearer x", "basic   ", "Basic ====", ""} {
		f.Add(s, "merchant_key_0123456789abcdef")
	}
	f.Fuzz(func(t *testing.T, header, key string) {
		_, _, _ = ParseBasic(header)
		if strings.Contains(key, ":") || len(key) > 700 {
			return
		}
		user, colon, ok := ParseBasic("Basic " + base64.StdEncoding.EncodeToString([]byte(key+":")))
		if !ok || !colon || user != key {
			t.Fatalf("round trip of %q: user=%q colon=%v ok=%v", key, user, colon, ok)
		}
	})
}

// FuzzParseAmount: only positive integers without sign, fraction or
// exponent are amounts.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1000", "1000.0", "1e3", "-5", "0", "+7", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseAmount(jsonNumber(s))
		if ok && (v <= 0 || strings.ContainsAny(s, ".eE+-")) {
			t.Fatalf("parseAmount(%q) = %d, true", s, v)
		}
	})
}

func jsonNumber(s string) json.Number { return json.Number(s) }
