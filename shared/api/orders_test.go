package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/api"
	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/orders"
)

func TestCreateOrder(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		b64     bool
		ctype   string
		want    orderView // fields checked when set
		wantRef string
	}{
		{name: "minimal", body: `{"orderName":"Hanbok","amount":39000}`, want: orderView{OrderName: "Hanbok", Amount: 39000}},
		{name: "all fields", body: `{"orderName":"  Tea set  ","amount":15000,"currency":"KRW","customerEmail":"buyer@example.com","customerName":"Jane Doe","refOrderId":"shop-1001"}`,
			want: orderView{OrderName: "Tea set", Amount: 15000}, wantRef: "shop-1001"},
		{name: "base64-encoded body", body: `{"orderName":"Hanbok","amount":39000}`, b64: true, want: orderView{OrderName: "Hanbok", Amount: 39000}},
		{name: "content type with charset", body: `{"orderName":"Hanbok","amount":1000}`, ctype: "application/json; charset=utf-8", want: orderView{OrderName: "Hanbok", Amount: 1000}},
		{name: "Toss's card minimum", body: `{"orderName":"Candy","amount":100}`, want: orderView{OrderName: "Candy", Amount: 100}},
		{name: "largest amount", body: `{"orderName":"Hanbok","amount":10000000}`, want: orderView{OrderName: "Hanbok", Amount: 10_000_000}},
		{name: "100-character Korean name", body: `{"orderName":"` + strings.Repeat("한", 100) + `","amount":1000}`, want: orderView{OrderName: strings.Repeat("한", 100), Amount: 1000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ct := tc.ctype
			if ct == "" {
				ct = "application/json"
			}
			resp := h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: map[string]string{"content-type": ct}, Body: tc.body, Base64: tc.b64})
			var o orderView
			wantEntity(t, resp, 200, "order", &o)
			checkJSONHeaders(t, resp)
			if !orderIDPattern.MatchString(o.OrderID) {
				t.Errorf("orderId %q", o.OrderID)
			}
			if o.Status != "PENDING" || o.Currency != "KRW" || o.OrderName != tc.want.OrderName || o.Amount != tc.want.Amount || o.RefOrderID != tc.wantRef {
				t.Errorf("order %+v", o)
			}
			// The checkout URL carries the order's checkout token, which is
			// also given whole for a single-page frontend.
			if want := baseURL + "/checkout/" + o.OrderID + "?token=" + o.CheckoutToken; !orders.ValidToken(o.CheckoutToken) || o.CheckoutURL != want {
				t.Errorf("checkoutUrl %q, checkoutToken %q, want %q", o.CheckoutURL, o.CheckoutToken, want)
			}
			if now := h.clock.Now(); !o.CreatedAt.Equal(now) || !o.PayableUntil.Equal(now.Add(24*time.Hour)) {
				t.Errorf("createdAt %v payableUntil %v, want %v and a day later", o.CreatedAt, o.PayableUntil, now)
			}
			if o.Payment != nil || o.LastFailure != nil {
				t.Errorf("a new order has a payment or failure: %s", resp.Body)
			}
			if got := h.getOrder(o.OrderID); got.OrderID != o.OrderID || got.Amount != o.Amount {
				t.Errorf("stored order %+v", got)
			}
		})
	}
}

