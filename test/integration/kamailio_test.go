package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// accountINI is an [Account1] of Kamailio test user user over transport;
// over TLS it trusts Kamailio's test CA, and the ini's [Settings] get a
// tlsListen on a free port.
func accountINI(k *testutil.Kamailio, user, password, transport string, refresh int) string {
	server, tls := k.Addr(), ""
	if transport == "tls" {
		server = "127.0.0.1:" + strconv.Itoa(k.TLSPort)
		tls = "tlsCAFile=" + k.CAFile + "\n"
	}
	return fmt.Sprintf("[Account1]\nserver=%s\nusername=%s\npassword=%s\ntransport=%s\nregisterRefresh=%d\ndisplayName=User %s\n%s",
		server, user, password, transport, refresh, user, tls)
}

// tlsSettings is the [Settings] line of a daemon with accounts over
// transport: a tlsListen on a free port for tls.
func tlsSettings(t *testing.T, transport string) string {
	if transport != "tls" {
		return ""
	}
	return "tlsListen=127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)) + "\n"
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// registered waits for the daemon's registration.ok and returns its
// account's status.
func registered(t *testing.T, d *testutil.Daemon, ev *testutil.EventStream) testutil.Account {
	t.Helper()
	ev.WaitType(t, 2*eventWait, "registration.ok", "")
	acc := d.Status(t).Accounts[0]
	if !acc.Registered || acc.State != "registered" || acc.Expires <= 0 || acc.Error != "" {
		t.Fatalf("after registration.ok the account is %+v; want registered with an expiry", acc)
	}
	return acc
}

// TestKamailioCalls registers two daemons as 1001 and 1002 at a real
// Kamailio and has them call each other by number through it: hold,
// DTMF and hangup pass the proxy, and each side hears the other.
func TestKamailioCalls(t *testing.T) {
	for _, transport := range []string{"udp", "tcp", "tls"} {
		t.Run(transport, func(t *testing.T) {
			k := testutil.StartKamailio(t, testutil.KamailioOptions{TLS: transport == "tls"})
			dir := t.TempDir()
			aHeard, bHeard := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
			a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioInput=tone:440\naudioOutput=file:"+aHeard+"\n"+
				tlsSettings(t, transport)+accountINI(k, "1001", testutil.KamailioPassword("1001"), transport, 120))
			b := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:1000\naudioOutput=file:"+bHeard+"\n"+
				tlsSettings(t, transport)+accountINI(k, "1002", testutil.KamailioPassword("1002"), transport, 120))
			aev, bev := a.Events(t), b.Events(t)
			if acc := registered(t, a, aev); !strings.HasPrefix(acc.AOR, "1001@127.0.0.1:") || acc.Expires != 120 {
				t.Fatalf("A account = %+v; want AOR 1001@127.0.0.1:PORT, expires 120", acc)
			}
			registered(t, b, bev)
			for _, user := range []string{"1001", "1002"} {
				regs := k.Records("REGISTER", user)
				if len(regs) == 0 || regs[len(regs)-1].Fields["proto"] != transport {
					t.Fatalf("Kamailio got REGISTERs %+v from %s; want them over %s", regs, user, transport)
				}
			}

			// B dials A's number: the INVITE goes through Kamailio.
			bCall := strings.TrimSpace(b.MustRun(t, "dial", "1001"))
			bev.WaitType(t, eventWait, "call.established", bCall)
			aCall := aev.WaitType(t, eventWait, "call.established", "").Call
			// The INVITE is challenged (407) and sent again with
			// credentials and the next CSeq (RFC 3261 §22.2).
			inv := k.Records("INVITE", "1002")
			if len(inv) != 2 || inv[0].Fields["to"] != "1001" || inv[0].Fields["auth"] != "0" || inv[1].Fields["auth"] != "1" ||
				atoi(t, inv[1].Fields["cseq"]) != atoi(t, inv[0].Fields["cseq"])+1 {
				t.Fatalf("Kamailio got INVITEs %+v; want one from 1002 to 1001, then with credentials and CSeq+1", inv)
			}
			if c, _ := a.Status(t).Call(aCall); c.Number != "1002" || c.Account != "1" {
				t.Fatalf("A's call = %+v; want from 1002 on account 1", c)
			}
			wantHearing(t, "A", aHeard, 1000)
			wantHearing(t, "B", bHeard, 440)

			b.MustRun(t, "hold")
			aev.WaitType(t, eventWait, "call.remote_held", aCall)
			b.MustRun(t, "hold")
			aev.WaitType(t, eventWait, "call.remote_resumed", aCall)

			b.MustRun(t, "senddtmf", "159#")
			var got string
			for len(got) < 4 {
				got += aev.WaitType(t, eventWait, "dtmf.received", aCall).Digit
			}
			if got != "159#" {
				t.Fatalf("A received DTMF %q, want 159#", got)
			}

			// Hang up through the proxy, then A dials B's number.
			b.MustRun(t, "hangup")
			aev.WaitType(t, eventWait, "call.ended", aCall)
			bev.WaitType(t, eventWait, "call.ended", bCall)
			// The re-INVITEs of hold and the BYE went through Kamailio
			// (its Record-Route), not straight to A.
			// They went to A's Contact, which names A's account.
			methods := map[string]int{}
			for _, r := range k.Records("INDIALOG", "1002") {
				methods[r.Fields["method"]]++
				if r.Fields["ruser"] != "1001" {
					t.Errorf("in-dialog %s to user %q; want A's Contact, user 1001", r.Fields["method"], r.Fields["ruser"])
				}
			}
			if methods["INVITE"] < 2 || methods["BYE"] != 1 || methods["ACK"] < 1 {
				t.Fatalf("in-dialog requests from 1002 at Kamailio: %v; want 2 re-INVITEs, their ACKs and a BYE", methods)
			}

			aCall2 := strings.TrimSpace(a.MustRun(t, "dial", "1002"))
			bev.WaitType(t, eventWait, "call.incoming", "")
			b.MustRun(t, "answer")
			aev.WaitType(t, eventWait, "call.established", aCall2)
			a.MustRun(t, "hangup")
			bev.WaitType(t, eventWait, "call.ended", "")
		})
	}
}

