// Command samlocal runs this project's template.yaml on one machine, as
// `sam local` would, without Docker or the SAM CLI:
//
//	go run ./tools/samlocal build [LogicalId…]
//	go run ./tools/samlocal invoke GetOrderFunction -e events/get-order.json [-n env.json]
//	go run ./tools/samlocal start-api [-p 3000] [-n env.json]
//	go run ./tools/samlocal up          # what `make local` runs
//
// The work happens in package stack; see its documentation.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tossintl/backend/tools/samlocal/stack"
)

func main() {
	// SIGINT and SIGTERM end ctx; the command then stops everything it
	// started before returning.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := stack.Main(ctx, os.Args[1:], stack.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
