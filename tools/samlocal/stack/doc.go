// Package stack runs this project's SAM template on one machine, as
// `sam local` would, without Docker or the SAM CLI. The command
// tools/samlocal drives it (build, invoke, start-api, up); the product's
// end-to-end suites (package e2e) and make bench drive it through Start.
// It knows no product: what is the product's (fixtures, what its logs must
// mask) comes in through Options and the caller's own code.
//
// It reads the template through the AWS SAM translator (translate.py, run
// by python3 with aws-sam-translator), as the SAM CLI does: the template as
// written for resources and events, the translator's CloudFormation for
// the functions (Globals merged in) and their roles (policy templates
// expanded). What it does, from template.yaml alone (no hand-kept lists):
//
//   - Builds each AWS::Serverless::Function with
//     `make build-<LogicalId> ARTIFACTS_DIR=<dir>/<LogicalId> GOARCH_LAMBDA=<host arch>`
//     (BuildMethod: makefile, as sam build runs it), skipping functions whose
//     bootstrap is newer than every Go file, go.mod and Makefile.
//   - Starts AWS's DynamoDB Local (package tools/dynamodblocal) and
//     moto_server (Secrets Manager) side by side, creates every
//     AWS::DynamoDB::Table in DynamoDB Local through the SDK (key schema,
//     attributes, indexes, billing mode, TTL, stream; not point-in-time
//     recovery, which DynamoDB Local does not serve) and every
//     AWS::SecretsManager::Secret in moto; the keys secret gets Options.Keys.
//   - Puts one AWS proxy (package tools/awsproxy) in front of both: every
//     function's AWS_ENDPOINT_URL is an endpoint of it, DynamoDB and
//     DynamoDB Streams calls go to DynamoDB Local, the rest to moto,
//     PutEvents is served by the stack's own EventBridge (bus.go), and
//     Options.AWSProxy puts a hook of the caller's in each function's way.
//   - Feeds the tables' streams to their functions as Lambda's event
//     source mapping does (streams.go, RunStreams), from DynamoDB Local's
//     own Streams API.
//   - Serves the Toss sandbox (tools/tosssandbox/tosstest) in-process, unless
//     Options.TossAPIBaseURL points elsewhere.
//   - Runs each function's real bootstrap under AWS's Lambda Runtime
//     Interface Emulator (aws-lambda-rie, pinned in go.mod as a tool),
//     pooled by package lambdarun: warm environments per function, a
//     crashed one replaced, the template's Timeout and MemorySize, with the environment
//     below, and logs each line prefixed with the function's logical id.
//   - Serves the HttpApi events as API Gateway's HTTP API does with payload
//     format 2.0 (see NewEvent, WriteResponse and Router): unknown routes
//     404 {"message":"Not Found"}, a failed invocation 500
//     {"message":"Internal Server Error"}, no answer within 30 s 503.
//
// A function's environment: Globals.Function.Environment.Variables merged
// with its own, intrinsic functions resolved locally (Resolver, on
// goformation's intrinsics: !Ref of a parameter is its Default or an
// override, of a table its TableName, of a secret its Name; !GetAtt X.Arn a
// fake but well-formed ARN; !Sub, !If, !Join, !Select, !Split, !Equals,
// !Not, !And, !Or), then what the local
// stack provides (AWS_ENDPOINT_URL, test credentials, AWS_REGION,
// TOSS_API_BASE_URL and TOSS_SDK_URL of the sandbox), then env.json in SAM's
// shape. Differences from SAM, on purpose: bootstraps are built for and run
// on this machine's architecture; a function's own env.json section may add
// variables the template does not declare (for TOSS_TEST_CODE drills);
// "Parameters" keys that name template parameters override them.
//
// Least privilege, checked locally: AWSRecorder's hook, as
// Options.AWSProxy, records each function's AWS calls as IAM names them,
// and Resolver.Allows holds each against the function's Policies in the
// template, policy templates expanded.
//
// The local stack only ever holds test keys: Start refuses a Toss key that
// is not test_sk_/test_ck_, and Keys never prints its values.
package stack
