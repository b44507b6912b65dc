package tossrules

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newBook() *Book[struct{}] {
	n := 0
	return New[struct{}](10*time.Minute, func() string { n++; return fmt.Sprintf("tx%d", n) })
}

func wantRefusal(t *testing.T, got *Refusal, status int, code string) {
	t.Helper()
	if got == nil || got.Status != status || got.Code != code {
		t.Fatalf("refusal = %v, want %d %s", got, status, code)
	}
}

func TestConfirmRefusesWhatTossRefuses(t *testing.T) {
	cases := []struct {
		name       string
		key, order string
		amount     int64
		after      time.Duration
		status     int
		code       string
	}{
		{"paymentKey never issued", "nope", "order-1", 1000, 0, http.StatusNotFound, CodeNotFoundPaymentSession},
		{"another order's attempt", "pk-1", "order-2", 1000, 0, http.StatusForbidden, CodeForbiddenRequest},
		{"past the confirm window", "pk-1", "order-1", 1000, 10*time.Minute + time.Second, http.StatusNotFound, CodeNotFoundPaymentSession},
		{"amount tampered", "pk-1", "order-1", 999, 0, http.StatusBadRequest, CodeInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBook()
			b.Authenticate("pk-1", "order-1", 1000, t0)
			b.Authenticate("pk-2", "order-2", 1000, t0)
			at := t0.Add(c.after)
			_, no := b.Confirm(c.key, c.order, c.amount, at, at)
			wantRefusal(t, no, c.status, c.code)
			if p := b.Payment("pk-1"); p.Status != StatusInProgress || b.Approvals("order-1") != 0 {
				t.Fatalf("a refused confirm changed the payment: %s, %d approvals", p.Status, b.Approvals("order-1"))
			}
		})
	}
}

func TestConfirmApprovesOncePerOrder(t *testing.T) {
	b := newBook()
	first := b.Authenticate("pk-1", "order-1", 1000, t0)
	b.Authenticate("pk-2", "order-1", 1000, t0)
	received, now := t0.Add(10*time.Minute), t0.Add(11*time.Minute) // exactly the window, executed later
	p, no := b.Confirm("pk-1", "order-1", 1000, received, now)
	if no != nil || p != first || p.Status != StatusDone || !p.ApprovedAt.Equal(now) || p.Balance != 1000 {
		t.Fatalf("confirm = %+v, %v", p, no)
	}
	_, no = b.Confirm("pk-1", "order-1", 1000, now, now)
	wantRefusal(t, no, http.StatusBadRequest, CodeAlreadyProcessedPayment)
	_, no = b.Confirm("pk-2", "order-1", 1000, now, now)
	wantRefusal(t, no, http.StatusBadRequest, CodeAlreadyProcessedPayment)
	if n := b.Approvals("order-1"); n != 1 {
		t.Fatalf("Approvals = %d, want 1", n)
	}
}

func TestConfirmOfADeclinedCardAborts(t *testing.T) {
	b := newBook()
	b.Authenticate("pk-1", "order-1", 1000, t0).Decline = true
	for range 2 { // declined, then refused as declined
		p, no := b.Confirm("pk-1", "order-1", 1000, t0, t0)
		wantRefusal(t, no, http.StatusForbidden, CodeRejectCardCompany)
		if p.Status != StatusAborted || p.Failure.Code != CodeRejectCardCompany {
			t.Fatalf("declined payment reads %s, failure %v", p.Status, p.Failure)
		}
	}
	_, no := b.Cancel("pk-1", "r", 0, t0)
	wantRefusal(t, no, http.StatusForbidden, CodeNotCancelablePayment)
}

