// Command samlocal runs this project's template.yaml on one machine, as
// `sam local` would, without Docker or the SAM CLI:
//
//	go run ./tools/samlocal build [LogicalId…]
//	go run ./tools/samlocal invoke GetOrderFunction -e events/get-order.json [-n env.json]
//	go run ./tools/samlocal start-api [-p 3000] [-n env.json]
//	go run ./tools/samlocal up          # what `make local` runs
//
// Package stack runs the template; package tossintl adds this product's
// sample-event orders, demo order and log masking. It reads the template
// through the AWS SAM translator: python3 with aws-sam-translator.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tossintl/backend/tools/samlocal/stack"
	"github.com/tossintl/backend/tools/samlocal/tossintl"
)

func main() {
	// SIGINT and SIGTERM end ctx; the command then stops everything it
	// started before returning.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// Env is where run reads settings from and writes to.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

const usage = `usage: samlocal <command> [flags]

Runs template.yaml on this machine, as the SAM CLI's local commands do,
without Docker: real bootstraps under a Lambda Runtime API emulator,
AWS's DynamoDB Local, moto_server for Secrets Manager, the Toss sandbox.

commands:
  build [LogicalId…]                      make build-<LogicalId> for this machine
  invoke <LogicalId> [-e event.json] [-n env.json]
                                          run one event; the result on stdout
  start-api [-p port] [-n env.json]       serve the HttpApi routes
  up [-p port] [-n env.json]              everything, plus a demo order (make local)

common flags: -t template.yaml, -b build dir (default .aws-sam/local)

environment:
  LOCAL_API_PORT      API port (default 3000)
  TOSS_SANDBOX_ADDR   sandbox address for start-api/up (default 127.0.0.1:4010)
  LOCAL_SCHEDULE_EVERY  up runs the template's Schedule events on their rate,
                      or on this faster one (for example 30s)
  TOSS_API_BASE_URL   use this Toss API instead of the in-process sandbox
  TOSS_SDK_URL        the SDK script that goes with TOSS_API_BASE_URL
  TOSS_SECRET_KEY, TOSS_CLIENT_KEY, MERCHANT_API_KEY
                      the keys secret's contents (test keys only; defaults:
                      the sandbox's test keys and ` + stack.DefaultMerchantAPIKey + `)
`

// run runs a command and returns the process exit code. ctx ending (on
// SIGINT or SIGTERM) stops whatever the command started.
func run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "build":
		err = cmdBuild(ctx, rest, env)
	case "invoke":
		err = cmdInvoke(ctx, rest, env)
	case "start-api":
		err = cmdServe(ctx, rest, env, false)
	case "up":
		err = cmdServe(ctx, rest, env, true)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(env.Stderr, "samlocal: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ex exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ex):
		return int(ex)
	case errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintln(env.Stderr, "samlocal:", err)
		if errors.Is(err, syscall.EADDRINUSE) {
			fmt.Fprintln(env.Stderr, "samlocal: is another stack (or make sandbox) running? LOCAL_API_PORT and TOSS_SANDBOX_ADDR choose other ports")
		}
		return 1
	}
}

// exitCode ends a command with a code and nothing more to say.
type exitCode int

func (e exitCode) Error() string { return "exit " + strconv.Itoa(int(e)) }

type commonFlags struct {
	template, buildDir, envFile string
}

func newFlags(name string, env Env, c *commonFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.StringVar(&c.template, "t", "template.yaml", "SAM template")
	fs.StringVar(&c.buildDir, "b", "", "build directory (default <template dir>/.aws-sam/local)")
	return fs
}

// parseInterspersed parses flags before and after positional arguments
// (`invoke Fn -e x.json` and `invoke -e x.json Fn`), as the SAM CLI allows.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (c commonFlags) outputDir(t *stack.Template) string {
	if c.buildDir != "" {
		return c.buildDir
	}
	return filepath.Join(t.Dir, ".aws-sam", "local")
}

