//go:build with_opus_c

package integration

import (
	"math"
	"path/filepath"
	"slices"
	"strconv"
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

// TestOpusPtime (a with_opus_c build): a far end answering Opus with an
// a=ptime that is no Opus frame size gets audio all the same, in the
// longest Opus frame not over it (a=ptime is a preference, RFC 4566 §6):
// 30 ms gives 20 ms packets, 50 ms 40 ms ones, 40 ms its own, as captured
// on the wire (payload type, RTP timestamp steps at 48 kHz, intervals).
func TestOpusPtime(t *testing.T) {
	for _, tt := range []struct{ ptime, want int }{{30, 20}, {50, 40}, {40, 40}} {
		t.Run(strconv.Itoa(tt.ptime), func(t *testing.T) {
			d := startDaemon(t, "[Settings]\naudioCodecs=opus/48000/2\naudioInput=tone:440\n")
			ev := d.Events(t)
			uas := testutil.NewSIPp(t, scenario(t, "uas_opus_ptime.xml"))
			uas.Start("", sippLimit, "-m", "1", "-key", "ptime", strconv.Itoa(tt.ptime))
			uas.WaitReady(t)
			id := dial(t, d, "sip:1001@"+uas.Addr())
			ev.WaitType(t, eventWait, "call.established", id)
			rows, stderr := captureFields(t, d, "rtp.p_type == 96", func() { time.Sleep(1200 * time.Millisecond) },
				"frame.time_epoch", "rtp.timestamp")
			d.MustRun(t, "hangup", id)
			ev.WaitType(t, eventWait, "call.ended", id)
			wantSIPpOK(t, "uas_opus_ptime.xml", uas.Wait())
			if len(rows) < 1000/tt.want/2 {
				t.Fatalf("captured %d Opus packets in 1.2 s, want about %d (%d ms each)\n%s", len(rows), 1200/tt.want, tt.want, stderr)
			}
			var steps, gaps []float64
			for i := 1; i < len(rows); i++ {
				t0, _ := strconv.ParseFloat(rows[i-1][0], 64)
				t1, _ := strconv.ParseFloat(rows[i][0], 64)
				ts0, _ := strconv.ParseUint(rows[i-1][1], 10, 32)
				ts1, _ := strconv.ParseUint(rows[i][1], 10, 32)
				gaps = append(gaps, (t1-t0)*1000)
				steps = append(steps, float64(uint32(ts1-ts0)))
			}
			slices.Sort(gaps)
			slices.Sort(steps)
			if got := steps[len(steps)/2]; got != float64(tt.want*48) {
				t.Errorf("RTP timestamp step %.0f, want %d (%d ms at 48 kHz)", got, tt.want*48, tt.want)
			}
			if got := gaps[len(gaps)/2]; math.Abs(got-float64(tt.want)) > 5 {
				t.Errorf("median packet interval %.1f ms, want %d ms", got, tt.want)
			}
		})
	}
}