// wantNoSecret fails if secret appears in the daemon's log, serve output,
// audit log, Status, the events seen, or the command lines of `ps`.
func wantNoSecret(t *testing.T, d *testutil.Daemon, ev *testutil.EventStream, secret string) {
	t.Helper()
	places := map[string]string{"status": d.MustRun(t, "status", "--json"), "accounts": d.MustRun(t, "accounts")}
	for _, f := range []string{"gophone.log", "serve.log", "data/audit.log", "gophone.ini"} {
		b, err := os.ReadFile(filepath.Join(d.Dir, f))
		if err != nil && f != "gophone.ini" {
			t.Fatalf("reading %s: %v", f, err)
		}
		places[f] = string(b)
	}
	for _, e := range ev.All() {
		places["events"] += string(e.Raw) + "\n"
	}
	ps, err := exec.Command("ps", "-eo", "args").Output()
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	places["ps"] = string(ps)
	if !strings.Contains(places["gophone.ini"], secret) {
		t.Fatal("the secret is not even in the config: the check checks nothing")
	}
	for where, text := range places {
		if where != "gophone.ini" && strings.Contains(text, secret) {
			t.Errorf("the account password appears in %s", where)
		}
	}
	if len(places["gophone.log"]) == 0 || len(places["events"]) == 0 {
		t.Error("empty log or event stream: nothing to look in")
	}
}

