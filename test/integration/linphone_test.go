package integration

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// Linphone (linphonec, Debian's linphone-cli) is a second real softphone
// besides baresip, on another SIP stack (belle-sip) and media engine
// (mediastreamer2): its offer lists opus, speex, G729 and three
// telephone-event rates before PCMU. These tests call it both ways and
// check audio each way by tone, and RFC 4733 DTMF.

// TestLinphoneCallsDaemon: linphonec calls the auto-answering daemon; its
// DTMF arrives as dtmf.received events; each side hears the other's tone.
func TestLinphoneCallsDaemon(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "heard.wav")
	d := startDaemon(t, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\naudioOutput=file:"+rec+"\n")
	ev := d.Events(t)
	l := testutil.StartLinphone(t, testutil.LinphoneOptions{User: "alice", ToneHz: 440})

	l.Command(t, "call sip:gophone@"+d.SIPAddr())
	id := ev.WaitType(t, eventWait, "call.incoming", "").Call
	ev.WaitType(t, eventWait, "call.established", id)
	l.WaitLine(t, eventWait, "connected.")
	if c, ok := d.Status(t).Call(id); !ok || c.Codec != "PCMU" {
		t.Errorf("call %+v, want PCMU (linphonec offers opus, speex and G729 first)", c)
	}

	wantToneLevel(t, "gophone", rec, 440, -6, time.Second/2)
	for _, digit := range []string{"1", "2", "3", "#"} {
		l.Command(t, digit)
		e := ev.WaitType(t, eventWait, "dtmf.received", id)
		if e.Digit != digit || e.Method != "rfc4733" {
			t.Errorf("dtmf.received %q by %q, want %q by rfc4733", e.Digit, e.Method, digit)
		}
	}

	l.Command(t, "terminate")
	ev.WaitType(t, eventWait, "call.ended", id)
	l.WaitLine(t, eventWait, "ended")
	wantRecordedTone(t, "linphonec", l.RecordPath, 1000, -10)
}

// TestDaemonDialsLinphone: the daemon calls an auto-answering linphonec,
// which receives its DTMF; each side hears the other's tone; the daemon's
// BYE ends the call at linphonec.
func TestDaemonDialsLinphone(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "heard.wav")
	d := startDaemon(t, "[Settings]\naudioInput=tone:1000\naudioOutput=file:"+rec+"\n")
	ev := d.Events(t)
	l := testutil.StartLinphone(t, testutil.LinphoneOptions{User: "bob", AutoAnswer: true, ToneHz: 440})

	id := dial(t, d, l.URI())
	ev.WaitType(t, eventWait, "call.established", id)
	l.WaitLine(t, eventWait, "connected.")

	d.MustRun(t, "senddtmf", "159#", id)
	for _, digit := range []string{"1", "5", "9", "#"} {
		l.WaitLine(t, eventWait, "Receiving tone "+digit+" ")
	}
	// gophone sends no audio while it sends digits: a second of tone after
	// them for linphonec's recording.
	wantToneLevel(t, "gophone", rec, 440, -6, time.Second)

	d.MustRun(t, "hangup", id)
	ev.WaitType(t, eventWait, "call.ended", id)
	l.WaitLine(t, eventWait, "ended")
	wantRecordedTone(t, "linphonec", l.RecordPath, 1000, -10)
}

// wantToneLevel checks that the next d the daemon's file: output writes to
// path (a whole number of tenths of a second) is a tone of hz hertz at dBFS
// (±2 dB, by Goertzel).
func wantToneLevel(t *testing.T, who, path string, hz, dBFS float64, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * audio.SampleRate)
	samples, rate := testutil.WaitWAV(t, path, testutil.WAVLen(path), n, eventWait)
	checkTone(t, who, samples, rate, hz, dBFS)
}

// wantRecordedTone checks that the half second before the last 100 ms of a
// finished recording is a tone of hz hertz at dBFS (±2 dB).
func wantRecordedTone(t *testing.T, who, path string, hz, dBFS float64) {
	t.Helper()
	samples, rate, err := audio.ReadWAV(path)
	if err != nil {
		t.Fatalf("%s's recording: %v", who, err)
	}
	end := len(samples) - rate/10
	if end < rate/2 {
		t.Fatalf("%s recorded only %d samples at %d Hz", who, len(samples), rate)
	}
	checkTone(t, who, samples[end-rate/2:end], rate, hz, dBFS)
}

func checkTone(t *testing.T, who string, samples []int16, rate int, hz, dBFS float64) {
	t.Helper()
	f := audio.DominantFrequency(samples, rate, 100, 3000, 10)
	level := testutil.ToneDBFS(samples, rate, hz)
	t.Logf("%s heard %.0f Hz, %.1f dBFS at %.0f Hz", who, f, level, hz)
	if math.Abs(f-hz) > 20 || math.Abs(level-dBFS) > 2 {
		t.Errorf("%s heard %.0f Hz, %.1f dBFS at %.0f Hz; want a %.0f Hz tone at %.0f dBFS", who, f, level, hz, hz, dBFS)
	}
}