func TestCancelWalksTheBalanceDown(t *testing.T) {
	b := newBook()
	b.Authenticate("pk-1", "order-1", 1000, t0)
	_, no := b.Cancel("pk-1", "r", 0, t0)
	wantRefusal(t, no, http.StatusForbidden, CodeNotCancelablePayment)
	_, no = b.Cancel("nope", "r", 0, t0)
	wantRefusal(t, no, http.StatusNotFound, CodeNotFoundPayment)
	if _, no := b.Confirm("pk-1", "order-1", 1000, t0, t0); no != nil {
		t.Fatal(no)
	}
	_, no = b.Cancel("pk-1", "r", 1001, t0)
	wantRefusal(t, no, http.StatusForbidden, CodeNotCancelableAmount)
	p, no := b.Cancel("pk-1", "part", 300, t0.Add(time.Hour))
	if no != nil || p.Status != StatusPartialCanceled || p.Balance != 700 {
		t.Fatalf("partial cancel = %s %d, %v", p.Status, p.Balance, no)
	}
	p, no = b.Cancel("pk-1", "rest", 0, t0.Add(2*time.Hour))
	if no != nil || p.Status != StatusCanceled || p.Balance != 0 {
		t.Fatalf("cancel of the rest = %s %d, %v", p.Status, p.Balance, no)
	}
	want := []Cancel{{"tx1", "part", 300, 700, t0.Add(time.Hour)}, {"tx2", "rest", 700, 0, t0.Add(2 * time.Hour)}}
	if fmt.Sprint(p.Cancels) != fmt.Sprint(want) {
		t.Fatalf("cancels = %v, want %v", p.Cancels, want)
	}
	_, no = b.Cancel("pk-1", "again", 0, t0)
	wantRefusal(t, no, http.StatusBadRequest, CodeAlreadyCanceledPayment)
	if !p.Approved() {
		t.Fatal("a canceled payment no longer counts as approved")
	}
}

func TestLookups(t *testing.T) {
	b := newBook()
	if b.OrderPayment("order-1", nil) != nil || b.Payment("pk-1") != nil {
		t.Fatal("an empty book finds a payment")
	}
	p1 := b.Authenticate("pk-1", "order-1", 1000, t0)
	p2 := b.Authenticate("pk-2", "order-1", 1000, t0)
	if got := b.OrderPayment("order-1", nil); got != p2 {
		t.Fatalf("by orderId without an approval: %s, want the latest", got.Key)
	}
	if got := b.OrderPayment("order-1", func(n int) int { return 0 }); got != p1 {
		t.Fatalf("by orderId, picking the first of %d: %s", len(b.Order("order-1")), got.Key)
	}
	if _, no := b.Confirm("pk-1", "order-1", 1000, t0, t0); no != nil {
		t.Fatal(no)
	}
	if got := b.OrderPayment("order-1", func(int) int { return 1 }); got != p1 {
		t.Fatalf("by orderId with an approval: %s, want the approved one", got.Key)
	}
	if b.Payment("pk-2") != p2 || len(b.All()) != 2 {
		t.Fatal("lookup by paymentKey or All lost a payment")
	}
}

func TestStatusAtExpiresUnconfirmedPayments(t *testing.T) {
	b := newBook()
	p := b.Authenticate("pk-1", "order-1", 1000, t0)
	late := t0.Add(10*time.Minute + time.Nanosecond)
	if got := b.StatusAt(p, t0.Add(10*time.Minute)); got != StatusInProgress {
		t.Fatalf("at the window's end: %s", got)
	}
	if got := b.StatusAt(p, late); got != StatusExpired {
		t.Fatalf("past the window: %s", got)
	}
	p.Confirming++
	if got := b.StatusAt(p, late); got != StatusInProgress {
		t.Fatalf("past the window with a confirm being processed: %s", got)
	}
}

func TestMessages(t *testing.T) {
	if m, ok := Message(CodeNotFoundPayment, true); !ok || m != "Payment not found." {
		t.Fatalf("English message = %q, %v", m, ok)
	}
	if m, ok := Message(CodeNotFoundPayment, false); !ok || m != "존재하지 않는 결제 정보 입니다." {
		t.Fatalf("Korean message = %q, %v", m, ok)
	}
	if _, ok := Message("NO_SUCH_CODE", true); ok {
		t.Fatal("an unknown code has a message")
	}
}
