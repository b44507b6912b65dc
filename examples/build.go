// Package examples holds a merchant's script against this API
// (merchant.ts), typed by openapi-typescript from docs/openapi.yaml, and
// Build, which generates those types and compiles the script with the
// pinned npm packages (package.json, package-lock.json: npm ci --prefix
// examples). Its tests type-check the script and lint the document; the
// end-to-end suite runs the script against the local stack.
package examples

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Install is what installs the pinned packages.
const Install = "npm ci --prefix examples (from the repository root; make test does it)"

// Dir is this folder.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Bin is one of the pinned packages' commands. A missing or stale install
// is an error that says how to fix it: nothing that needs these packages
// is ever skipped for want of them.
func Bin(name string) (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("node is required (install Node.js with npm, then %s): %w", Install, err)
	}
	var manifest struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	b, err := os.ReadFile(filepath.Join(Dir(), "package.json"))
	if err != nil {
		return "", fmt.Errorf("read package.json: %w", err)
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		return "", fmt.Errorf("package.json: %w", err)
	}
	for pkg, want := range manifest.DevDependencies {
		var installed struct {
			Version string `json:"version"`
		}
		b, err := os.ReadFile(filepath.Join(Dir(), "node_modules", filepath.FromSlash(pkg), "package.json"))
		if err != nil {
			return "", fmt.Errorf("%s is not installed: run %s: %w", pkg, Install, err)
		}
		if err := json.Unmarshal(b, &installed); err != nil || installed.Version != want {
			return "", fmt.Errorf("%s %s is installed, package.json pins %s: run %s", pkg, installed.Version, want, Install)
		}
	}
	bin := filepath.Join(Dir(), "node_modules", ".bin", name)
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s is missing from examples/node_modules/.bin: run %s: %w", name, Install, err)
	}
	return bin, nil
}

// ErrTypeCheck is a script that does not type-check against the document.
var ErrTypeCheck = errors.New("the merchant example does not type-check against docs/openapi.yaml")

// Build generates the types from the OpenAPI document at doc and compiles
// script (a copy of merchant.ts, or an edit of it) in dir, a directory of
// the caller's (so that concurrent builds never share files). It returns
// the compiled script for node, or ErrTypeCheck with tsc's report.
func Build(dir, doc, script string) (string, error) {
	gen, err := Bin("openapi-typescript")
	if err != nil {
		return "", err
	}
	tsc, err := Bin("tsc")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "generated"), 0o755); err != nil {
		return "", fmt.Errorf("build dir: %w", err)
	}
	if out, err := exec.Command(gen, doc, "-o", filepath.Join(dir, "generated", "api.d.ts")).CombinedOutput(); err != nil {
		return "", fmt.Errorf("openapi-typescript %s: %w\n%s", doc, err, out)
	}
	for name, from := range map[string]string{"merchant.ts": script, "package.json": filepath.Join(Dir(), "package.json")} {
		b, err := os.ReadFile(from)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", from, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", name, err)
		}
	}
	// The real tsconfig, its files resolved in dir; @types/node from here.
	cfg, err := json.Marshal(map[string]any{
		"extends":         filepath.Join(Dir(), "tsconfig.json"),
		"compilerOptions": map[string]any{"outDir": filepath.Join(dir, "out"), "typeRoots": []string{filepath.Join(Dir(), "node_modules", "@types")}},
		"files":           []string{filepath.Join(dir, "merchant.ts"), filepath.Join(dir, "generated", "api.d.ts")},
	})
	if err != nil {
		return "", fmt.Errorf("tsconfig: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tsconfig.json"), cfg, 0o644); err != nil {
		return "", fmt.Errorf("write tsconfig.json: %w", err)
	}
	out, err := exec.Command(tsc, "-p", dir, "--pretty", "false").CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return "", fmt.Errorf("%w:\n%s", ErrTypeCheck, out)
	case err != nil:
		return "", fmt.Errorf("tsc: %w", err)
	}
	return filepath.Join(dir, "out", "merchant.js"), nil
}