// TestLinphoneHold: linphonec pauses and resumes the call (re-INVITEs
// a=sendonly, then a=sendrecv): gophone emits call.remote_held and
// call.remote_resumed and hears it again; gophone holds and resumes:
// linphonec sees itself paused by gophone, then hears gophone again.
func TestLinphoneHold(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "heard.wav")
	d := startDaemon(t, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\naudioOutput=file:"+rec+"\n")
	ev := d.Events(t)
	l := testutil.StartLinphone(t, testutil.LinphoneOptions{User: "alice", ToneHz: 440})
	l.Command(t, "call sip:gophone@"+d.SIPAddr())
	id := ev.WaitType(t, eventWait, "call.incoming", "").Call
	ev.WaitType(t, eventWait, "call.established", id)
	l.WaitLine(t, eventWait, "connected.")

	l.Command(t, "pause")
	ev.WaitType(t, eventWait, "call.remote_held", id)
	l.WaitLine(t, eventWait, "is now paused")
	if c, _ := d.Status(t).Call(id); !c.RemoteHeld || c.Held {
		t.Errorf("status after linphonec's pause: %+v; want remoteHeld, not held", c)
	}
	l.Command(t, "resume")
	ev.WaitType(t, eventWait, "call.remote_resumed", id)
	wantToneLevel(t, "gophone after the resume", rec, 440, -6, time.Second/2)

	d.MustRun(t, "hold", id)
	l.WaitLine(t, eventWait, "has been paused by sip:gophone@")
	d.MustRun(t, "hold", id) // resumes
	l.WaitLine(t, eventWait, "Media streams established")
	if c, _ := d.Status(t).Call(id); c.RemoteHeld || c.Held {
		t.Errorf("status after both resumed: %+v; want neither held nor remoteHeld", c)
	}
	wantToneLevel(t, "gophone", rec, 440, -6, time.Second)

	l.Command(t, "terminate")
	ev.WaitType(t, eventWait, "call.ended", id)
	l.WaitLine(t, eventWait, "ended")
	wantRecordedTone(t, "linphonec after gophone's resume", l.RecordPath, 1000, -10)
}

// TestLinphoneTransfer: blind transfer (REFER) both ways. gophone A
// transfers linphonec to gophone B: linphonec calls B, A's transfer
// reports success and its call ends. linphonec then transfers B to A: B
// calls A.
func TestLinphoneTransfer(t *testing.T) {
	a := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	b := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	evA, evB := a.Events(t), b.Events(t)
	logOnFailure(t, map[string]*testutil.Daemon{"A": a, "B": b})
	l := testutil.StartLinphone(t, testutil.LinphoneOptions{User: "alice"})
	l.Command(t, "call sip:gophone@"+a.SIPAddr())
	id := evA.WaitType(t, eventWait, "call.incoming", "").Call
	evA.WaitType(t, eventWait, "call.established", id)
	l.WaitLine(t, eventWait, "connected.")

	out := a.MustRun(t, "transfer", "sip:carol@"+b.SIPAddr(), id)
	if !strings.Contains(out, `"outcome":"success"`) {
		t.Errorf("transfer printed %s, want outcome success", out)
	}
	inB := evB.WaitType(t, eventWait, "call.incoming", "")
	if inB.Number != "alice" {
		t.Errorf("B's incoming call is from %q, want alice (linphonec)", inB.Number)
	}
	evB.WaitType(t, eventWait, "call.established", inB.Call)
	evA.WaitType(t, eventWait, "call.ended", id)
	l.WaitLine(t, eventWait, "Call 2 with sip:carol@")

	l.Command(t, "transfer 2 sip:dave@"+a.SIPAddr())
	out2 := evB.WaitType(t, eventWait, "call.outgoing", "")
	evB.WaitType(t, eventWait, "call.established", out2.Call)
	inA := evA.WaitType(t, eventWait, "call.incoming", "")
	evA.WaitType(t, eventWait, "call.established", inA.Call)
	l.WaitLine(t, eventWait, "has been transfered")
	evB.WaitType(t, eventWait, "call.ended", inB.Call)
	b.MustRun(t, "hangup", out2.Call)
	evA.WaitType(t, eventWait, "call.ended", inA.Call)
}

