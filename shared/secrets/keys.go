// Package secrets loads the Toss and merchant keys from one Secrets Manager
// secret and keeps them out of every log line, error and formatted value.
//
// The secret (its id comes from TOSS_SECRET_ID) is a JSON object:
//
//	{
//	  "tossSecretKey":  "test_sk_…",  // Toss secret key: test_sk_ or live_sk_
//	  "tossClientKey":  "test_ck_…",  // Toss client key: test_ck_ or live_ck_, same mode
//	  "merchantApiKey": "…"           // our own API key for the merchant, 24+ characters
//	}
//
// Other fields are ignored. A secret that breaks a rule (wrong prefix, keys of
// different modes, a live key in a test deployment or a test key in a live
// one, a short merchant key, whitespace in a key) is refused and never cached.
//
// A Provider caches the keys per Lambda execution environment, like the AWS
// Parameters and Secrets extension (5 minutes by default), collapses
// concurrent loads into one GetSecretValue call, reloads on demand after
// Toss answers UNAUTHORIZED_KEY (the key was rotated) at most once per few
// seconds, and keeps serving the last good keys for a grace period when
// Secrets Manager fails.
package secrets

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"
)

// Field names in the secret's JSON.
const (
	FieldTossSecretKey  = "tossSecretKey"
	FieldTossClientKey  = "tossClientKey"
	FieldMerchantAPIKey = "merchantApiKey"
)

// MinMerchantAPIKeyLength is the shortest merchant API key accepted: shorter
// keys are guessable.
const MinMerchantAPIKeyLength = 24

// Toss key prefixes. They say what a key is and in which mode; they are the
// only part of a key that may be shown.
const (
	PrefixTestSecret = "test_sk_"
	PrefixLiveSecret = "live_sk_"
	PrefixTestClient = "test_ck_"
	PrefixLiveClient = "live_ck_"
)

// Mode is test or live: the Toss environment a key belongs to.
type Mode string

// Modes.
const (
	ModeTest Mode = "test"
	ModeLive Mode = "live"
)

// Errors. Match them with errors.Is.
var (
	// ErrInvalidSecret: the secret exists but its content breaks a rule.
	ErrInvalidSecret = errors.New("invalid secret")
	// ErrNotFound: Secrets Manager has no secret with that id.
	ErrNotFound = errors.New("secret not found")
)

// Keys are the keys one deployment uses. Every way of printing or encoding
// Keys (fmt verbs, slog, JSON, text) shows at most the prefixes: the values
// themselves never leave through formatting.
type Keys struct {
	TossSecretKey  string
	TossClientKey  string
	MerchantAPIKey string
}

// Mode is the mode of the Toss secret key, or "" if it has no known prefix.
func (k Keys) Mode() Mode {
	switch {
	case strings.HasPrefix(k.TossSecretKey, PrefixTestSecret):
		return ModeTest
	case strings.HasPrefix(k.TossSecretKey, PrefixLiveSecret):
		return ModeLive
	}
	return ""
}

// MatchMerchantAPIKey reports whether presented is the merchant API key, in
// constant time so response timing does not reveal how much of a guess was
// right.
func (k Keys) MatchMerchantAPIKey(presented string) bool {
	if k.MerchantAPIKey == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(presented), []byte(k.MerchantAPIKey)) == 1
}

// redact shows a key's known prefix and hides the rest.
func redact(key string) string {
	if key == "" {
		return "(empty)"
	}
	if p := knownPrefix(key); p != "" {
		return p + "****"
	}
	return "[redacted]"
}

func knownPrefix(key string) string {
	for _, p := range []string{PrefixTestSecret, PrefixLiveSecret, PrefixTestClient, PrefixLiveClient} {
		if strings.HasPrefix(key, p) {
			return p
		}
	}
	return ""
}

// String implements fmt.Stringer with the keys redacted.
func (k Keys) String() string {
	return fmt.Sprintf("secrets.Keys{%s: %s, %s: %s, %s: %s}",
		FieldTossSecretKey, redact(k.TossSecretKey),
		FieldTossClientKey, redact(k.TossClientKey),
		FieldMerchantAPIKey, redactMerchant(k.MerchantAPIKey))
}

// The merchant key has no prefix worth showing.
func redactMerchant(key string) string {
	if key == "" {
		return "(empty)"
	}
	return "[redacted]"
}

// GoString implements fmt.GoStringer (%#v) with the keys redacted.
func (k Keys) GoString() string { return k.String() }

// Format implements fmt.Formatter so that every verb, not only %v and %s,
// prints the redacted form: without it %d or %x would print the fields.
func (k Keys) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte(k.String()))
}

// LogValue implements slog.LogValuer with the keys redacted.
func (k Keys) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String(FieldTossSecretKey, redact(k.TossSecretKey)),
		slog.String(FieldTossClientKey, redact(k.TossClientKey)),
		slog.String(FieldMerchantAPIKey, redactMerchant(k.MerchantAPIKey)),
		slog.String("mode", string(k.Mode())),
	)
}

// MarshalJSON implements json.Marshaler with the keys redacted, so Keys
// inside a logged or returned struct stay hidden.
func (k Keys) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(map[string]string{
		FieldTossSecretKey:  redact(k.TossSecretKey),
		FieldTossClientKey:  redact(k.TossClientKey),
		FieldMerchantAPIKey: redactMerchant(k.MerchantAPIKey),
	})
	if err != nil {
		return nil, fmt.Errorf("secrets: marshal redacted keys: %w", err)
	}
	return b, nil
}