func TestCreateOrderRefusesBadInput(t *testing.T) {
	name101 := strings.Repeat("a", 101)
	cases := []struct {
		name  string
		body  string
		b64   bool
		ctype string // "-" sends no Content-Type
		code  string
		field string // named in the message, when set
	}{
		{name: "fractional amount", body: `{"orderName":"Tea","amount":1000.5}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "amount with zero fraction", body: `{"orderName":"Tea","amount":1000.0}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "amount as string", body: `{"orderName":"Tea","amount":"1000"}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "negative amount", body: `{"orderName":"Tea","amount":-1}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "zero amount", body: `{"orderName":"Tea","amount":0}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "exponent amount", body: `{"orderName":"Tea","amount":1e3}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "missing amount", body: `{"orderName":"Tea"}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "null amount", body: `{"orderName":"Tea","amount":null}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "boolean amount", body: `{"orderName":"Tea","amount":true}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "amount over the maximum", body: `{"orderName":"Tea","amount":10000001}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "amount over int64", body: `{"orderName":"Tea","amount":99999999999999999999}`, code: api.CodeInvalidRequest, field: "amount"},
		{name: "missing orderName", body: `{"amount":1000}`, code: api.CodeInvalidRequest, field: "name"},
		{name: "blank orderName", body: `{"orderName":"   ","amount":1000}`, code: api.CodeInvalidRequest, field: "name"},
		{name: "orderName too long", body: `{"orderName":"` + name101 + `","amount":1000}`, code: api.CodeInvalidRequest, field: "name"},
		{name: "orderName with a control character", body: `{"orderName":"Tea\u0007","amount":1000}`, code: api.CodeInvalidRequest, field: "name"},
		{name: "orderName not a string", body: `{"orderName":42,"amount":1000}`, code: api.CodeInvalidRequest, field: "orderName"},
		{name: "currency other than KRW", body: `{"orderName":"Tea","amount":1000,"currency":"USD"}`, code: api.CodeInvalidRequest, field: "currency"},
		{name: "bad email", body: `{"orderName":"Tea","amount":1000,"customerEmail":"not-an-email"}`, code: api.CodeInvalidRequest, field: "customerEmail"},
		{name: "unknown field", body: `{"orderName":"Tea","amount":1000,"discount":500}`, code: api.CodeInvalidRequest, field: "discount"},
		{name: "malformed JSON", body: `{"orderName":"Tea","amount":1000`, code: api.CodeInvalidJSON},
		{name: "empty body", body: ``, code: api.CodeInvalidJSON},
		{name: "array", body: `[{"orderName":"Tea","amount":1000}]`, code: api.CodeInvalidJSON},
		{name: "trailing data", body: `{"orderName":"Tea","amount":1000}{"orderName":"Tea","amount":1}`, code: api.CodeInvalidJSON},
		{name: "invalid UTF-8", body: "{\"orderName\":\"Tea\xff\xfe\",\"amount\":1000}", code: api.CodeInvalidJSON},
		{name: "bad base64", body: `!!!`, code: api.CodeInvalidJSON},
		{name: "wrong content type", body: `{"orderName":"Tea","amount":1000}`, ctype: "text/plain", code: api.CodeUnsupportedContentType},
		{name: "form content type", body: `orderName=Tea&amount=1000`, ctype: "application/x-www-form-urlencoded", code: api.CodeUnsupportedContentType},
		{name: "no content type", body: `{"orderName":"Tea","amount":1000}`, ctype: "-", code: api.CodeUnsupportedContentType},
		{name: "body over 16 KiB", body: `{"orderName":"Tea","amount":1000,"customerName":"` + strings.Repeat("x", 16<<10) + `"}`, code: api.CodeRequestTooLarge},
		{name: "base64 body over 16 KiB", body: `{"orderName":"Tea","amount":1000,"customerName":"` + strings.Repeat("x", 16<<10) + `"}`, b64: true, code: api.CodeRequestTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			hd := map[string]string{"content-type": "application/json", "accept-language": "en-US"}
			switch tc.ctype {
			case "-":
				delete(hd, "content-type")
			case "":
			default:
				hd["content-type"] = tc.ctype
			}
			r := h.request(rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: hd, Body: tc.body, Base64: tc.b64})
			if tc.name == "bad base64" {
				r.IsBase64Encoded = true
			}
			resp := h.call(h.svc.JSON(h.svc.CreateOrder), r)
			e := wantError(t, resp, 400, tc.code)
			if tc.field != "" && !strings.Contains(e.Error.Message, tc.field) {
				t.Errorf("message %q does not name %s", e.Error.Message, tc.field)
			}
			items, _, err := h.store.List(context.Background(), h.clock.Now(), 10, "")
			if err != nil || len(items) != 0 {
				t.Errorf("a refused request stored %d orders (%v)", len(items), err)
			}
		})
	}
}

