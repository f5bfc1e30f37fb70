package sipua

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// hop is where an account's requests go, as RFC 3263 found its proxy or
// server: a transport and an IP address and port. The agent hands sipgo
// the address, so sipgo looks up nothing (it would look up SRV records
// even for a name given with a port, where RFC 3263 §4.2 wants A/AAAA
// only); the Request-URI and To keep the domain.
type hop struct {
	transport string // udp, tcp or tls
	addr      string // IP:port
}

// resolver finds SIP servers in DNS (RFC 3263): NAPTR, then SRV, then
// A/AAAA.
type resolver struct {
	// server is the DNS server asked, host:port; "" asks the system's
	// (/etc/resolv.conf, and /etc/hosts for addresses).
	server string
	ip     *net.Resolver
	// network is the address family looked up: ip4, ip6 or ip (either),
	// the family the agent listens on.
	network string
	// tls says whether NAPTR and SRV may choose TLS (the agent has a TLS
	// listener for the Contact).
	tls bool
}

func newResolver(server, listenHost string, tls bool) *resolver {
	r := &resolver{server: server, ip: net.DefaultResolver, network: "ip", tls: tls}
	// 0.0.0.0 listens on IPv4 only; :: (dual-stack) on both.
	switch ip := net.ParseIP(listenHost); {
	case ip == nil:
	case ip.To4() != nil:
		r.network = "ip4"
	case !ip.IsUnspecified():
		r.network = "ip6"
	}
	if server != "" {
		r.ip = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	return r
}

// defaultPort is the port of a SIP server named without one.
func defaultPort(transport string) int {
	if transport == "tls" {
		return 5061
	}
	return 5060
}

// srvQuery is an SRV name to look up and the transport it is for.
type srvQuery struct{ transport, name string }

// hop resolves target (host[:port], perhaps sip: or sips:) for transport
// ("" when the account names none), RFC 3263 §4: an address is taken as
// it is; a name with a port is looked up as A/AAAA only; a name without
// a port by SRV for the transport, or when none is given, by NAPTR first
// (then SRV for each transport); A/AAAA on the default port when DNS has
// no SRV records.
func (r *resolver) hop(ctx context.Context, target, transport string) (hop, error) {
	host, port := splitHostPort(strings.TrimPrefix(strings.TrimPrefix(target, "sip:"), "sips:"))
	if net.ParseIP(host) != nil || port != 0 {
		tp := cmp.Or(transport, "udp")
		ip, err := r.lookupIP(ctx, host)
		return hop{tp, net.JoinHostPort(ip, strconv.Itoa(cmp.Or(port, defaultPort(tp))))}, err
	}
	var queries []srvQuery
	if transport == "" {
		queries = r.naptr(ctx, host)
		if len(queries) == 0 {
			queries = r.srvQueries(host, "udp", "tcp", "tls")
		}
	} else {
		queries = r.srvQueries(host, transport)
	}
	for _, q := range queries {
		_, srvs, err := r.ip.LookupSRV(ctx, "", "", q.name) // sorted by priority, shuffled by weight
		if err != nil {
			continue
		}
		for _, s := range srvs {
			if ip, err := r.lookupIP(ctx, strings.TrimSuffix(s.Target, ".")); err == nil {
				return hop{q.transport, net.JoinHostPort(ip, strconv.Itoa(int(s.Port)))}, nil
			}
		}
	}
	tp := cmp.Or(transport, "udp")
	ip, err := r.lookupIP(ctx, host)
	return hop{tp, net.JoinHostPort(ip, strconv.Itoa(defaultPort(tp)))}, err
}

// srvQueries are the SRV names of host for the transports (RFC 3263
// §4.1: _sips._tcp for TLS), TLS only when the agent can take it.
func (r *resolver) srvQueries(host string, transports ...string) []srvQuery {
	var out []srvQuery
	for _, tp := range transports {
		switch tp {
		case "udp", "tcp":
			out = append(out, srvQuery{tp, "_sip._" + tp + "." + host})
		case "tls":
			if r.tls {
				out = append(out, srvQuery{tp, "_sips._tcp." + host})
			}
		}
	}
	return out
}

// naptrServices maps the NAPTR services of RFC 3263 §4.1 to transports.
var naptrServices = map[string]string{"SIP+D2U": "udp", "SIP+D2T": "tcp", "SIPS+D2T": "tls"}

// naptr returns the SRV names host's NAPTR records point to for the
// transports the agent has, in the records' order and preference; none
// when DNS has none or cannot be asked.
func (r *resolver) naptr(ctx context.Context, host string) []srvQuery {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(host), dns.TypeNAPTR)
	res, err := r.exchange(ctx, m)
	if err != nil || res.Rcode != dns.RcodeSuccess {
		return nil
	}
	var recs []*dns.NAPTR
	for _, rr := range res.Answer {
		if n, ok := rr.(*dns.NAPTR); ok && strings.EqualFold(n.Flags, "s") {
			if tp, ok := naptrServices[strings.ToUpper(n.Service)]; ok && (tp != "tls" || r.tls) {
				recs = append(recs, n)
			}
		}
	}
	slices.SortStableFunc(recs, func(a, b *dns.NAPTR) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Preference, b.Preference))
	})
	out := make([]srvQuery, 0, len(recs))
	for _, n := range recs {
		out = append(out, srvQuery{naptrServices[strings.ToUpper(n.Service)], strings.TrimSuffix(n.Replacement, ".")})
	}
	return out
}

// exchange asks the DNS server m, over TCP when the UDP answer was
// truncated.
func (r *resolver) exchange(ctx context.Context, m *dns.Msg) (*dns.Msg, error) {
	server := r.server
	if server == "" {
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(conf.Servers) == 0 {
			return nil, fmt.Errorf("no DNS server: %v", err)
		}
		server = net.JoinHostPort(conf.Servers[0], conf.Port)
	}
	c := &dns.Client{}
	res, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && res.Truncated {
		c.Net = "tcp"
		res, _, err = c.ExchangeContext(ctx, m, server)
	}
	return res, err
}

// lookupIP returns an address of host in the agent's address family.
func (r *resolver) lookupIP(ctx context.Context, host string) (string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	ips, err := r.ip.LookupIP(ctx, r.network, host)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		// Its text names the system's server even when dnsServer was asked.
		return "", fmt.Errorf("resolving %s: %s", host, dnsErr.Err)
	}
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", host, err)
	}
	return ips[0].String(), nil
}