// TestKamailioWrongPassword: a wrong password fails with the SIP code in
// registration.failed and Status, and the retries back off: at most 6
// REGISTERs (3 attempts with their challenges) in the first 30 s, with
// growing gaps, as Kamailio counts them. The password is never shown.
func TestKamailioWrongPassword(t *testing.T) {
	t.Parallel()
	k := testutil.StartKamailio(t, testutil.KamailioOptions{})
	const secret = "Wr0ng-pw-7Qx"
	d := testutil.StartDaemon(t, gophoneBin, "[Settings]\n"+accountINI(k, "1001", secret, "udp", 60))
	ev := d.Events(t)
	e := ev.WaitType(t, 2*eventWait, "registration.failed", "")
	if e.Code != 401 || e.Account != "1" {
		t.Fatalf("registration.failed = %s; want code 401 for account 1", e.Raw)
	}
	acc := d.Status(t).Accounts[0]
	if acc.Registered || acc.State != "failed" || acc.Code != 401 || !strings.Contains(acc.Error, "401") {
		t.Fatalf("account after a wrong password = %+v; want failed with 401", acc)
	}
	first := k.Records("REGISTER", "1001")[0].At
	time.Sleep(time.Until(first.Add(30 * time.Second)))
	var n int
	var starts []time.Time // REGISTERs without credentials start an attempt
	for _, r := range k.Records("REGISTER", "1001") {
		if r.At.Sub(first) > 30*time.Second {
			break
		}
		n++
		if r.Fields["auth"] == "0" {
			starts = append(starts, r.At)
		}
	}
	if n > 6 || len(starts) < 2 {
		t.Fatalf("%d REGISTERs, %d attempts in the first 30 s; want at most 6 and a retry", n, len(starts))
	}
	for i := 2; i < len(starts); i++ {
		if prev, gap := starts[i-1].Sub(starts[i-2]), starts[i].Sub(starts[i-1]); gap <= prev {
			t.Errorf("retry gaps %v then %v: want them growing", prev, gap)
		}
	}
	if n := len(ev.All()); n == 0 {
		t.Fatal("no events")
	}
	wantNoSecret(t, d, ev, secret)
}

// TestKamailioRestart: Kamailio killed and started again forgets every
// registration; each account registers again within its refresh interval
// (registerRefresh = 20) by itself, and calls to each then get through.
func TestKamailioRestart(t *testing.T) {
	t.Parallel()
	k := testutil.StartKamailio(t, testutil.KamailioOptions{})
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n"+accountINI(k, "1001", testutil.KamailioPassword("1001"), "udp", 20))
	b := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n"+accountINI(k, "1002", testutil.KamailioPassword("1002"), "tcp", 20))
	aev, bev := a.Events(t), b.Events(t)
	registered(t, a, aev)
	registered(t, b, bev)

	k.Stop()
	restarted := time.Now()
	k.Start()
	for _, user := range []string{"1001", "1002"} {
		deadline := restarted.Add(25 * time.Second) // the refresh interval, and slack for a loaded machine
		for {
			regs := k.Records("REGISTER", user)
			if r := regs[len(regs)-1]; r.At.After(restarted) && r.Fields["auth"] == "1" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not register again within %v of the restart: %+v", user, deadline.Sub(restarted), regs)
			}
			time.Sleep(200 * time.Millisecond) // polling interval
		}
	}
	bCall := strings.TrimSpace(b.MustRun(t, "dial", "1001"))
	bev.WaitType(t, eventWait, "call.established", bCall)
	b.MustRun(t, "hangup")
	aCall := strings.TrimSpace(a.MustRun(t, "dial", "1002"))
	aev.WaitType(t, eventWait, "call.established", aCall)
	a.MustRun(t, "hangup")
	wantNoSecret(t, a, aev, testutil.KamailioPassword("1001"))
}

