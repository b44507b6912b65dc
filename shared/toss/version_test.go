package toss

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestPaymentOfAnotherAPIVersion: a MID set to another API version answers
// Payment objects the client does not model (an older one lacks the card
// issuer and the receipt URL). Such a Payment is still handed over,
// decoded as well as it can be, and the drift is logged once per answer
// with the version Toss named: nothing is refused for it.
func TestPaymentOfAnotherAPIVersion(t *testing.T) {
	tests := []struct {
		name    string
		version string // "" leaves the field out
		warned  bool
		logged  string
	}{
		{"the version modelled", "2022-11-16", false, ""},
		{"an older MID version", "1.4", true, "1.4"},
		{"a newer one", "2024-06-01", true, "2024-06-01"},
		{"none named", "", true, ""},
		{"junk", "x\n\u202e" + strings.Repeat("v", 100), true, `x\n\u202e` + strings.Repeat("v", 29)},
	}
	for _, cl := range calls {
		for _, tt := range tests {
			t.Run(cl.name+"/"+tt.name, func(t *testing.T) {
				srv, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
					var p map[string]any
					_ = json.Unmarshal([]byte(paymentJSON(pk, order, amt)), &p)
					if tt.version != "" {
						p["version"] = tt.version
					}
					b, _ := json.Marshal(p)
					writeJSON(w, 200, string(b))
				})
				var logs bytes.Buffer
				c := newClient(t, srv, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
				p, err := cl.do(context.Background(), c)
				if err != nil || p == nil || p.PaymentKey != pk || p.TotalAmount != amt {
					t.Fatalf("got %+v, %v; a Payment of another version is still processed", p, err)
				}
				var warns []map[string]any
				for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
					var line map[string]any
					if json.Unmarshal([]byte(l), &line) == nil && strings.Contains(line["msg"].(string), "API version") {
						warns = append(warns, line)
					}
				}
				if got := len(warns) == 1; got != tt.warned || len(warns) > 1 {
					t.Fatalf("%d version lines, want warned %v:\n%s", len(warns), tt.warned, logs.String())
				}
				if tt.warned && (warns[0]["version"] != tt.logged || warns[0]["level"] != "WARN" || warns[0]["modelled"] != "2022-11-16") {
					t.Errorf("line %v, want version %q", warns[0], tt.logged)
				}
			})
		}
	}
}

// The drift is counted, once per answer, with the version Toss named.
func TestPaymentOfAnotherAPIVersionIsCounted(t *testing.T) {
	for _, tt := range []struct {
		version string
		want    []string
	}{{APIVersion, nil}, {"1.4", []string{"1.4"}}} {
		srv, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			writeJSON(w, 200, `{"version":"`+tt.version+`",`+strings.TrimPrefix(paymentJSON(pk, order, amt), "{"))
		})
		m := &countedMetrics{}
		c := newClient(t, srv, func(o *Options) { o.Metrics = m })
		if _, err := c.Payment(context.Background(), pk); err != nil {
			t.Fatal(err)
		}
		if strings.Join(m.versions, ",") != strings.Join(tt.want, ",") {
			t.Errorf("version %s: counted %v, want %v", tt.version, m.versions, tt.want)
		}
	}
}
