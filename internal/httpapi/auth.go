package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gophone/gophone/internal/command"
)

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "gophone_session"

// Session limits: a session lasts sessionTTL from sign-in, and at most
// maxSessions signed-out sessions are remembered as revoked.
const (
	sessionTTL  = 24 * time.Hour
	maxSessions = 256
)

// hostCheck accepts a request only when its Host header names the server:
// one of the listen addresses, or a loopback name with the port the
// server listens on. A page on a rebinding DNS name (evil.example
// resolving to 127.0.0.1) sends its own name and gets nothing.
type hostCheck struct {
	allowed map[string]bool // lower-case host:port
}

func newHostCheck(addrs ...string) hostCheck {
	h := hostCheck{allowed: map[string]bool{}}
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		if host != "" && !isUnspecified(host) {
			h.allowed[strings.ToLower(net.JoinHostPort(host, port))] = true
		}
		for _, lo := range []string{"localhost", "127.0.0.1", "::1"} {
			h.allowed[net.JoinHostPort(lo, port)] = true
		}
	}
	return h
}

func isUnspecified(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// ok reports whether the Host header (host[:port]; port 80 when absent)
// is allowed.
func (h hostCheck) ok(hostHeader string) bool {
	hostHeader = strings.ToLower(hostHeader)
	host, port, err := net.SplitHostPort(hostHeader)
	if err != nil {
		host, port = strings.Trim(hostHeader, "[]"), "80"
	}
	return h.allowed[net.JoinHostPort(host, port)]
}

// sessions are browser sessions: a cookie value carries its own expiry
// and a random id, signed with a key derived from the API token. It never
// holds the token, needs no table of sessions, and stays valid across a
// restart of the daemon for as long as the token does (a new token ends
// every session). A signed-out session is remembered as revoked until it
// expires, in memory: after a restart only the cleared cookie keeps it out.
type sessions struct {
	key []byte
	now func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // session value → its expiry
}

func newSessions(token string) *sessions {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("gophone browser session v1"))
	return &sessions{key: mac.Sum(nil), now: time.Now, revoked: map[string]time.Time{}}
}

// create starts a session and returns its cookie value:
// base64url(expiry ‖ id) "." base64url(HMAC-SHA256(key, expiry ‖ id)).
func (s *sessions) create() string {
	payload := make([]byte, 8, 8+16)
	binary.BigEndian.PutUint64(payload, uint64(s.now().Add(sessionTTL).Unix()))
	payload = append(payload, randomBytes(16)...)
	return base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(s.sign(payload))
}

func (s *sessions) sign(payload []byte) []byte {
	mac := hmac.New(sha256.New, s.key)
	mac.Write(payload)
	return mac.Sum(nil)
}

// expiry returns when the session value v ends, if it is one of ours.
func (s *sessions) expiry(v string) (time.Time, bool) {
	p, m, ok := strings.Cut(v, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	sum, err2 := base64.RawURLEncoding.DecodeString(m)
	if !ok || err1 != nil || err2 != nil || len(payload) != 8+16 || !hmac.Equal(sum, s.sign(payload)) {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(payload)), 0), true
}

// valid reports whether v is a live session.
func (s *sessions) valid(v string) bool {
	exp, ok := s.expiry(v)
	if !ok || !s.now().Before(exp) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, revoked := s.revoked[v]
	return !revoked
}

// remove ends the session v. At most maxSessions are remembered (the
// ones closest to their own end go first).
func (s *sessions) remove(v string) {
	exp, ok := s.expiry(v)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, e := range s.revoked {
		if !now.Before(e) {
			delete(s.revoked, k)
		}
	}
	for len(s.revoked) >= maxSessions {
		var first string
		for k, e := range s.revoked {
			if first == "" || e.Before(s.revoked[first]) {
				first = k
			}
		}
		delete(s.revoked, first)
	}
	s.revoked[v] = exp
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// authorized reports whether r carries the API token as a bearer token
// or, without an Authorization header, a live session cookie. The token
// is never taken from the URL.
func (s *Server) authorized(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		tok, ok := bearer(r)
		return ok && secretEqual(tok, s.Token)
	}
	c, err := r.Cookie(SessionCookie)
	return err == nil && s.sessions.valid(c.Value)
}

// guard wraps the API: the Host check first (403), then the token or
// session (401), except for signing in, which checks the token itself.
func (s *Server) guard(hosts hostCheck, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hosts.ok(r.Host) {
			writeError(w, command.Errorf(command.CodeForbidden, "Host %q is not this server", r.Host))
			return
		}
		if s.UI != nil && !strings.HasPrefix(r.URL.Path, "/v1/") && r.URL.Path != metricsPath {
			s.UI.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == sessionPath {
			next.ServeHTTP(w, r)
			return
		}
		if !s.authorized(r) {
			unauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="gophone"`)
	writeError(w, command.Errorf(command.CodeUnauthorized,
		"an API token is required: Authorization: Bearer TOKEN (see dataDir/api-token)"))
}

const sessionPath = "/v1/session"

// signIn answers POST /v1/session {"token":"…"}: a valid token starts a
// browser session, whose id is set as an HttpOnly, SameSite=Strict cookie.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Token string `json:"token"`
	}
	err := decodeBody(w, r, &body)
	tok := body.Token
	if tok == "" {
		tok, _ = bearer(r)
	}
	if tok == "" || !secretEqual(tok, s.Token) {
		unauthorized(w)
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    s.sessions.create(),
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	s.logger().Info("http: browser session started", "remote", r.RemoteAddr)
	writeReply(w, command.Response{OK: true, Result: map[string]any{"session": true, "expiresIn": int(sessionTTL / time.Second)}})
}

// signOut answers DELETE /v1/session: the session ends and the cookie is
// cleared.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		s.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeReply(w, command.Response{OK: true, Result: map[string]any{"session": false}})
}