// TestKamailioSHA256MinExpires runs against a Kamailio that challenges
// with SHA-256 and wants registrations of at least 30 s: the account asks
// for 20, gets 423, asks again for 30 and registers. Unregister removes
// the binding (Expires: 0) and says so; Register brings it back.
func TestKamailioSHA256MinExpires(t *testing.T) {
	t.Parallel()
	k := testutil.StartKamailio(t, testutil.KamailioOptions{SHA256: true, MinExpires: 30})
	d := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n"+accountINI(k, "1001", testutil.KamailioPassword("1001"), "udp", 20))
	ev := d.Events(t)
	if acc := registered(t, d, ev); acc.Expires != 30 {
		t.Fatalf("account = %+v; want the 30 s Min-Expires granted", acc)
	}
	var asked []string
	for _, r := range k.Records("REGISTER", "1001") {
		asked = append(asked, r.Fields["expires"])
	}
	if len(asked) < 2 || asked[0] != "20" || asked[len(asked)-1] != "30" {
		t.Fatalf("REGISTERs asked for %v; want 20 first, 30 after the 423", asked)
	}
	if regs := k.Records("REGISTER", "1001"); regs[len(regs)-1].Fields["alg"] != "SHA-256" {
		t.Fatalf("the REGISTER that registered: %+v; want credentials with algorithm SHA-256", regs[len(regs)-1])
	}

	// A call to its own number goes out and comes back through Kamailio,
	// the INVITE answering a SHA-256 challenge.
	call := strings.TrimSpace(d.MustRun(t, "dial", "1001"))
	ev.WaitType(t, eventWait, "call.established", call)
	if inv := k.Records("INVITE", "1001"); len(inv) != 2 || inv[1].Fields["alg"] != "SHA-256" {
		t.Fatalf("INVITEs at Kamailio: %+v; want the second with SHA-256 credentials", inv)
	}
	d.MustRun(t, "hangup", "--all")

	d.MustRun(t, "unregister")
	if e := ev.WaitType(t, eventWait, "registration.unregistered", ""); e.Account != "1" {
		t.Fatalf("registration.unregistered = %s; want account 1", e.Raw)
	}
	regs := k.Records("REGISTER", "1001")
	if last := regs[len(regs)-1]; last.Fields["expires"] != "0" || last.Fields["auth"] != "1" {
		t.Fatalf("last REGISTER %+v; want an authenticated Expires: 0", last)
	}
	if acc := d.Status(t).Accounts[0]; acc.Registered || acc.State != "unregistered" {
		t.Fatalf("after unregister the account is %+v", acc)
	}
	d.MustRun(t, "register", "1")
	registered(t, d, ev)
}