func cmdBuild(ctx context.Context, args []string, env Env) error {
	var c commonFlags
	fs := newFlags("build", env, &c)
	ids, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	t, err := stack.LoadTemplate(c.template)
	if err != nil {
		return err
	}
	dir := c.outputDir(t)
	paths, err := stack.Build(ctx, t, stack.BuildOptions{Dir: dir, Functions: ids, Force: true, Output: env.Stderr})
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(paths)) {
		fmt.Fprintln(env.Stdout, paths[id])
	}
	return nil
}

// stackOptions are the options every running command shares, from flags
// and the environment.
func stackOptions(c commonFlags, env Env) stack.Options {
	return stack.Options{
		Template:       c.template,
		BuildDir:       c.buildDir,
		EnvFile:        c.envFile,
		TossAPIBaseURL: env.Getenv("TOSS_API_BASE_URL"),
		TossSDKURL:     env.Getenv("TOSS_SDK_URL"),
		Keys: stack.Keys{
			TossSecretKey:  env.Getenv("TOSS_SECRET_KEY"),
			TossClientKey:  env.Getenv("TOSS_CLIENT_KEY"),
			MerchantAPIKey: env.Getenv("MERCHANT_API_KEY"),
		},
		Logs:         env.Stderr,
		EventsURL:    env.Getenv("LOCAL_EVENTS_URL"),
		RedactBusLog: tossintl.MaskPaymentKeys,
	}
}

func cmdInvoke(ctx context.Context, args []string, env Env) error {
	var c commonFlags
	var eventPath string
	fs := newFlags("invoke", env, &c)
	fs.StringVar(&eventPath, "e", "", `event file ("-" reads stdin; none sends {})`)
	fs.StringVar(&c.envFile, "n", "", "env.json with environment overrides")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("invoke takes one function's logical id, e.g. invoke GetOrderFunction -e events/get-order.json")
	}
	event := []byte("{}")
	switch eventPath {
	case "":
	case "-":
		if event, err = io.ReadAll(env.Stdin); err != nil {
			return fmt.Errorf("read event from stdin: %w", err)
		}
	default:
		if event, err = os.ReadFile(eventPath); err != nil {
			return fmt.Errorf("read event: %w", err)
		}
	}
	if !json.Valid(event) {
		return fmt.Errorf("event %s is not JSON", eventPath)
	}
	opts := stackOptions(c, env)
	opts.Functions, opts.NoAPI = pos, true
	s, err := stack.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := tossintl.SeedEvents(ctx, s); err != nil {
		return err
	}
	res, err := s.Invoke(ctx, pos[0], event)
	if err != nil {
		return err
	}
	if res.Error != nil {
		b, _ := json.Marshal(res.Error)
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return exitCode(1)
	}
	fmt.Fprintf(env.Stdout, "%s\n", bytes.TrimRight(res.Payload, "\n"))
	return nil
}

