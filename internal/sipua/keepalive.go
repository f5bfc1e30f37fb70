package sipua

import (
	"context"
	"io"
	"net"
	"time"
)

// crlf2 is the keep-alive ping of RFC 5626 §3.5.1 (a double CRLF), which
// registrars ignore and NATs see as traffic.
var crlf2 = []byte("\r\n\r\n")

// keepAlive sends a double CRLF to the account's next hop every interval
// until ctx ends: over UDP from the listening socket (so the NAT binding
// the server sends calls to stays open), over TCP and TLS on the
// connection the registration uses. A ping that cannot go out (no
// connection yet) is skipped; the registration's own failures are what
// the user sees.
func (r *Registration) keepAlive(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.ping(); err != nil {
			r.u.log.Debug("keep-alive not sent", "account", r.account().ID, "error", err)
		}
	}
}

func (r *Registration) ping() error {
	acc := r.account()
	hop, tp := acc.nextHop(), acc.transport()
	if tp == "udp" {
		dst, err := net.ResolveUDPAddr("udp", hop)
		if err != nil {
			return err
		}
		local, err := net.ResolveUDPAddr("udp", r.u.Addr())
		if err != nil {
			return err
		}
		return r.u.writeUDP(local, crlf2, dst)
	}
	dst, err := net.ResolveTCPAddr("tcp", hop)
	if err != nil {
		return err
	}
	conn, err := r.u.ua.TransportLayer().GetConnection(tp, dst.String())
	if err != nil {
		return err
	}
	w, ok := conn.(io.Writer)
	if !ok || conn == nil {
		return net.UnknownNetworkError("no " + tp + " connection to " + hop)
	}
	// One Write: net.Conn and tls.Conn serialise whole writes, so the
	// ping never lands inside a message sipgo writes at the same time.
	_, err = w.Write(crlf2)
	return err
}
