package api_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
)

// keyRoute is one route that takes an Idempotency-Key. send makes a fresh
// request that succeeds with a good key (a new order, a new authorized
// payment, a new paid order to refund), so only the key decides the answer.
type keyRoute struct {
	name     string
	send     func(h *harness, headers map[string]string) apigw.Response
	okEntity string
}

var keyRoutes = []keyRoute{
	{
		name: "POST /orders",
		send: func(h *harness, headers map[string]string) apigw.Response {
			return h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: headers, Body: createBody("Hanbok", 39000)})
		},
		okEntity: "order",
	},
	{
		name: "POST /payments/confirm",
		send: func(h *harness, headers map[string]string) apigw.Response {
			o := h.createOrder("Hanbok", 39000)
			pk := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
			return h.json(h.svc.ConfirmPayment, rq{Method: "POST", Path: "/payments/confirm", Headers: headers, Body: confirmBody(pk, o.OrderID, o.Amount)})
		},
		okEntity: "payment",
	},
	{
		name: "POST /payments/{paymentKey}/cancel",
		send: func(h *harness, headers map[string]string) apigw.Response {
			o := h.createOrder("Hanbok", 39000)
			pk := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
			if resp := h.confirm(pk, o.OrderID, o.Amount, ""); resp.StatusCode != 200 {
				h.t.Fatalf("confirm: %d %s", resp.StatusCode, resp.Body)
			}
			return h.json(h.svc.CancelPayment, rq{Method: "POST", Path: "/payments/" + pk + "/cancel", Auth: authHeader(), Headers: headers,
				Params: map[string]string{"paymentKey": pk}, Body: refundBody(0)})
		},
		okEntity: "order",
	},
}

// keyCases are Idempotency-Keys and the answer each gets on every route:
// refusal "" is accepted; otherwise the keys with the same refusal get the
// same message. Lengths are in characters (runes), as Toss counts them.
var keyCases = []struct {
	name    string
	key     string
	refusal string
}{
	{"300 ASCII characters", strings.Repeat("k", 300), ""},
	{"300 Hangul characters", strings.Repeat("키", 300), ""},
	// The black-box finding: 101 Hangul characters (303 bytes) were
	// accepted on two routes and refused on the third.
	{"101 Hangul characters", strings.Repeat("멱", 101), ""},
	{"300 four-byte characters", strings.Repeat("🔑", 300), ""},
	{"spaces inside", "order 42 / try 1", ""},
	{"empty", "", "empty"},
	{"one space", " ", "empty"},
	{"spaces", "          ", "empty"},
	{"full-width spaces", "\u3000\u3000", "empty"},
	{"301 ASCII characters", strings.Repeat("k", 301), "too long"},
	{"301 Hangul characters", strings.Repeat("키", 301), "too long"},
	// Over apigw.MaxHeaderBytes: once read as an empty header, and answered
	// as one.
	{"9000 ASCII characters", strings.Repeat("k", 9000), "too long"},
	{"tab", "key\tone", "control"},
	{"newline", "key\none", "control"},
	{"NUL", "key\x00one", "control"},
	{"DEL", "key\x7fone", "control"},
}

var keyLangs = []struct {
	name, header string
	lang         api.Lang
}{
	{"ko", "ko-KR,ko;q=0.9", api.Korean},
	{"en", "en-US,en;q=0.9", api.English},
	{"no Accept-Language", "", api.Korean},
}

// TestIdempotencyKeyRule: every route that takes an Idempotency-Key
// answers every key the same way (status, code, message), and each
// message is wholly in the request's language.
func TestIdempotencyKeyRule(t *testing.T) {
	// messages[lang][refusal] is the message the first route gave; every
	// other route and key with that refusal must give the same.
	messages := map[string]map[string]string{}
	for _, l := range keyLangs {
		messages[l.name] = map[string]string{}
	}
	for _, route := range keyRoutes {
		for _, l := range keyLangs {
			// One harness per route and language: each good key is used
			// once, so no answer is a replay of another case's.
			h := newHarness(t)
			for _, kc := range keyCases {
				t.Run(route.name+"/"+l.name+"/"+kc.name, func(t *testing.T) {
					h.t = t
					headers := jsonHeaders("idempotency-key", kc.key)
					if l.header != "" {
						headers["accept-language"] = l.header
					}
					tossBefore := tossPOSTs(h)
					resp := route.send(h, headers)
					if kc.refusal == "" {
						wantEntity(t, resp, 200, route.okEntity, nil)
						if resp.Headers["Idempotent-Replayed"] != "" {
							t.Errorf("first use of the key answered as a replay")
						}
						return
					}
					// send's own setup (confirming the payment to refund)
					// talks to Toss before the refused request.
					setup := tossPOSTs(h) - tossBefore
					e := wantError(t, resp, 400, api.CodeInvalidIdempotencyKey)
					if err := whollyIn(l.lang, e.Error.Message); err != "" {
						t.Errorf("message %q: %s", e.Error.Message, err)
					}
					if prev, ok := messages[l.name][kc.refusal]; !ok {
						messages[l.name][kc.refusal] = e.Error.Message
					} else if prev != e.Error.Message {
						t.Errorf("message %q, want %q as for every %s key", e.Error.Message, prev, kc.refusal)
					}
					if after := tossPOSTs(h) - tossBefore; after != setup {
						t.Errorf("a refused key reached Toss (%d calls)", after-setup)
					}
				})
			}
		}
	}
	// Each refusal says what is wrong: an empty key is not "too long".
	for lang, byRefusal := range messages {
		seen := map[string]string{}
		for refusal, msg := range byRefusal {
			if other, dup := seen[msg]; dup {
				t.Errorf("%s: %s and %s keys get the same message %q", lang, refusal, other, msg)
			}
			seen[msg] = refusal
		}
	}
}

// TestIdempotencyKeyAbsent: no header is not an empty key: the request
// runs without idempotency on every route.
func TestIdempotencyKeyAbsent(t *testing.T) {
	for _, route := range keyRoutes {
		t.Run(route.name, func(t *testing.T) {
			h := newHarness(t)
			for i := 0; i < 2; i++ {
				resp := route.send(h, jsonHeaders())
				wantEntity(t, resp, 200, route.okEntity, nil)
				if resp.Headers["Idempotent-Replayed"] != "" {
					t.Fatalf("request %d without a key answered as a replay", i)
				}
			}
		})
	}
}

// tossPOSTs counts the POSTs that reached the Toss sandbox.
func tossPOSTs(h *harness) int {
	n := 0
	for _, r := range h.sb.Requests() {
		if r.Method == "POST" {
			n++
		}
	}
	return n
}

// whollyIn reports why msg is not wholly in lang ("" if it is): Korean
// has Hangul and no Latin letters (no English reason spliced in), English
// is plain ASCII with no Hangul.
func whollyIn(lang api.Lang, msg string) string {
	hangul, latin, other := false, false, false
	for _, r := range msg {
		switch {
		case unicode.Is(unicode.Hangul, r):
			hangul = true
		case r < 0x80 && unicode.IsLetter(r):
			latin = true
		case r >= 0x80:
			other = true
		}
	}
	switch {
	case lang == api.Korean && !hangul:
		return "want Korean, has no Hangul"
	case lang == api.Korean && latin:
		return "want Korean only, has Latin letters"
	case lang == api.English && (hangul || other):
		return "want English only, has non-ASCII characters"
	case lang == api.English && !latin:
		return "want English, has no letters"
	}
	return ""
}
