package sipua

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/gophone/gophone/internal/testutil"
)

func TestBackoff(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n <= 12; n++ {
		d := backoff(n)
		base := min(backoffBase<<(n-1), backoffMax)
		if d < base || d > base+base/4 {
			t.Errorf("backoff(%d) = %v; want %v plus at most a quarter", n, d, base)
		}
		if base < backoffMax && d <= prev {
			t.Errorf("backoff(%d) = %v, not more than backoff(%d) = %v", n, d, n-1, prev)
		}
		prev = d
	}
}

func TestAccountNextHop(t *testing.T) {
	tests := []struct {
		acc  Account
		want string
	}{
		{Account{Server: "pbx.example"}, "pbx.example:5060"},
		{Account{Server: "pbx.example", Transport: "tls"}, "pbx.example:5061"},
		{Account{Server: "pbx.example:5080", Proxy: "sip:proxy.example"}, "proxy.example:5060"},
		{Account{Server: "127.0.0.1:5070"}, "127.0.0.1:5070"},
		{Account{Server: "[::1]"}, "[::1]:5060"},
	}
	for _, tt := range tests {
		if got := tt.acc.nextHop(); got != tt.want {
			t.Errorf("%+v.nextHop() = %q, want %q", tt.acc, got, tt.want)
		}
	}
}

// registrar is a scripted registrar on a loopback UDP socket: it answers
// the n-th REGISTER with script[n] and records what it received.
type registrar struct {
	conn  *net.UDPConn
	got   chan *sip.Request
	pings chan struct{} // a double CRLF keep-alive arrived
}

// reply builds a registrar answer to req: code, with a digest challenge
// (nonce, stale) when code is 401.
type reply struct {
	code       int
	nonce      string
	stale      bool
	minExpires int
	// received and rport, when set, go into the response's Via (the
	// address a NAT made of ours).
	received string
	rport    int
}

func startRegistrar(t *testing.T, script []reply) *registrar {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := &registrar{conn: conn, got: make(chan *sip.Request, 16), pings: make(chan struct{}, 16)}
	go func() {
		buf := make([]byte, 65535)
		for i := 0; ; i++ {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				close(r.got)
				return
			}
			if string(buf[:n]) == "\r\n\r\n" {
				i--
				select {
				case r.pings <- struct{}{}:
				default:
				}
				continue
			}
			msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
			req, ok := msg.(*sip.Request)
			if err != nil || !ok {
				continue
			}
			r.got <- req
			rep := reply{code: 500}
			if i < len(script) {
				rep = script[i]
			}
			res := sip.NewResponseFromRequest(req, rep.code, "", nil)
			if rep.received != "" {
				via := res.Via()
				via.Params.Add("received", rep.received)
				via.Params.Add("rport", strconv.Itoa(rep.rport))
			}
			if rep.code == 200 {
				res.Reason = "OK"
				c := req.Contact().Clone()
				c.Params.Add("expires", "33")
				res.AppendHeader(c)
			}
			if rep.code == 401 {
				res.Reason = "Unauthorized"
				stale := ""
				if rep.stale {
					stale = ", stale=true"
				}
				res.AppendHeader(sip.NewHeader("WWW-Authenticate",
					fmt.Sprintf(`Digest realm="test", nonce="%s", qop="auth", algorithm=MD5%s`, rep.nonce, stale)))
			}
			if rep.code == 423 {
				res.Reason = "Interval Too Brief"
				res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(rep.minExpires)))
			}
			conn.WriteToUDP([]byte(res.String()), from)
		}
	}()
	return r
}

func (r *registrar) addr() string { return r.conn.LocalAddr().String() }

// next returns the next REGISTER the registrar received.
func (r *registrar) next(t *testing.T) *sip.Request {
	t.Helper()
	select {
	case req := <-r.got:
		return req
	case <-time.After(10 * time.Second):
		t.Fatal("no REGISTER within 10s")
		return nil
	}
}

