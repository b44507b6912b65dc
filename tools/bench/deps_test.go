package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// heavyPackages must stay out of every function's bootstrap: each was
// measured to cost what the size and cold-start budgets cannot carry.
var heavyPackages = map[string]string{
	// Shared-config, SSO, STS and IMDS loading: Lambda's environment gives
	// region and credentials.
	"github.com/aws/aws-sdk-go-v2/config": "shared/awsclient builds clients from the environment",
}

// TestFunctionsLinkNoHeavyPackages lists each function's dependencies as
// `make build-<LogicalId>` builds it (with -tags lambda.norpc).
func TestFunctionsLinkNoHeavyPackages(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fns, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) == 0 {
		t.Fatal("no functions found")
	}
	args := []string{"list", "-deps", "-tags", "lambda.norpc", "-f", "{{.ImportPath}}"}
	for _, f := range fns {
		args = append(args, "./functions/"+f.Name())
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list gave %d packages: %q", len(deps), deps)
	}
	for _, d := range deps {
		if why, ok := heavyPackages[d]; ok {
			t.Errorf("a function links %s: keep it out (%s); find the importer with: go list -deps -tags lambda.norpc -f '{{.ImportPath}}: {{.Imports}}' ./functions/... | grep %s", d, why, d)
		}
	}
}
