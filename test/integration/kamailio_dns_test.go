package integration

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// TestKamailioNAPTR: accounts whose server is a domain name find Kamailio
// through DNS as RFC 3263 says (the test's DNS server, set by dnsServer):
// without port or transport through NAPTR (which says TCP) and SRV; with a
// port through the A record only, although an SRV record points
// elsewhere. Both register and call each other by number.
func TestKamailioNAPTR(t *testing.T) {
	t.Parallel()
	k := testutil.StartKamailio(t, testutil.KamailioOptions{})
	dead := testutil.FreePort(t) // nothing listens there
	dnsAddr := testutil.StartDNS(t,
		`pbx.test. 60 IN NAPTR 10 10 "s" "SIP+D2T" "" _sip._tcp.pbx.test.`,
		`pbx.test. 60 IN NAPTR 20 10 "s" "SIP+D2U" "" _sip._udp.pbx.test.`,
		fmt.Sprintf(`_sip._tcp.pbx.test. 60 IN SRV 10 10 %d proxy.pbx.test.`, k.Port),
		fmt.Sprintf(`_sip._udp.pbx.test. 60 IN SRV 10 10 %d proxy.pbx.test.`, dead),
		`proxy.pbx.test. 60 IN A 127.0.0.1`,
		// The domain's own address is not where SIP goes.
		`pbx.test. 60 IN A 127.0.0.2`,
		// sip.pbx.test is named with a port: its SRV record must not be used.
		`sip.pbx.test. 60 IN A 127.0.0.1`,
		fmt.Sprintf(`_sip._udp.sip.pbx.test. 60 IN SRV 10 10 %d proxy.pbx.test.`, dead),
	)
	ini := func(user, server string, autoAnswer bool) string {
		aa := ""
		if autoAnswer {
			aa = "autoAnswer=all\n"
		}
		return fmt.Sprintf("[Settings]\ndnsServer=%s\n%s[Account1]\nserver=%s\ndomain=pbx.test\nusername=%s\npassword=%s\nregisterRefresh=120\n",
			dnsAddr, aa, server, user, testutil.KamailioPassword(user))
	}
	a := testutil.StartDaemon(t, gophoneBin, ini("1001", "pbx.test", true))
	b := testutil.StartDaemon(t, gophoneBin, ini("1002", "sip.pbx.test:"+strconv.Itoa(k.Port), true))
	aev, bev := a.Events(t), b.Events(t)
	if acc := registered(t, a, aev); acc.AOR != "1001@pbx.test" {
		t.Fatalf("A's account = %+v; want AOR 1001@pbx.test", acc)
	}
	registered(t, b, bev)
	for user, proto := range map[string]string{"1001": "tcp", "1002": "udp"} {
		regs := k.Records("REGISTER", user)
		if len(regs) == 0 || regs[len(regs)-1].Fields["proto"] != proto {
			t.Fatalf("Kamailio got REGISTERs %+v from %s; want them over %s", regs, user, proto)
		}
	}
	bCall := strings.TrimSpace(b.MustRun(t, "dial", "1001"))
	bev.WaitType(t, eventWait, "call.established", bCall)
	aCall := aev.WaitType(t, eventWait, "call.established", "").Call
	b.MustRun(t, "hangup")
	aev.WaitType(t, eventWait, "call.ended", aCall)
	aCall2 := strings.TrimSpace(a.MustRun(t, "dial", "1002"))
	aev.WaitType(t, eventWait, "call.established", aCall2)
	a.MustRun(t, "hangup")
	bev.WaitType(t, eventWait, "call.ended", "")
	if inv := k.Records("INVITE", "1001"); len(inv) == 0 || !strings.HasPrefix(inv[0].Fields["via"], "tcp:") {
		t.Fatalf("A's INVITEs at Kamailio: %+v; want them over TCP, as NAPTR said", inv)
	}
}

