// Package orderstream handles the orders table's DynamoDB stream, as Lambda
// delivers it: each record's images become orders (through the orders
// package's own item mapping), each change becomes at most one order event
// (package orderevents), and the events of a batch go to a Publisher. What
// could not be read or published is reported back as batch item failures
// (ReportBatchItemFailures), so Lambda retries from there and the rest of
// the batch is not lost.
package orderstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tossintl/backend/shared/obs"
	"github.com/tossintl/backend/shared/orderevents"
	"github.com/tossintl/backend/shared/orders"
)

// Publisher puts events on the bus: one error per event, nil when it was put.
type Publisher interface {
	Publish(ctx context.Context, events []orderevents.Event) []error
}

// Handler is the stream function's handler.
type Handler struct {
	Bus     Publisher
	Log     *slog.Logger
	Metrics *obs.Metrics
}

// Handle publishes the events of a batch of stream records. A record that
// cannot be read (a poison record: an item the orders mapping refuses) or
// whose event was not put is reported as a batch item failure; the others
// are published all the same. Lambda then retries from the earliest
// failure, so records after it may be published twice: their events keep
// their IDs, which is how consumers drop the repeats.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	fail := func(r events.DynamoDBEventRecord) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
	}
	var out []orderevents.Event
	var from []int // out[j] came from ev.Records[from[j]]
	var unreadable int
	for i, r := range ev.Records {
		c, err := ChangeOf(r)
		if err != nil {
			// The error names attributes and the order id, never values
			// (an image holds the paymentKey).
			h.Log.ErrorContext(ctx, "unreadable stream record", "error", err, "sequenceNumber", r.Change.SequenceNumber, "eventName", r.EventName)
			unreadable++
			fail(r)
			continue
		}
		if e, ok := orderevents.From(c); ok {
			out = append(out, e)
			from = append(from, i)
		}
	}
	var published, failed int
	if len(out) > 0 {
		for j, err := range h.Bus.Publish(ctx, out) {
			e := out[j]
			if err != nil {
				h.Log.ErrorContext(ctx, "order event not published", "error", err, "orderId", e.OrderID, "eventId", e.ID, "detailType", string(e.Type))
				failed++
				fail(ev.Records[from[j]])
				continue
			}
			published++
			h.Log.InfoContext(ctx, "order event published", "orderId", e.OrderID, "eventId", e.ID, "detailType", string(e.Type), "version", e.Version)
		}
	}
	if h.Metrics != nil {
		h.Metrics.Put("OrderEventsPublished", float64(published), obs.Count, nil)
		h.Metrics.Put("OrderEventsFailed", float64(failed+unreadable), obs.Count, nil)
	}
	return resp, nil
}

// The userIdentity of a removal by DynamoDB's TTL.
const (
	ttlIdentityType      = "Service"
	ttlIdentityPrincipal = "dynamodb.amazonaws.com"
)

// ChangeOf reads a stream record of the orders table as a change.
func ChangeOf(r events.DynamoDBEventRecord) (orderevents.Change, error) {
	c := orderevents.Change{At: r.Change.ApproximateCreationDateTime.Time}
	var err error
	switch r.EventName {
	case "INSERT":
		c.New, err = image(r.Change.NewImage)
	case "MODIFY":
		if c.Old, err = image(r.Change.OldImage); err == nil {
			c.New, err = image(r.Change.NewImage)
		}
	case "REMOVE":
		c.Old, err = image(r.Change.OldImage)
		u := r.UserIdentity
		c.ByTTL = u != nil && u.Type == ttlIdentityType && u.PrincipalID == ttlIdentityPrincipal
	default:
		return c, fmt.Errorf("record %s: unknown eventName %q", r.EventID, r.EventName)
	}
	if err != nil {
		return c, fmt.Errorf("record %s (%s): %w", r.EventID, r.EventName, err)
	}
	if c.Old != nil && c.New != nil && c.Old.ID != c.New.ID {
		return c, fmt.Errorf("record %s: images of two orders", r.EventID)
	}
	return c, nil
}

// errNoImage is a record without the image its eventName needs: a stream
// whose view type is not NEW_AND_OLD_IMAGES.
var errNoImage = errors.New("image missing: the stream must be NEW_AND_OLD_IMAGES")

func image(img map[string]events.DynamoDBAttributeValue) (*orders.Order, error) {
	if len(img) == 0 {
		return nil, errNoImage
	}
	it, err := Item(img)
	if err != nil {
		return nil, err
	}
	return orders.DecodeItem(it)
}
