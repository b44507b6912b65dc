package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// AdvertFile is the file, in the build directory, where `samlocal up` and
// `start-api` say what they run while they run (make doctor reads it).
const AdvertFile = "stack.json"

// Advert is what a running local stack tells tools on this machine about
// itself: where its API and AWS endpoint are, and the names and settings its
// functions run with. It holds no key: a tool reads the keys from the
// stack's secret, as the functions do.
type Advert struct {
	APIURL           string `json:"apiUrl"`
	AWSEndpoint      string `json:"awsEndpoint"` // the stack's AWS proxy: DynamoDB Local, moto_server's Secrets Manager
	Region           string `json:"region"`
	OrdersTable      string `json:"ordersTable"`
	IdempotencyTable string `json:"idempotencyTable"`
	KeysSecret       string `json:"keysSecret"`
	TossAPIBaseURL   string `json:"tossApiBaseUrl"`
	PaymentMode      string `json:"paymentMode"`
}

// Advert describes s from its functions' own environment (the template's
// Globals give every function the same tables, secret and mode), so a tool
// checks what the functions actually use.
func (s *Stack) Advert() Advert {
	a := Advert{APIURL: s.URL, AWSEndpoint: s.AWSURL, Region: Region}
	for _, id := range slices.Sorted(maps.Keys(s.env)) {
		env := s.env[id]
		fill := func(dst *string, name string) {
			if *dst == "" {
				*dst = env[name]
			}
		}
		fill(&a.OrdersTable, "ORDERS_TABLE")
		fill(&a.IdempotencyTable, "IDEMPOTENCY_TABLE")
		fill(&a.KeysSecret, "TOSS_SECRET_ID")
		fill(&a.PaymentMode, "PAYMENT_MODE")
		fill(&a.TossAPIBaseURL, "TOSS_API_BASE_URL")
	}
	return a
}

// WriteAdvert writes a to path, whole or not at all (a reader never sees
// half a file).
func WriteAdvert(path string, a Advert) error {
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("advert: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("advert: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("advert: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("advert: %w", err)
	}
	return nil
}

// ReadAdvert reads what WriteAdvert wrote. A missing file is an error
// matching os.ErrNotExist: no local stack is running there.
func ReadAdvert(path string) (Advert, error) {
	var a Advert
	b, err := os.ReadFile(path)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("advert %s: %w", path, err)
	}
	if a.APIURL == "" || a.AWSEndpoint == "" {
		return a, fmt.Errorf("advert %s: no apiUrl or awsEndpoint", path)
	}
	return a, nil
}

// RemoveAdvert removes path if it still holds a: a stack started later on
// the same build directory keeps its own.
func RemoveAdvert(path string, a Advert) error {
	cur, err := ReadAdvert(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && cur != a) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("advert: %w", err)
	}
	return nil
}
