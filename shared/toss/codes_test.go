package toss

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestEveryCodeHasAClass: each code in the table has a cause, a status Toss
// uses, and the class its cause implies, whatever status it arrives with
// (PROVIDER_ERROR is a 400, yet transient).
func TestEveryCodeHasAClass(t *testing.T) {
	statuses := map[int]bool{400: true, 401: true, 403: true, 404: true, 409: true, 429: true, 500: true}
	for code, c := range codes {
		if c.cause == CauseUnlisted {
			t.Errorf("%s has no cause", code)
		}
		if !statuses[c.status] {
			t.Errorf("%s: status %d is none Toss documents", code, c.status)
		}
		if got := StatusOf(code); got != c.status {
			t.Errorf("StatusOf(%s) = %d, want %d", code, got, c.status)
		}
		want := ClassDefinitive
		switch c.cause {
		case CauseTransient:
			want = ClassRetryable
		case CauseOutcomeUnknown:
			want = ClassUnknown
		}
		for _, status := range []int{c.status, 400, 500} {
			e := &Error{Method: "POST", Path: "/v1/payments/confirm", Status: status, Code: code}
			if got := e.Class(); got != want {
				t.Errorf("%s answered %d: class %v, want %v (cause %v)", code, status, got, want, c.cause)
			}
			if got := CauseOf(e); got != c.cause {
				t.Errorf("CauseOf(%s) = %v, want %v", code, got, c.cause)
			}
		}
	}
}

// TestUnlistedCodes: a code Toss adds without notice is classified by its
// status, and has no cause.
func TestUnlistedCodes(t *testing.T) {
	tests := []struct {
		status int
		want   Class
	}{{400, ClassDefinitive}, {403, ClassDefinitive}, {409, ClassRetryable}, {429, ClassRetryable}, {500, ClassRetryable}, {503, ClassRetryable}}
	for _, tt := range tests {
		e := &Error{Status: tt.status, Code: "SOMETHING_NEW"}
		if got := e.Class(); got != tt.want {
			t.Errorf("unlisted code answered %d: class %v, want %v", tt.status, got, tt.want)
		}
		if CauseOf(e) != CauseUnlisted || Known("SOMETHING_NEW") || StatusOf("SOMETHING_NEW") != 400 {
			t.Errorf("an unlisted code reads as listed")
		}
	}
	if CauseOf(ErrSecretKey) != CauseUnlisted || IsConfiguration(ErrSecretKey) {
		t.Error("an error that is not Toss's answer has a cause")
	}
}

// TestConfigurationCodes names the codes that blame the merchant's setup,
// so that moving one out of the class is a decision made here too.
func TestConfigurationCodes(t *testing.T) {
	want := map[string]bool{
		"UNAUTHORIZED_KEY": true, "INVALID_API_KEY": true, "INCORRECT_BASIC_AUTH_FORMAT": true,
		"NOT_FOUND_TERMINAL_ID": true, "NOT_REGISTERED_BUSINESS": true, "INVALID_UNREGISTERED_SUBMALL": true,
		"UNAPPROVED_ORDER_ID": true,
	}
	for code, c := range codes {
		if (c.cause == CauseConfiguration) != want[code] {
			t.Errorf("%s: cause %v", code, c.cause)
		}
		if IsConfiguration(&Error{Status: c.status, Code: code}) != want[code] {
			t.Errorf("IsConfiguration(%s) = %v", code, !want[code])
		}
	}
	for _, code := range []string{CodeNotFoundPaymentSession, CodeForbiddenRequest} {
		if CodeCause(code) != CauseAttemptRefused {
			t.Errorf("%s is not attempt-refused: who asks decides what it is", code)
		}
	}
}

// TestDocsListEveryCode holds docs/toss-api.md's table of codes and the
// code's table together: the same codes, statuses and causes.
func TestDocsListEveryCode(t *testing.T) {
	f, err := os.Open("../../docs/toss-api.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	documented := map[string]codeInfo{}
	inTable := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "| Code | Status | Cause | Why |") {
			inTable = true
			continue
		}
		if !inTable {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if len(documented) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 || strings.HasPrefix(strings.TrimSpace(cells[0]), "---") {
			continue
		}
		code := strings.Trim(strings.TrimSpace(cells[0]), "`")
		status, err := strconv.Atoi(strings.TrimSpace(cells[1]))
		if err != nil {
			t.Fatalf("%s: status %q", code, cells[1])
		}
		if strings.TrimSpace(cells[3]) == "" {
			t.Errorf("%s: no reason given", code)
		}
		var cause Cause
		for c := CauseUnlisted; c <= CauseRefundRefused; c++ {
			if c.String() == strings.TrimSpace(cells[2]) {
				cause = c
			}
		}
		if _, dup := documented[code]; dup {
			t.Errorf("%s documented twice", code)
		}
		documented[code] = codeInfo{status, cause}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for code, c := range codes {
		if d, ok := documented[code]; !ok {
			t.Errorf("%s is not in docs/toss-api.md", code)
		} else if d != c {
			t.Errorf("%s: docs say %d %v, the code %d %v", code, d.status, d.cause, c.status, c.cause)
		}
	}
	for code := range documented {
		if !Known(code) {
			t.Errorf("docs/toss-api.md lists %s, the code does not", code)
		}
	}
}
