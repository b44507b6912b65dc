# Build, test and run the Toss international card backend.
# SAM calls the build-<LogicalId> targets (BuildMethod: makefile) with ARTIFACTS_DIR set.

GO        ?= go
GOFLAGS   ?= -buildvcs=false
PKGS      := ./...
TEST_TIMEOUT ?= 20m

.PHONY: test fmt-check vet unit moto-check tidy-check sandbox

## test: everything CI runs: gofmt check, go vet, go test -race (moto_server integration included)
test: fmt-check vet moto-check
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

moto-check:
	@command -v moto_server >/dev/null 2>&1 || { echo "moto_server is required for the integration tests: pip install 'moto[server]'"; exit 1; }

## sandbox: run the Toss sandbox alone on TOSS_SANDBOX_ADDR (default 127.0.0.1:4010)
sandbox:
	$(GO) run ./tools/tosssandbox