// TestKamailioTwoAccounts: one daemon registers 1001 and 1003. A call to
// each number arrives on its own account; --account and /account:N place
// calls as that account's user; a call for a user the daemon has no
// account for is refused 404.
func TestKamailioTwoAccounts(t *testing.T) {
	t.Parallel()
	k := testutil.StartKamailio(t, testutil.KamailioOptions{})
	two := accountINI(k, "1001", testutil.KamailioPassword("1001"), "udp", 120) +
		strings.Replace(accountINI(k, "1003", testutil.KamailioPassword("1003"), "tcp", 120), "[Account1]", "[Account2]", 1)
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n"+two)
	b := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n"+accountINI(k, "1002", testutil.KamailioPassword("1002"), "udp", 120))
	aev, bev := a.Events(t), b.Events(t)
	aev.WaitFor(t, 2*eventWait, func(e testutil.Event) bool { return e.Type == "registration.ok" && e.Account == "2" })
	registered(t, b, bev)
	for _, acc := range a.Status(t).Accounts {
		if !acc.Registered {
			t.Fatalf("account %+v not registered", acc)
		}
	}

	for _, c := range []struct{ number, account string }{{"1001", "1"}, {"1003", "2"}} {
		bCall := strings.TrimSpace(b.MustRun(t, "dial", c.number))
		bev.WaitType(t, eventWait, "call.established", bCall)
		e := aev.WaitType(t, eventWait, "call.incoming", "")
		if e.Account != c.account {
			t.Fatalf("call to %s arrived on account %q; want %s", c.number, e.Account, c.account)
		}
		b.MustRun(t, "hangup")
		bev.WaitType(t, eventWait, "call.ended", bCall)
	}

	// From A as account 2 (by id), then as the account of number 1003.
	for _, args := range [][]string{{"dial", "--account", "2", "1002"}, {"dial", "--account", "1003", "1002"}} {
		aCall := strings.TrimSpace(a.MustRun(t, args...))
		aev.WaitType(t, eventWait, "call.established", aCall)
		if e := bev.WaitType(t, eventWait, "call.incoming", ""); e.Number != "1003" {
			t.Fatalf("%v: B sees the call from %q; want 1003", args, e.Number)
		}
		a.MustRun(t, "hangup")
		aev.WaitType(t, eventWait, "call.ended", aCall)
	}
	if n := len(k.Records("INVITE", "1003")); n < 2 {
		t.Fatalf("Kamailio saw %d INVITEs from 1003; want the two calls", n)
	}

	// A call straight to the daemon for a user it has no account for.
	c := testutil.StartDaemon(t, gophoneBin, "")
	cev := c.Events(t)
	cCall := strings.TrimSpace(c.MustRun(t, "dial", "sip:9999@"+a.SIPAddr()))
	if e := cev.WaitType(t, eventWait, "call.ended", cCall); e.Code != 404 {
		t.Fatalf("call for an unknown user ended %s; want 404", e.Raw)
	}

	// Close unregisters both accounts before the daemon exits.
	a.MustRun(t, "close")
	select {
	case <-a.Exited():
	case <-time.After(2 * eventWait):
		t.Fatal("daemon did not exit after close")
	}
	for _, user := range []string{"1001", "1003"} {
		regs := k.Records("REGISTER", user)
		if last := regs[len(regs)-1]; last.Fields["expires"] != "0" || last.Fields["auth"] != "1" {
			t.Errorf("last REGISTER of %s: %+v; want an authenticated Expires: 0 on close", user, last)
		}
	}
}

// TestKamailioBaresip: baresip registered as 1003 at Kamailio calls
// gophone's 1001 by number through it, and is called by it; audio flows
// both ways and the hangup passes the proxy.
func TestKamailioBaresip(t *testing.T) {
	t.Parallel()
	k := testutil.StartKamailio(t, testutil.KamailioOptions{})
	heard := filepath.Join(t.TempDir(), "heard.wav")
	d := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\naudioOutput=file:"+heard+"\n"+
		accountINI(k, "1001", testutil.KamailioPassword("1001"), "udp", 120))
	ev := d.Events(t)
	registered(t, d, ev)
	b := testutil.StartBaresip(t, testutil.BaresipOptions{User: "1003", Registrar: k.Addr(),
		Password: testutil.KamailioPassword("1003"), AutoAnswer: true, ToneHz: 440})
	// baresip may register before its ctrl_tcp client is connected, so
	// REGISTER_OK is looked for at Kamailio: an authenticated REGISTER.
	deadline := time.Now().Add(2 * eventWait)
	for {
		if regs := k.Records("REGISTER", "1003"); len(regs) > 0 && regs[len(regs)-1].Fields["auth"] == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip did not register:\n%s", b.Log())
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}

	b.MustCommand(t, "dial", "1001")
	b.WaitEventType(t, eventWait, "CALL_ESTABLISHED")
	e := ev.WaitType(t, eventWait, "call.established", "")
	if c, _ := d.Status(t).Call(e.Call); c.Number != "1003" || c.Direction != "incoming" {
		t.Fatalf("gophone's call = %+v; want incoming from 1003", c)
	}
	wantHearing(t, "gophone", heard, 440)
	b.MustCommand(t, "hangup", "")
	ev.WaitType(t, eventWait, "call.ended", e.Call)
	b.WaitEventType(t, eventWait, "CALL_CLOSED")

	call := strings.TrimSpace(d.MustRun(t, "dial", "1003"))
	ev.WaitType(t, eventWait, "call.established", call)
	b.WaitEventType(t, eventWait, "CALL_ESTABLISHED")
	wantHearing(t, "gophone", heard, 440)
	d.MustRun(t, "hangup", call)
	b.WaitEventType(t, eventWait, "CALL_CLOSED")
	if n := len(k.Records("INVITE", "1001")); n < 1 {
		t.Fatal("gophone's INVITE did not pass Kamailio")
	}
}