// TestKamailioIPv6: Kamailio listens on [::1] too; two daemons listening
// on [::1] register to it there (server=[::1]:PORT) and call each other
// by number through it.
func TestKamailioIPv6(t *testing.T) {
	t.Parallel()
	k := testutil.StartKamailio(t, testutil.KamailioOptions{IPv6: true})
	ini := func(user string) string {
		return fmt.Sprintf("[Settings]\nlisten=[::1]:%d\nautoAnswer=all\n[Account1]\nserver=%s\nusername=%s\npassword=%s\nregisterRefresh=120\n",
			testutil.FreePort(t), k.Addr6(), user, testutil.KamailioPassword(user))
	}
	a := testutil.StartDaemon(t, gophoneBin, ini("1001"))
	b := testutil.StartDaemon(t, gophoneBin, ini("1002"))
	aev, bev := a.Events(t), b.Events(t)
	registered(t, a, aev)
	registered(t, b, bev)
	bCall := strings.TrimSpace(b.MustRun(t, "dial", "1001"))
	bev.WaitType(t, eventWait, "call.established", bCall)
	aCall := aev.WaitType(t, eventWait, "call.established", "").Call
	b.MustRun(t, "hold")
	aev.WaitType(t, eventWait, "call.remote_held", aCall)
	b.MustRun(t, "hangup")
	aev.WaitType(t, eventWait, "call.ended", aCall)
	aCall2 := strings.TrimSpace(a.MustRun(t, "dial", "1002"))
	aev.WaitType(t, eventWait, "call.established", aCall2)
	a.MustRun(t, "hangup")
	bev.WaitType(t, eventWait, "call.ended", "")
	for _, user := range []string{"1001", "1002"} {
		inv := k.Records("INVITE", user)
		if len(inv) == 0 || !strings.Contains(inv[0].Fields["via"], "::1") {
			t.Errorf("INVITEs from %s at Kamailio: %+v; want them from [::1]", user, inv)
		}
	}
}

// TestKamailioTLSName: a TLS server named in server= is dialled at the
// address DNS gives but verified for the name: kamailio.test (in the
// certificate) registers, also found by NAPTR and SRV through a target
// the certificate does not name (RFC 5922 §4: the domain counts);
// other.test (same address, not in the certificate) fails with a
// certificate error and sends no REGISTER.
func TestKamailioTLSName(t *testing.T) {
	t.Parallel()
	k := testutil.StartKamailio(t, testutil.KamailioOptions{TLS: true})
	dnsAddr := testutil.StartDNS(t,
		`kamailio.test. 60 IN A 127.0.0.1`,
		`other.test. 60 IN A 127.0.0.1`,
		`kamailio.test. 60 IN NAPTR 10 10 "s" "SIPS+D2T" "" _sips._tcp.kamailio.test.`,
		fmt.Sprintf(`_sips._tcp.kamailio.test. 60 IN SRV 10 10 %d node1.kamailio.test.`, k.TLSPort),
		`node1.kamailio.test. 60 IN A 127.0.0.1`,
	)
	daemon := func(user, server, transport string) *testutil.Daemon {
		return testutil.StartDaemon(t, gophoneBin, fmt.Sprintf(
			"[Settings]\ndnsServer=%s\n%s[Account1]\nserver=%s\ndomain=kamailio.test\nusername=%s\npassword=%s\ntransport=%s\ntlsCAFile=%s\nregisterRefresh=60\n",
			dnsAddr, tlsSettings(t, "tls"), server, user, testutil.KamailioPassword(user), transport, k.CAFile))
	}
	port := strconv.Itoa(k.TLSPort)
	good := daemon("1001", "kamailio.test:"+port, "tls")
	byNAPTR := daemon("1003", "kamailio.test", "auto")
	bad := daemon("1002", "other.test:"+port, "tls")
	registered(t, good, good.Events(t))
	registered(t, byNAPTR, byNAPTR.Events(t))
	for _, user := range []string{"1001", "1003"} {
		if regs := k.Records("REGISTER", user); len(regs) == 0 || regs[len(regs)-1].Fields["proto"] != "tls" {
			t.Fatalf("REGISTERs from %s at Kamailio: %+v; want them over TLS", user, regs)
		}
	}
	e := bad.Events(t).WaitType(t, 2*eventWait, "registration.failed", "")
	if !strings.Contains(e.Reason, "certificate") {
		t.Fatalf("registration.failed = %s; want a certificate error", e.Raw)
	}
	if regs := k.Records("REGISTER", "1002"); len(regs) != 0 {
		t.Fatalf("Kamailio got REGISTERs for other.test over a connection not verified for it: %+v", regs)
	}
}

// TestUnknownServer: an account whose server DNS does not know fails to
// register with that reason (and retries later), and a dial or message
// through it fails with unavailable, which the user can act on, not
// internal.
func TestUnknownServer(t *testing.T) {
	t.Parallel()
	dnsAddr := testutil.StartDNS(t)
	d := testutil.StartDaemon(t, gophoneBin, fmt.Sprintf(
		"[Settings]\ndnsServer=%s\n[Account1]\nserver=nowhere.test\nusername=1001\npassword=x\n", dnsAddr))
	ev := d.Events(t)
	e := ev.WaitType(t, 2*eventWait, "registration.failed", "")
	if !strings.Contains(e.Reason, "not found in DNS") || e.Code != 0 {
		t.Fatalf("registration.failed = %s; want code 0 and the DNS reason", e.Raw)
	}
	wantCLIError(t, d.RunCLI("dial", "1002"), 1, "unavailable")
	wantCLIError(t, d.RunCLI("message", "1002", "hello"), 1, "unavailable")
}
