package toss

import (
	"errors"
	"fmt"
)

// Cause says whose fact a Toss error code is, which decides what the
// product tells the buyer, records on the order and reports to an operator.
// Class says what the answer means for the money; Cause says who has to do
// something about it. docs/toss-api.md#error-codes gives each code's cause
// and the reason for it.
type Cause uint8

const (
	// CauseUnlisted: a code the table does not list (Toss adds codes without
	// a new API version), or no code at all. Callers go by Class.
	CauseUnlisted Cause = iota
	// CauseTransient: Toss could not do it now; the same request, under the
	// same Idempotency-Key, may succeed later (ClassRetryable).
	CauseTransient
	// CauseOutcomeUnknown: the payment may already exist; look it up
	// (ClassUnknown).
	CauseOutcomeUnknown
	// CauseDecline: the buyer's card, account or choice (installments,
	// limits, fraud checks): the buyer may pay another way.
	CauseDecline
	// CauseConfiguration: the merchant's keys, MID or contract. Every buyer
	// meets it until an operator acts; it is never the buyer's decline.
	CauseConfiguration
	// CauseAttemptRefused: Toss will not confirm this attempt for this
	// orderId under this key (NOT_FOUND_PAYMENT_SESSION, FORBIDDEN_REQUEST).
	// Toss gives the same code for a made-up or expired attempt, another
	// order's attempt, and a secret key of another MID than the client key
	// that opened the window: who asks, and what a lookup shows, decide
	// which (payments.Engine).
	CauseAttemptRefused
	// CauseNotFound: Toss holds no such payment (NOT_FOUND_PAYMENT).
	CauseNotFound
	// CauseInvalid: Toss refused the request as sent (a value it does not
	// take); the same request fails again.
	CauseInvalid
	// CauseRefundRefused: a cancel refused in the light of Toss's record of
	// the payment (already refunded, more than its balance).
	CauseRefundRefused
)

func (c Cause) String() string {
	switch c {
	case CauseUnlisted:
		return "unlisted"
	case CauseTransient:
		return "transient"
	case CauseOutcomeUnknown:
		return "outcome-unknown"
	case CauseDecline:
		return "decline"
	case CauseConfiguration:
		return "configuration"
	case CauseAttemptRefused:
		return "attempt-refused"
	case CauseNotFound:
		return "not-found"
	case CauseInvalid:
		return "invalid"
	case CauseRefundRefused:
		return "refund-refused"
	}
	return fmt.Sprintf("Cause(%d)", uint8(c))
}

// class is what a code of cause c means for the money.
func (c Cause) class() Class {
	switch c {
	case CauseTransient:
		return ClassRetryable
	case CauseOutcomeUnknown:
		return ClassUnknown
	}
	return ClassDefinitive
}

// Error codes the product names in code. Every code Toss documents for the
// calls it makes is in the table below, named or not.
const (
	CodeAlreadyProcessedPayment     = "ALREADY_PROCESSED_PAYMENT"
	CodeProviderError               = "PROVIDER_ERROR"
	CodeUnauthorizedKey             = "UNAUTHORIZED_KEY"
	CodeInvalidAPIKey               = "INVALID_API_KEY"
	CodeIncorrectBasicAuthFormat    = "INCORRECT_BASIC_AUTH_FORMAT"
	CodeInvalidIdempotencyKey       = "INVALID_IDEMPOTENCY_KEY"
	CodeIdempotentRequestProcessing = "IDEMPOTENT_REQUEST_PROCESSING"
	CodeNotFoundPayment             = "NOT_FOUND_PAYMENT"
	CodeNotFoundPaymentSession      = "NOT_FOUND_PAYMENT_SESSION"
	CodeForbiddenRequest            = "FORBIDDEN_REQUEST"
	CodeRejectCardCompany           = "REJECT_CARD_COMPANY"
	CodeInvalidRequest              = "INVALID_REQUEST"
	CodeBelowMinimumAmount          = "BELOW_MINIMUM_AMOUNT"
	CodeAlreadyCanceledPayment      = "ALREADY_CANCELED_PAYMENT"
	CodeNotCancelableAmount         = "NOT_CANCELABLE_AMOUNT"
	CodeNotCancelablePayment        = "NOT_CANCELABLE_PAYMENT"
	CodeTooManyRequests             = "TOO_MANY_REQUESTS"
	CodeFailedInternalSystem        = "FAILED_INTERNAL_SYSTEM_PROCESSING"
	CodeFailedPaymentInternalSystem = "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING"
	CodeUnknownPaymentError         = "UNKNOWN_PAYMENT_ERROR"
)

type codeInfo struct {
	status int // the HTTP status Toss answers the code with
	cause  Cause
}

