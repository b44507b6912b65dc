// Package e2e holds the product's end-to-end suites. Each runs the real
// bootstraps of the functions in template.yaml, built by the project's
// Makefile, under the local stack (package tools/samlocal/stack: DynamoDB
// Local, moto_server for Secrets Manager, the Toss sandbox, the Lambda
// Runtime API emulator) and drives them the way
// buyers, merchants, Toss and attackers do:
//
//   - TestEveryEventThroughItsBootstrap: every file in events/ through its
//     function, and each function's AWS calls against its Policies, both ways;
//   - TestRealFunctionsThroughTheAPI: create, read and check out an order
//     through the local HTTP API;
//   - TestRefundsAndWebhooksKeepOrdersInStepWithToss: refunds over the API
//     and in Toss's dashboard, webhooks duplicated and reordered;
//   - TestTheStackPrintsTossAndFailRedirectMetrics: the EMF lines of Toss's
//     configuration answers, another API version and a fail redirect;
//   - TestBuyerJourneyInChromium: the buyer's pages in a real headless
//     Chromium, with screenshots in SCREENSHOT_DIR (.artifacts/screenshots);
//   - TestChaosCampaign: the reliability and security campaign (make chaos),
//     which writes docs/reliability.md when RELIABILITY_DOC is set.
//
// They need Java (DynamoDB Local), moto_server and Chromium and never skip
// without them. The
// package has no code of its own beyond this comment: its tests are the
// product's, the stack's own tests stay with the stack.
package e2e
