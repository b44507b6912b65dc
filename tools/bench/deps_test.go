package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// heavyPackages must stay out of every function's bootstrap: each was
// measured to cost at least 0.5 MiB or 1 ms of init in a function.
var heavyPackages = map[string]string{
	// Shared-config, SSO, STS, sign-in and IMDS loading, which Lambda's
	// environment makes useless: it gives region and credentials. Measured
	// 2026-11-29 (go1.26.8, config v1.33.18 on core v1.48.0), building the
	// clients with config.LoadDefaultConfig instead of shared/awsclient:
	// +1,966,080 to 2,031,616 bytes on every function (linux/arm64,
	// -tags lambda.norpc -ldflags "-s -w" -trimpath; CheckoutFunction
	// 8,192,162 -> 10,223,778), 18 more packages to initialise, +0.8 ms of
	// package init (CheckoutFunction, GODEBUG=inittrace=1, median of 41 runs
	// on an amd64 build host: 1.57 -> 2.38 ms) and 0.13 ms for the
	// LoadDefaultConfig call. The size is what keeps this guard.
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
