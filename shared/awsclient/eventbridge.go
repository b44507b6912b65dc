package awsclient

import "github.com/aws/aws-sdk-go-v2/service/eventbridge"

// EventBridge returns an EventBridge client for e.
func (e Env) EventBridge() *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:           e.Region,
		Credentials:      e.credentials(),
		BaseEndpoint:     endpoint(e.EventsEndpoint),
		APIOptions:       e.APIOptions,
		RetryMaxAttempts: e.RetryMaxAttempts,
	})
}
