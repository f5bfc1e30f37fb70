package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// accountINI is an [Account1] of Kamailio test user user over transport.
func accountINI(k *testutil.Kamailio, user, password, transport string, refresh int) string {
	return fmt.Sprintf("[Account1]\nserver=%s\nusername=%s\npassword=%s\ntransport=%s\nregisterRefresh=%d\ndisplayName=User %s\n",
		k.Addr(), user, password, transport, refresh, user)
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
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			k := testutil.StartKamailio(t, testutil.KamailioOptions{})
			dir := t.TempDir()
			aHeard, bHeard := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
			a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioInput=tone:440\naudioOutput=file:"+aHeard+"\n"+
				accountINI(k, "1001", testutil.KamailioPassword("1001"), transport, 120))
			b := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:1000\naudioOutput=file:"+bHeard+"\n"+
				accountINI(k, "1002", testutil.KamailioPassword("1002"), transport, 120))
			aev, bev := a.Events(t), b.Events(t)
			if acc := registered(t, a, aev); acc.AOR != "1001@"+k.Addr() || acc.Expires != 120 {
				t.Fatalf("A account = %+v; want AOR 1001@%s, expires 120", acc, k.Addr())
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
			if inv := k.Records("INVITE", "1002"); len(inv) == 0 || inv[0].Fields["to"] != "1001" {
				t.Fatalf("Kamailio relayed INVITEs %+v; want one from 1002 to 1001", inv)
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

			aCall2 := strings.TrimSpace(a.MustRun(t, "dial", "1002"))
			bev.WaitType(t, eventWait, "call.incoming", "")
			b.MustRun(t, "answer")
			aev.WaitType(t, eventWait, "call.established", aCall2)
			a.MustRun(t, "hangup")
			bev.WaitType(t, eventWait, "call.ended", "")
		})
	}
}
