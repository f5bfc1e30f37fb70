package integration

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// TestBaresipToBaresip proves the baresip helper: one baresip calls
// another, which answers automatically; DTMF goes across as RFC 4733
// events, and the callee's recording of what it received holds the caller's
// 440 Hz tone.
func TestBaresipToBaresip(t *testing.T) {
	t.Parallel()
	callee := testutil.StartBaresip(t, testutil.BaresipOptions{User: "callee", AutoAnswer: true, ToneHz: 1000})
	caller := testutil.StartBaresip(t, testutil.BaresipOptions{User: "caller", ToneHz: 440})

	caller.MustCommand(t, "dial", callee.URI())
	const wait = 10 * time.Second
	caller.WaitEventType(t, wait, "CALL_ESTABLISHED")
	in := callee.WaitEventType(t, wait, "CALL_ESTABLISHED")
	if in.Direction != "incoming" || !strings.Contains(in.PeerURI, "caller@") {
		t.Errorf("callee's call: direction %q, peer %q", in.Direction, in.PeerURI)
	}
	// Audio flows once RTP arrived at the callee.
	callee.WaitEventType(t, wait, "CALL_RTPESTAB")

	caller.MustCommand(t, "sndcode", "19#")
	var digits string
	for range 3 {
		e := callee.WaitEventType(t, wait, "CALL_DTMF_START")
		digits += e.Param
	}
	if digits != "19#" {
		t.Errorf("callee received DTMF %q, want %q", digits, "19#")
	}

	// Let a second of audio reach both sides before hanging up.
	callee.WaitRecorded(t, wait, time.Second)
	caller.WaitRecorded(t, wait, time.Second)
	caller.MustCommand(t, "hangup", "")
	caller.WaitEventType(t, wait, "CALL_CLOSED")
	callee.WaitEventType(t, wait, "CALL_CLOSED")

	for _, c := range []struct {
		who  *testutil.Baresip
		want float64
	}{{callee, 440}, {caller, 1000}} {
		path := c.who.WaitRecording(t, wait)
		samples, rate, err := audio.ReadWAV(path)
		if err != nil {
			t.Fatal(err)
		}
		if rate != 8000 || len(samples) < rate/2 {
			t.Fatalf("%s: %d samples at %d Hz, want at least 0.5 s at 8000 Hz", path, len(samples), rate)
		}
		f := audio.DominantFrequency(samples, rate, 200, 3000, 10)
		if math.Abs(f-c.want) > 10 {
			t.Errorf("%s recorded a %v Hz tone, want %v Hz", c.who.User, f, c.want)
		}
		if rms := testutil.RMS(samples); rms < 0.05 {
			t.Errorf("%s recording is nearly silent (RMS %.3f)", c.who.User, rms)
		}
	}
}
