// Package tossintl is this product's part of the local stack (package
// tools/samlocal/stack, which knows no product): the orders the sample
// events in events/ refer to (SeedEvents), the demo order `samlocal up`
// creates (CreateDemoOrder), and the masking of paymentKeys in the stack's
// EventBridge log (MaskPaymentKeys, an Options.RedactBusLog). The command
// tools/samlocal, the end-to-end suites and make bench wire it in.
package tossintl
