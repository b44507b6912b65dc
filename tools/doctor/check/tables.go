package check

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tossintl/backend/shared/idempotency"
	"github.com/tossintl/backend/shared/orders"
)

// table is one table to check and what the template gives it.
type table struct {
	label   string // "orders table"
	name    string
	ttlAttr string // the attribute the code writes expiry times to
	pitr    bool   // point-in-time recovery must be on
}

// checkTables checks each table exists and is ACTIVE, that TTL is on the
// attribute the code writes (else expired orders and Idempotency-Keys are
// never deleted), and that the orders table, which holds the record of
// every payment, has point-in-time recovery.
func checkTables(ctx context.Context, t Target) []Result {
	var out []Result
	for _, tb := range []table{
		{"orders table", t.OrdersTable, orders.TTLAttribute, true},
		{"idempotency table", t.IdempotencyTable, idempotency.TTLAttribute, false},
	} {
		out = append(out, checkTable(ctx, t, tb)...)
	}
	return out
}

func checkTable(ctx context.Context, t Target, tb table) []Result {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	ttlName, pitrName := tb.label+" TTL", tb.label+" point-in-time recovery"
	skip := func(reason string) []Result {
		r := []Result{{Name: ttlName, Status: Skip, Detail: reason}}
		if tb.pitr {
			r = append(r, Result{Name: pitrName, Status: Skip, Detail: reason})
		}
		return r
	}
	d, err := t.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tb.name)})
	var nf *dbtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return append([]Result{{Name: tb.label, Status: Fail, Detail: tb.name + " does not exist", Fix: "deploy the stack (sam deploy), or name the stack's table"}},
			skip("not checked: no table")...)
	case err != nil:
		return append([]Result{{Name: tb.label, Status: Fail, Detail: fmt.Sprintf("%s cannot be described: %v", tb.name, err),
			Fix: "these credentials need dynamodb:DescribeTable, DescribeTimeToLive and DescribeContinuousBackups"}}, skip("not checked: no table")...)
	}
	var out []Result
	if st := d.Table.TableStatus; st != dbtypes.TableStatusActive {
		out = append(out, Result{Name: tb.label, Status: Fail, Detail: fmt.Sprintf("%s is %s", tb.name, st), Fix: "wait until it is ACTIVE"})
	} else {
		out = append(out, Result{Name: tb.label, Status: Pass, Detail: tb.name + " is ACTIVE"})
	}

	enableTTL := fmt.Sprintf("turn TTL on for attribute %q: aws dynamodb update-time-to-live --table-name %s --time-to-live-specification Enabled=true,AttributeName=%s",
		tb.ttlAttr, tb.name, tb.ttlAttr)
	if ttl, err := t.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(tb.name)}); err != nil {
		out = append(out, Result{Name: ttlName, Status: Fail, Detail: fmt.Sprintf("cannot be read: %v", err), Fix: "these credentials need dynamodb:DescribeTimeToLive"})
	} else {
		desc := ttl.TimeToLiveDescription
		if desc == nil {
			desc = &dbtypes.TimeToLiveDescription{TimeToLiveStatus: dbtypes.TimeToLiveStatusDisabled}
		}
		attr := aws.ToString(desc.AttributeName)
		on := desc.TimeToLiveStatus == dbtypes.TimeToLiveStatusEnabled || desc.TimeToLiveStatus == dbtypes.TimeToLiveStatusEnabling
		switch {
		case on && attr == tb.ttlAttr:
			out = append(out, Result{Name: ttlName, Status: Pass, Detail: fmt.Sprintf("%s on attribute %q", desc.TimeToLiveStatus, attr)})
		case on:
			out = append(out, Result{Name: ttlName, Status: Fail, Detail: fmt.Sprintf("TTL is on attribute %q, the code writes %q", attr, tb.ttlAttr),
				Fix: "turn TTL off, then on for " + fmt.Sprintf("%q", tb.ttlAttr) + " (DynamoDB allows one change an hour)"})
		default:
			out = append(out, Result{Name: ttlName, Status: Fail, Detail: fmt.Sprintf("TTL is off (%s): expired rows are never deleted", desc.TimeToLiveStatus), Fix: enableTTL})
		}
	}

	switch {
	case tb.pitr && t.PITRNote != "":
		out = append(out, Result{Name: pitrName, Status: Skip, Detail: t.PITRNote})
	case tb.pitr:
		b, err := t.DynamoDB.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(tb.name)})
		var status dbtypes.PointInTimeRecoveryStatus
		if err == nil && b.ContinuousBackupsDescription != nil && b.ContinuousBackupsDescription.PointInTimeRecoveryDescription != nil {
			status = b.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus
		}
		switch {
		case err != nil:
			out = append(out, Result{Name: pitrName, Status: Fail, Detail: fmt.Sprintf("cannot be read: %v", err), Fix: "these credentials need dynamodb:DescribeContinuousBackups"})
		case status == dbtypes.PointInTimeRecoveryStatusEnabled:
			out = append(out, Result{Name: pitrName, Status: Pass, Detail: "on"})
		default:
			out = append(out, Result{Name: pitrName, Status: Fail, Detail: "off: a bad write to the payments' record could not be undone",
				Fix: "aws dynamodb update-continuous-backups --table-name " + tb.name + " --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"})
		}
	}
	return out
}

// checkSchedule checks the reconciler's EventBridge rule is enabled:
// without it, confirms whose outcome was unknown stay CONFIRMING and unpaid
// orders never expire.
func checkSchedule(ctx context.Context, t Target) Result {
	const name = "reconciler schedule"
	if t.Events == nil || t.ScheduleRule == "" {
		return Result{Name: name, Status: Skip, Detail: t.ScheduleNote}
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	r, err := t.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(t.ScheduleRule)})
	var nf *ebtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return Result{Name: name, Status: Fail, Detail: "rule " + t.ScheduleRule + " does not exist", Fix: "deploy the stack (sam deploy)"}
	case err != nil:
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("rule %s cannot be described: %v", t.ScheduleRule, err), Fix: "these credentials need events:DescribeRule"}
	case r.State != ebtypes.RuleStateEnabled:
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("rule %s is %s: lapsed confirms are never settled", t.ScheduleRule, r.State),
			Fix: "aws events enable-rule --name " + t.ScheduleRule}
	}
	return Result{Name: name, Status: Pass, Detail: fmt.Sprintf("rule %s: %s, %s", t.ScheduleRule, aws.ToString(r.ScheduleExpression), r.State)}
}
