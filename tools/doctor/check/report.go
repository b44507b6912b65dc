package check

import (
	"fmt"
	"io"
)

// Marks, one per status.
const (
	markPass = "✓"
	markFail = "✗"
	markSkip = "-"
)

// Line is one result as the report prints it: a mark, what was checked,
// what was found and, on failure, what to do.
func Line(r Result) string {
	switch r.Status {
	case Pass:
		return fmt.Sprintf("%s %s: %s", markPass, r.Name, r.Detail)
	case Skip:
		return fmt.Sprintf("%s %s: %s", markSkip, r.Name, r.Detail)
	}
	if r.Fix == "" {
		return fmt.Sprintf("%s %s: %s", markFail, r.Name, r.Detail)
	}
	return fmt.Sprintf("%s %s: %s — %s", markFail, r.Name, r.Detail, r.Fix)
}

// Print writes one line per result and a closing count.
func Print(w io.Writer, results []Result) {
	var pass, fail, skip int
	for _, r := range results {
		fmt.Fprintln(w, Line(r))
		switch r.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			skip++
		}
	}
	verdict := "ready to take a payment"
	if fail > 0 {
		verdict = "not ready: fix the ✗ lines and run make doctor again"
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d not checked: %s\n", pass, fail, skip, verdict)
}
