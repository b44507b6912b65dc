package toss

import (
	"context"
	"net/http"
	"sync"
	"testing"
)

// countedMetrics records what the client counts.
type countedMetrics struct {
	mu       sync.Mutex
	config   []string
	versions []string
}

func (m *countedMetrics) TossConfigurationError(code string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.config = append(m.config, code)
}

func (m *countedMetrics) TossAPIVersionMismatch(version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.versions = append(m.versions, version)
}

// TestConfigurationAnswersAreCounted: every call (a confirm, a lookup, a
// cancel) that ends with Toss refusing the merchant's configuration is
// counted once; other answers are not, nor a 401 the reloaded key cures.
func TestConfigurationAnswersAreCounted(t *testing.T) {
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request, n int)
		want   []string
	}{
		{"INVALID_API_KEY", func(w http.ResponseWriter, _ *http.Request, _ int) { tossError(w, 400, CodeInvalidAPIKey) }, []string{CodeInvalidAPIKey}},
		{"UNAUTHORIZED_KEY, the reload holds the same key", func(w http.ResponseWriter, _ *http.Request, _ int) { tossError(w, 401, CodeUnauthorizedKey) }, []string{CodeUnauthorizedKey}},
		{"NOT_FOUND_TERMINAL_ID", func(w http.ResponseWriter, _ *http.Request, _ int) { tossError(w, 400, "NOT_FOUND_TERMINAL_ID") }, []string{"NOT_FOUND_TERMINAL_ID"}},
		{"a decline", func(w http.ResponseWriter, _ *http.Request, _ int) { tossError(w, 403, CodeRejectCardCompany) }, nil},
		{"attempt refused: the client cannot tell", func(w http.ResponseWriter, _ *http.Request, _ int) { tossError(w, 404, CodeNotFoundPaymentSession) }, nil},
		{"transient", func(w http.ResponseWriter, _ *http.Request, _ int) { tossError(w, 500, CodeFailedInternalSystem) }, nil},
		{"success", okPayment, nil},
	}
	for _, cl := range calls {
		for _, tt := range tests {
			t.Run(cl.name+"/"+tt.name, func(t *testing.T) {
				srv, _ := serve(t, tt.answer)
				m := &countedMetrics{}
				c := newClient(t, srv, func(o *Options) { o.Metrics = m })
				_, _ = cl.do(context.Background(), c)
				if len(m.config) != len(tt.want) || (len(tt.want) == 1 && m.config[0] != tt.want[0]) {
					t.Errorf("counted %v, want %v", m.config, tt.want)
				}
			})
		}
	}
}

// A 401 cured by reloading the key (a rotation under a warm function) is
// no outage: nothing is counted.
func TestRotatedKeyIsNotCounted(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Header.Get("Authorization") != basicAuth("test_sk_new") {
			tossError(w, 401, CodeUnauthorizedKey)
			return
		}
		okPayment(w, r, 0)
	})
	m := &countedMetrics{}
	keys := func(_ context.Context, refresh bool) (string, error) {
		if refresh {
			return "test_sk_new", nil
		}
		return "test_sk_old", nil
	}
	c := newClient(t, srv, func(o *Options) { o.Metrics = m; o.SecretKey = keys })
	if _, err := c.Payment(context.Background(), pk); err != nil {
		t.Fatal(err)
	}
	if len(m.config) != 0 {
		t.Errorf("counted %v", m.config)
	}
}
