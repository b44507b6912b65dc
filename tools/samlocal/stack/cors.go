package stack

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// TypeHTTPAPI is the SAM resource whose CorsConfiguration the local API applies.
const TypeHTTPAPI = "AWS::Serverless::HttpApi"

// CORS is an HttpApi's CorsConfiguration, resolved, as API Gateway applies
// it: preflight OPTIONS requests are answered by the API itself (no route or
// function is involved), and the answers of the functions to cross-origin
// requests get the configured headers, the functions' own CORS headers
// ignored. A nil *CORS is an API without a configuration: an OPTIONS request
// then finds no route (404), as in AWS.
type CORS struct {
	AllowOrigins     []string // "https://shop.example.com", "*", "https://*"
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	MaxAge           int // seconds; 0 sends no Access-Control-Max-Age
	AllowCredentials bool
}

// CORS resolves the CorsConfiguration of the template's HttpApi, nil when it
// has none (or it resolves to AWS::NoValue, as with no allowed origin).
func (r *Resolver) CORS() (*CORS, error) {
	for _, id := range sortedKeys(r.t.Resources) {
		res := r.t.Resources[id]
		raw, ok := res.Properties["CorsConfiguration"]
		if res.Type != TypeHTTPAPI || !ok {
			continue
		}
		v, err := r.Value(raw)
		if err != nil {
			return nil, fmt.Errorf("%s CorsConfiguration: %w", id, err)
		}
		switch c := v.(type) {
		case nil: // AWS::NoValue
			return nil, nil
		case bool:
			if !c {
				return nil, nil
			}
			return &CORS{AllowOrigins: []string{"*"}}, nil
		case map[string]any:
			cors := &CORS{
				AllowOrigins:  stringList(c["AllowOrigins"]),
				AllowMethods:  stringList(c["AllowMethods"]),
				AllowHeaders:  stringList(c["AllowHeaders"]),
				ExposeHeaders: stringList(c["ExposeHeaders"]),
			}
			if m, ok := c["MaxAge"]; ok {
				if cors.MaxAge, err = strconv.Atoi(scalarString(m)); err != nil {
					return nil, fmt.Errorf("%s CorsConfiguration MaxAge %v: %w", id, m, err)
				}
			}
			cors.AllowCredentials = scalarString(c["AllowCredentials"]) == "true"
			return cors, nil
		default:
			return nil, fmt.Errorf("%s CorsConfiguration: expected a mapping or a boolean, got %v", id, v)
		}
	}
	return nil, nil
}

// allowedOrigin returns the Access-Control-Allow-Origin value for origin, or
// "" when the configuration does not allow it.
func (c *CORS) allowedOrigin(origin string) string {
	if origin == "" {
		return ""
	}
	for _, o := range c.AllowOrigins {
		switch {
		case o == "*":
			return "*"
		case strings.EqualFold(o, origin),
			o == "https://*" && strings.HasPrefix(origin, "https://"),
			o == "http://*" && strings.HasPrefix(origin, "http://"):
			return origin
		}
	}
	return ""
}

// corsHeaders are the headers API Gateway owns once CORS is configured.
var corsHeaders = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers",
	"Access-Control-Max-Age", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
}

// Handler answers preflights and decorates the answers of next.
func (c *CORS) Handler(next http.Handler) http.Handler {
	if c == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := c.allowedOrigin(origin)
		if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			h := w.Header()
			h.Set("Apigw-Requestid", newAPIRequestID())
			if allowed != "" {
				h.Set("Access-Control-Allow-Origin", allowed)
				c.setCommon(h)
				if len(c.AllowMethods) > 0 {
					h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
				}
				if len(c.AllowHeaders) > 0 {
					h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
				}
				if c.MaxAge > 0 {
					h.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
				}
				h.Add("Vary", "Origin")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(&corsWriter{ResponseWriter: w, cors: c, allowed: allowed}, r)
	})
}

func (c *CORS) setCommon(h http.Header) {
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// corsWriter replaces the function's CORS headers with the configured ones
// when the answer's headers are written.
type corsWriter struct {
	http.ResponseWriter
	cors    *CORS
	allowed string
	wrote   bool
}

func (w *corsWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		h := w.Header()
		for _, k := range corsHeaders {
			h.Del(k)
		}
		if w.allowed != "" {
			h.Set("Access-Control-Allow-Origin", w.allowed)
			w.cors.setCommon(h)
			if len(w.cors.ExposeHeaders) > 0 {
				h.Set("Access-Control-Expose-Headers", strings.Join(w.cors.ExposeHeaders, ","))
			}
			h.Add("Vary", "Origin")
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *corsWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