func TestCreateOrderIdempotency(t *testing.T) {
	post := func(h *harness, key, body string) (envelopeResp envelope, status int, replayed string) {
		hd := jsonHeaders()
		if key != "\x00" {
			hd["idempotency-key"] = key
		}
		resp := h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: hd, Body: body})
		return decodeEnvelope(t, resp), resp.StatusCode, resp.Headers["Idempotent-Replayed"]
	}
	orderID := func(t *testing.T, e envelope) string {
		t.Helper()
		var o orderView
		if err := json.Unmarshal(e.EntityBody, &o); err != nil || o.OrderID == "" {
			t.Fatalf("no order in %s (%v)", e.EntityBody, err)
		}
		return o.OrderID
	}
	count := func(h *harness) int {
		items, _, err := h.store.List(context.Background(), h.clock.Now(), 100, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(items)
	}

	t.Run("replay returns the same order", func(t *testing.T) {
		h := newHarness(t)
		body := createBody("Hanbok", 39000)
		first, st, rep := post(h, "order-key-1", body)
		if st != 200 || rep != "" {
			t.Fatalf("first: %d replayed=%q", st, rep)
		}
		second, st, rep := post(h, "order-key-1", body)
		if st != 200 || rep != "true" {
			t.Fatalf("replay: %d replayed=%q", st, rep)
		}
		if orderID(t, first) != orderID(t, second) {
			t.Errorf("replay made another order")
		}
		if n := count(h); n != 1 {
			t.Errorf("%d orders stored, want 1", n)
		}
		// Another key is another order.
		third, st, _ := post(h, "order-key-2", body)
		if st != 200 || orderID(t, third) == orderID(t, first) {
			t.Errorf("another key: %d, same order %v", st, orderID(t, third) == orderID(t, first))
		}
	})

	t.Run("same key with another body", func(t *testing.T) {
		h := newHarness(t)
		post(h, "order-key-1", createBody("Hanbok", 39000))
		e, st, _ := post(h, "order-key-1", createBody("Hanbok", 39001))
		if st != 422 || e.Error == nil || e.Error.Code != api.CodeIdempotencyKeyReused {
			t.Fatalf("got %d %+v", st, e.Error)
		}
		if n := count(h); n != 1 {
			t.Errorf("%d orders stored, want 1", n)
		}
	})

	t.Run("key too long", func(t *testing.T) {
		h := newHarness(t)
		e, st, _ := post(h, strings.Repeat("k", 301), createBody("Hanbok", 39000))
		if st != 400 || e.Error == nil || e.Error.Code != api.CodeInvalidIdempotencyKey {
			t.Fatalf("got %d %+v", st, e.Error)
		}
		if n := count(h); n != 0 {
			t.Errorf("%d orders stored, want 0", n)
		}
		if _, st, _ := post(h, strings.Repeat("k", 300), createBody("Hanbok", 39000)); st != 200 {
			t.Errorf("300-character key: %d", st)
		}
	})

	t.Run("empty key", func(t *testing.T) {
		h := newHarness(t)
		e, st, _ := post(h, "", createBody("Hanbok", 39000))
		if st != 400 || e.Error == nil || e.Error.Code != api.CodeInvalidIdempotencyKey {
			t.Fatalf("got %d %+v", st, e.Error)
		}
	})

	t.Run("validation error is not stored", func(t *testing.T) {
		h := newHarness(t)
		e, st, _ := post(h, "order-key-1", `{"orderName":"","amount":39000}`)
		if st != 400 || e.Error.Code != api.CodeInvalidRequest {
			t.Fatalf("got %d %+v", st, e.Error)
		}
		e, st, _ = post(h, "order-key-1", `{"orderName":"Hanbok","amount":0}`)
		if st != 400 || e.Error.Code != api.CodeInvalidRequest {
			t.Fatalf("got %d %+v", st, e.Error)
		}
		fixed := createBody("Hanbok", 39000)
		e, st, rep := post(h, "order-key-1", fixed)
		if st != 200 || rep != "" {
			t.Fatalf("fixed request under the same key: %d replayed=%q %+v", st, rep, e.Error)
		}
		id := orderID(t, e)
		e, st, rep = post(h, "order-key-1", fixed)
		if st != 200 || rep != "true" || orderID(t, e) != id {
			t.Errorf("replay of the fixed request: %d replayed=%q", st, rep)
		}
	})

	t.Run("replay keeps the JSON headers", func(t *testing.T) {
		h := newHarness(t)
		hd := jsonHeaders("idempotency-key", "order-key-1")
		h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: hd, Body: createBody("Tea", 1000)})
		resp := h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: hd, Body: createBody("Tea", 1000)})
		checkJSONHeaders(t, resp)
		if resp.Headers["Idempotent-Replayed"] != "true" || resp.Headers["X-Trace-Id"] == "" {
			t.Errorf("headers %v", resp.Headers)
		}
	})
}

