package integration

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// The tests here run baresip with its SIP trace (-s) and read baresip's
// view of hold from it: baresip 1.0.0 reports a re-INVITE only as a
// CALL_REMOTE_SDP event and shows no media direction in listcalls or
// callstat, but the SDP answer it gives to gophone's offer is its view of
// the hold (recvonly: held by the far end).

// TestBaresipSeesDaemonHold: gophone calls an auto-answering baresip;
// `gophone hold` re-INVITEs with a=sendonly, which baresip answers
// a=recvonly; `gophone hold` again resumes with a=sendrecv answered
// a=sendrecv.
func TestBaresipSeesDaemonHold(t *testing.T) {
	testutil.UseBaresipSIPTrace(t)
	d := startDaemon(t, "")
	ev := d.Events(t)
	b := testutil.StartBaresip(t, testutil.BaresipOptions{User: "bob", AutoAnswer: true})

	id := dial(t, d, b.URI())
	ev.WaitType(t, eventWait, "call.established", id)
	b.WaitEventType(t, eventWait, "CALL_ESTABLISHED")
	mark := len(b.SIPTrace())

	d.MustRun(t, "hold", id)
	ev.WaitType(t, eventWait, "call.held", id)
	if c, _ := d.Status(t).Call(id); !c.Held || c.RemoteHeld || c.State != "established" {
		t.Errorf("status after hold: %+v; want held, not remoteHeld, established", c)
	}
	offer, answer := waitReINVITE(t, b, mark, d.SIPAddr())
	if got := sdpDirection(offer.Body()); got != "sendonly" {
		t.Errorf("gophone's hold offer is %s, want sendonly:\n%s", got, offer.Text)
	}
	if got := sdpDirection(answer.Body()); got != "recvonly" {
		t.Errorf("baresip answered the hold %s, want recvonly:\n%s", got, answer.Text)
	}
	b.WaitEvent(t, eventWait, func(e testutil.BaresipEvent) bool {
		return e.Type == "CALL_REMOTE_SDP" && e.Param == "offer"
	})
	mark = len(b.SIPTrace())

	d.MustRun(t, "hold", id)
	ev.WaitType(t, eventWait, "call.resumed", id)
	if c, _ := d.Status(t).Call(id); c.Held || c.RemoteHeld {
		t.Errorf("status after resume: %+v; want neither held nor remoteHeld", c)
	}
	offer, answer = waitReINVITE(t, b, mark, d.SIPAddr())
	if got := sdpDirection(offer.Body()); got != "sendrecv" {
		t.Errorf("gophone's resume offer is %s, want sendrecv:\n%s", got, offer.Text)
	}
	if got := sdpDirection(answer.Body()); got != "sendrecv" {
		t.Errorf("baresip answered the resume %s, want sendrecv:\n%s", got, answer.Text)
	}
	// gophone offered three times (the call, hold, resume): its o= keeps
	// its own session id, not the answerer's, and steps its version.
	checkOrigins(t, b.SIPTrace(), d.SIPAddr(), b.Addr())

	d.MustRun(t, "hangup", id)
	b.WaitEventType(t, eventWait, "CALL_CLOSED")
	ev.WaitType(t, eventWait, "call.ended", id)
}

