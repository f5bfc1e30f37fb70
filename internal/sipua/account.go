package sipua

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
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

func (a Account) transport() string {
	if a.Transport == "" {
		return "udp"
	}
	return strings.ToLower(a.Transport)
}

// nextHop is where the account's out-of-dialog requests go: the outbound
// proxy, else the server, as host:port (port 5060, or 5061 over TLS, when
// none is given).
func (a Account) nextHop() string {
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

// authorize adds the credentials that answer res's challenge (a 401 or 407)
// to req, for the account. nc counts the uses of the challenge's nonce.
func (a Account) authorize(req *sip.Request, res *sip.Response, nc int) (*digest.Challenge, error) {
	chName, credName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == sip.StatusProxyAuthRequired {
		chName, credName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var chal *digest.Challenge
	for _, h := range res.GetHeaders(chName) {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		c.Algorithm = strings.ToUpper(c.Algorithm)
		if chal == nil || c.Algorithm == "SHA-256" {
			chal = c // RFC 8760 §2.4: prefer the strongest algorithm offered
		}
	}
	if chal == nil {
		return nil, fmt.Errorf("%d without a usable %s challenge", res.StatusCode, chName)
	}
	cred, err := digest.Digest(chal, digest.Options{
		Method:   req.Method.String(),
		URI:      req.Recipient.String(),
		Username: a.authID(),
		Password: a.Password,
		Count:    nc,
	})
	if err != nil {
		return nil, fmt.Errorf("answering the %s challenge: %w", chName, err)
	}
	req.RemoveHeader(credName)
	req.AppendHeader(sip.NewHeader(credName, cred.String()))
	return chal, nil
}

// doAuthorized sends req through client and, when acc is set, answers a
// 401/407 with acc's credentials on a copy with the next CSeq (RFC 3261
// §22.2): once per nonce, again only when the server says the nonce was
// stale. The last response is returned; a challenge it cannot answer is
// the response.
func doAuthorized(ctx context.Context, client *sipgo.Client, acc *Account, req *sip.Request) (*sip.Response, error) {
	answered := map[string]bool{}
	nc := map[string]int{}
	send := req
	for attempt := 0; ; attempt++ {
		res, err := client.Do(ctx, send)
		if err != nil || acc == nil || attempt >= 4 ||
			(res.StatusCode != sip.StatusUnauthorized && res.StatusCode != sip.StatusProxyAuthRequired) {
			return res, err
		}
		key := challengeNonce(res)
		if answered[key] && !challengeStale(res) {
			return res, nil // our answer to this nonce was refused
		}
		answered[key] = true
		nc[key]++
		send = req.Clone()
		send.RemoveHeader("Via") // the client adds a Via with a new branch
		send.CSeq().SeqNo = req.CSeq().SeqNo + uint32(attempt) + 1
		send.SetTransport(req.Transport())
		send.SetDestination(req.Destination())
		if _, err := acc.authorize(send, res, nc[key]); err != nil {
			return res, nil
		}
	}
}
