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
	// By-name method lookup makes the linker keep every exported method of
	// every type reaching an interface: about 2 MiB per page function.
	"html/template": "the pages are written by shared/pages' markup writers",
	"text/template": "the pages are written by shared/pages' markup writers",
	// The SDK's schema-based serializers (service/dynamodb v1.69.0 and
	// service/secretsmanager v1.50.0 on): 0.6 ms of package init on every
	// cold start and about 230 KB, with three serializer bug fixes in their
	// first two months. go.mod pins the last releases before them.
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas":       "go.mod pins service/dynamodb to v1.68.0",
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/schemas": "go.mod pins service/secretsmanager to v1.49.0",
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