// TestDaemonMessagesLinphone: a SIP MESSAGE from gophone reaches linphonec.
// (linphonec's own MESSAGE drops the port of the URI it is given, so it
// cannot reach a daemon on a port other than 5060.)
func TestDaemonMessagesLinphone(t *testing.T) {
	d := startDaemon(t, "")
	l := testutil.StartLinphone(t, testutil.LinphoneOptions{User: "bob"})
	if out := d.MustRun(t, "message", l.URI(), "hello linphone"); !strings.Contains(out, "sent") {
		t.Errorf("message printed %q, want sent", out)
	}
	l.WaitLine(t, eventWait, "Message received from sip:gophone@127.0.0.1: hello linphone")
}

// TestLinphoneOverTCP: calls both ways with ;transport=tcp, every SIP
// message over TCP: linphonec calls the daemon, which sends it a digit; the
// daemon calls linphonec, which sends one back.
func TestLinphoneOverTCP(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	ev := d.Events(t)
	l := testutil.StartLinphone(t, testutil.LinphoneOptions{User: "alice", AutoAnswer: true})

	l.Command(t, "call sip:gophone@"+d.SIPAddr()+";transport=tcp")
	id := ev.WaitType(t, eventWait, "call.incoming", "").Call
	ev.WaitType(t, eventWait, "call.established", id)
	l.WaitLine(t, eventWait, "connected.")
	d.MustRun(t, "senddtmf", "1", id)
	l.WaitLine(t, eventWait, "Receiving tone 1 ")
	l.Command(t, "terminate")
	ev.WaitType(t, eventWait, "call.ended", id)
	l.WaitLine(t, eventWait, "ended")

	id = dial(t, d, l.URI()+";transport=tcp")
	ev.WaitType(t, eventWait, "call.established", id)
	l.WaitLine(t, eventWait, "connected.")
	l.Command(t, "2")
	if e := ev.WaitType(t, eventWait, "dtmf.received", id); e.Digit != "2" {
		t.Errorf("dtmf.received %q, want 2", e.Digit)
	}
	d.MustRun(t, "hangup", id)
	ev.WaitType(t, eventWait, "call.ended", id)
	l.WaitLine(t, eventWait, "ended")

	// Every SIP message linphonec received came over TCP: the answer to its
	// INVITE and the daemon's INVITE among them. (The log may lag the last
	// messages.)
	var udp, tcp []string
	for _, m := range regexp.MustCompile(`new bytes from \[([A-Z]+)://[^\]]*\]:\r?\n([^\r\n]*)`).FindAllStringSubmatch(l.Log(), -1) {
		if m[1] == "TCP" {
			tcp = append(tcp, m[2])
		} else {
			udp = append(udp, m[2])
		}
	}
	all := strings.Join(tcp, "\n")
	if len(udp) > 0 || !strings.Contains(all, "SIP/2.0 200 OK") || !strings.Contains(all, "INVITE sip:alice@") {
		t.Errorf("linphonec received over TCP:\n%s\nover UDP:\n%s\nwant a 200 OK and an INVITE over TCP, nothing over UDP", all, strings.Join(udp, "\n"))
	}
}

// TestDaemonDialsLinphoneUnanswered: the daemon cancels a call linphonec
// rings for (487, linphonec: not answered), linphonec declines the next
// (603 Decline), and answers the third by hand.
func TestDaemonDialsLinphoneUnanswered(t *testing.T) {
	d := startDaemon(t, "")
	ev := d.Events(t)
	l := testutil.StartLinphone(t, testutil.LinphoneOptions{User: "bob"})
	ring := func() string {
		t.Helper()
		id := dial(t, d, l.URI())
		l.WaitLine(t, eventWait, "Receiving new incoming call from sip:gophone@")
		ev.WaitType(t, eventWait, "call.ringing", id)
		return id
	}
	wantEnd := func(id string, code int, reason string) {
		t.Helper()
		if e := ev.WaitType(t, eventWait, "call.ended", id); e.Code != code || e.Reason != reason {
			t.Errorf("call.ended %d %q, want %d %q", e.Code, e.Reason, code, reason)
		}
	}

	id := ring()
	d.MustRun(t, "hangup", id)
	wantEnd(id, 487, "Request Terminated")
	l.WaitLine(t, eventWait, "ended (Not answered)")

	id = ring()
	l.Command(t, "terminate")
	wantEnd(id, 603, "Decline")

	id = ring()
	l.Command(t, "answer")
	ev.WaitType(t, eventWait, "call.established", id)
	l.WaitLine(t, eventWait, "connected.")
	l.Command(t, "terminate")
	wantEnd(id, 200, "remote hangup")
}

// logOnFailure logs the daemons' gophone.log files if t fails.
func logOnFailure(t *testing.T, daemons map[string]*testutil.Daemon) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for name, d := range daemons {
			b, _ := os.ReadFile(filepath.Join(d.Dir, "gophone.log"))
			t.Logf("daemon %s gophone.log:\n%s", name, b)
		}
	})
}
