package httpapi

import (
	"strings"
	"testing"
	"time"
)

// A session cookie is the server's own signature over its expiry: valid
// after a restart with the same token (a new sessions), never with another
// token, tampered with, expired, or signed out.
func TestSessions(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	s := newSessions("the token")
	s.now = clock
	v := s.create()
	if strings.Contains(v, "the token") {
		t.Fatalf("the session %q holds the token", v)
	}
	restarted := newSessions("the token")
	restarted.now = clock
	other := newSessions("another token")
	other.now = clock
	flip := func(v string, i int) string {
		b := []byte(v)
		b[i] ^= 1
		return string(b)
	}
	tests := []struct {
		name  string
		s     *sessions
		value string
		want  bool
	}{
		{"fresh", s, v, true},
		{"after a restart", restarted, v, true},
		{"under another token", other, v, false},
		{"payload altered", s, flip(v, 3), false},
		{"signature altered", s, flip(v, len(v)-2), false},
		{"no signature", s, strings.Split(v, ".")[0], false},
		{"empty", s, "", false},
		{"another fresh session", s, s.create(), true},
	}
	for _, tt := range tests {
		if got := tt.s.valid(tt.value); got != tt.want {
			t.Errorf("%s: valid = %v, want %v", tt.name, got, tt.want)
		}
	}
	now = now.Add(sessionTTL)
	if s.valid(v) {
		t.Error("a session is valid at its expiry")
	}
	now = now.Add(-sessionTTL)
	s.remove(v)
	if s.valid(v) {
		t.Error("a signed-out session is still valid")
	}
}
