package tosstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// controlPrefix is where the sandbox's drills are reachable over HTTP, so a
// black-box test of the local stack (any language, curl included) can make
// Toss fail and see what reached it, as Go tests do through the methods. It
// exists only in the sandbox and needs no key: the sandbox listens on
// loopback and only ever holds test keys.
//
//	POST /sandbox/faults            {"fault":"5xx|429|provider_error|drop","count":n}  FailNext
//	POST /sandbox/approve-then-drop {"count":n}                                        ApproveThenDrop
//	POST /sandbox/cancel-then-drop  {"count":n}                                        CancelThenDrop
//	POST /sandbox/latency           {"ms":n}                                           SetLatency
//	POST /sandbox/authorize         {"orderId":"…","orderName":"…","amount":n}         Authorize: {"paymentKey":"…"}
//	POST /sandbox/reset                                                                Reset
//	GET  /sandbox/orders/{orderId}  {"confirmsExecuted":n,"payments":[…]}              ConfirmsExecuted, OrderPayments
//	GET  /sandbox/requests          [{…}, …]                                           Requests
const controlPrefix = "/sandbox/"

// maxControlCount bounds one drill, so a typo cannot queue a billion faults.
const maxControlCount = 10_000

var faultNames = map[string]Fault{
	"5xx":            Fault5xx,
	"429":            Fault429,
	"provider_error": FaultProviderError,
	"drop":           FaultDrop,
}

type controlRequest struct {
	Fault     string `json:"fault"`
	Count     int    `json:"count"`
	MS        int64  `json:"ms"`
	OrderID   string `json:"orderId"`
	OrderName string `json:"orderName"`
	Amount    int64  `json:"amount"`
}

type orderReport struct {
	ConfirmsExecuted int           `json:"confirmsExecuted"`
	Payments         []PaymentInfo `json:"payments"`
}

func (s *Sandbox) serveControl(w http.ResponseWriter, r *http.Request) {
	what := strings.TrimPrefix(r.URL.Path, controlPrefix)
	if id, ok := strings.CutPrefix(what, "orders/"); ok {
		if !allow(w, r, http.MethodGet) {
			return
		}
		if id == "" || strings.Contains(id, "/") {
			controlError(w, http.StatusNotFound, "no such order path")
			return
		}
		payments := s.OrderPayments(id)
		if payments == nil {
			payments = []PaymentInfo{}
		}
		controlJSON(w, orderReport{ConfirmsExecuted: s.ConfirmsExecuted(id), Payments: payments})
		return
	}
	if what == "requests" {
		if allow(w, r, http.MethodGet) {
			controlJSON(w, s.Requests())
		}
		return
	}
	if !allow(w, r, http.MethodPost) {
		return
	}
	var req controlRequest
	if body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10)); err != nil {
		controlError(w, http.StatusBadRequest, "the body could not be read (64 KiB at most)")
		return
	} else if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			controlError(w, http.StatusBadRequest, "the body must be a JSON object: "+err.Error())
			return
		}
	}
	if req.Count < 0 || req.Count > maxControlCount {
		controlError(w, http.StatusBadRequest, fmt.Sprintf("count must be 0 to %d", maxControlCount))
		return
	}
	switch what {
	case "faults":
		f, ok := faultNames[req.Fault]
		if !ok {
			controlError(w, http.StatusBadRequest, `fault must be one of "5xx", "429", "provider_error", "drop"`)
			return
		}
		s.FailNext(req.Count, f)
	case "approve-then-drop":
		s.ApproveThenDrop(req.Count)
	case "cancel-then-drop":
		s.CancelThenDrop(req.Count)
	case "latency":
		if req.MS < 0 || req.MS > 60_000 {
			controlError(w, http.StatusBadRequest, "ms must be 0 to 60000")
			return
		}
		s.SetLatency(time.Duration(req.MS) * time.Millisecond)
	case "authorize":
		if req.OrderID == "" || req.Amount <= 0 {
			controlError(w, http.StatusBadRequest, "orderId and a positive amount are required")
			return
		}
		controlJSON(w, map[string]string{"paymentKey": s.Authorize(req.OrderID, req.OrderName, req.Amount)})
		return
	case "reset":
		s.Reset()
	default:
		controlError(w, http.StatusNotFound, "no such drill: see the sandbox's documentation of /sandbox/")
		return
	}
	controlJSON(w, map[string]bool{"ok": true})
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	controlError(w, http.StatusMethodNotAllowed, method+" only")
	return false
}

func controlJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": "INVALID_REQUEST", "message": msg})
}

// MarshalText names the fault in JSON ("5xx", "drop", "none"), as the
// drills take it.
func (f Fault) MarshalText() ([]byte, error) { return []byte(f.String()), nil }
