package pages

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The checkout script's request to Toss's window is held to Toss's own SDK v2
// declarations (@tosspayments/tosspayments-sdk) by TypeScript's checker, run on
// the plain JavaScript with its JSDoc types (tsconfig.json). The npm packages
// are pinned in package.json and package-lock.json beside this file.

// typecheckInstall is what installs the checker and the declarations.
const typecheckInstall = "npm ci --prefix shared/pages (from the repository root; make test does it)"

// tscPath returns the pinned tsc. A missing or stale install fails the test
// with the command that fixes it: the check is never skipped, in CI or out.
func tscPath(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is required for the checkout script's type check (install Node.js with npm, then %s): %v", typecheckInstall, err)
	}
	var manifest struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	readJSON(t, "package.json", &manifest)
	if len(manifest.DevDependencies) == 0 {
		t.Fatal("package.json pins no devDependencies")
	}
	for name, want := range manifest.DevDependencies {
		var installed struct {
			Version string `json:"version"`
		}
		p := filepath.Join("node_modules", filepath.FromSlash(name), "package.json")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%s is not installed: run %s\n(%v)", name, typecheckInstall, err)
		}
		if err := json.Unmarshal(b, &installed); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if installed.Version != want {
			t.Fatalf("%s %s is installed, package.json pins %s: run %s", name, installed.Version, want, typecheckInstall)
		}
	}
	bin, err := filepath.Abs(filepath.Join("node_modules", ".bin", "tsc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("tsc is missing from node_modules/.bin: run %s\n(%v)", typecheckInstall, err)
	}
	return bin
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// runTSC runs tsc on a project and returns its exit error and its report.
func runTSC(t *testing.T, tsc, project string) (string, error) {
	t.Helper()
	out, err := exec.Command(tsc, "-p", project, "--pretty", "false").CombinedOutput()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("running %s: %v", tsc, err)
	}
	return string(out), err
}

func TestCheckoutScriptMatchesTossTypes(t *testing.T) {
	tsc := tscPath(t)
	if out, err := runTSC(t, tsc, "."); err != nil {
		t.Fatalf("tsc -p shared/pages: checkout.js does not match Toss's SDK declarations (%v):\n%s", err, out)
	}
}

// TestCheckoutScriptTypeCheckRefusesWrongRequests shows that the check above
// would catch a wrong request: each case edits a copy of checkout.js the way a
// mistake would, and tsc must refuse it, naming the offending value or field.
func TestCheckoutScriptTypeCheckRefusesWrongRequests(t *testing.T) {
	tsc := tscPath(t)
	globals, err := filepath.Abs(filepath.Join("assets", "globals.d.ts"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := filepath.Abs("tsconfig.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to string
		want           string // in tsc's report, besides the file and line
	}{
		{"lower-case language", `language: data.language`, `language: "en"`, `'"en"' is not assignable`},
		{"language Toss does not speak", `language: data.language`, `language: "DE"`, `'"DE"' is not assignable`},
		{"misspelled card field", `useInternationalCardOnly: true`, `useInternationalCardsOnly: true`, `'useInternationalCardsOnly' does not exist`},
		{"amount as a bare number", `amount: { currency: data.currency, value: data.amount }`, `amount: data.amount`, `'number' is not assignable`},
		{"unknown method", `method: "CARD"`, `method: "CREDIT_CARD"`, `"CREDIT_CARD"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := strings.Count(checkoutJS, tc.from); n != 1 {
				t.Fatalf("checkout.js has %q %d times, want once: update this case", tc.from, n)
			}
			dir := t.TempDir()
			script := filepath.Join(dir, "checkout.js")
			edited := strings.Replace(checkoutJS, tc.from, tc.to, 1)
			line := strings.Count(edited[:strings.Index(edited, tc.to)], "\n") + 1
			if err := os.WriteFile(script, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			// The real tsconfig, on the copy; globals.d.ts stays where it is, so
			// its import of the SDK resolves to this package's node_modules.
			cfg, err := json.Marshal(map[string]any{"extends": base, "files": []string{script, globals}})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "tsconfig.json"), cfg, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := runTSC(t, tsc, dir)
			if err == nil {
				t.Fatalf("tsc accepted checkout.js with %q in place of %q:\n%s", tc.to, tc.from, out)
			}
			for _, w := range []string{fmt.Sprintf("checkout.js(%d,", line), "error TS", tc.want} {
				if !strings.Contains(out, w) {
					t.Errorf("tsc's report lacks %q (the edit is on line %d):\n%s", w, line, out)
				}
			}
		})
	}
}
