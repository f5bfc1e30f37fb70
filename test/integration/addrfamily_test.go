package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// TestOfferIPv6ToIPv4Daemon: an offer whose media address is IPv6 (c=IN
// IP6), sent to a daemon whose sockets are IPv4 only, is refused with 488
// rather than answered 200 into a one-way call.
func TestOfferIPv6ToIPv4Daemon(t *testing.T) {
	d := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n")
	r := newRawCaller(t, d, "ip6-offer")
	r.inviteSDP(t, "", "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"+
		"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
	status, toTag := r.final(t, eventWait)
	if !strings.HasPrefix(status, "SIP/2.0 488") {
		t.Fatalf("answer to a c=IN IP6 offer: %q; want 488", status)
	}
	r.ack(t, toTag)
}

// TestDaemonsOverIPv6: two daemons listening on [::1] call each other;
// media flows both ways over IPv6 and DTMF arrives. (An IPv4 offer would
// have been refused 488 by A, whose sockets are IPv6 only: the offer was
// c=IN IP6.)
func TestDaemonsOverIPv6(t *testing.T) {
	dir := t.TempDir()
	aHeard, bHeard := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	aPort, bPort := testutil.FreePort(t), testutil.FreePort(t)
	a := testutil.StartDaemon(t, gophoneBin, fmt.Sprintf("[Settings]\nlisten=[::1]:%d\nautoAnswer=all\naudioInput=tone:440\naudioOutput=file:%s\n", aPort, aHeard))
	b := testutil.StartDaemon(t, gophoneBin, fmt.Sprintf("[Settings]\nlisten=[::1]:%d\naudioInput=tone:1000\naudioOutput=file:%s\n", bPort, bHeard))
	aev, bev := a.Events(t), b.Events(t)
	bCall := strings.TrimSpace(b.MustRun(t, "dial", fmt.Sprintf("sip:alice@[::1]:%d", aPort)))
	bev.WaitType(t, eventWait, "call.established", bCall)
	aCall := aev.WaitType(t, eventWait, "call.established", "").Call
	wantHearing(t, "A", aHeard, 1000)
	wantHearing(t, "B", bHeard, 440)
	b.MustRun(t, "senddtmf", "7")
	if e := aev.WaitType(t, eventWait, "dtmf.received", aCall); e.Digit != "7" {
		t.Fatalf("A received DTMF %q, want 7", e.Digit)
	}
	b.MustRun(t, "hangup")
	aev.WaitType(t, eventWait, "call.ended", aCall)
}
