package model

// Price is one AWS list price (on demand, USD) and where it was read. These
// are the only numbers of the model that are typed in; each says its
// source and the date it was looked up, because prices change.
type Price struct {
	What   string
	USD    float64 // per Per units
	Per    float64
	Unit   string
	Region string // the region the figure is for
	Source string
	Date   string // when the source stated it
}

// Per-unit price.
func (p Price) unit() float64 { return p.USD / p.Per }

// Prices are the ap-northeast-2 (Seoul) on-demand prices the cost of 1,000
// checkouts is computed with. Where no stored copy of AWS's Seoul figure
// was found, the figure is the one AWS states for us-east-1 and Region says
// so: the doc's table shows it, so nobody mistakes it for Seoul's.
var Prices = struct {
	DynamoWrite, DynamoRead, LambdaRequest, LambdaARMGBSecond, HTTPAPIRequest, SecretsCall Price
}{
	DynamoWrite: Price{What: "DynamoDB on-demand write request units (Standard)", USD: 0.68, Per: 1e6, Unit: "WRU",
		Region: "ap-northeast-2",
		Source: "AWS Price List API, AmazonDynamoDB regionCode=ap-northeast-2, usagetype APN2-WriteRequestUnits ($0.00000068/unit), as captured in a public repository's pricing module",
		Date:   "2026-06-12"},
	DynamoRead: Price{What: "DynamoDB on-demand read request units (Standard)", USD: 0.1355, Per: 1e6, Unit: "RRU",
		Region: "ap-northeast-2",
		Source: "AWS Price List API, AmazonDynamoDB regionCode=ap-northeast-2, usagetype APN2-ReadRequestUnits ($0.0000001355/unit), same capture",
		Date:   "2026-06-12"},
	LambdaRequest: Price{What: "Lambda requests", USD: 0.20, Per: 1e6, Unit: "requests",
		Region: "us-east-1 figure (no stored copy of Seoul's)",
		Source: "aws.amazon.com/lambda/pricing (requests $0.20 per 1M)",
		Date:   "2024 (page as stored)"},
	LambdaARMGBSecond: Price{What: "Lambda duration, Arm, first tier", USD: 0.0000133334, Per: 1, Unit: "GB-s",
		Region: "us-east-1 figure (no stored copy of Seoul's)",
		Source: "cloudchipr.com/blog/aws-lambda-pricing, quoting aws.amazon.com/lambda/pricing: Arm first 7.5 billion GB-s $0.0000133334",
		Date:   "2024"},
	HTTPAPIRequest: Price{What: "API Gateway HTTP API requests, first 300 million a month", USD: 1.00, Per: 1e6, Unit: "requests (512 KB each)",
		Region: "us-east-1 figure (no stored copy of Seoul's)",
		Source: "docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html, Table 4",
		Date:   "2024 (page as stored)"},
	SecretsCall: Price{What: "Secrets Manager API calls", USD: 0.05, Per: 10000, Unit: "calls",
		Region: "all regions (one price)",
		Source: "hivebook.wiki AWS Secrets Manager page: $0.40 per secret-month + $0.05 per 10k API calls",
		Date:   "2026 (page as stored)"},
}

// AllPrices lists them in the order the doc shows them.
func AllPrices() []Price {
	p := Prices
	return []Price{p.DynamoWrite, p.DynamoRead, p.LambdaRequest, p.LambdaARMGBSecond, p.HTTPAPIRequest, p.SecretsCall}
}
