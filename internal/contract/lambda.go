package contract

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// CheckEvent checks a function's answer to an API Gateway event (payload
// format 2.0), as the handler tests and the bootstraps' invocations see
// them.
func (a *API) CheckEvent(ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) error {
	x := Exchange{
		Method: ev.RequestContext.HTTP.Method, Path: ev.RawPath, RawQuery: ev.RawQueryString,
		Header: http.Header{}, PathParams: ev.PathParameters, Event: true,
		Status: resp.StatusCode, RespHeader: http.Header{},
	}
	if x.Path == "" {
		x.Path = ev.RequestContext.HTTP.Path
	}
	for k, v := range ev.Headers {
		x.Header.Set(k, v)
	}
	// A body flagged base64 that is not (a test's malformed event) is
	// checked as sent: the document then refuses it, so the answer must be
	// one of the operation's 4xx.
	x.Body = []byte(ev.Body)
	if b, err := base64.StdEncoding.DecodeString(ev.Body); ev.IsBase64Encoded && err == nil {
		x.Body = b
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			x.RespHeader.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		x.RespHeader.Set(k, v)
	}
	x.RespBody = []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("%s %s: the answer's body is not base64: %w", x.Method, x.Path, err)
		}
		x.RespBody = b
	}
	return a.Check(x)
}

// CheckInvocation checks one invocation of a function by its event and
// payload as the Lambda runtime carries them. Events that are not HTTP API
// requests are not checked.
func (a *API) CheckInvocation(event, payload []byte) error {
	var ev events.APIGatewayV2HTTPRequest
	if json.Unmarshal(event, &ev) != nil || ev.Version != "2.0" || ev.RequestContext.HTTP.Method == "" {
		return nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil || resp.StatusCode == 0 {
		return fmt.Errorf("%s %s: the function's answer is not an HTTP API response: %.300s", ev.RequestContext.HTTP.Method, ev.RawPath, payload)
	}
	return a.CheckEvent(ev, resp)
}
