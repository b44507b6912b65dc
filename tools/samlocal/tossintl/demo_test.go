package tossintl

import (
	"strings"
	"testing"
)

// The stack's EventBridge log shows an event's paymentKeys masked, at any
// depth, as the functions' own logs do, and leaves the rest of the line.
func TestMaskPaymentKeys(t *testing.T) {
	const pk = "tgen_20261129120000buskey0001"
	line := `{"detail-type":"Order Paid","detail":{"eventId":"e1","order":{"paymentKey":"` + pk + `","payment":{"receiptUrl":"https://sandbox/receipt/` + pk + `"}}}}`
	got := string(MaskPaymentKeys([]byte(line)))
	if strings.Contains(got, pk) || strings.Count(got, "tgen****0001") != 2 || !strings.Contains(got, `"eventId":"e1"`) {
		t.Errorf("masked line: %s", got)
	}
	if got := string(MaskPaymentKeys([]byte("not json " + pk))); got != "not json "+pk {
		t.Errorf("a line that is not JSON: %s", got)
	}
}
