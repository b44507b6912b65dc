package events

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// ids finds order ids and paymentKeys in a sample event.
var ids = regexp.MustCompile(`\b(?:ord|tgen)_[A-Za-z0-9]+`)

// TestTheFilesNameOnlyTheseFixtures: every order id and paymentKey in a
// sample event is one of this package's, and every one Seed makes for an
// event is named by some event: the files and the fixtures are one set.
func TestTheFilesNameOnlyTheseFixtures(t *testing.T) {
	known := []string{OrderID, PaidOrderID, ConfirmOrderID, PaymentKey, ConfirmKey, RefundKey,
		UnknownOrderID, UnknownPaymentKey, StreamOrderID, StreamPaymentKey}
	named := map[string]bool{}
	files, err := fs.Glob(FS, "*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	for _, f := range files {
		b, err := Read(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids.FindAllString(string(b), -1) {
			named[id] = true
			if !slices.Contains(known, id) {
				t.Errorf("%s names %s, which is no fixture of this package", f, id)
			}
		}
	}
	for _, id := range known {
		if !named[id] {
			t.Errorf("no sample event names the fixture %s", id)
		}
	}
	if _, err := Read("no-such-event.json"); err == nil || !strings.Contains(err.Error(), "no-such-event.json") {
		t.Errorf("Read of a missing event: %v", err)
	}
}
