// Package tosstest is the Toss sandbox: a fake of Toss Payments' core API
// and international card payment window, speaking Toss's wire format over
// real HTTP, so a client that passes against it passes against Toss. It
// writes that format with its own structs; it does not import shared/toss.
//
// # Running it
//
// In a test, one line starts it on a loopback port and t.Cleanup stops it:
//
//	sb := tosstest.NewServer(t)                  // sb.URL, sb.SecretKey(), sb.ClientKey()
//	key := sb.Authorize("order-0001", "Tea", 15000) // as if the buyer approved in the window
//	// ... confirm through the client under test, then:
//	sb.ConfirmsExecuted("order-0001")            // must be 1
//
// For the local stack and browser tests, `make sandbox` (or
// `go run ./tools/tosssandbox`) serves it on TOSS_SANDBOX_ADDR (default
// 127.0.0.1:4010); keys come from TOSS_SANDBOX_SECRET_KEY and
// TOSS_SANDBOX_CLIENT_KEY or default to DefaultSecretKey and DefaultClientKey.
//
// # API
//
// POST /v1/payments/confirm, GET /v1/payments/{paymentKey},
// GET /v1/payments/orders/{orderId}, POST /v1/payments/{paymentKey}/cancel.
// JSON both ways; errors are v1 objects {code, message}; messages are
// Korean, or English when Accept-Language starts with "en". Each call
// passes these layers in order:
//
//  1. A fault queued with FailNext (see Faults).
//  2. Routing: unknown path 404 NOT_FOUND, wrong method 405 METHOD_NOT_ALLOWED
//     (the sandbox's own codes).
//  3. Basic auth, base64(secretKey + ":"): missing header, other scheme, bad
//     base64 or wrong key 401 UNAUTHORIZED_KEY; decoded value without ':'
//     403 INCORRECT_BASIC_AUTH_FORMAT. The password part is ignored.
//     RotateSecretKey replaces the key; the old one then gets 401.
//  4. Idempotency-Key, POST only (ignored on GET), as Toss documents it
//     (docs/toss-api.md#idempotency-key): scope is
//     key + API key + URL + method, not the body, so a reused key replays the
//     first answer even for another payment; over 300 characters 400
//     INVALID_IDEMPOTENCY_KEY; a repeat while the first is in flight 409
//     IDEMPOTENT_REQUEST_PROCESSING; afterwards the first status and body,
//     errors included, replayed byte for byte; forgotten 15 days
//     (IdempotencyTTL) after first use, by the sandbox clock.
//     Calls refused by layers 1–3 are not recorded under the key.
//  5. Added latency (Config.Latency, SetLatency), in real time. The call is
//     "in flight" (InFlight) from here; a client that gives up does not stop it.
//  6. TossPayments-Test-Code with a test_ key: answers that code with the
//     status of Toss's error table (ErrorStatus; unknown codes 400),
//     executing nothing. The answer is recorded under an Idempotency-Key
//     like any other. Live keys ignore the header.
//  7. The endpoint.
//  8. ApproveThenDrop and CancelThenDrop (see Faults).
//
// # Confirm, lookups and cancel
//
// The sandbox reads the body first: malformed JSON, paymentKey empty or
// over 200 characters, orderId not 6–64 of [A-Za-z0-9_=-], amount not a
// positive JSON integer: 400 INVALID_REQUEST. Then it follows Toss's rule
// book, tools/tossrules (which the simulator's fake follows too), against
// what the window (or Authorize) issued: Book.Confirm lists a confirm's
// checks in order with their answers (an unknown paymentKey, or a confirm
// more than SessionTTL after authentication, 404 NOT_FOUND_PAYMENT_SESSION;
// another order's 403 FORBIDDEN_REQUEST; a second approval for an order
// 400 ALREADY_PROCESSED_PAYMENT; a tampered amount 400 INVALID_REQUEST).
//
// Success is 200 with a full Payment object (version 2022-11-16, status DONE,
// type NORMAL, currency KRW, method "카드"/"card", timestamps with +09:00,
// card {issuerCode 4V/4M/4J, number masked like "4242424****4242",
// installmentPlanMonths 0, approveNo, cardType "신용"/"credit", ownerType
// "개인"/"personal", acquireStatus READY}, easyPay, cancels and failure null,
// receipt and checkout URLs served by the sandbox, country KR). VAT is 1/11 of
// the balance, rounded half up.
//
// # Lookups and cancel
//
// GET answers the Payment or 404 NOT_FOUND_PAYMENT; by orderId,
// Book.OrderPayment's choice (the approved payment, else the latest
// attempt). A payment authenticated but not confirmed reads IN_PROGRESS
// (card and approvedAt null), and EXPIRED once SessionTTL has passed.
//
// Cancel takes {cancelReason (required, ≤ 200), cancelAmount (optional
// positive integer; absent or null cancels the whole balance)}, malformed
// 400 INVALID_REQUEST, then follows Book.Cancel: success appends to
// cancels[] and sets status PARTIAL_CANCELED or CANCELED.
//
// # Faults
//
// FailNext(n, f) makes the next n API calls fail before anything else
// (as a gateway in front of Toss would; nothing executes, nothing is
// recorded under the Idempotency-Key): Fault5xx 500
// FAILED_INTERNAL_SYSTEM_PROCESSING, Fault429 429 TOO_MANY_REQUESTS,
// FaultProviderError 400 PROVIDER_ERROR, FaultDrop closes the connection
// without answering. ApproveThenDrop(n) lets the next n successful confirms
// execute (DONE, counted, answer stored under the key) and then closes the
// connection. CancelThenDrop(n) does the same to the next n successful
// cancel answers, replays under an Idempotency-Key included, so a client's
// own retries keep losing the answer while the refund stays executed once.
// Beware when testing drops with net/http: its Transport
// silently resends a request that carries an Idempotency-Key header when a
// reused keep-alive connection closes before answering, so a client test
// may never see the drop; disable keep-alives to observe it.
//
// # Webhooks
//
// With a webhook URL (Config.WebhookURL, WithWebhookURL, or SetWebhookURL
// at run time) every status change of a payment is announced as Toss
// announces it: a confirm (DONE), a cancel through the API or the
// dashboard (PARTIAL_CANCELED, CANCELED). Replays, refusals and test-code
// answers change nothing and announce nothing; the expiry of an
// unconfirmed payment is not announced. The body is
//
//	{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-11-22T12:18:14.123456","data":{<Payment>}}
//
// with createdAt in KST without an offset (microseconds), exactly like
// Toss, and data the Payment as it stood right after the change (Korean
// texts). Each event is POSTed (Content-Type application/json) from its own
// goroutine, 10 s at most per attempt; any answer but 200 is a failure and
// is retried on Toss's schedule, WebhookRetrySchedule: 1, 4, 16, 64, 256,
// 1024 and 4096 units later, at most 7 retries, 8 attempts in all. The unit
// is a minute, as at Toss; Config.WebhookRetryUnit or
// WithWebhookRetryUnit(time.Millisecond) runs the schedule in milliseconds.
// Webhooks are unsigned, as at Toss.
//
// Inspection and control: WebhookEvents (every event with its body),
// Webhooks (every attempt: event, attempt number, redelivery or not, URL,
// status answered or transport error), WaitWebhooks(ctx) (until nothing is
// being delivered or waiting for a retry). To test duplicate and
// out-of-order delivery, HoldWebhooks(true) keeps new events back,
// ReleaseWebhooks(ids...) sends held ones in the order given, each first
// attempt waiting for its answer, and RedeliverWebhooks(ids...) sends
// events once more. Reset forgets events and stops their retries; Close
// stops retries.
//
// # Dashboard
//
// POST /dashboard/payments/{paymentKey}/cancel, body and answers as the
// cancel API's, and the Go method DashboardCancel(paymentKey, reason,
// amount) (errors as *APIError) refund the way an operator does in Toss's
// merchant dashboard: no Basic auth (it exists only in the sandbox), no
// Idempotency-Key, not listed in Requests, and announced by webhook like
// any cancel. They are how tests make refunds the merchant's backend did
// not ask for.
//
// # Payment window
//
// GET /v2/standard serves a stand-in for the SDK v2 script:
// TossPayments(clientKey).payment({customerKey}).requestPayment({...})
// returns a Promise that rejects with an Error {code, message} when the real
// SDK would refuse, using the sandbox's own codes: INVALID_CLIENT_KEY (not
// test_ck_/live_ck_, or not this sandbox's key), INVALID_CUSTOMER_KEY,
// INVALID_PARAMETERS, INVALID_METHOD (not "CARD"), INVALID_AMOUNT (not
// {currency: "KRW", value: positive safe integer}), INVALID_ORDER_ID,
// INVALID_ORDER_NAME, INVALID_SUCCESS_URL / INVALID_FAIL_URL (not absolute
// http(s)), INVALID_CARD_OPTION (card.useInternationalCardOnly not true),
// INVALID_CARD_LANGUAGE (not KO/EN/JA/ZH); payment() itself throws
// INVALID_CUSTOMER_KEY. Otherwise it opens the window in an iframe over the
// page (windowTarget "iframe", the default here and the real SDK's on a PC)
// and the Promise stays pending; windowTarget "self" (the SDK's mobile
// default) navigates the page to the window instead.
//
// GET /window re-checks the parameters (400 page otherwise) and renders the
// window in card.language, else the browser's Accept-Language, else Korean:
// order name, amount in KRW, an estimated USD amount at the fixed rate
// EstimatedKRWPerUSD (1 USD = 1,380 KRW, labelled an estimate; shown only
// when card.showEstimatedAmount is true), a card brand picker (Visa, Master, JCB) and
// one POST form with buttons #approve, #decline and #close. Every reflected
// value is escaped by html/template. The parameters live in a server-side
// session that works once, so a resubmitted or forged form cannot approve
// twice or change the amount. #approve and #decline answer 303 and, framed,
// take the whole page (target _top):
//
//	#approve  successUrl?paymentType=NORMAL&orderId=…&paymentKey=…&amount=…
//	#decline  failUrl?code=REJECT_CARD_COMPANY&message=…&orderId=…
//
// #close, framed, answers a page that posts {type: "tosssandbox:user-cancel",
// code: "USER_CANCEL"} to the framing origin, and the SDK rejects the Promise
// with USER_CANCEL (nothing goes to failUrl); in the page itself it answers
// 303 failUrl?code=PAY_PROCESS_CANCELED&message=… (no orderId:
// docs/toss-api.md#the-international-card-window). Toss's parameters are
// appended after the URLs' own query, which stays as written. paymentKeys look like Toss's test
// keys: "tgen_" + KST timestamp + random characters.
//
// # Inspection
//
// Requests lists every API call (method, path, query, Idempotency-Key, test
// code, Accept-Language, body, answer status, replay, fault, drop) with only
// AuthPresent/AuthOK for the Authorization header, whose value is never kept
// or logged. ConfirmsExecuted counts confirms that approved a payment of an
// order; Payment and OrderPayments snapshot payments; Reset forgets
// everything but the keys, the clock and the webhook settings. The clock (Config.Clock, SetClock,
// Advance) drives the session and idempotency windows.
//
// Not modelled: API v2 resources, webhook event types other than
// PAYMENT_STATUS_CHANGED, payment methods other than international cards,
// live mode, real exchange rates.
package tosstest