// wantCredentials checks req's Authorization answers nonce with the
// password secret.
func wantCredentials(t *testing.T, req *sip.Request, nonce string) {
	t.Helper()
	h := req.GetHeader("Authorization")
	if h == nil {
		t.Fatalf("REGISTER without Authorization:\n%s", req)
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		t.Fatal(err)
	}
	if cred.Nonce != nonce || cred.Username != "auth1001" {
		t.Fatalf("credentials for nonce %q user %q; want nonce %q user auth1001", cred.Nonce, cred.Username, nonce)
	}
	want, err := digest.Digest(&digest.Challenge{Realm: "test", Nonce: nonce, QOP: []string{"auth"}, Algorithm: "MD5"},
		digest.Options{Method: "REGISTER", URI: cred.URI, Username: "auth1001", Password: "secret", Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil {
		t.Fatal(err)
	}
	if cred.Response != want.Response || cred.URI != req.Recipient.String() {
		t.Fatalf("digest response %s for uri %s; want %s for %s", cred.Response, cred.URI, want.Response, req.Recipient.String())
	}
}

// TestRegisterDigest runs registrations against scripted registrar
// answers: the challenge is answered, a stale nonce retried once per
// nonce, a second rejection is final, 423 raises Expires; each resend has
// the next CSeq and the same Call-ID.
func TestRegisterDigest(t *testing.T) {
	tests := []struct {
		name    string
		script  []reply
		state   string
		code    int
		expires []string // Expires of each REGISTER
	}{
		{"challenge answered", []reply{{code: 401, nonce: "n1"}, {code: 200}}, RegRegistered, 200, []string{"60", "60"}},
		{"stale nonce retried", []reply{{code: 401, nonce: "n1"}, {code: 401, nonce: "n2", stale: true}, {code: 200}},
			RegRegistered, 200, []string{"60", "60", "60"}},
		{"wrong password", []reply{{code: 401, nonce: "n1"}, {code: 401, nonce: "n2"}}, RegFailed, 401, []string{"60", "60"}},
		{"stale twice for one nonce", []reply{{code: 401, nonce: "n1"}, {code: 401, nonce: "n2", stale: true},
			{code: 401, nonce: "n2", stale: true}}, RegFailed, 401, []string{"60", "60", "60"}},
		{"423 raises Expires", []reply{{code: 423, minExpires: 90}, {code: 401, nonce: "n1"}, {code: 200}},
			RegRegistered, 200, []string{"60", "90", "90"}},
		{"forbidden", []reply{{code: 403}}, RegFailed, 403, []string{"60"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startRegistrar(t, tt.script)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u, err := Start(ctx, Config{Listen: "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)), Media: nullMedia{},
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			states := make(chan RegState, 16)
			r, err := u.Register(Account{ID: "1", Username: "1001", AuthID: "auth1001", Password: "secret", Server: reg.addr()},
				60*time.Second, func(st RegState) { states <- st })
			if err != nil {
				t.Fatal(err)
			}
			var reqs []*sip.Request
			for range tt.expires {
				reqs = append(reqs, reg.next(t))
			}
			var st RegState
			for st = range states {
				if st.State != RegRegistering {
					break
				}
			}
			if st.State != tt.state || st.Code != tt.code {
				t.Fatalf("state %+v; want %s with code %d", st, tt.state, tt.code)
			}
			if st.State == RegRegistered && st.Expires != 33*time.Second {
				t.Errorf("granted %v; want the 33 s of our Contact's expires", st.Expires)
			}
			for i, req := range reqs {
				if got := req.GetHeader("Expires").Value(); got != tt.expires[i] {
					t.Errorf("REGISTER %d asks Expires %s; want %s", i, got, tt.expires[i])
				}
				if req.CallID().Value() != reqs[0].CallID().Value() {
					t.Errorf("REGISTER %d has another Call-ID", i)
				}
				if i > 0 && req.CSeq().SeqNo != reqs[i-1].CSeq().SeqNo+1 {
					t.Errorf("REGISTER %d CSeq %d after %d; want +1", i, req.CSeq().SeqNo, reqs[i-1].CSeq().SeqNo)
				}
				if c := req.Contact(); c == nil || c.Address.User != "1001" || c.Address.Port != u.port {
					t.Errorf("REGISTER %d Contact %v; want user 1001 at our port %d", i, c, u.port)
				}
				if from := req.From(); from.Address.User != "1001" || !strings.HasPrefix(req.Recipient.String(), "sip:127.0.0.1:") {
					t.Errorf("REGISTER %d to %s from %s; want the AOR 1001 at the server's domain", i, req.Recipient.String(), from.Address.String())
				}
				if i > 0 && tt.script[i-1].code == 401 {
					wantCredentials(t, req, tt.script[i-1].nonce)
				}
			}
			if tt.state == RegFailed {
				if st.Retry.Before(time.Now().Add(backoffBase - time.Second)) {
					t.Errorf("next try at %v; want a backoff of about %v", time.Until(st.Retry), backoffBase)
				}
			}
			// No further REGISTER goes out before the retry or refresh.
			select {
			case req := <-reg.got:
				t.Fatalf("REGISTER right after the outcome:\n%s", req)
			case <-time.After(300 * time.Millisecond):
			}
			stopCtx, stopCancel := context.WithTimeout(ctx, 5*time.Second)
			defer stopCancel()
			r.Stop(stopCtx)
		})
	}
}

// TestKeepAlive: a registered account with a keep-alive interval pings its
// server with a double CRLF from the SIP socket, and stops when the
// registration stops.
func TestKeepAlive(t *testing.T) {
	reg := startRegistrar(t, []reply{{code: 200}, {code: 200}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, err := Start(ctx, Config{Listen: "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)), Media: nullMedia{},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	r, err := u.Register(Account{ID: "1", Username: "1001", Server: reg.addr(), KeepAlive: 50 * time.Millisecond}, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.next(t)
	for i := range 3 {
		select {
		case <-reg.pings:
		case <-time.After(10 * time.Second):
			t.Fatalf("keep-alive %d not received within 10s", i+1)
		}
	}
	stopCtx, stopCancel := context.WithTimeout(ctx, 5*time.Second)
	defer stopCancel()
	r.Stop(stopCtx)
	reg.next(t) // the unregister
	for len(reg.pings) > 0 {
		<-reg.pings
	}
	select {
	case <-reg.pings:
		t.Fatal("keep-alive after the registration stopped")
	case <-time.After(300 * time.Millisecond):
	}
}

// TestRegisterLearnsContact: behind a NAT the registrar's Via received and
// rport name the address it sees; the account registers that as its
// Contact at once, and its calls use it too.
func TestRegisterLearnsContact(t *testing.T) {
	reg := startRegistrar(t, []reply{{code: 200, received: "192.0.2.7", rport: 40123}, {code: 200, received: "192.0.2.7", rport: 40123}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, err := Start(ctx, Config{Listen: "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)), Media: nullMedia{},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	acc := Account{ID: "1", Username: "1001", Server: reg.addr()}
	if _, err := u.Register(acc, time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	first, second := reg.next(t), reg.next(t)
	if c := first.Contact().Address; c.Host != "127.0.0.1" || c.Port != u.port {
		t.Fatalf("first Contact %s; want our listen address", c.String())
	}
	if c := second.Contact().Address; c.Host != "192.0.2.7" || c.Port != 40123 || c.User != "1001" {
		t.Fatalf("second Contact %s; want 1001@192.0.2.7:40123", c.String())
	}
	if c := u.accountContact(acc).Address; c.Host != "192.0.2.7" || c.Port != 40123 {
		t.Fatalf("calls' Contact %s; want the learned address", c.String())
	}
	select {
	case req := <-reg.got:
		t.Fatalf("a third REGISTER right away:\n%s", req)
	case <-time.After(300 * time.Millisecond):
	}
}
