package model

// Price is one AWS list price (on demand, USD), the page of AWS's that
// states it, and when that page was read. A price no AWS page we could
// cite states is not typed in: its quantity stands alone in the doc.
type Price struct {
	What   string
	USD    float64 // per Per units
	Per    float64
	Unit   string
	Region string // the region the figure is for
	URL    string // the AWS page that states it
	Read   string // when it was read there
}

// Per-unit price.
func (p Price) unit() float64 { return p.USD / p.Per }

// HTTPAPIRequest is API Gateway's HTTP API request price. AWS's pricing
// pages (Lambda, API Gateway, DynamoDB, Secrets Manager, CloudWatch,
// EventBridge) render their tables in the browser, and no stored copy of
// them states a figure; this one is stated in the text of an AWS
// whitepaper (Table 4). Lambda's, DynamoDB's and Secrets Manager's prices
// were cut for want of such a page.
var HTTPAPIRequest = Price{What: "API Gateway HTTP API requests, first 300 million a month", USD: 1.00, Per: 1e6,
	Unit: "requests (512 KB each)", Region: "us-east-1",
	URL:  "https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html",
	Read: "2026-12-08 (a stored copy)"}

// AllPrices lists the prices the cost is computed with, as the doc shows them.
func AllPrices() []Price { return []Price{HTTPAPIRequest} }
