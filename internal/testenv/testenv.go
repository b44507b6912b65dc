// Package testenv decides what `go test -short` leaves out: the suites that
// start an emulator (DynamoDB Local, moto_server, aws-lambda-rie, Chromium or
// the local stack, which runs them all). Those take most of a full run's
// minutes; the rest of the tests are the fast inner loop.
//
// The start helpers call Skip before starting anything, so the choice and its
// message are made here, once. CI sets CI=true and runs everything: there,
// -short fails the suite it would have skipped instead of skipping it, and a
// missing emulator fails as it always does (nothing is skipped because a
// dependency is absent, with or without -short).
package testenv

import (
	"flag"
	"os"
	"testing"
)

// Short reports whether -short was given. It parses the test flags if the
// caller (a TestMain, before m.Run) has not yet.
func Short() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	return testing.Short()
}

// Skip skips t under -short, naming what it would have started; under
// CI=true it fails t instead, so a CI run never passes with a suite left out.
func Skip(t testing.TB, what string) {
	t.Helper()
	if !Short() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("-short under CI=true would skip a test that needs %s: CI runs every suite, without -short", what)
	}
	t.Skipf("-short skips tests that need %s; go test without -short runs them", what)
}
