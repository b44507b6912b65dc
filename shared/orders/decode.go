package orders

import "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// DecodeItem reads an order item as the table holds it, with the same
// mapping and the same refusals the store's own reads apply. It is for the
// images of the table's stream (order events), which carry the items
// whole: one mapping of the item, never a second one to drift.
func DecodeItem(it map[string]types.AttributeValue) (*Order, error) { return decodeOrder(it) }