// TestDaemonSeesBaresipHold: baresip calls gophone (autoAnswer=all) and
// holds: gophone emits call.remote_held, shows remoteHeld and answers
// recvonly; baresip resumes: call.remote_resumed, answered sendrecv.
func TestDaemonSeesBaresipHold(t *testing.T) {
	testutil.UseBaresipSIPTrace(t)
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	ev := d.Events(t)
	b := testutil.StartBaresip(t, testutil.BaresipOptions{User: "alice"})

	id := baresipCalls(t, b, d, ev)
	mark := len(b.SIPTrace())

	b.MustCommand(t, "hold", "")
	ev.WaitType(t, eventWait, "call.remote_held", id)
	if c, _ := d.Status(t).Call(id); !c.RemoteHeld || c.Held || c.State != "established" {
		t.Errorf("status after baresip's hold: %+v; want remoteHeld, not held, established", c)
	}
	offer, answer := waitReINVITE(t, b, mark, b.Addr())
	if got := sdpDirection(offer.Body()); got != "sendonly" {
		t.Fatalf("baresip's hold offer is %s, not sendonly:\n%s", got, offer.Text)
	}
	if got := sdpDirection(answer.Body()); got != "recvonly" {
		t.Errorf("gophone answered a sendonly offer %s, want recvonly:\n%s", got, answer.Text)
	}
	mark = len(b.SIPTrace())

	b.MustCommand(t, "resume", "")
	ev.WaitType(t, eventWait, "call.remote_resumed", id)
	if c, _ := d.Status(t).Call(id); c.RemoteHeld || c.Held {
		t.Errorf("status after baresip's resume: %+v; want neither held nor remoteHeld", c)
	}
	_, answer = waitReINVITE(t, b, mark, b.Addr())
	if got := sdpDirection(answer.Body()); got != "sendrecv" {
		t.Errorf("gophone answered the resume %s, want sendrecv:\n%s", got, answer.Text)
	}

	b.MustCommand(t, "hangup", "")
	ev.WaitType(t, eventWait, "call.ended", id)
}

// TestDaemonHoldWhileRemoteHeld: RFC 3264 §8.4 with both sides holding.
// baresip holds first; gophone's hold then offers inactive; baresip's
// resume is answered sendonly (gophone still holds); gophone's resume
// offers sendrecv.
func TestDaemonHoldWhileRemoteHeld(t *testing.T) {
	testutil.UseBaresipSIPTrace(t)
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	ev := d.Events(t)
	b := testutil.StartBaresip(t, testutil.BaresipOptions{User: "carol"})

	id := baresipCalls(t, b, d, ev)

	b.MustCommand(t, "hold", "")
	ev.WaitType(t, eventWait, "call.remote_held", id)
	mark := len(b.SIPTrace())

	d.MustRun(t, "hold", id)
	ev.WaitType(t, eventWait, "call.held", id)
	offer, _ := waitReINVITE(t, b, mark, d.SIPAddr())
	if got := sdpDirection(offer.Body()); got != "inactive" {
		t.Errorf("gophone's hold while held offers %s, want inactive:\n%s", got, offer.Text)
	}
	if c, _ := d.Status(t).Call(id); !c.Held || !c.RemoteHeld {
		t.Errorf("status with both holding: %+v; want held and remoteHeld", c)
	}
	mark = len(b.SIPTrace())

	b.MustCommand(t, "resume", "")
	ev.WaitType(t, eventWait, "call.remote_resumed", id)
	_, answer := waitReINVITE(t, b, mark, b.Addr())
	if got := sdpDirection(answer.Body()); got != "sendonly" {
		t.Errorf("gophone, holding, answered baresip's resume %s, want sendonly:\n%s", got, answer.Text)
	}
	mark = len(b.SIPTrace())

	d.MustRun(t, "hold", id)
	ev.WaitType(t, eventWait, "call.resumed", id)
	offer, _ = waitReINVITE(t, b, mark, d.SIPAddr())
	if got := sdpDirection(offer.Body()); got != "sendrecv" {
		t.Errorf("gophone's resume offers %s, want sendrecv:\n%s", got, offer.Text)
	}
	if c, _ := d.Status(t).Call(id); c.Held || c.RemoteHeld {
		t.Errorf("status after both resumed: %+v", c)
	}
	// Four offer/answer rounds after the first, each way: gophone's o= keeps
	// its own session id and steps its version (RFC 3264 §5, §8).
	checkOrigins(t, b.SIPTrace(), d.SIPAddr(), b.Addr())
	d.MustRun(t, "hangup", id)
	ev.WaitType(t, eventWait, "call.ended", id)
}

