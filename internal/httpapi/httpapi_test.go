package httpapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHostCheck(t *testing.T) {
	tests := []struct {
		addrs []string
		host  string
		ok    bool
	}{
		{[]string{"127.0.0.1:6060"}, "127.0.0.1:6060", true},
		{[]string{"127.0.0.1:6060"}, "localhost:6060", true},
		{[]string{"127.0.0.1:6060"}, "LOCALHOST:6060", true},
		{[]string{"127.0.0.1:6060"}, "[::1]:6060", true},
		{[]string{"127.0.0.1:6060"}, "localhost:6061", false},
		{[]string{"127.0.0.1:6060"}, "localhost", false},
		{[]string{"127.0.0.1:6060"}, "evil.example:6060", false},
		{[]string{"127.0.0.1:6060"}, "evil.example", false},
		{[]string{"127.0.0.1:6060"}, "localhost.:6060", false},
		{[]string{"127.0.0.1:6060"}, "127.0.0.2:6060", false},
		{[]string{"127.0.0.1:6060"}, "", false},
		{[]string{"127.0.0.1:80"}, "localhost", true},
		{[]string{"0.0.0.0:6060"}, "0.0.0.0:6060", false},
		{[]string{"0.0.0.0:6060"}, "127.0.0.1:6060", true},
		{[]string{"127.0.0.1:6060", "phone.lan:6060"}, "phone.lan:6060", true},
		{[]string{"192.168.1.5:6060"}, "192.168.1.5:6060", true},
	}
	for _, tt := range tests {
		if got := newHostCheck(tt.addrs...).ok(tt.host); got != tt.ok {
			t.Errorf("listening on %v, Host %q: ok = %v, want %v", tt.addrs, tt.host, got, tt.ok)
		}
	}
}

func TestLoadToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if tok, err := LoadToken("mine", dir); err != nil || tok != "mine" {
		t.Fatalf("configured: %q, %v", tok, err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a configured token created the data directory")
	}
	tok, err := LoadToken("", dir)
	if err != nil || len(tok) != 43 {
		t.Fatalf("generated: %q, %v", tok, err)
	}
	again, err := LoadToken("", dir)
	if err != nil || again != tok {
		t.Errorf("second load: %q, %v; want %q", again, err, tok)
	}
	other, _ := LoadToken("", t.TempDir())
	if other == tok {
		t.Error("two data directories got the same token")
	}
	path := filepath.Join(dir, TokenFile)
	os.Chmod(path, 0o640)
	if _, err := LoadToken("", dir); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("group-readable token file: %v", err)
	}
	os.WriteFile(path, []byte("\n"), 0o600)
	os.Chmod(path, 0o600)
	if _, err := LoadToken("", dir); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty token file: %v", err)
	}
}

func TestPathMatches(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/v1/calls", "/v1/calls", true},
		{"/v1/calls/{call}/hangup", "/v1/calls/3/hangup", true},
		{"/v1/calls/{call}/hangup", "/v1/calls//hangup", false},
		{"/v1/calls/{call}/hangup", "/v1/calls/3/answer", false},
		{"/v1/calls", "/v1/calls/", false},
	}
	for _, tt := range tests {
		if got := pathMatches(tt.pattern, tt.path); got != tt.want {
			t.Errorf("pathMatches(%q, %q) = %v", tt.pattern, tt.path, got)
		}
	}
	if got := strings.Join(wildcards("/v1/a/{x}/b/{y}"), ","); got != "x,y" {
		t.Errorf("wildcards = %s", got)
	}
}

func TestSecretEqual(t *testing.T) {
	if !secretEqual("abc", "abc") || secretEqual("abc", "abd") || secretEqual("abc", "abcd") || secretEqual("", "a") {
		t.Error("secretEqual is wrong")
	}
}