// TestKamailioTLSUnverified: over TLS the server's certificate is checked;
// one signed by a CA the account does not trust fails the registration
// with a certificate error, never connected silently, unless the account
// says insecure=1, which is warned about.
func TestKamailioTLSUnverified(t *testing.T) {
	t.Parallel()
	k := testutil.StartKamailio(t, testutil.KamailioOptions{TLS: true})
	ini := accountINI(k, "1001", testutil.KamailioPassword("1001"), "tls", 60)
	ini = strings.Replace(ini, "tlsCAFile="+k.CAFile+"\n", "", 1) // the system store only
	d := testutil.StartDaemon(t, gophoneBin, "[Settings]\n"+tlsSettings(t, "tls")+ini)
	ev := d.Events(t)
	e := ev.WaitType(t, 2*eventWait, "registration.failed", "")
	if !strings.Contains(e.Reason, "certificate") {
		t.Fatalf("registration.failed = %s; want a certificate error", e.Raw)
	}
	if acc := d.Status(t).Accounts[0]; acc.Registered || !strings.Contains(acc.Error, "certificate") {
		t.Fatalf("account = %+v; want failed with the certificate error", acc)
	}
	if regs := k.Records("REGISTER", "1001"); len(regs) != 0 {
		t.Fatalf("Kamailio got REGISTERs over an unverified connection: %+v", regs)
	}

	// insecure=1 takes the certificate as it comes, and says so.
	in := testutil.StartDaemon(t, gophoneBin, "[Settings]\n"+tlsSettings(t, "tls")+
		strings.Replace(ini, "[Account1]\n", "[Account1]\ninsecure=1\n", 1))
	registered(t, in, in.Events(t))
	b, err := os.ReadFile(filepath.Join(in.Dir, "gophone.log"))
	if err != nil || !strings.Contains(string(b), "not verified") {
		t.Fatalf("no warning about insecure in the log (%v):\n%s", err, b)
	}
}

// TestKamailioMessage: daemons registered as 1001 and 1002 send each other
// a MESSAGE by number through Kamailio, which challenges it (407): the
// MESSAGE is sent again with credentials and the next CSeq, and arrives.
func TestKamailioMessage(t *testing.T) {
	k := testutil.StartKamailio(t, testutil.KamailioOptions{})
	a := testutil.StartDaemon(t, gophoneBin, accountINI(k, "1001", testutil.KamailioPassword("1001"), "udp", 120))
	b := testutil.StartDaemon(t, gophoneBin, accountINI(k, "1002", testutil.KamailioPassword("1002"), "udp", 120))
	aev, bev := a.Events(t), b.Events(t)
	registered(t, a, aev)
	registered(t, b, bev)
	if out := strings.TrimSpace(a.MustRun(t, "message", "1002", "через прокси ✓")); out != "sent" {
		t.Fatalf("message printed %q, want sent", out)
	}
	if e := bev.WaitType(t, eventWait, "message.received", ""); e.Text != "через прокси ✓" || e.Peer != "1001" {
		t.Fatalf("B got %+v; want the text from 1001", e)
	}
	msgs := k.Records("MESSAGE", "1001")
	if len(msgs) != 2 || msgs[0].Fields["to"] != "1002" || msgs[0].Fields["auth"] != "0" || msgs[1].Fields["auth"] != "1" ||
		atoi(t, msgs[1].Fields["cseq"]) != atoi(t, msgs[0].Fields["cseq"])+1 {
		t.Fatalf("Kamailio got MESSAGEs %+v; want one from 1001 to 1002, then with credentials and CSeq+1", msgs)
	}
}