// checkOrigins checks the o= lines of the SDP bodies sent by from (gophone)
// and reports the peer's for reference.
func checkOrigins(t *testing.T, msgs []testutil.SIPTraceMessage, from, peer string) {
	t.Helper()
	var (
		seen      = map[string]bool{}
		firstID   string
		peerIDs   = map[string]bool{}
		prevVer   int64
		lines     []string
		gophoneN  int
		isRequest = func(m testutil.SIPTraceMessage) bool { return !strings.HasPrefix(m.FirstLine(), "SIP/2.0 ") }
	)
	for _, m := range msgs {
		o := sdpOrigin(m.Body())
		if o == nil {
			continue
		}
		if m.From == peer {
			peerIDs[o[1]] = true
			continue
		}
		if m.From != from || seen[m.Text] { // a retransmission
			continue
		}
		seen[m.Text] = true
		gophoneN++
		lines = append(lines, m.FirstLine()+": o="+strings.Join(o, " "))
		ver, err := strconv.ParseInt(o[2], 10, 64)
		if err != nil {
			t.Errorf("o= version %q is not a number", o[2])
			continue
		}
		if firstID == "" {
			firstID, prevVer = o[1], ver
			continue
		}
		if o[1] != firstID {
			t.Errorf("%s: o= session id %s, want gophone's first %s (peer's ids: %v)",
				m.FirstLine(), o[1], firstID, keys(peerIDs))
		}
		step := ver - prevVer
		switch {
		case isRequest(m) && step != 1:
			t.Errorf("%s: offer o= version %d after %d, want +1", m.FirstLine(), ver, prevVer)
		case !isRequest(m) && step != 0 && step != 1:
			t.Errorf("%s: answer o= version %d after %d, want the same or +1", m.FirstLine(), ver, prevVer)
		}
		prevVer = ver
	}
	if peerIDs[firstID] {
		t.Errorf("gophone's o= session id %s is the peer's: RFC 3264 §6 wants the answerer's origin line "+
			"to differ from the offerer's, and RFC 4566 makes o= identify the SDP's originator", firstID)
	}
	if gophoneN < 3 {
		t.Errorf("only %d SDP bodies from gophone in the trace", gophoneN)
	}
	if t.Failed() {
		t.Logf("gophone's o= lines in order:\n  %s", strings.Join(lines, "\n  "))
	}
}

// waitReINVITE waits, in baresip's SIP trace after message mark, for an
// INVITE with SDP sent by from and the 200 answering it, and returns both.
func waitReINVITE(t *testing.T, b *testutil.Baresip, mark int, from string) (offer, answer testutil.SIPTraceMessage) {
	t.Helper()
	i, offer := b.WaitSIPTrace(t, eventWait, mark, func(m testutil.SIPTraceMessage) bool {
		return strings.HasPrefix(m.FirstLine(), "INVITE ") && m.From == from && sdpOrigin(m.Body()) != nil
	})
	_, answer = b.WaitSIPTrace(t, eventWait, i+1, func(m testutil.SIPTraceMessage) bool {
		return strings.HasPrefix(m.FirstLine(), "SIP/2.0 200") &&
			m.Header("Call-ID") == offer.Header("Call-ID") && m.Header("CSeq") == offer.Header("CSeq")
	})
	return offer, answer
}

// sdpDirection returns the audio stream's direction attribute (the media
// level one, else the session level one, else sendrecv).
func sdpDirection(body string) string {
	dir, media := "sendrecv", false
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "m=") {
			media = strings.HasPrefix(l, "m=audio")
			continue
		}
		switch l {
		case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
			dir = strings.TrimPrefix(l, "a=")
			if media {
				return dir
			}
		}
	}
	return dir
}

// sdpOrigin returns the fields of the o= line (username, sess-id,
// sess-version, nettype, addrtype, address), or nil.
func sdpOrigin(body string) []string {
	for _, l := range strings.Split(body, "\n") {
		if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "o=")); strings.HasPrefix(l, "o=") && len(f) == 6 {
			return f
		}
	}
	return nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
