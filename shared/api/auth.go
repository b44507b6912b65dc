package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/tossintl/backend/shared/apigw"
)

// AuthResult is how a merchant request's credentials turned out.
type AuthResult int

// Outcomes of CheckMerchantAuth.
const (
	AuthOK AuthResult = iota
	AuthMissingOrWrong
	AuthBadFormat
)

// ParseBasic decodes `Authorization: Basic base64(user:password)`. ok is
// false when the header is not Basic or not base64; hasColon reports whether
// the decoded value had the separator Toss's convention requires.
func ParseBasic(header string) (user string, hasColon, ok bool) {
	scheme, cred, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", false, false
	}
	cred = strings.TrimSpace(cred)
	if len(cred) > 1024 {
		return "", false, false
	}
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", false, false
	}
	u, _, hasColon := strings.Cut(string(raw), ":")
	return u, hasColon, true
}

// CheckMerchantAuth compares the request's Basic credentials with the
// merchant API key in constant time (hashing both first, so neither the
// length nor the content of the key leaks through timing).
func CheckMerchantAuth(r *apigw.Request, merchantKey string) AuthResult {
	user, hasColon, ok := ParseBasic(apigw.Header(r, "authorization"))
	if !ok || merchantKey == "" {
		return AuthMissingOrWrong
	}
	if !hasColon {
		return AuthBadFormat
	}
	a := sha256.Sum256([]byte(user))
	b := sha256.Sum256([]byte(merchantKey))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return AuthMissingOrWrong
	}
	return AuthOK
}

// authError is the response for a failed AuthResult.
func authError(r *apigw.Request, res AuthResult) apigw.Response {
	if res == AuthBadFormat {
		return Error(r, CodeIncorrectBasicAuthFormat, "")
	}
	resp := Error(r, CodeUnauthorizedKey, "")
	resp.Headers["WWW-Authenticate"] = `Basic realm="tossintl", charset="UTF-8"`
	return resp
}