// Links the API hands out are built from API Gateway's domain name, not
// from a header the client sets.
func TestLinksIgnoreClientSetForwardedHost(t *testing.T) {
	h := newHarness(t)
	req := h.request(rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: jsonHeaders("x-forwarded-host", "evil.example"), Body: createBody("Tea", 1000)})
	req.RequestContext.DomainName = "api.shop.example"
	resp := h.call(h.svc.JSON(h.svc.CreateOrder), req)
	if resp.StatusCode != 200 || strings.Contains(resp.Body, "evil.example") || !strings.Contains(resp.Body, "https://api.shop.example/checkout/") {
		t.Fatalf("checkoutUrl follows the client's header: %s", resp.Body)
	}
	if got := apigw.BaseURL(&req); got != "https://api.shop.example" {
		t.Fatalf("BaseURL = %s", got)
	}
}

func TestGetOrder(t *testing.T) {
	h := newHarness(t)
	o := h.createOrder("Hanbok", 39000)
	key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
	wantEntity(t, h.confirm(key, o.OrderID, o.Amount, ""), 200, "payment", nil)

	t.Run("paid order shows its payment", func(t *testing.T) {
		got := h.getOrder(o.OrderID)
		if got.Status != "DONE" || got.PaymentKey != key || got.Payment == nil {
			t.Fatalf("order %+v", got)
		}
		p := got.Payment
		if p.Status != "DONE" || p.TotalAmount != 39000 || p.ReceiptURL == "" || p.ApprovedAt == nil || !strings.Contains(p.CardNumber, "*") {
			t.Errorf("payment summary %+v", p)
		}
	})

	for _, tc := range []struct{ name, id string }{
		{"unknown", "ord_0000000000000000000000"},
		{"path traversal", "../x"},
		{"too short", "ord_1"},
		{"too long", strings.Repeat("a", 65)},
		{"empty", ""},
		{"encoded slash", "ord_%2F..%2Fx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.json(h.svc.GetOrder, rq{Method: "GET", Path: "/orders/" + tc.id, Auth: authHeader(), Params: map[string]string{"orderId": tc.id}})
			wantError(t, resp, 404, api.CodeNotFoundOrder)
		})
	}
}

type orderList struct {
	HasNext    bool        `json:"hasNext"`
	LastCursor *string     `json:"lastCursor"`
	Items      []orderView `json:"items"`
}

