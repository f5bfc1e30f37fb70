package integration

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// TestBaresipCallsDaemon: baresip calls gophone, which answers by itself;
// baresip's DTMF arrives as dtmf.received events; each side hears the
// other's tone.
func TestBaresipCallsDaemon(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "heard.wav")
	d := startDaemon(t, "[Settings]\nautoAnswer=all\naudioInput=tone:1000\naudioOutput=file:"+rec+"\n")
	ev := d.Events(t)
	b := testutil.StartBaresip(t, testutil.BaresipOptions{User: "alice", ToneHz: 440})

	id := baresipCalls(t, b, d, ev)

	b.MustCommand(t, "sndcode", "123#")
	var digits string
	for range 4 {
		e := ev.WaitType(t, eventWait, "dtmf.received", id)
		digits += e.Digit
		if e.Method != "rfc4733" {
			t.Errorf("dtmf.received %s with method %q, want rfc4733", e.Digit, e.Method)
		}
	}
	if digits != "123#" {
		t.Errorf("gophone received DTMF %q, want 123#", digits)
	}

	// baresip sends no audio while it sends digits: listen after them.
	wantHearing(t, "gophone", rec, 440)
	b.WaitRecorded(t, eventWait, time.Second)
	b.MustCommand(t, "hangup", "")
	ev.WaitType(t, eventWait, "call.ended", id)

	wantTone(t, "baresip heard", b.WaitRecording(t, eventWait), 1000)
}

// baresipCalls has baresip call the auto-answering daemon d and returns the
// call's id once both sides are established.
func baresipCalls(t *testing.T, b *testutil.Baresip, d *testutil.Daemon, ev *testutil.EventStream) string {
	t.Helper()
	b.MustCommand(t, "dial", "sip:gophone@"+d.SIPAddr())
	id := ev.WaitType(t, eventWait, "call.incoming", "").Call
	ev.WaitType(t, eventWait, "call.established", id)
	b.WaitEventType(t, eventWait, "CALL_ESTABLISHED")
	return id
}

// TestDaemonDialsBaresip: gophone calls an auto-answering baresip and sends
// DTMF that baresip receives.
func TestDaemonDialsBaresip(t *testing.T) {
	d := startDaemon(t, "")
	ev := d.Events(t)
	b := testutil.StartBaresip(t, testutil.BaresipOptions{User: "bob", AutoAnswer: true})

	id := dial(t, d, b.URI())
	ev.WaitType(t, eventWait, "call.established", id)
	b.WaitEventType(t, eventWait, "CALL_ESTABLISHED")
	d.MustRun(t, "senddtmf", "123", id)
	var digits string
	for range 3 {
		digits += b.WaitEventType(t, eventWait, "CALL_DTMF_START").Param
	}
	if digits != "123" {
		t.Errorf("baresip received DTMF %q, want 123", digits)
	}
	d.MustRun(t, "hangup", id)
	b.WaitEventType(t, eventWait, "CALL_CLOSED")
	ev.WaitType(t, eventWait, "call.ended", id)
}

func wantTone(t *testing.T, what, path string, hz float64) {
	t.Helper()
	samples, rate, err := audio.ReadWAV(path)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(samples) < rate/2 {
		t.Fatalf("%s: only %d samples at %d Hz", what, len(samples), rate)
	}
	if f := audio.DominantFrequency(samples, rate, 200, 3000, 10); math.Abs(f-hz) > 10 {
		t.Errorf("%s a %v Hz tone, want %v Hz", what, f, hz)
	}
}
