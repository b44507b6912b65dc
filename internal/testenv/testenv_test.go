package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSkipFollowsShortAndCI runs this test binary again with and without
// -short and CI=true, since Skip's outcome is decided by the flags and the
// environment of the process.
func TestSkipFollowsShortAndCI(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Skip(t, "the test emulator")
		t.Log("ran")
		return
	}
	for _, c := range []struct {
		name  string
		short bool
		ci    string
		want  string // in the child's verbose output
		fails bool
	}{
		{"full run", false, "", "ran", false},
		{"short", true, "", "-short skips tests that need the test emulator", false},
		{"short under CI", true, "true", "-short under CI=true would skip a test that needs the test emulator", true},
		{"full run under CI", false, "true", "ran", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"-test.run=^TestSkipFollowsShortAndCI$", "-test.v"}
			if c.short {
				args = append(args, "-test.short")
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+c.ci)
			out, err := cmd.CombinedOutput()
			if (err != nil) != c.fails || !strings.Contains(string(out), c.want) {
				t.Errorf("err %v, want failure %v; output lacks %q:\n%s", err, c.fails, c.want, out)
			}
		})
	}
}
