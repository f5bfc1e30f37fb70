package sipua

import (
	"cmp"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Account is a SIP account the user agent registers and calls for.
type Account struct {
	// ID names the account in events and logs.
	ID string
	// Username is the user part of the account's address (AOR).
	Username string
	// AuthID is the digest user name; "" means Username.
	AuthID string
	// Password is the digest password; it is never logged.
	Password string
	// DisplayName goes into From.
	DisplayName string
	// Domain is the host of the account's address; "" means Server.
	Domain string
	// Server is the registrar, host[:port].
	Server string
	// Proxy is the outbound proxy, host[:port]; "" sends to Server.
	Proxy string
	// Transport is "udp" (default), "tcp" or "tls".
	Transport string
	// KeepAlive is the interval of keep-alive pings to the next hop while
	// registered; 0 sends none.
	KeepAlive time.Duration

	// resolved is where DNS (RFC 3263) said the proxy or server is; set
	// by UA.route.
	resolved hop
}

func (a Account) domain() string {
	if a.Domain != "" {
		return a.Domain
	}
	return a.Server
}

func (a Account) authID() string {
	if a.AuthID != "" {
		return a.AuthID
	}
	return a.Username
}

// transport is the transport of the account's requests: the one DNS
// chose for it, else its own, else udp.
func (a Account) transport() string {
	if a.resolved.transport != "" {
		return a.resolved.transport
	}
	if a.Transport == "" {
		return "udp"
	}
	return strings.ToLower(a.Transport)
}

// nextHop is where the account's out-of-dialog requests go: the address
// DNS gave for its proxy or server (UA.route), else the outbound proxy,
// else the server, as host:port (port 5060, or 5061 over TLS, when none is
// given).
func (a Account) nextHop() string {
	if a.resolved.addr != "" {
		return a.resolved.addr
	}
	hop := a.Proxy
	if hop == "" {
		hop = a.Server
	}
	hop = strings.TrimPrefix(strings.TrimPrefix(hop, "sip:"), "sips:")
	if _, _, err := net.SplitHostPort(hop); err == nil {
		return hop
	}
	port := 5060
	if a.transport() == "tls" {
		port = 5061
	}
	return net.JoinHostPort(strings.Trim(hop, "[]"), strconv.Itoa(port))
}

// target is the proxy, else the server, as configured.
func (a Account) target() string {
	return cmp.Or(a.Proxy, a.Server)
}

// NextHopHost is the host (name or address) the account's requests go
// to: its proxy's, else its server's.
func (a Account) NextHopHost() string {
	host, _ := splitHostPort(a.nextHop())
	return host
}

// aor is the account's address of record, sip:user@domain.
func (a Account) aor() sip.Uri {
	host, port := splitHostPort(a.domain())
	return sip.Uri{Scheme: "sip", User: a.Username, Host: host, Port: port}
}

// splitHostPort splits "host[:port]" (port 0 when absent).
func splitHostPort(hp string) (string, int) {
	if h, p, err := net.SplitHostPort(hp); err == nil {
		port, _ := strconv.Atoi(p)
		return h, port
	}
	return strings.Trim(hp, "[]"), 0
}
