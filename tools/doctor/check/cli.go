package check

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/tossintl/backend/tools/samlocal/stack"
)

// Env is where Main reads settings from and writes to.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

const usage = `usage: doctor [flags]

Checks whether a stack can take a payment, without making or cancelling one.
One line per check; exits 0 only when none fails.

  doctor -stack <name> [-region <r>]   a deployed stack, found through CloudFormation
  doctor -api-url <ApiUrl> [-stage dev | -orders-table … -idempotency-table …
         -secret … -rule … -payment-mode test|live -toss-api-url …] [-region <r>]
  doctor [-local .aws-sam/local/stack.json]   the running make local

AWS calls use the standard credential chain (AWS_PROFILE, AWS_REGION, …).
environment:
  MERCHANT_API_KEY   check this merchant key (default: the keys secret's own)
  LOCAL_API_PORT     the local stack's API port (default: as it advertises)

flags:
`

// Main runs the doctor and returns the process's exit code: 0 when every
// check passed, 1 when one failed or the stack could not be found, 2 for
// bad flags.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { fmt.Fprint(env.Stderr, usage); fs.PrintDefaults() }
	var (
		stackName, region, apiURL, local string
		names                            Names
	)
	fs.StringVar(&stackName, "stack", "", "deployed stack's name (make doctor STACK=…)")
	fs.StringVar(&region, "region", "", "AWS region (default: the credential chain's)")
	fs.StringVar(&apiURL, "api-url", "", "the stack's ApiUrl, to name the rest by hand (make doctor API_URL=…)")
	fs.StringVar(&names.Stage, "stage", "dev", "with -api-url: the Stage the names below default from")
	fs.StringVar(&names.OrdersTable, "orders-table", "", "with -api-url: orders table (default tossintl-<stage>-orders)")
	fs.StringVar(&names.IdempotencyTable, "idempotency-table", "", "with -api-url: idempotency table (default tossintl-<stage>-idempotency)")
	fs.StringVar(&names.KeysSecret, "secret", "", "with -api-url: keys secret name or ARN (default tossintl/<stage>/keys)")
	fs.StringVar(&names.ScheduleRule, "rule", "", "with -api-url: the reconciler's EventBridge rule (none: not checked)")
	fs.StringVar(&names.PaymentMode, "payment-mode", "test", "with -api-url: the stack's PaymentMode")
	fs.StringVar(&names.TossAPIBaseURL, "toss-api-url", "", "with -api-url: the stack's TossApiBaseUrl (default Toss's)")
	fs.StringVar(&local, "local", filepath.Join(".aws-sam", "local", stack.AdvertFile), "what a running make local advertises")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "doctor: unexpected arguments %q\n", fs.Args())
		return 2
	}

	t, failed := resolve(ctx, env, stackName, region, apiURL, local, names)
	if failed != nil {
		fmt.Fprintln(env.Stdout, Line(*failed))
		return 1
	}
	t.MerchantAPIKey = env.Getenv("MERCHANT_API_KEY")
	fmt.Fprintf(env.Stdout, "doctor: %s\n", t.Label)
	results := Run(ctx, t)
	Print(env.Stdout, results)
	if Failed(results) {
		return 1
	}
	return 0
}

// resolve builds the target the flags name; a failure comes back as the
// report's one failing line.
func resolve(ctx context.Context, env Env, stackName, region, apiURL, local string, names Names) (Target, *Result) {
	if stackName == "" && apiURL == "" {
		a, err := stack.ReadAdvert(local)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return Target{}, &Result{Name: "local stack", Status: Fail, Detail: "nothing at " + local + ": make local is not running here",
				Fix: "start it (make local), or check a deployed stack: make doctor STACK=<stack name>"}
		case err != nil:
			return Target{}, &Result{Name: "local stack", Status: Fail, Detail: err.Error(), Fix: "restart make local"}
		}
		return FromAdvert(a, env.Getenv("LOCAL_API_PORT")), nil
	}

	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return Target{}, &Result{Name: "AWS credentials", Status: Fail, Detail: err.Error(), Fix: "configure the AWS CLI (aws configure) or set AWS_PROFILE"}
	}
	if cfg.Region == "" {
		return Target{}, &Result{Name: "AWS region", Status: Fail, Detail: "none configured", Fix: "give REGION=… (or set AWS_REGION)"}
	}
	if stackName != "" {
		t, err := FromStack(ctx, cfg, stackName)
		if err != nil {
			return Target{}, &Result{Name: "stack " + stackName, Status: Fail, Detail: err.Error(),
				Fix: "check the name and region (aws cloudformation describe-stacks --stack-name " + stackName + " --region " + cfg.Region + ")"}
		}
		return t, nil
	}
	t, err := FromFlags(cfg, apiURL, names)
	if err != nil {
		return Target{}, &Result{Name: "flags", Status: Fail, Detail: err.Error(), Fix: "doctor -h lists them"}
	}
	return t, nil
}
