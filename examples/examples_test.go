package examples_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tossintl/backend/examples"
	"github.com/tossintl/backend/internal/contract"
)

func TestMerchantExampleTypeChecks(t *testing.T) {
	if _, err := examples.Build(t.TempDir(), contract.DocPath(), filepath.Join(examples.Dir(), "merchant.ts")); err != nil {
		t.Fatal(err)
	}
}

// TestTypeCheckCatchesDrift: the generated types are what hold the script
// to the document. A document whose field is renamed, or a script that
// sends a field the document does not take, no longer compiles.
func TestTypeCheckCatchesDrift(t *testing.T) {
	script := filepath.Join(examples.Dir(), "merchant.ts")
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(contract.DocPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		docFrom, docTo string
		scriptFrom, to string
		want           string
	}{
		{name: "a renamed answer field in the document", docFrom: "        balanceAmount: {type: integer}\n        cancels:", docTo: "        remaining: {type: integer}\n        cancels:", want: "balanceAmount"},
		{name: "a request field the document does not take", scriptFrom: `cancelReason: "size exchange"`, to: `reason: "size exchange"`, want: "reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d, s := string(doc), string(src)
			if tc.docFrom != "" {
				if strings.Count(d, tc.docFrom) != 1 {
					t.Fatalf("docs/openapi.yaml has %q %d times, want once: update this case", tc.docFrom, strings.Count(d, tc.docFrom))
				}
				d = strings.Replace(d, tc.docFrom, tc.docTo, 1)
			}
			if tc.scriptFrom != "" {
				if strings.Count(s, tc.scriptFrom) != 1 {
					t.Fatalf("merchant.ts has %q %d times, want once: update this case", tc.scriptFrom, strings.Count(s, tc.scriptFrom))
				}
				s = strings.Replace(s, tc.scriptFrom, tc.to, 1)
			}
			docPath, scriptPath := filepath.Join(dir, "openapi.yaml"), filepath.Join(dir, "edited.ts")
			if err := os.WriteFile(docPath, []byte(d), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(scriptPath, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := examples.Build(filepath.Join(dir, "build"), docPath, scriptPath)
			if !errors.Is(err, examples.ErrTypeCheck) {
				t.Fatalf("want a type error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("tsc's report does not name %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestDocumentLints runs Redocly's linter (its recommended rules, with the
// exceptions redocly.yaml gives reasons for) on docs/openapi.yaml: no
// errors, no warnings.
func TestDocumentLints(t *testing.T) {
	redocly, err := examples.Bin("redocly")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(redocly, "lint", "--config", filepath.Join(examples.Dir(), "redocly.yaml"), "--max-problems", "50", contract.DocPath())
	// Nothing leaves the machine: no usage data, no update check.
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint docs/openapi.yaml: %v\n%s", err, out)
	}
	// ("Deprecation warning" is Redocly's banner about Node 20, not the document's.)
	if strings.Contains(string(out), "You have ") && strings.Contains(string(out), " warning") {
		t.Errorf("redocly lint warns:\n%s", out)
	}
}
