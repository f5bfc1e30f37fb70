package sipua

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestResolverHop resolves servers as RFC 3263 §4 says, against a DNS
// server holding NAPTR, SRV and A records for pbx.test: NAPTR first when
// neither port nor transport is given, SRV when only the transport is,
// A/AAAA only when the port is.
func TestResolverHop(t *testing.T) {
	dnsAddr := testutil.StartDNS(t,
		`pbx.test. 60 IN NAPTR 20 10 "s" "SIP+D2U" "" _sip._udp.pbx.test.`,
		`pbx.test. 60 IN NAPTR 10 10 "s" "SIP+D2T" "" _sip._tcp.pbx.test.`,
		`pbx.test. 60 IN NAPTR 5 10 "s" "SIPS+D2T" "" _sips._tcp.pbx.test.`,
		`_sip._udp.pbx.test. 60 IN SRV 10 10 5070 udp.pbx.test.`,
		`_sip._tcp.pbx.test. 60 IN SRV 10 10 5080 tcp.pbx.test.`,
		`_sips._tcp.pbx.test. 60 IN SRV 10 10 5091 tls.pbx.test.`,
		`udp.pbx.test. 60 IN A 127.0.0.2`,
		`tcp.pbx.test. 60 IN A 127.0.0.3`,
		`tls.pbx.test. 60 IN A 127.0.0.4`,
		`pbx.test. 60 IN A 127.0.0.9`,
		// srv.test has SRV records but no NAPTR; a.test only an address.
		`_sip._tcp.srv.test. 60 IN SRV 10 10 5082 tcp.pbx.test.`,
		`a.test. 60 IN A 127.0.0.7`,
		`v6.test. 60 IN AAAA ::1`,
	)
	tests := []struct {
		name, target, transport string
		tls                     bool // the agent has a TLS listener
		listen                  string
		want                    hop
	}{
		{"NAPTR picks the first usable service", "pbx.test", "", false, "127.0.0.1", hop{"tcp", "127.0.0.3:5080"}},
		{"NAPTR picks TLS with a listener", "pbx.test", "", true, "127.0.0.1", hop{"tls", "127.0.0.4:5091"}},
		{"transport given: SRV for it", "pbx.test", "udp", false, "127.0.0.1", hop{"udp", "127.0.0.2:5070"}},
		{"port given: A only", "pbx.test:5099", "", false, "127.0.0.1", hop{"udp", "127.0.0.9:5099"}},
		{"port and transport given: A only", "sip:pbx.test:5099", "tcp", false, "127.0.0.1", hop{"tcp", "127.0.0.9:5099"}},
		{"no NAPTR: SRV per transport", "srv.test", "", false, "127.0.0.1", hop{"tcp", "127.0.0.3:5082"}},
		{"no SRV: A on the default port", "a.test", "", false, "127.0.0.1", hop{"udp", "127.0.0.7:5060"}},
		{"no SRV over TLS: port 5061", "a.test", "tls", true, "127.0.0.1", hop{"tls", "127.0.0.7:5061"}},
		{"address", "127.0.0.5", "", false, "127.0.0.1", hop{"udp", "127.0.0.5:5060"}},
		{"IPv6 listener: AAAA", "v6.test:5090", "", false, "::1", hop{"udp", "[::1]:5090"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newResolver(dnsAddr, tt.listen, tt.tls)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, err := r.hop(ctx, tt.target, tt.transport)
			if err != nil || got != tt.want {
				t.Fatalf("hop(%s, %q) = %+v, %v; want %+v", tt.target, tt.transport, got, err, tt.want)
			}
		})
	}
	if _, err := newResolver(dnsAddr, "127.0.0.1", false).hop(context.Background(), "none.test", ""); err == nil {
		t.Error("a name DNS does not know resolved")
	}
}

// TestRegisterNAPTR: a server named without port or transport is found
// through NAPTR and SRV (RFC 3263): the REGISTER reaches the registrar
// on the port the SRV record gives, with the domain in its Request-URI.
func TestRegisterNAPTR(t *testing.T) {
	reg := startRegistrar(t, []reply{{code: 200}})
	_, port, _ := net.SplitHostPort(reg.addr())
	dnsAddr := testutil.StartDNS(t,
		`pbx.test. 60 IN NAPTR 10 10 "s" "SIP+D2U" "" _sip._udp.pbx.test.`,
		`_sip._udp.pbx.test. 60 IN SRV 10 10 `+port+` reg.pbx.test.`,
		`reg.pbx.test. 60 IN A 127.0.0.1`,
		// The domain has an address of its own (its web server, say):
		// the records, not it, say where SIP goes.
		`pbx.test. 60 IN A 127.0.0.2`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, err := Start(ctx, Config{Listen: "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)), Media: nullMedia{},
		Logger: slog.New(slog.DiscardHandler), DNSServer: dnsAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	states := make(chan RegState, 8)
	if _, err := u.Register(Account{ID: "1", Username: "1001", Server: "pbx.test"}, time.Minute, func(st RegState) { states <- st }); err != nil {
		t.Fatal(err)
	}
	st := <-states
	for st.State == RegRegistering {
		st = <-states
	}
	if st.State != RegRegistered {
		t.Fatalf("state %+v; want registered through the NAPTR and SRV records", st)
	}
	req := reg.next(t)
	if got := req.Recipient.String(); got != "sip:pbx.test" {
		t.Errorf("Request-URI %s; want sip:pbx.test", got)
	}
	if to := req.To().Address.Host; to != "pbx.test" {
		t.Errorf("To host %s; want pbx.test", to)
	}
}

// TestResolverFamily: a server's addresses are looked up in the family the
// agent listens on: 0.0.0.0 is IPv4 only (an AAAA answer would give a
// server the agent cannot reach), :: both.
func TestResolverFamily(t *testing.T) {
	for _, tt := range []struct{ listen, want string }{
		{"127.0.0.1", "ip4"}, {"0.0.0.0", "ip4"}, {"::1", "ip6"}, {"::", "ip"}, {"localhost", "ip"},
	} {
		if got := newResolver("", tt.listen, false).network; got != tt.want {
			t.Errorf("listen %s: network %q, want %q", tt.listen, got, tt.want)
		}
	}
}
