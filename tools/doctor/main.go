// Command doctor tells a deployer whether a stack can take a payment,
// without charging anyone: make doctor STACK=<name>, make doctor API_URL=…,
// or plain make doctor against a running make local. The checks are in
// package check.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tossintl/backend/tools/doctor/check"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := check.Main(ctx, os.Args[1:], check.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
