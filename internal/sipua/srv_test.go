package sipua

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/gophone/gophone/internal/testutil"
)

// startDNS serves records on a loopback UDP socket: SRV answers from srv,
// A answers from a (by name, with the trailing dot); anything else is
// answered with no records. It returns a resolver that asks it.
func startDNS(t *testing.T, srv map[string]dnsmessage.SRVResource, a map[string][4]byte) *net.Resolver {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			b.EnableCompression()
			b.StartQuestions()
			b.Question(q)
			b.StartAnswers()
			rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
			switch q.Type {
			case dnsmessage.TypeSRV:
				if r, ok := srv[q.Name.String()]; ok {
					b.SRVResource(rh, r)
				}
			case dnsmessage.TypeA:
				if ip, ok := a[q.Name.String()]; ok {
					b.AResource(rh, dnsmessage.AResource{A: ip})
				}
			}
			msg, err := b.Finish()
			if err == nil {
				conn.WriteTo(msg, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", conn.LocalAddr().String())
	}}
}

// TestRegisterSRV: a server named without a port is found through its
// SRV record (RFC 3263): the REGISTER reaches the registrar on the port
// the record gives, with the domain in its Request-URI.
func TestRegisterSRV(t *testing.T) {
	reg := startRegistrar(t, []reply{{code: 200}})
	_, portStr, _ := net.SplitHostPort(reg.addr())
	port, _ := strconv.Atoi(portStr)
	resolver := startDNS(t,
		map[string]dnsmessage.SRVResource{"_sip._udp.pbx.test.": {Priority: 10, Weight: 10, Port: uint16(port),
			Target: dnsmessage.MustNewName("reg.pbx.test.")}},
		// The domain has an address of its own (its web server, say):
		// the SRV record, not it, says where SIP goes.
		map[string][4]byte{"reg.pbx.test.": {127, 0, 0, 1}, "pbx.test.": {127, 0, 0, 2}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, err := Start(ctx, Config{Listen: "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)), Media: nullMedia{},
		Logger: slog.New(slog.DiscardHandler), Resolver: resolver})
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
		t.Fatalf("state %+v; want registered through the SRV target", st)
	}
	if got := reg.next(t).Recipient.String(); got != "sip:pbx.test" {
		t.Errorf("Request-URI %s; want sip:pbx.test", got)
	}
}
