// Package eventbus puts order events on an EventBridge bus: the adapter
// between package orderevents and EventBridge's PutEvents.
package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tossintl/backend/shared/orderevents"
	"github.com/tossintl/backend/shared/orders"
)

// PutEventsAPI is the one EventBridge operation the bus uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// PutEvents' limits: at most 10 entries and 256 KiB per call, which is
// also the most one entry may take.
const (
	MaxEntries = 10
	maxBytes   = 256 << 10
)

// Bus is an EventBridge event bus.
type Bus struct {
	API  PutEventsAPI
	Name string // the bus's name or ARN
	// View shows an order in the event's detail, as GET /orders/{orderId}
	// shows it.
	View func(*orders.Order) any
}

// Publish puts each event on the bus with source orderevents.Source, its
// type as detail-type and its Detail as detail. The result holds one error
// per event, nil for each event put: PutEvents may put some entries of a
// call and refuse others (FailedEntryCount), and a call may fail whole.
func (b *Bus) Publish(ctx context.Context, events []orderevents.Event) []error {
	errs := make([]error, len(events))
	entries := make([]types.PutEventsRequestEntry, len(events))
	sizes := make([]int, len(events))
	for i, e := range events {
		detail, size, err := b.detail(e)
		if err != nil {
			errs[i] = fmt.Errorf("event %s: detail: %w", e.ID, err)
			continue
		}
		entries[i] = types.PutEventsRequestEntry{
			EventBusName: aws.String(b.Name),
			Source:       aws.String(orderevents.Source),
			DetailType:   aws.String(string(e.Type)),
			Detail:       aws.String(string(detail)),
			Time:         aws.Time(e.At),
		}
		sizes[i] = size
	}
	var batch []int
	var size int
	flush := func() {
		if len(batch) > 0 {
			b.put(ctx, entries, batch, errs)
		}
		batch, size = nil, 0
	}
	for i := range events {
		if errs[i] != nil {
			continue
		}
		if len(batch) == MaxEntries || size+sizes[i] > maxBytes {
			flush()
		}
		batch = append(batch, i)
		size += sizes[i]
	}
	flush()
	return errs
}

// detail is e's detail as JSON and the size of its entry, as EventBridge
// counts it: detail-type, detail, source and a fixed 14 bytes for its
// time. A detail that would pass the entry limit embeds fewer cancels
// (halved until it fits; its Truncated says so): an entry over the limit
// is refused on every retry, and the stream would set it aside unpublished.
// The rest of an order is bounded, so some count of cancels always fits.
func (b *Bus) detail(e orderevents.Event) ([]byte, int, error) {
	fixed := len(e.Type) + len(orderevents.Source) + 14
	for n := orderevents.MaxEmbeddedCancels; ; n /= 2 {
		detail, err := json.Marshal(e.DetailWithin(b.View, n))
		if err != nil {
			return nil, 0, err
		}
		size := fixed + len(detail)
		switch {
		case size <= maxBytes:
			return detail, size, nil
		case n == 0:
			// Not sent: in a call, it would have the whole call refused.
			return nil, 0, fmt.Errorf("%d bytes with no cancel embedded, over PutEvents' %d", size, maxBytes)
		}
	}
}

// put makes one PutEvents call of the entries at idx and records each
// entry's outcome in errs.
func (b *Bus) put(ctx context.Context, entries []types.PutEventsRequestEntry, idx []int, errs []error) {
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(idx))}
	for j, i := range idx {
		in.Entries[j] = entries[i]
	}
	out, err := b.API.PutEvents(ctx, in)
	if err == nil && (out == nil || len(out.Entries) != len(idx)) {
		// PutEvents answers one result per entry, in order; without them
		// nothing says which entries were put.
		err = errors.New("PutEvents answered without a result per entry")
	}
	if err != nil {
		for _, i := range idx {
			errs[i] = fmt.Errorf("put events: %w", err)
		}
		return
	}
	for j, i := range idx {
		if r := out.Entries[j]; r.ErrorCode != nil {
			errs[i] = fmt.Errorf("put events: entry refused: %s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
		}
	}
}
