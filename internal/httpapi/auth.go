package httpapi

import (
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
// maxSessions are kept (the oldest goes first).
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

// sessions maps browser session ids to their expiry. The cookie carries
// the id, never the token.
type sessions struct {
	mu  sync.Mutex
	ids map[string]time.Time
	now func() time.Time
}

func newSessions() *sessions {
	return &sessions{ids: map[string]time.Time{}, now: time.Now}
}

// create starts a session and returns its id.
func (s *sessions) create() string {
	id := randomString(32)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, exp := range s.ids {
		if !now.Before(exp) {
			delete(s.ids, k)
		}
	}
	for len(s.ids) >= maxSessions {
		var oldest string
		for k, exp := range s.ids {
			if oldest == "" || exp.Before(s.ids[oldest]) {
				oldest = k
			}
		}
		delete(s.ids, oldest)
	}
	s.ids[id] = now.Add(sessionTTL)
	return id
}

// valid reports whether id is a live session.
func (s *sessions) valid(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, exp := range s.ids {
		// Compare against every id in constant time; the map is small.
		if secretEqual(k, id) && s.now().Before(exp) {
			return true
		}
	}
	return false
}

// remove ends the session id.
func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
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
		if s.UI != nil && !strings.HasPrefix(r.URL.Path, "/v1/") && r.URL.Path != "/metrics" {
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
