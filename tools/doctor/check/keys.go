package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tossintl/backend/shared/secrets"
	"github.com/tossintl/backend/shared/toss"
)

// secretKeys are the keys secret's three values as stored, valid or not.
// They never reach the report: only their prefixes do (maskKey).
type secretKeys struct {
	secret, client, merchant string
}

// maskKey shows what kind of key k is and nothing of the key itself.
func maskKey(k string) string {
	for _, p := range []string{secrets.PrefixTestSecret, secrets.PrefixLiveSecret, secrets.PrefixTestClient, secrets.PrefixLiveClient} {
		if strings.HasPrefix(k, p) {
			return p + "…"
		}
	}
	return "a key of no known prefix"
}

// putSecretHint is the command that fills the secret, with placeholders.
func putSecretHint(t Target) string {
	mode := "test"
	if t.PaymentMode == "live" {
		mode = "live"
	}
	if t.Local {
		return "restart make local (it fills the secret from TOSS_SECRET_KEY, TOSS_CLIENT_KEY, MERCHANT_API_KEY)"
	}
	return fmt.Sprintf(`aws secretsmanager put-secret-value --secret-id %s --secret-string '{"tossSecretKey":"%s_sk_…","tossClientKey":"%s_ck_…","merchantApiKey":"'"$(openssl rand -hex 24)"'"}'`,
		t.KeysSecret, mode, mode)
}

// checkSecret reads the keys secret: it must exist and hold the three
// values (first result), and they must be what the functions accept in
// the stack's PaymentMode (second result), by the functions' own parser.
// The keys are returned for the checks that use them, nil if unreadable.
func checkSecret(ctx context.Context, t Target) (*secretKeys, []Result) {
	const name = "keys secret"
	const modeName = "keys and PaymentMode"
	skipMode := Result{Name: modeName, Status: Skip, Detail: "not checked: the secret is not filled"}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	out, err := t.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(t.KeysSecret)})
	var nf *smtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return nil, []Result{{Name: name, Status: Fail, Detail: t.KeysSecret + " does not exist", Fix: "deploy the stack (sam deploy), or name the stack's secret"}, skipMode}
	case err != nil:
		return nil, []Result{{Name: name, Status: Fail, Detail: fmt.Sprintf("%s cannot be read: %v", t.KeysSecret, err),
			Fix: "these credentials need secretsmanager:GetSecretValue on it"}, skipMode}
	}
	data := aws.ToString(out.SecretString)
	var fields map[string]any
	if err := json.Unmarshal([]byte(data), &fields); err != nil || fields == nil {
		return nil, []Result{{Name: name, Status: Fail, Detail: t.KeysSecret + " is not a JSON object", Fix: putSecretHint(t)}, skipMode}
	}
	str := func(f string) string { s, _ := fields[f].(string); return s }
	keys := &secretKeys{secret: str(secrets.FieldTossSecretKey), client: str(secrets.FieldTossClientKey), merchant: str(secrets.FieldMerchantAPIKey)}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{secrets.FieldTossSecretKey, keys.secret}, {secrets.FieldTossClientKey, keys.client}, {secrets.FieldMerchantAPIKey, keys.merchant},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	switch len(missing) {
	case 0:
	case 3:
		return keys, []Result{{Name: name, Status: Fail, Detail: t.KeysSecret + " is empty, as the stack created it: the functions refuse to work", Fix: putSecretHint(t)}, skipMode}
	default:
		return keys, []Result{{Name: name, Status: Fail, Detail: t.KeysSecret + " has no " + strings.Join(missing, ", "), Fix: putSecretHint(t)}, skipMode}
	}
	res := []Result{{Name: name, Status: Pass, Detail: t.KeysSecret + " holds the 3 keys"}}

	live := t.PaymentMode == "live"
	if _, err := secrets.Parse([]byte(data), live); err != nil {
		// The parser's reasons name fields and prefixes, never a value.
		reason := strings.TrimPrefix(err.Error(), secrets.ErrInvalidSecret.Error()+": ")
		fix := "put a " + t.PaymentMode + "_sk_/" + t.PaymentMode + "_ck_ pair of the international card MID and a merchant key of 24+ characters in the secret"
		if m := (secrets.Keys{TossSecretKey: keys.secret}).Mode(); m != "" && string(m) != t.PaymentMode {
			fix = fmt.Sprintf("put %s keys in the secret, or deploy with PaymentMode=%s if you mean to take %s payments", t.PaymentMode, m, m)
		}
		return keys, append(res, Result{Name: modeName, Status: Fail, Detail: reason, Fix: fix})
	}
	return keys, append(res, Result{Name: modeName, Status: Pass, Detail: fmt.Sprintf("%s and %s, merchant key of %d characters, PaymentMode %s",
		maskKey(keys.secret), maskKey(keys.client), len([]rune(keys.merchant)), t.PaymentMode)})
}

// refusedKeyCodes are Toss's answers to a secret key it does not take.
var refusedKeyCodes = map[string]bool{
	toss.CodeUnauthorizedKey: true, "INVALID_API_KEY": true, toss.CodeIncorrectBasicAuthFormat: true, toss.CodeForbiddenRequest: true,
}

// checkTossKey looks up an orderId nobody used, with the secret key: Toss
// answers 404 NOT_FOUND_PAYMENT to a key it accepts and 401
// UNAUTHORIZED_KEY (or another refusal) to one it does not. Nothing is
// created at Toss by a lookup.
func checkTossKey(ctx context.Context, t Target, keys *secretKeys) Result {
	const name = "Toss secret key"
	if keys == nil || keys.secret == "" {
		return Result{Name: name, Status: Skip, Detail: "not checked: the secret holds no Toss secret key"}
	}
	client, err := toss.New(toss.Options{BaseURL: t.TossAPIBaseURL, HTTPClient: t.HTTP, SecretKey: toss.StaticKey(keys.secret),
		Retry: toss.RetryPolicy{MaxAttempts: 2}})
	if err != nil {
		return Result{Name: name, Status: Fail, Detail: err.Error(), Fix: "set TossApiBaseUrl to Toss's API origin"}
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	_, err = client.PaymentByOrderID(ctx, probeID())
	masked := maskKey(keys.secret)
	var te *toss.Error
	switch {
	case err == nil, toss.CodeOf(err) == toss.CodeNotFoundPayment:
		return Result{Name: name, Status: Pass, Detail: fmt.Sprintf("%s accepts %s (a lookup of an unknown orderId answers NOT_FOUND_PAYMENT)", t.TossAPIBaseURL, masked)}
	case errors.As(err, &te) && (refusedKeyCodes[te.Code] || te.Status == 401 || te.Status == 403):
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("%s refuses %s: %d %s", t.TossAPIBaseURL, masked, te.Status, te.Code),
			Fix: "put the international card MID's secret key from Toss's developer center in the secret (tossSecretKey), with its client key"}
	case errors.As(err, &te) && te.Status != 0:
		return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("%s answered a lookup with %d %s", t.TossAPIBaseURL, te.Status, te.Code),
			Fix: "try again; if it stays, check TossApiBaseUrl"}
	}
	return Result{Name: name, Status: Fail, Detail: fmt.Sprintf("no answer from %s: %v", t.TossAPIBaseURL, err),
		Fix: "check TossApiBaseUrl and that this network reaches it"}
}
