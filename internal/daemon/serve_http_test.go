package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/testutil"
)

// serveConfig is a configuration for Serve on free loopback ports with
// private directories.
func serveConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg.HTTPListen = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg.DataDir = t.TempDir()
	sock, err := os.MkdirTemp("", "gph")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sock) })
	cfg.ControlSocket = filepath.Join(sock, "ctl.sock")
	return cfg
}

// served is a Serve running in the background.
type served struct {
	stop context.CancelFunc
	done chan struct{} // closed when Serve returned
	err  error
}

// wait waits up to 10 s for Serve to return and returns its error.
func (s *served) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s")
		return nil
	}
}

// startServe runs Serve in the background until it is ready (the HTTP
// API answers). It is stopped at cleanup.
func startServe(t *testing.T, cfg *config.Config) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{stop: cancel, done: make(chan struct{})}
	go func() {
		s.err = Serve(ctx, cfg, slog.New(slog.DiscardHandler))
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		s.wait(t)
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", cfg.HTTPListen); err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("Serve returned %v before it was ready", s.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the HTTP API did not come up within 10s")
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func readToken(t *testing.T, dataDir string) string {
	t.Helper()
	path := filepath.Join(dataDir, "api-token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// The first start generates a token into dataDir/api-token (0600); the
// next start uses the same one; a configured apiToken wins and writes no
// file.
func TestServeAPIToken(t *testing.T) {
	cfg := serveConfig(t)
	srv := startServe(t, cfg)
	tok := readToken(t, cfg.DataDir)
	if len(tok) < 40 {
		t.Fatalf("generated token %q is short", tok)
	}
	api := testutil.NewAPI(cfg.HTTPListen, tok)
	if r := api.Do(t, "GET", "/v1/status", nil); r.Status != 200 {
		t.Fatalf("status with the generated token: %s", r)
	}
	srv.stop()
	if err := srv.wait(t); err != nil {
		t.Fatalf("Serve: %v", err)
	}

	startServe(t, cfg)
	if again := readToken(t, cfg.DataDir); again != tok {
		t.Errorf("second start token %q, want the first %q", again, tok)
	}
	if r := api.Do(t, "GET", "/v1/status", nil); r.Status != 200 {
		t.Errorf("status with the token after a restart: %s", r)
	}

	own := serveConfig(t)
	own.APIToken = "configured-token"
	startServe(t, own)
	if _, err := os.Stat(filepath.Join(own.DataDir, "api-token")); err == nil {
		t.Error("a token file was written although apiToken is configured")
	}
	if r := testutil.NewAPI(own.HTTPListen, "configured-token").Do(t, "GET", "/v1/status", nil); r.Status != 200 {
		t.Errorf("status with the configured token: %s", r)
	}
}

// Start-up errors of the HTTP API are clear and start nothing: the port
// in use, a token file others can read.
func TestServeHTTPStartErrors(t *testing.T) {
	cfg := serveConfig(t)
	busy, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	err = Serve(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "HTTP API") || !strings.Contains(err.Error(), "httpListen") {
		t.Errorf("Serve with the HTTP port in use: %v", err)
	}
	if _, err := os.Stat(cfg.ControlSocket); err == nil {
		t.Error("the control socket is left behind")
	}

	cfg = serveConfig(t)
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "api-token"), []byte("shared\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Serve(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("Serve with a world-readable token file: %v", err)
	}
}

// httpListen= turns the HTTP API off: nothing listens on its port.
func TestServeHTTPOff(t *testing.T) {
	cfg := serveConfig(t)
	port := cfg.HTTPListen
	cfg.HTTPListen = ""
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	defer func() { cancel(); <-errc }()
	waitSocket(t, cfg.ControlSocket, errc)
	if c, err := net.Dial("tcp", port); err == nil {
		c.Close()
		t.Error("something listens on the HTTP port with httpListen empty")
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "api-token")); err == nil {
		t.Error("a token was generated with the HTTP API off")
	}
}

func waitSocket(t *testing.T, path string, errc <-chan error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-errc:
			t.Fatalf("Serve returned %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the control socket did not come up within 10s")
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// The daemon stops with open SSE and WebSocket streams, which end; Close
// over HTTP is answered and then stops it.
func TestServeHTTPShutdown(t *testing.T) {
	cfg := serveConfig(t)
	srv := startServe(t, cfg)
	api := testutil.NewAPI(cfg.HTTPListen, readToken(t, cfg.DataDir))
	sse := api.SSE(t, "/v1/events", "")
	ws := api.WebSocket(t, "/v1/events/ws")
	srv.stop()
	if err := srv.wait(t); err != nil {
		t.Errorf("Serve: %v", err)
	}
	for name, s := range map[string]*testutil.Stream{"SSE": sse, "WebSocket": ws} {
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("the %s stream is still open after the daemon stopped", name)
		}
	}

	cfg = serveConfig(t)
	srv = startServe(t, cfg)
	api = testutil.NewAPI(cfg.HTTPListen, readToken(t, cfg.DataDir))
	if r := api.Do(t, "POST", "/v1/close", nil); r.Status != 200 || !strings.Contains(string(r.Result), `"closing":true`) {
		t.Errorf("POST /v1/close: %s", r)
	}
	if err := srv.wait(t); err != nil {
		t.Errorf("Serve after Close: %v", err)
	}
}

// By default the SIP and HTTP listeners are on loopback addresses only.
func TestDefaultListenLoopback(t *testing.T) {
	cfg := config.Default()
	for name, addr := range map[string]string{"listen": cfg.Listen, "httpListen": cfg.HTTPListen} {
		host, _, err := net.SplitHostPort(addr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() {
			t.Errorf("default %s = %q, not a loopback address", name, addr)
		}
	}
}
