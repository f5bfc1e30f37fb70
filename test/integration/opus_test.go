//go:build with_opus_c

package integration

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestOpusBetweenDaemons (a with_opus_c build): with opus/48000/2 the only
// codec on both sides, the call is Opus and carries each side's tone at
// its level, the RTP clock and the digits' durations at 48 kHz.
func TestOpusBetweenDaemons(t *testing.T) {
	codecCall(t, "opus/48000/2", wireCodec{status: "OPUS", pt: 96, clock: 48000, eventPT: 102})
}

// TestOpusBaresip (a with_opus_c build): baresip (its opus module) calls
// gophone offering only opus/48000/2: the call is Opus, DTMF goes both ways
// as RFC 4733 events, and each side hears the other's tone, baresip
// gophone's at -10 dBFS (±1 dB).
func TestOpusBaresip(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "heard.wav")
	d := startDaemon(t, "[Settings]\nautoAnswer=all\naudioCodecs=PCMU/8000/1 opus/48000/2\n"+
		"audioInput=tone:1000\naudioOutput=file:"+rec+"\n")
	ev := d.Events(t)
	b := testutil.StartBaresip(t, testutil.BaresipOptions{User: "alice", ToneHz: 440, Codecs: "opus/48000/2",
		ExtraConfig: []string{"module opus.so"}})

	id := baresipCalls(t, b, d, ev)
	if call, ok := d.Status(t).Call(id); !ok || call.Codec != "OPUS" {
		t.Fatalf("status: %+v, want codec OPUS", call)
	}
	// RFC 4733 both ways during an Opus call.
	b.MustCommand(t, "sndcode", "12")
	for _, want := range []string{"1", "2"} {
		if e := ev.WaitType(t, eventWait, "dtmf.received", id); e.Digit != want || e.Method != "rfc4733" {
			t.Errorf("dtmf.received %s by %s, want %s by rfc4733", e.Digit, e.Method, want)
		}
	}
	d.MustRun(t, "senddtmf", "34", id)
	for _, want := range []string{"3", "4"} {
		if got := b.WaitEventType(t, eventWait, "CALL_DTMF_START").Param; got != want {
			t.Errorf("baresip received DTMF %q, want %q", got, want)
		}
	}
	// baresip sends no audio while it sends digits: listen after them.
	wantHearing(t, "gophone", rec, 440)
	b.WaitRecorded(t, eventWait, time.Second)
	b.MustCommand(t, "hangup", "")
	ev.WaitType(t, eventWait, "call.ended", id)
	dec := b.WaitRecording(t, eventWait)
	wantTone(t, "baresip heard", dec, 1000)
	if l := toneDB(t, dec, 1000); math.Abs(l-(-10)) > 1 {
		t.Errorf("baresip heard gophone's -10 dBFS tone at %.1f dBFS", l)
	}
}
