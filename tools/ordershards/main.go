// Command ordershards gives every order in an orders table the attributes
// of the sharded indexes (orders.Backfill): the backfill step of README's
// "Moving a deployed stack to the sharded indexes". It scans the table,
// writes only orders whose shard attributes are missing or stale, each
// under a condition on the status and version it read, and can be run
// again at any time: a pass over a backfilled table writes nothing.
//
//	go run ./tools/ordershards -region ap-northeast-2 -table tossintl-prod-orders
//
// Credentials and the region come from the AWS SDK's standard chain, as
// the AWS CLI finds them (environment, AWS_PROFILE and the shared config
// and credentials files, SSO, instance or container roles); -region
// overrides the region. They need dynamodb:Scan and dynamodb:UpdateItem
// on the table. It exits 1 when
// orders changed under the pass (run it again) or on an error.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tossintl/backend/shared/orders"
)

func main() {
	table := flag.String("table", "", "the orders table (the stack's OrdersTableName output), required")
	segments := flag.Int("segments", 4, "Scan segments read in parallel")
	region := flag.String("region", "", "the table's region (default: the AWS SDK's, e.g. AWS_REGION or the profile's)")
	flag.Parse()
	if *table == "" || *segments < 1 || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var opts []func(*config.LoadOptions) error
	if *region != "" {
		opts = append(opts, config.WithRegion(*region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ordershards: AWS credentials:", err)
		os.Exit(1)
	}
	if cfg.Region == "" {
		fmt.Fprintln(os.Stderr, "ordershards: no AWS region: give -region or set AWS_REGION")
		os.Exit(2)
	}
	rep, err := orders.Backfill(ctx, dynamodb.NewFromConfig(cfg), *table, *segments)
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
