// Command ordershards gives every order in an orders table the attributes
// of the sharded indexes (orders.Backfill): the backfill step of README's
// "Moving a deployed stack to the sharded indexes". It scans the table,
// writes only orders whose shard attributes are missing or stale, each
// under a condition on the status and version it read, and can be run
// again at any time: a pass over a backfilled table writes nothing.
//
//	AWS_REGION=ap-northeast-2 go run ./tools/ordershards -table tossintl-prod-orders
//
// Credentials come from the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; for a profile:
// eval "$(aws configure export-credentials --format env)"), and need
// dynamodb:Scan and dynamodb:UpdateItem on the table. It exits 1 when
// orders changed under the pass (run it again) or on an error.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/tossintl/backend/shared/awsclient"
	"github.com/tossintl/backend/shared/orders"
)

func main() {
	table := flag.String("table", "", "the orders table (the stack's OrdersTableName output), required")
	segments := flag.Int("segments", 4, "Scan segments read in parallel")
	flag.Parse()
	if *table == "" || *segments < 1 || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := orders.Backfill(ctx, awsclient.FromEnv().DynamoDB(), *table, *segments)
	fmt.Printf("scanned %d orders: %d given their shard attributes, %d already had them, %d changed during the pass\n",
		rep.Scanned, rep.Updated, rep.Current, rep.Moved)
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "ordershards:", err)
		os.Exit(1)
	case rep.Moved > 0:
		fmt.Fprintln(os.Stderr, "ordershards: some orders changed during the pass: run it again")
		os.Exit(1)
	}
}
