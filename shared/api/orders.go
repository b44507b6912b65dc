package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tossintl/backend/shared/apigw"
	"github.com/tossintl/backend/shared/orders"
)

// OrderEntity is an order as the API shows it (entityType "order").
type OrderEntity struct {
	OrderID       string        `json:"orderId"`
	OrderName     string        `json:"orderName"`
	Amount        int64         `json:"amount"`
	Currency      string        `json:"currency"`
	RefOrderID    string        `json:"refOrderId,omitempty"`
	CustomerEmail string        `json:"customerEmail,omitempty"`
	CustomerName  string        `json:"customerName,omitempty"`
	Status        orders.Status `json:"status"`
	CheckoutURL   string        `json:"checkoutUrl"`
	// CheckoutToken is the order's capability, also in CheckoutURL: hand
	// it to a single-page frontend that confirms through POST
	// /payments/confirm (its checkoutToken field). Absent in order events
	// and on orders made before tokens.
	CheckoutToken string          `json:"checkoutToken,omitempty"`
	PaymentKey    string          `json:"paymentKey,omitempty"`
	Payment       *PaymentSummary `json:"payment"`
	LastFailure   *FailureEntity  `json:"lastFailure"`
	PayableUntil  time.Time       `json:"payableUntil"`
	CreatedAt     time.Time       `json:"createdAt"`
	UpdatedAt     time.Time       `json:"updatedAt"`
}

// PaymentSummary is what an order shows of its Toss payment.
type PaymentSummary struct {
	Status        string         `json:"status"`
	Method        string         `json:"method,omitempty"`
	ApprovedAt    *time.Time     `json:"approvedAt"`
	CardNumber    string         `json:"cardNumber,omitempty"`
	CardIssuer    string         `json:"cardIssuerCode,omitempty"`
	CardType      string         `json:"cardType,omitempty"`
	ReceiptURL    string         `json:"receiptUrl,omitempty"`
	TotalAmount   int64          `json:"totalAmount"`
	BalanceAmount int64          `json:"balanceAmount"`
	Cancels       []CancelEntity `json:"cancels,omitempty"`
}

// CancelEntity is one refund of a payment.
type CancelEntity struct {
	TransactionKey string    `json:"transactionKey,omitempty"`
	Reason         string    `json:"cancelReason"`
	Amount         int64     `json:"cancelAmount"`
	CanceledAt     time.Time `json:"canceledAt"`
}

