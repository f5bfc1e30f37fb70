package integration

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

const (
	eventWait = 15 * time.Second
	sippLimit = 60 * time.Second
)

// oneCallUAS starts SIPp as a UAS that plays scenario name for one call
// and returns once it is ready for the call.
func oneCallUAS(t *testing.T, name string) *testutil.SIPp {
	t.Helper()
	uas := testutil.NewSIPp(t, scenario(t, name))
	uas.Start("", sippLimit, "-m", "1")
	uas.WaitReady(t)
	return uas
}

// dial runs `gophone dial TARGET` and returns the call id it prints.
func dial(t *testing.T, d *testutil.Daemon, target string) string {
	t.Helper()
	id := strings.TrimSpace(d.MustRun(t, "dial", target))
	if id == "" {
		t.Fatalf("dial %s printed no call id", target)
	}
	return id
}

// wantSIPpOK fails the test unless sipp exited 0; the cleanup of a failed
// test logs sipp's traces.
func wantSIPpOK(t *testing.T, name string, r testutil.SIPpResult) {
	t.Helper()
	if !r.OK() {
		t.Errorf("%s: sipp exit %d: %s", name, r.ExitCode, lastLines(r.ErrLog, 5))
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestDaemonDialsSIPp: an outgoing call to a SIPp UAS goes calling → early
// → established, shows in status, and hangs up cleanly.
func TestDaemonDialsSIPp(t *testing.T) {
	d := startDaemon(t, "")
	ev := d.Events(t)
	uas := oneCallUAS(t, "uas.xml")

	id := dial(t, d, "sip:1001@"+uas.Addr())
	ev.WaitType(t, eventWait, "call.outgoing", id)
	ev.WaitType(t, eventWait, "call.established", id)
	st := d.Status(t)
	c, ok := st.Call(id)
	if !ok || c.State != "established" || c.Direction != "outgoing" || !strings.EqualFold(c.Codec, "PCMU") {
		t.Errorf("status call %s: %+v (found %v)", id, c, ok)
	}
	d.MustRun(t, "hangup", id)
	ev.WaitType(t, eventWait, "call.ended", id)
	wantSIPpOK(t, "uas.xml", uas.Wait())
}

// TestDaemonEarlyMedia: SDP in a 180 Ringing is early media, as in a 183
// (DESIGN.md §8): the daemon plays what arrives before any answer. SIPp
// echoes the daemon's tone back and, 3 s later, answers 486.
func TestDaemonEarlyMedia(t *testing.T) {
	for _, status := range []string{"180 Ringing", "183 Session Progress"} {
		t.Run(status[:3], func(t *testing.T) {
			// uas_early.xml sends a 180; the 183 case is the same scenario
			// with another status line.
			xml, err := os.ReadFile(scenario(t, "uas_early.xml"))
			if err != nil {
				t.Fatal(err)
			}
			sf := filepath.Join(t.TempDir(), "uas_early.xml")
			if err := os.WriteFile(sf, bytes.Replace(xml, []byte("SIP/2.0 180 Ringing"), []byte("SIP/2.0 "+status), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			rec := filepath.Join(t.TempDir(), "heard.wav")
			d := startDaemon(t, "[Settings]\naudioInput=tone:440\naudioOutput=file:"+rec+"\n")
			ev := d.Events(t)
			uas := testutil.NewSIPp(t, sf)
			uas.Start("", sippLimit, "-m", "1", "-rtp_echo")
			uas.WaitReady(t)

			id := dial(t, d, "sip:1001@"+uas.Addr())
			ev.WaitType(t, eventWait, "call.early", id)
			wantHearing(t, "gophone, before any answer,", rec, 440)
			if e := ev.WaitType(t, eventWait, "call.ended", id); e.Code != 486 {
				t.Errorf("call ended with %d %q, want 486", e.Code, e.Reason)
			}
			wantSIPpOK(t, "uas_early.xml with "+status, uas.Wait())
		})
	}
}

// TestDaemonRemoteHangup: the far end's BYE ends an outgoing call, also
// after a forking proxy's second 200 OK (two phones answered: the first is
// the call, the second is ACKed and ended with BYE, RFC 3261 §13.2.2.4,
// DESIGN.md §8; SIPp checks the tags of that ACK and BYE, then ends the
// first dialog, which must still be up).
func TestDaemonRemoteHangup(t *testing.T) {
	for _, sc := range []string{"uas_bye.xml", "uas_forked.xml"} {
		t.Run(sc, func(t *testing.T) {
			d := startDaemon(t, "")
			ev := d.Events(t)
			uas := oneCallUAS(t, sc)
			id := dial(t, d, "sip:1001@"+uas.Addr())
			ev.WaitType(t, eventWait, "call.established", id)
			ev.WaitType(t, eventWait, "call.ended", id)
			wantSIPpOK(t, sc, uas.Wait())
		})
	}
}

// TestDaemonAutoAnswerLoad: 300 calls at 20 calls/s, at most 50 at once,
// all answered and ended.
func TestDaemonAutoAnswerLoad(t *testing.T) {
	// Each call takes an RTP and an RTCP port: room for 100 calls at once.
	rtp := testutil.FreePortRange(t, 200)
	d := startDaemon(t, fmt.Sprintf("[Settings]\nautoAnswer=all\nmaxConcurrentCalls=100\nrtpPorts=%d-%d\n", rtp, rtp+199))
	uac := testutil.NewSIPp(t, scenario(t, "uac_autoanswer.xml"))
	r := uac.Run(d.SIPAddr(), 90*time.Second, "-m", "300", "-r", "20", "-l", "50", "-s", "1001")
	wantSIPpOK(t, "uac_autoanswer.xml", r)
	if got := r.Stat("SuccessfulCall(C)"); got != "300" {
		t.Errorf("successful calls %s, want 300", got)
	}
	if st := d.Status(t); len(st.Calls) != 0 {
		t.Errorf("%d calls left after the load, the first: %+v", len(st.Calls), st.Calls[0])
	}
}

// TestDaemonDelayedOffer: an INVITE without SDP is answered with an offer.
func TestDaemonDelayedOffer(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	uac := testutil.NewSIPp(t, scenario(t, "uac_delayed_offer.xml"))
	wantSIPpOK(t, "uac_delayed_offer.xml", uac.Run(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001"))
}

// TestDaemonSeesHoldByUPDATE: an UPDATE offering a=sendonly holds the call
// as a re-INVITE would: call.remote_held, and the 200 answers a=recvonly
// (SIPp checks it).
func TestDaemonSeesHoldByUPDATE(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	ev := d.Events(t)
	uac := testutil.NewSIPp(t, scenario(t, "uac_update_hold.xml"))
	uac.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001")
	id := ev.WaitType(t, eventWait, "call.remote_held", "").Call
	ev.WaitType(t, eventWait, "call.ended", id)
	wantSIPpOK(t, "uac_update_hold.xml", uac.Wait())
}

// TestDaemonFollowsMediaMove: after a re-INVITE or an UPDATE (RFC 3311)
// that moves the far end to 127.0.0.2:port+2, the daemon's RTP goes there.
func TestDaemonFollowsMediaMove(t *testing.T) {
	for _, sc := range []string{"uac_media_move.xml", "uac_media_update.xml"} {
		t.Run(sc, func(t *testing.T) {
			d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
			uac := testutil.NewSIPp(t, scenario(t, sc))
			moved, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.2", strconv.Itoa(uac.MediaPort+2)))
			if err != nil {
				t.Fatal(err)
			}
			defer moved.Close()
			uac.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001")

			moved.SetReadDeadline(time.Now().Add(eventWait))
			buf := make([]byte, 2048)
			n, from, err := moved.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no RTP at the moved address: %v", err)
			}
			if n < 12 || buf[0]>>6 != 2 {
				t.Errorf("packet from %v at the moved address is not RTP (%d bytes)", from, n)
			}
			wantSIPpOK(t, sc, uac.Wait())
		})
	}
}

// TestDaemonRetriesAfter491: hold meets 491 and is retried after the
// RFC 3261 §14.1 delay (2.1–4 s for the Call-ID owner).
func TestDaemonRetriesAfter491(t *testing.T) {
	d := startDaemon(t, "")
	ev := d.Events(t)
	uas := oneCallUAS(t, "uac_glare_491.xml")
	id := dial(t, d, "sip:1001@"+uas.Addr())
	ev.WaitType(t, eventWait, "call.established", id)

	start := time.Now()
	d.MustRun(t, "hold", id)
	ev.WaitType(t, eventWait, "call.held", id)
	if el := time.Since(start); el < 2*time.Second || el > 5*time.Second {
		t.Errorf("hold took %v; want the 491 retry after 2.1–4 s", el)
	}
	if c, _ := d.Status(t).Call(id); !c.Held {
		t.Errorf("call not held after the retry: %+v", c)
	}
	d.MustRun(t, "hangup", id)
	ev.WaitType(t, eventWait, "call.ended", id)
	wantSIPpOK(t, "uac_glare_491.xml", uas.Wait())
}

// TestDaemonCrossedCancel: a 200 that crosses our CANCEL is ACKed and BYEd.
func TestDaemonCrossedCancel(t *testing.T) {
	d := startDaemon(t, "")
	ev := d.Events(t)
	uas := oneCallUAS(t, "uac_crossed_cancel.xml")
	id := dial(t, d, "sip:1001@"+uas.Addr())
	ev.WaitFor(t, eventWait, func(e testutil.Event) bool {
		return e.Call == id && (e.Type == "call.ringing" || e.Type == "call.early")
	})
	d.MustRun(t, "hangup", id)
	ev.WaitType(t, eventWait, "call.ended", id)
	wantSIPpOK(t, "uac_crossed_cancel.xml", uas.Wait()) // got ACK and BYE
	if st := d.Status(t); len(st.Calls) != 0 {
		t.Errorf("calls left: %+v", st.Calls)
	}
}

// TestDaemonRefusesOutOfDialogRefer: REFER outside a dialog gets 403.
func TestDaemonRefusesOutOfDialogRefer(t *testing.T) {
	d := startDaemon(t, "")
	uac := testutil.NewSIPp(t, scenario(t, "ood_refer.xml"))
	wantSIPpOK(t, "ood_refer.xml", uac.Run(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001"))
	if st := d.Status(t); len(st.Calls) != 0 {
		t.Errorf("REFER created calls: %+v", st.Calls)
	}
}

// startDaemon runs gophone with the given extra ini lines.
func startDaemon(t *testing.T, ini string) *testutil.Daemon {
	t.Helper()
	return testutil.StartDaemon(t, gophoneBin, ini)
}
