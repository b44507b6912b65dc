package toss

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"testing"
	"time"
)

// TestDecodePayment feeds Payment bodies through a real GET, as Toss sends them.
func TestDecodePayment(t *testing.T) {
	sample, err := os.ReadFile("testdata/payment_card_done.json")
	if err != nil {
		t.Fatal(err)
	}
	const samplePK = "tgen_20240213121757MvuS8"
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, p *Payment)
	}{
		{"full sample", string(sample), func(t *testing.T, p *Payment) {
			want := Payment{
				Version: "2022-11-16", PaymentKey: samplePK, Type: "NORMAL", OrderID: "order_8f2c1e7a0b",
				OrderName: "Hanbok rental, 2 days", MID: "tosspayments", Currency: "KRW", Method: "Card",
				TotalAmount: 15000, BalanceAmount: 10000, SuppliedAmount: 9091, VAT: 909, Status: StatusDone,
				Country: "KR", LastTransactionKey: "9C62B18EEF0DE3EB7F4422EB6D14BC6E", IsPartialCancelable: true,
			}
			// Raw is the body as Toss sent it, byte for byte: the fields
			// Payment does not model (secret, cashReceipt, discount, …) and
			// Toss's own layout are in it.
			if string(p.Raw) != string(sample) {
				t.Errorf("raw:\n got %s\nwant %s", p.Raw, sample)
			}
			got := *p
			got.RequestedAt, got.ApprovedAt, got.Card, got.EasyPay, got.Cancels = nil, nil, nil, nil, nil
			got.Receipt, got.Checkout, got.Failure, got.Metadata, got.Raw = nil, nil, nil, nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("scalars:\n got %+v\nwant %+v", got, want)
			}
			approved := time.Date(2024, 2, 13, 12, 18, 14, 0, KST)
			if p.ApprovedAt == nil || !p.ApprovedAt.Equal(approved) {
				t.Errorf("approvedAt = %v, want %v", p.ApprovedAt, approved)
			}
			if _, off := p.ApprovedAt.Zone(); off != 9*3600 {
				t.Errorf("approvedAt offset = %d, want +09:00", off)
			}
			if p.RequestedAt == nil || !p.RequestedAt.Equal(time.Date(2024, 2, 13, 12, 17, 57, 0, KST)) {
				t.Errorf("requestedAt = %v", p.RequestedAt)
			}
			wantCard := Card{Amount: 15000, IssuerCode: "4V", AcquirerCode: "21", Number: "43301234****123*",
				ApproveNo: "00000000", CardType: "Credit", OwnerType: "Personal", AcquireStatus: "READY"}
			if p.Card == nil || *p.Card != wantCard {
				t.Errorf("card = %+v, want %+v", p.Card, wantCard)
			}
			if len(p.Cancels) != 1 {
				t.Fatalf("cancels = %+v", p.Cancels)
			}
			c := p.Cancels[0]
			if c.CancelAmount != 5000 || c.RefundableAmount != 10000 || c.CancelStatus != "DONE" ||
				c.TransactionKey != "090A796806E726BBB929F4A2CA7DB9A7" || c.CanceledAt == nil ||
				!c.CanceledAt.Equal(time.Date(2024, 2, 14, 9, 1, 2, 0, KST)) {
				t.Errorf("cancel = %+v", c)
			}
			if p.Receipt == nil || p.Receipt.URL == "" || p.Checkout == nil || p.Checkout.URL == "" {
				t.Errorf("receipt %+v checkout %+v", p.Receipt, p.Checkout)
			}
			if p.Failure != nil || p.EasyPayProvider() != "" {
				t.Errorf("failure %+v easyPay %q, want none", p.Failure, p.EasyPay)
			}
			var meta map[string]string
			if err := json.Unmarshal(p.Metadata, &meta); err != nil || meta["locale"] != "en" {
				t.Errorf("metadata = %s (%v)", p.Metadata, err)
			}
		}},
		{"unknown status and unknown fields are kept or ignored",
			`{"paymentKey":"` + samplePK + `","status":"SETTLING_SOMEDAY","brandNew":{"a":[1,2]},"card":{"amount":1,"newCardField":true}}`,
			func(t *testing.T, p *Payment) {
				if p.Status != "SETTLING_SOMEDAY" {
					t.Errorf("status = %q", p.Status)
				}
				if p.Card == nil || p.Card.Amount != 1 {
					t.Errorf("card = %+v", p.Card)
				}
			}},
		{"null objects are nil",
			`{"paymentKey":"` + samplePK + `","status":"READY","card":null,"receipt":null,"checkout":null,"failure":null,"approvedAt":null,"cancels":null,"easyPay":null,"metadata":null}`,
			func(t *testing.T, p *Payment) {
				if p.Card != nil || p.Receipt != nil || p.Checkout != nil || p.Failure != nil || p.ApprovedAt != nil || p.Cancels != nil {
					t.Errorf("got %+v, want nil sections", p)
				}
				if p.EasyPayProvider() != "" {
					t.Errorf("easyPay provider = %q", p.EasyPayProvider())
				}
			}},
		{"easyPay as a string",
			`{"paymentKey":"` + samplePK + `","easyPay":"토스페이"}`,
			func(t *testing.T, p *Payment) {
				if got := p.EasyPayProvider(); got != "토스페이" {
					t.Errorf("provider = %q", got)
				}
			}},
		{"easyPay as an object",
			`{"paymentKey":"` + samplePK + `","easyPay":{"provider":"토스페이","amount":0,"discountAmount":0}}`,
			func(t *testing.T, p *Payment) {
				if got := p.EasyPayProvider(); got != "토스페이" {
					t.Errorf("provider = %q", got)
				}
			}},
		{"failure section and zone-less cancel time",
			`{"paymentKey":"` + samplePK + `","status":"ABORTED","failure":{"code":"REJECT_CARD_COMPANY","message":"m"},"cancels":[{"cancelAmount":1,"canceledAt":"2024-02-13T12:18:14.123456"}]}`,
			func(t *testing.T, p *Payment) {
				if p.Failure == nil || p.Failure.Code != CodeRejectCardCompany {
					t.Errorf("failure = %+v", p.Failure)
				}
				want := time.Date(2024, 2, 13, 12, 18, 14, 123456000, KST)
				if at := p.Cancels[0].CanceledAt; at == nil || !at.Equal(want) {
					t.Errorf("canceledAt = %v, want %v", at, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, 200, tt.body) })
			c := newClient(t, srv, nil)
			p, err := c.Payment(context.Background(), samplePK)
			if err != nil {
				t.Fatalf("Payment: %v", err)
			}
			tt.check(t, p)
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantOff int // seconds east of UTC of the parsed value
		wantErr bool
	}{
		{in: "2024-02-13T12:18:14+09:00", want: time.Date(2024, 2, 13, 3, 18, 14, 0, time.UTC), wantOff: 9 * 3600},
		{in: "2024-02-13T12:18:14.5+09:00", want: time.Date(2024, 2, 13, 3, 18, 14, 5e8, time.UTC), wantOff: 9 * 3600},
		{in: "2024-02-13T03:18:14Z", want: time.Date(2024, 2, 13, 3, 18, 14, 0, time.UTC)},
		{in: "2024-02-13T12:18:14.123456", want: time.Date(2024, 2, 13, 3, 18, 14, 123456000, time.UTC), wantOff: 9 * 3600},
		{in: "2024-02-13T12:18:14", want: time.Date(2024, 2, 13, 3, 18, 14, 0, time.UTC), wantOff: 9 * 3600},
		{in: "2024-02-13", wantErr: true},
		{in: "13/02/2024 12:18", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if _, off := got.Zone(); off != tt.wantOff {
				t.Errorf("offset = %d, want %d", off, tt.wantOff)
			}
		})
	}
}

func TestTimeJSON(t *testing.T) {
	var v struct {
		A *Time `json:"a"`
		B Time  `json:"b"`
		C Time  `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"a":null,"b":"","c":"2024-02-13T03:18:14Z"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != nil || !v.B.IsZero() {
		t.Errorf("null/empty: %v %v", v.A, v.B)
	}
	out, err := json.Marshal(v.C)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `"2024-02-13T12:18:14+09:00"` {
		t.Errorf("marshal = %s, want KST", out)
	}
	if err := json.Unmarshal([]byte(`{"c":"yesterday"}`), &v); err == nil {
		t.Error("bad time accepted")
	}
}