// FailureEntity is the last failure recorded on an order.
type FailureEntity struct {
	Code    string    `json:"code"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

func (s *Service) baseURL(r *apigw.Request) string {
	if s.Config.PublicBaseURL != "" {
		return s.Config.PublicBaseURL
	}
	return apigw.BaseURL(r)
}

// CheckoutURL is where the buyer of an order pays: with token (the
// order's CheckoutToken, "" for none) as its query, the link whose holder
// draws on the order's own budget of Toss calls.
func (s *Service) CheckoutURL(r *apigw.Request, orderID, token string) string {
	u := s.baseURL(r) + "/checkout/" + url.PathEscape(orderID)
	if token != "" {
		u += "?" + tokenParam + "=" + url.QueryEscape(token)
	}
	return u
}

// tokenParam is the query parameter of the checkout token in the checkout
// URL, the successUrl and the failUrl.
const tokenParam = "token"

func (s *Service) orderEntity(r *apigw.Request, o *orders.Order) OrderEntity {
	e := OrderEntity{
		OrderID: o.ID, OrderName: o.Name, Amount: o.Amount, Currency: o.Currency, RefOrderID: o.RefOrderID,
		CustomerEmail: o.CustomerEmail, CustomerName: o.CustomerName, Status: o.Status,
		CheckoutURL: s.CheckoutURL(r, o.ID, o.CheckoutToken), CheckoutToken: o.CheckoutToken, PaymentKey: o.PaymentKey,
		PayableUntil: o.PayableUntil.UTC(), CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(),
	}
	if p := o.Payment; p != nil {
		ps := &PaymentSummary{Status: p.Status, Method: p.Method, CardNumber: p.CardNumber, CardIssuer: p.CardIssuerCode,
			CardType: p.CardType, ReceiptURL: p.ReceiptURL, TotalAmount: p.TotalAmount, BalanceAmount: p.BalanceAmount}
		if !p.ApprovedAt.IsZero() {
			at := p.ApprovedAt.UTC()
			ps.ApprovedAt = &at
		}
		for _, c := range p.Cancels {
			ps.Cancels = append(ps.Cancels, CancelEntity{TransactionKey: c.TransactionKey, Reason: c.Reason, Amount: c.Amount, CanceledAt: c.CanceledAt.UTC()})
		}
		e.Payment = ps
	}
	if f := o.LastFailure; f != nil {
		e.LastFailure = &FailureEntity{Code: f.Code, Message: f.Message, At: f.At.UTC()}
	}
	return e
}

type createOrderBody struct {
	OrderName     string          `json:"orderName"`
	Amount        json.RawMessage `json:"amount"` // see parseAmount
	Currency      string          `json:"currency"`
	CustomerEmail string          `json:"customerEmail"`
	CustomerName  string          `json:"customerName"`
	RefOrderID    string          `json:"refOrderId"`
}

// CreateOrder is POST /orders (merchant).
func (s *Service) CreateOrder(ctx context.Context, r *apigw.Request) apigw.Response {
	if resp, ok := s.merchant(ctx, r); !ok {
		return resp
	}
	var in createOrderBody
	body, fail := readJSON(r, &in)
	if fail != nil {
		return *fail
	}
	return s.idempotent(ctx, r, "merchant", body, func(ctx context.Context) apigw.Response {
		amount, ok := parseAmount(json.Number(in.Amount))
		if !ok {
			return Error(r, CodeInvalidRequest, fieldMessage(LangOf(r), "amount", "must be a positive integer"))
		}
		o, err := orders.New(orders.Draft{Name: in.OrderName, Amount: amount, Currency: in.Currency,
			CustomerEmail: in.CustomerEmail, CustomerName: in.CustomerName, RefOrderID: in.RefOrderID},
			s.now(), orders.Policy{MaxAmount: s.Config.MaxOrderAmount, PayWindow: s.Config.UnpaidWindow, Retention: s.Config.ExpiredRetention})
		if err != nil {
			var ve *orders.ValidationError
			switch {
			case errors.As(err, &ve) && ve.Field == "amount" && amount < orders.MinAmount:
				return Error(r, CodeInvalidRequest, belowMinimumMessage(LangOf(r)))
			case errors.As(err, &ve):
				return Error(r, CodeInvalidRequest, fieldMessage(LangOf(r), ve.Field, ve.Reason))
			}
			s.log().ErrorContext(ctx, "build order", "error", err)
			return Error(r, CodeInternal, "")
		}
		if err := s.Orders.Create(ctx, o); err != nil {
			s.log().ErrorContext(ctx, "create order", "error", err)
			return Error(r, CodeServiceUnavailable, "")
		}
		s.log().InfoContext(ctx, "order created", "orderId", o.ID, "amount", o.Amount)
		return Entity(r, http.StatusOK, "order", s.orderEntity(r, o))
	})
}

// belowMinimumMessage says why an order under orders.MinAmount is refused,
// wholly in the caller's language: a merchant meeting it needs the reason,
// not just the field.
func belowMinimumMessage(lang Lang) string {
	if lang == English {
		return fmt.Sprintf("The amount must be at least %d KRW, the smallest card payment Toss Payments takes.", orders.MinAmount)
	}
	return fmt.Sprintf("결제 금액은 %d원 이상이어야 합니다. 토스페이먼츠 카드 결제의 최소 금액입니다.", orders.MinAmount)
}

// orderIDParam reads {orderId} from the path.
func orderIDParam(r *apigw.Request) (string, bool) {
	id := r.PathParameters["orderId"]
	return id, orders.ValidID(id)
}

// GetOrder is GET /orders/{orderId} (merchant).
func (s *Service) GetOrder(ctx context.Context, r *apigw.Request) apigw.Response {
	if resp, ok := s.merchant(ctx, r); !ok {
		return resp
	}
	id, ok := orderIDParam(r)
	if !ok {
		return Error(r, CodeNotFoundOrder, "")
	}
	ctx = withOrder(ctx, id)
	o, err := s.Orders.Get(ctx, id, s.now())
	switch {
	case errors.Is(err, orders.ErrNotFound):
		return Error(r, CodeNotFoundOrder, "")
	case err != nil:
		s.log().ErrorContext(ctx, "get order", "error", err)
		return Error(r, CodeServiceUnavailable, "")
	}
	return Entity(r, http.StatusOK, "order", s.orderEntity(r, o))
}

// OrderList is the entityBody of "order-list".
type OrderList struct {
	HasNext    bool          `json:"hasNext"`
	LastCursor *string       `json:"lastCursor"`
	Items      []OrderEntity `json:"items"`
}

// ListOrders is GET /orders?limit&cursor (merchant), newest first.
func (s *Service) ListOrders(ctx context.Context, r *apigw.Request) apigw.Response {
	if resp, ok := s.merchant(ctx, r); !ok {
		return resp
	}
	q, err := apigw.Query(r)
	if err != nil {
		return Error(r, CodeInvalidRequest, "")
	}
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return Error(r, CodeInvalidRequest, fieldMessage(LangOf(r), "limit", "must be 1 to 100"))
		}
		limit = n
	}
	items, next, err := s.Orders.List(ctx, s.now(), limit, q.Get("cursor"))
	if err != nil {
		if orders.IsValidation(err) {
			return Error(r, CodeInvalidCursor, "")
		}
		s.log().ErrorContext(ctx, "list orders", "error", err)
		return Error(r, CodeServiceUnavailable, "")
	}
	list := OrderList{HasNext: next != "", Items: make([]OrderEntity, 0, len(items))}
	if next != "" {
		list.LastCursor = &next
	}
	for _, o := range items {
		list.Items = append(list.Items, s.orderEntity(r, o))
	}
	return Entity(r, http.StatusOK, "order-list", list)
}

// DeletedEntity is the entityBody of "deleted-entity".
type DeletedEntity struct {
	ID         string `json:"id"`
	RefOrderID string `json:"refOrderId"`
}

// DeleteOrder is DELETE /orders/{orderId} (merchant, unpaid orders only;
// see payments.Engine.Delete for why an order that had attempts is looked
// up at Toss first).
func (s *Service) DeleteOrder(ctx context.Context, r *apigw.Request) apigw.Response {
	if resp, ok := s.merchant(ctx, r); !ok {
		return resp
	}
	id, ok := orderIDParam(r)
	if !ok {
		return Error(r, CodeNotFoundOrder, "")
	}
	ctx = withOrder(ctx, id)
	o, err := s.Engine.Delete(ctx, id)
	var ce *orders.ConflictError
	switch {
	case errors.Is(err, orders.ErrNotFound):
		return Error(r, CodeNotFoundOrder, "")
	case errors.As(err, &ce):
		return Error(r, CodeNotDeletableOrder, "")
	case err != nil:
		s.log().ErrorContext(ctx, "delete order", "error", err)
		return Error(r, CodeServiceUnavailable, "")
	}
	s.log().InfoContext(ctx, "order deleted")
	return Entity(r, http.StatusOK, "deleted-entity", DeletedEntity{ID: o.ID, RefOrderID: o.RefOrderID})
}