// codes is every error code Toss documents for the calls this client makes
// (confirm, lookup, cancel, and the headers they carry), with its status
// and cause: the one place the product classifies Toss's codes. A code
// missing here is classified by its status alone (CauseUnlisted), so the
// table is the whole documented list; docs/toss-api.md#error-codes holds
// the same list with the reason for each cause, and a test holds the two
// together.
var codes = map[string]codeInfo{
	// The answer is not known yet, or the payment may exist already.
	CodeProviderError:               {400, CauseTransient},
	CodeIdempotentRequestProcessing: {409, CauseTransient},
	CodeTooManyRequests:             {429, CauseTransient},
	CodeFailedPaymentInternalSystem: {500, CauseTransient},
	CodeFailedInternalSystem:        {500, CauseTransient},
	CodeUnknownPaymentError:         {500, CauseTransient},
	CodeAlreadyProcessedPayment:     {400, CauseOutcomeUnknown},

	// The merchant's keys, MID or contract: nothing a buyer can change.
	CodeUnauthorizedKey:            {401, CauseConfiguration},
	CodeInvalidAPIKey:              {400, CauseConfiguration},
	CodeIncorrectBasicAuthFormat:   {403, CauseConfiguration},
	"NOT_FOUND_TERMINAL_ID":        {400, CauseConfiguration},
	"NOT_REGISTERED_BUSINESS":      {400, CauseConfiguration},
	"INVALID_UNREGISTERED_SUBMALL": {400, CauseConfiguration},
	"UNAPPROVED_ORDER_ID":          {400, CauseConfiguration},

	// The attempt is not one Toss confirms for this orderId under this key.
	CodeNotFoundPaymentSession: {404, CauseAttemptRefused},
	CodeForbiddenRequest:       {403, CauseAttemptRefused},
	CodeNotFoundPayment:        {404, CauseNotFound},

	// The request as sent.
	CodeInvalidRequest:        {400, CauseInvalid},
	CodeInvalidIdempotencyKey: {400, CauseInvalid},
	CodeBelowMinimumAmount:    {400, CauseInvalid},

	// Refunds refused by Toss's record of the payment.
	CodeAlreadyCanceledPayment: {400, CauseRefundRefused},
	CodeNotCancelableAmount:    {403, CauseRefundRefused},
	CodeNotCancelablePayment:   {403, CauseRefundRefused},

	// The buyer's card, account or choices.
	CodeRejectCardCompany:                             {403, CauseDecline},
	"REJECT_CARD_PAYMENT":                             {403, CauseDecline},
	"REJECT_ACCOUNT_PAYMENT":                          {403, CauseDecline},
	"REJECT_TOSSPAY_INVALID_ACCOUNT":                  {403, CauseDecline},
	"EXCEED_MAX_AUTH_COUNT":                           {403, CauseDecline},
	"EXCEED_MAX_ONE_DAY_AMOUNT":                       {403, CauseDecline},
	"NOT_AVAILABLE_BANK":                              {403, CauseDecline},
	"INVALID_PASSWORD":                                {403, CauseDecline},
	"FDS_ERROR":                                       {403, CauseDecline},
	"EXCEED_MAX_CARD_INSTALLMENT_PLAN":                {400, CauseDecline},
	"NOT_ALLOWED_POINT_USE":                           {400, CauseDecline},
	"INVALID_REJECT_CARD":                             {400, CauseDecline},
	"INVALID_CARD_EXPIRATION":                         {400, CauseDecline},
	"INVALID_STOPPED_CARD":                            {400, CauseDecline},
	"EXCEED_MAX_DAILY_PAYMENT_COUNT":                  {400, CauseDecline},
	"NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT": {400, CauseDecline},
	"INVALID_CARD_INSTALLMENT_PLAN":                   {400, CauseDecline},
	"NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN":          {400, CauseDecline},
	"EXCEED_MAX_PAYMENT_AMOUNT":                       {400, CauseDecline},
	"INVALID_AUTHORIZE_AUTH":                          {400, CauseDecline},
	"INVALID_CARD_LOST_OR_STOLEN":                     {400, CauseDecline},
	"RESTRICTED_TRANSFER_ACCOUNT":                     {400, CauseDecline},
	"INVALID_CARD_NUMBER":                             {400, CauseDecline},
	"EXCEED_MAX_ONE_DAY_WITHDRAW_AMOUNT":              {400, CauseDecline},
	"EXCEED_MAX_ONE_TIME_WITHDRAW_AMOUNT":             {400, CauseDecline},
	"CARD_PROCESSING_ERROR":                           {400, CauseDecline},
	"EXCEED_MAX_AMOUNT":                               {400, CauseDecline},
	"INVALID_ACCOUNT_INFO_RE_REGISTER":                {400, CauseDecline},
	"NOT_AVAILABLE_PAYMENT":                           {400, CauseDecline},
}

// CauseOf is the cause of Toss's code carried by err (CauseUnlisted when
// err carries no code the table lists, or is not Toss's answer at all).
func CauseOf(err error) Cause {
	var te *Error
	if !errors.As(err, &te) {
		return CauseUnlisted
	}
	return CodeCause(te.Code)
}

// CodeCause is the cause of a Toss error code (CauseUnlisted for a code
// the table does not list).
func CodeCause(code string) Cause {
	return codes[code].cause
}

// IsConfiguration reports whether err is Toss refusing a call for the
// merchant's configuration (CauseConfiguration).
func IsConfiguration(err error) bool { return CauseOf(err) == CauseConfiguration }

// Known reports whether code is one the table lists.
func Known(code string) bool {
	_, ok := codes[code]
	return ok
}

// StatusOf is the HTTP status Toss answers code with (400 when not listed),
// for passing a recorded Toss failure on with the status Toss gave it.
func StatusOf(code string) int {
	if c, ok := codes[code]; ok {
		return c.status
	}
	return 400
}
