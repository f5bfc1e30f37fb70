package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gophone/gophone/internal/command"
)

// statusOnly answers every command with an empty success.
type statusOnly struct{}

func (statusOnly) Exec(context.Context, string, command.Request) command.Response {
	return command.Response{OK: true, Result: map[string]any{}}
}

// The UI is served without the token, behind the Host check; /v1 and
// /metrics still need the token.
func TestUIMount(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ui " + r.URL.Path)) })
	s := &Server{Exec: statusOnly{}, Token: "secret", UI: ui, Commands: command.Specs{
		{Name: "Status", Route: command.Route{Method: "GET", Path: "/v1/status"}},
	}}
	h := s.Handler("127.0.0.1:6060")
	tests := []struct {
		host, path string
		code       int
		body       string
	}{
		{"127.0.0.1:6060", "/", 200, "ui /"},
		{"localhost:6060", "/app.js", 200, "ui /app.js"},
		{"127.0.0.1:6060", "/v1/status", 401, ""},
		{"127.0.0.1:6060", "/v1/", 401, ""},
		{"127.0.0.1:6060", "/metrics", 401, ""},
		{"evil.example:6060", "/", 403, ""},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", tt.path, nil)
		req.Host = tt.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.code || tt.body != "" && rec.Body.String() != tt.body {
			t.Errorf("GET %s (Host %s) = %d %q, want %d %q", tt.path, tt.host, rec.Code, rec.Body.String(), tt.code, tt.body)
		}
	}
}
