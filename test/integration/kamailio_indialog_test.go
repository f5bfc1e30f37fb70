package integration

import (
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// TestKamailioInDialogAuth runs against a Kamailio that challenges
// in-dialog BYE, re-INVITE and REFER (407) as it does the first INVITE:
// hold from either side, a blind transfer and the hang-ups of both sides
// go through, each answered with the account's credentials without asking
// the user (RFC 3261 §22). The call the transfer places goes through the
// transferee's account (its server and credentials), as a call it dials
// would, over the account's transport.
func TestKamailioInDialogAuth(t *testing.T) {
	for _, transport := range []string{"udp", "tcp", "tls"} {
		t.Run(transport, func(t *testing.T) { testInDialogAuth(t, transport) })
	}
}

func testInDialogAuth(t *testing.T, transport string) {
	k := testutil.StartKamailio(t, testutil.KamailioOptions{InDialogAuth: true, TLS: transport == "tls"})
	daemon := func(user, settings string) *testutil.Daemon {
		return testutil.StartDaemon(t, gophoneBin, "[Settings]\n"+settings+tlsSettings(t, transport)+
			accountINI(k, user, testutil.KamailioPassword(user), transport, 120))
	}
	a := daemon("1001", "autoAnswer=all\n")
	b := daemon("1002", "")
	c := daemon("1003", "autoAnswer=all\n")
	aev, bev, cev := a.Events(t), b.Events(t), c.Events(t)
	registered(t, a, aev)
	registered(t, b, bev)
	registered(t, c, cev)

	bCall := strings.TrimSpace(b.MustRun(t, "dial", "1001"))
	bev.WaitType(t, eventWait, "call.established", bCall)
	aCall := aev.WaitType(t, eventWait, "call.established", "").Call

	// Re-INVITEs from the callee (A) and from the caller (B).
	a.MustRun(t, "hold")
	bev.WaitType(t, eventWait, "call.remote_held", bCall)
	a.MustRun(t, "hold")
	bev.WaitType(t, eventWait, "call.remote_resumed", bCall)
	b.MustRun(t, "hold")
	aev.WaitType(t, eventWait, "call.remote_held", aCall)
	b.MustRun(t, "hold")
	aev.WaitType(t, eventWait, "call.remote_resumed", aCall)

	// B transfers A to 1003 (REFER from the caller); A calls 1003 through
	// its account; B then hangs up (BYE from the caller).
	if out := b.MustRun(t, "transfer", "1003"); !strings.Contains(out, "success") {
		t.Fatalf("transfer: %s; want success", out)
	}
	bev.WaitType(t, eventWait, "call.ended", bCall)
	aCall2 := aev.WaitType(t, eventWait, "call.established", "").Call
	aev.WaitType(t, eventWait, "call.ended", aCall)
	cCall := cev.WaitType(t, eventWait, "call.established", "").Call
	if got, _ := c.Status(t).Call(cCall); got.Number != "1001" || got.Account != "1" {
		t.Fatalf("C's call = %+v; want from 1001 (A's account) on account 1", got)
	}
	// C hangs up (BYE from the callee).
	c.MustRun(t, "hangup")
	aev.WaitType(t, eventWait, "call.ended", aCall2)
	cev.WaitType(t, eventWait, "call.ended", cCall)

	// The transfer's INVITE came from A's account, with its credentials
	// after the challenge.
	inv := k.Records("INVITE", "1001")
	if len(inv) != 2 || inv[0].Fields["to"] != "1003" || inv[0].Fields["auth"] != "0" || inv[1].Fields["auth"] != "1" ||
		atoi(t, inv[1].Fields["cseq"]) != atoi(t, inv[0].Fields["cseq"])+1 || !strings.HasPrefix(inv[1].Fields["via"], transport+":") {
		t.Fatalf("Kamailio got INVITEs from 1001: %+v; want one to 1003 over %s, then with credentials and CSeq+1", inv, transport)
	}
	// Every challenged in-dialog request was sent again with credentials
	// and the next CSeq, once.
	for _, want := range []struct {
		user, method string
		n            int // requests with credentials
	}{
		{"1001", "INVITE", 2}, {"1002", "INVITE", 2}, {"1002", "REFER", 1}, {"1002", "BYE", 1}, {"1003", "BYE", 1},
	} {
		var sent []testutil.KamailioRecord
		for _, r := range k.Records("INDIALOG", want.user) {
			if r.Fields["method"] == want.method {
				sent = append(sent, r)
			}
		}
		if len(sent) != 2*want.n {
			t.Errorf("in-dialog %s from %s at Kamailio: %+v; want %d, each challenged then answered", want.method, want.user, sent, 2*want.n)
			continue
		}
		for i := 0; i < len(sent); i += 2 {
			if sent[i].Fields["auth"] != "0" || sent[i+1].Fields["auth"] != "1" ||
				atoi(t, sent[i+1].Fields["cseq"]) != atoi(t, sent[i].Fields["cseq"])+1 {
				t.Errorf("in-dialog %s from %s: %+v then %+v; want without then with credentials, CSeq+1",
					want.method, want.user, sent[i].Fields, sent[i+1].Fields)
			}
		}
	}
	wantNoSecret(t, a, aev, testutil.KamailioPassword("1001"))
}