// cmdServe is start-api, and with demo, up.
func cmdServe(ctx context.Context, args []string, env Env, demo bool) error {
	var c commonFlags
	name := "start-api"
	if demo {
		name = "up"
	}
	fs := newFlags(name, env, &c)
	port := 3000
	if p := env.Getenv("LOCAL_API_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("LOCAL_API_PORT=%q is not a port", p)
		}
		port = n
	}
	fs.IntVar(&port, "p", port, "API port (env LOCAL_API_PORT; 0 picks a free one)")
	fs.StringVar(&c.envFile, "n", "", "env.json with environment overrides")
	if pos, err := parseInterspersed(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("%s takes no arguments, got %s", name, strings.Join(pos, " "))
	}
	opts := stackOptions(c, env)
	opts.Port = port
	opts.SandboxAddr = env.Getenv("TOSS_SANDBOX_ADDR")
	if opts.SandboxAddr == "" {
		opts.SandboxAddr = "127.0.0.1:4010"
	}
	s, err := stack.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()

	out := env.Stdout
	for _, r := range s.Routes {
		fmt.Fprintf(out, "Mounted %-24s %s%s [%s]\n", r.Function, s.URL, strings.Replace(r.Path, "$default", "/*", 1), r.Method)
	}
	fmt.Fprintf(out, "\nAPI:           %s\n", s.URL)
	if s.Sandbox != nil {
		fmt.Fprintf(out, "Toss sandbox:  %s (API base; SDK at %s/v2/standard)\n", s.SandboxURL, s.SandboxURL)
	} else {
		fmt.Fprintf(out, "Toss API:      %s (from TOSS_API_BASE_URL)\n", s.SandboxURL)
	}
	fmt.Fprintf(out, "AWS endpoint:  %s (DynamoDB Local %s with its streams, Secrets Manager on moto_server %s)\n", s.AWSURL, s.DynamoDBURL, s.MotoURL)
	// make doctor finds this stack through the advert.
	advert, advertPath := s.Advert(), filepath.Join(c.outputDir(s.Template), stack.AdvertFile)
	if err := stack.WriteAdvert(advertPath, advert); err != nil {
		return err
	}
	defer func() { _ = stack.RemoveAdvert(advertPath, advert) }()
	if demo {
		every, err := scheduleOverride(env)
		if err != nil {
			return err
		}
		schedules, err := s.RunSchedules(ctx, every)
		if err != nil {
			return err
		}
		for _, sc := range schedules {
			fmt.Fprintf(out, "Schedule:      %s every %s (%s)\n", sc.Function, sc.Every, sc.Event)
		}
		streams, err := s.RunStreams(ctx, 0)
		if err != nil {
			return err
		}
		for _, se := range streams {
			fmt.Fprintf(out, "Stream:        %s → %s (%s); events put on the bus are logged as [EventBridge] lines\n", se.Table, se.Function, se.Event)
		}
		if opts.EventsURL != "" {
			fmt.Fprintf(out, "Events to:     %s (LOCAL_EVENTS_URL)\n", opts.EventsURL)
		}
	}
	keyShown, keyInCurl := s.Keys.MerchantAPIKey, s.Keys.MerchantAPIKey
	if env.Getenv("MERCHANT_API_KEY") != "" {
		// A key of the developer's own stays out of the terminal.
		keyShown, keyInCurl = "from MERCHANT_API_KEY (not shown)", "$MERCHANT_API_KEY"
	}
	fmt.Fprintf(out, "Merchant key:  %s\n", keyShown)
	if demo {
		if o, err := tossintl.CreateDemoOrder(ctx, s.URL, s.Keys.MerchantAPIKey); err != nil {
			fmt.Fprintf(out, "Demo order:    not created: %v\n", err)
		} else {
			fmt.Fprintf(out, "Demo order:    %s\n", o.ID)
			fmt.Fprintf(out, "Checkout:      %s\n", o.CheckoutURL)
			fmt.Fprintf(out, "\nTry:\n  curl -s -u '%s:' %s/orders/%s\n", keyInCurl, s.URL, o.ID)
		}
	}
	fmt.Fprintf(out, "\nCreate an order:\n  curl -s -u '%s:' -H 'Content-Type: application/json' -H \"Idempotency-Key: $(date +%%s)\" \\\n    -d '{\"orderName\":\"Tea set\",\"amount\":39000}' %s/orders\n", keyInCurl, s.URL)
	fmt.Fprintf(out, "\nReady. Press Ctrl-C to stop.\n")

	<-ctx.Done()
	fmt.Fprintln(env.Stderr, "samlocal: stopping")
	return s.Close()
}

// scheduleOverride reads LOCAL_SCHEDULE_EVERY: a faster local rate for the
// template's Schedule events (for example 30s), so lapsed confirms and
// overdue orders settle while a developer watches.
func scheduleOverride(env Env) (time.Duration, error) {
	v := env.Getenv("LOCAL_SCHEDULE_EVERY")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("LOCAL_SCHEDULE_EVERY=%q: want a duration of at least 1s, such as 30s", v)
	}
	return d, nil
}