func TestListOrders(t *testing.T) {
	h := newHarness(t)
	var created []string
	for i := range 5 {
		created = append(created, h.createOrder(fmt.Sprintf("Item %d", i), int64(1000+i)).OrderID)
		h.clock.Advance(time.Second)
	}
	list := func(query string) (orderList, apiResp) {
		resp := h.json(h.svc.ListOrders, rq{Method: "GET", Path: "/orders", Query: query, Auth: authHeader()})
		var l orderList
		if resp.StatusCode == 200 {
			wantEntity(t, resp, 200, "order-list", &l)
		}
		return l, apiResp{resp.StatusCode, resp.Body}
	}

	t.Run("pages newest first", func(t *testing.T) {
		var seen []string
		query := "limit=2"
		for page := 0; ; page++ {
			l, r := list(query)
			if r.status != 200 {
				t.Fatalf("page %d: %d %s", page, r.status, r.body)
			}
			for _, it := range l.Items {
				seen = append(seen, it.OrderID)
			}
			if page < 2 {
				if !l.HasNext || l.LastCursor == nil || len(l.Items) != 2 {
					t.Fatalf("page %d: hasNext %v cursor %v items %d", page, l.HasNext, l.LastCursor, len(l.Items))
				}
				query = "limit=2&cursor=" + url.QueryEscape(*l.LastCursor)
				continue
			}
			if l.HasNext || l.LastCursor != nil || len(l.Items) != 1 {
				t.Fatalf("last page: hasNext %v cursor %v items %d", l.HasNext, l.LastCursor, len(l.Items))
			}
			break
		}
		want := []string{created[4], created[3], created[2], created[1], created[0]}
		if strings.Join(seen, ",") != strings.Join(want, ",") {
			t.Errorf("orders %v, want %v", seen, want)
		}
	})

	t.Run("default limit holds all", func(t *testing.T) {
		l, r := list("")
		if r.status != 200 || len(l.Items) != 5 || l.HasNext || l.LastCursor != nil {
			t.Fatalf("%d: %+v", r.status, l)
		}
		if !strings.Contains(r.body, `"lastCursor":null`) {
			t.Errorf("lastCursor is not null on the last page: %s", r.body)
		}
	})

	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"c":1,"i":"../x"}`))
	for _, tc := range []struct {
		name, query, code string
	}{
		{"limit 0", "limit=0", api.CodeInvalidRequest},
		{"limit 101", "limit=101", api.CodeInvalidRequest},
		{"limit abc", "limit=abc", api.CodeInvalidRequest},
		{"limit -1", "limit=-1", api.CodeInvalidRequest},
		{"cursor not base64", "cursor=%25%25%25", api.CodeInvalidCursor},
		{"cursor junk", "cursor=abc", api.CodeInvalidCursor},
		{"cursor forged", "cursor=" + forged, api.CodeInvalidCursor},
		{"query not UTF-8", "cursor=%ff", api.CodeInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.json(h.svc.ListOrders, rq{Method: "GET", Path: "/orders", Query: tc.query, Auth: authHeader()})
			wantError(t, resp, 400, tc.code)
		})
	}
}

type apiResp struct {
	status int
	body   string
}

func TestDeleteOrder(t *testing.T) {
	h := newHarness(t)
	del := func(id string) (apiResp, envelope) {
		resp := h.json(h.svc.DeleteOrder, rq{Method: "DELETE", Path: "/orders/" + id, Auth: authHeader(), Params: map[string]string{"orderId": id}})
		return apiResp{resp.StatusCode, resp.Body}, decodeEnvelope(t, resp)
	}

	t.Run("unpaid", func(t *testing.T) {
		resp := h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(), Headers: jsonHeaders(),
			Body: `{"orderName":"Tea","amount":1000,"refOrderId":"shop-77"}`})
		var o orderView
		wantEntity(t, resp, 200, "order", &o)
		r, e := del(o.OrderID)
		var d struct {
			ID         string `json:"id"`
			RefOrderID string `json:"refOrderId"`
		}
		if r.status != 200 || e.EntityType != "deleted-entity" || json.Unmarshal(e.EntityBody, &d) != nil || d.ID != o.OrderID || d.RefOrderID != "shop-77" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		get := h.json(h.svc.GetOrder, rq{Method: "GET", Path: "/orders/" + o.OrderID, Auth: authHeader(), Params: map[string]string{"orderId": o.OrderID}})
		wantError(t, get, 404, api.CodeNotFoundOrder)
		r, e = del(o.OrderID)
		if r.status != 404 || e.Error.Code != api.CodeNotFoundOrder {
			t.Errorf("second delete: %d %s", r.status, r.body)
		}
	})

	t.Run("declined order", func(t *testing.T) {
		o := h.createOrder("Tea", 1000)
		other := h.createOrder("Other", 1000)
		key := h.sb.Authorize(other.OrderID, other.OrderName, other.Amount)
		h.confirm(key, o.OrderID, o.Amount, "") // refused by Toss: the order is FAILED
		if got := h.getOrder(o.OrderID); got.Status != "FAILED" {
			t.Fatalf("status %s", got.Status)
		}
		// Not while Toss's confirm window of the attempt runs.
		if r, e := del(o.OrderID); r.status != 400 || e.Error == nil || e.Error.Code != api.CodeNotDeletableOrder {
			t.Fatalf("delete right after the decline: %d %s", r.status, r.body)
		}
		h.clock.Advance(15 * time.Minute)
		if r, e := del(o.OrderID); r.status != 200 || e.EntityType != "deleted-entity" {
			t.Errorf("%d %s", r.status, r.body)
		}
	})

	t.Run("paid", func(t *testing.T) {
		o := h.createOrder("Tea", 1000)
		key := h.sb.Authorize(o.OrderID, o.OrderName, o.Amount)
		wantEntity(t, h.confirm(key, o.OrderID, o.Amount, ""), 200, "payment", nil)
		r, e := del(o.OrderID)
		if r.status != 400 || e.Error == nil || e.Error.Code != api.CodeNotDeletableOrder {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if got := h.getOrder(o.OrderID); got.Status != "DONE" {
			t.Errorf("status after refused delete: %s", got.Status)
		}
	})

	t.Run("being confirmed", func(t *testing.T) {
		o := h.createOrder("Tea", 1000)
		now := h.clock.Now()
		if _, err := h.store.Claim(context.Background(), orders.Claim{OrderID: o.OrderID, PaymentKey: "tgen_claimed_0001", Amount: 1000, Now: now, Until: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		r, e := del(o.OrderID)
		if r.status != 400 || e.Error == nil || e.Error.Code != api.CodeNotDeletableOrder {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})

	for _, id := range []string{"ord_0000000000000000000000", "../x", "ord_1"} {
		t.Run("unknown "+id, func(t *testing.T) {
			r, e := del(id)
			if r.status != 404 || e.Error == nil || e.Error.Code != api.CodeNotFoundOrder {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
}

// TestCreateOrderBelowTossMinimum: Toss takes no card payment under 100
// KRW (BELOW_MINIMUM_AMOUNT), so such an order could never be paid: it is
// refused when created, with a message that says why, in the caller's
// language and the API's error format, and nothing is stored.
func TestCreateOrderBelowTossMinimum(t *testing.T) {
	for _, tt := range []struct {
		amount int64
		lang   string
		want   string
	}{
		{99, "en-US", "The amount must be at least 100 KRW, the smallest card payment Toss Payments takes."},
		{1, "en-US", "The amount must be at least 100 KRW, the smallest card payment Toss Payments takes."},
		{50, "ko-KR", "결제 금액은 100원 이상이어야 합니다. 토스페이먼츠 카드 결제의 최소 금액입니다."},
	} {
		h := newHarness(t)
		resp := h.json(h.svc.CreateOrder, rq{Method: "POST", Path: "/orders", Auth: authHeader(),
			Headers: map[string]string{"content-type": "application/json", "accept-language": tt.lang}, Body: createBody("Candy", tt.amount)})
		e := wantError(t, resp, 400, api.CodeInvalidRequest)
		if e.Error.Message != tt.want {
			t.Errorf("amount %d (%s): message %q, want %q", tt.amount, tt.lang, e.Error.Message, tt.want)
		}
		if items, _, err := h.store.List(context.Background(), h.clock.Now(), 10, ""); err != nil || len(items) != 0 {
			t.Errorf("a refused order was stored: %d (%v)", len(items), err)
		}
	}
}