// MarshalText implements encoding.TextMarshaler with the keys redacted, for
// encoders other than JSON (XML, YAML, …).
func (k Keys) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// secretJSON is the secret's wire form. Pointers tell a missing field from an
// empty one.
type secretJSON struct {
	TossSecretKey  *string `json:"tossSecretKey"`
	TossClientKey  *string `json:"tossClientKey"`
	MerchantAPIKey *string `json:"merchantApiKey"`
}

// Parse decodes and validates a secret's JSON for a deployment in live mode
// (live true) or test mode. Its errors name fields and problems, never
// values: encoding/json's own errors are not wrapped, because they can quote
// part of the input.
func Parse(data []byte, live bool) (Keys, error) {
	var raw secretJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return Keys{}, fmt.Errorf("%w: not valid JSON (syntax error at byte %d)", ErrInvalidSecret, syn.Offset)
		case errors.As(err, &typ) && typ.Field != "":
			return Keys{}, fmt.Errorf("%w: %s must be a string", ErrInvalidSecret, typ.Field)
		default:
			return Keys{}, fmt.Errorf("%w: not a JSON object with fields %s, %s, %s", ErrInvalidSecret, FieldTossSecretKey, FieldTossClientKey, FieldMerchantAPIKey)
		}
	}
	k := Keys{
		TossSecretKey:  deref(raw.TossSecretKey),
		TossClientKey:  deref(raw.TossClientKey),
		MerchantAPIKey: deref(raw.MerchantAPIKey),
	}
	if problems := k.problems(live); len(problems) > 0 {
		return Keys{}, fmt.Errorf("%w: %s", ErrInvalidSecret, strings.Join(problems, "; "))
	}
	return k, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// problems lists what is wrong with k, naming fields and at most a key's
// known prefix.
func (k Keys) problems(live bool) []string {
	var p []string
	sk := checkTossKey(FieldTossSecretKey, k.TossSecretKey, PrefixTestSecret, PrefixLiveSecret, "secret")
	ck := checkTossKey(FieldTossClientKey, k.TossClientKey, PrefixTestClient, PrefixLiveClient, "client")
	p = append(p, sk...)
	p = append(p, ck...)
	switch {
	case k.MerchantAPIKey == "":
		p = append(p, FieldMerchantAPIKey+" is missing or empty")
	case hasSpaceOrControl(k.MerchantAPIKey):
		p = append(p, FieldMerchantAPIKey+" contains whitespace or control characters")
	case len([]rune(k.MerchantAPIKey)) < MinMerchantAPIKeyLength:
		p = append(p, fmt.Sprintf("%s is shorter than %d characters", FieldMerchantAPIKey, MinMerchantAPIKeyLength))
	}
	if len(sk) > 0 || len(ck) > 0 {
		return p
	}

	skMode, ckMode := modeOf(k.TossSecretKey), modeOf(k.TossClientKey)
	if skMode != ckMode {
		// Toss issues keys in pairs; a test and a live key never belong together.
		p = append(p, fmt.Sprintf("%s is a %s key (%s) but %s is a %s key (%s): they must be a pair of the same mode",
			FieldTossSecretKey, skMode, knownPrefix(k.TossSecretKey), FieldTossClientKey, ckMode, knownPrefix(k.TossClientKey)))
	}
	want := ModeTest
	if live {
		want = ModeLive
	}
	if skMode != want {
		// A live key in a test deployment would charge real cards from a
		// test setup; a test key in a live one would take no money at all.
		p = append(p, fmt.Sprintf("%s is a %s key (%s) but the deployment is in %s mode",
			FieldTossSecretKey, skMode, knownPrefix(k.TossSecretKey), want))
	}
	return p
}

func modeOf(key string) Mode {
	if strings.HasPrefix(key, "live_") {
		return ModeLive
	}
	return ModeTest
}

// checkTossKey checks one Toss key's shape: a known prefix of the right kind
// and something after it, with no whitespace, control characters or BOM
// (a key pasted with a newline fails at Toss with a confusing 401).
func checkTossKey(field, key, testPrefix, livePrefix, kind string) []string {
	switch {
	case key == "":
		return []string{field + " is missing or empty"}
	case hasSpaceOrControl(key):
		return []string{field + " contains whitespace, control characters or a byte order mark"}
	case strings.HasPrefix(key, testPrefix), strings.HasPrefix(key, livePrefix):
		if len(key) == len(testPrefix) {
			return []string{fmt.Sprintf("%s has nothing after its %s prefix", field, knownPrefix(key))}
		}
		return nil
	case knownPrefix(key) != "":
		other := "client"
		if kind == "client" {
			other = "secret"
		}
		return []string{fmt.Sprintf("%s holds a %s key (%s); want a %s key starting with %s or %s",
			field, other, knownPrefix(key), kind, testPrefix, livePrefix)}
	}
	return []string{fmt.Sprintf("%s must start with %s or %s", field, testPrefix, livePrefix)}
}

func hasSpaceOrControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\uFEFF' || r == '\uFFFD'
	})
}
