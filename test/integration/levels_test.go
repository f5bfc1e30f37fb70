package integration

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// The levels tests measure what B plays out (its file: output device, 8 kHz
// mono) while A's microphone is a WAV file of a sine: 1 kHz at -6 dBFS
// (AES17: its peaks at half of full scale), 44.1 kHz, stereo with the sine
// in both channels.
//
// The level B should play it at is -6.0 dBFS, within 0.2 dB:
//   - the file input mixes the channels by their mean (the same sine) and
//     resamples 44.1 kHz to 8 kHz with a low-pass flat within 0.1 dB up to
//     3.3 kHz, so 1 kHz passes at its level;
//   - G.711 quantises each sample to a step of at most about 3 % of its
//     value (µ-law and A-law alike at this level), and decodes it to the
//     middle of the step: about 38 dB of signal to quantisation noise, no
//     bias. As 1 kHz is an eighth of 8 kHz, the same eight sample values
//     repeat and their errors do not average out: depending on the phase
//     the resampler gives them, µ-law reads -0.12 to +0.16 dB off the
//     input's level and A-law -0.12 to +0.20 (computed with the codec over
//     all phases);
//   - A's microphone level and B's volume, both 100 by default, are unity.
//
// Each measurement takes 500 ms of B's output (4000 samples: whole periods
// of 1 kHz and of 440 Hz) starting 300 ms after the change, which leaves
// the frames A had already sent (and any jitter buffer) time to play out.
const (
	sineHz     = 1000
	sineDBFS   = -6.0
	sineLength = 20 * time.Second // longer than the calls that play it
	levelSkip  = 3 * audio.SampleRate / 10
	levelSpan  = audio.SampleRate / 2
	levelTol   = 1.0 // dB, as issue 11 asks
)

// sineFile writes the test sine and returns its path.
func sineFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "sine-1k-44k1-stereo.wav")
	testutil.SineWAV(t, path, 44100, 2, sineHz, sineDBFS, sineLength)
	return path
}

// levelCall is a call from A, whose microphone plays the sine, to B, which
// answers it and plays what it hears into a WAV file.
type levelCall struct {
	a, b         *testutil.Daemon
	aev, bev     *testutil.EventStream
	aCall, bCall string
	heard        string // B's output file
}

func startLevelCall(t *testing.T, aINI string) *levelCall {
	t.Helper()
	c := &levelCall{heard: filepath.Join(t.TempDir(), "b-heard.wav")}
	c.b = startDaemon(t, "[Settings]\nautoAnswer=all\naudioInput=null\naudioOutput=file:"+c.heard+"\n")
	c.a = startDaemon(t, "[Settings]\naudioInput=file:"+sineFile(t)+"\n"+aINI)
	c.aev, c.bev = c.a.Events(t), c.b.Events(t)
	c.aCall = dial(t, c.a, "sip:bob@"+c.b.SIPAddr())
	c.aev.WaitType(t, eventWait, "call.established", c.aCall)
	c.bCall = c.bev.WaitType(t, eventWait, "call.established", "").Call
	return c
}

// next returns levelSpan samples of what B plays from levelSkip after now.
func (c *levelCall) next(t *testing.T) []int16 {
	t.Helper()
	samples, _ := testutil.WaitWAV(t, c.heard, testutil.WAVLen(c.heard)+levelSkip, levelSpan, eventWait)
	return samples
}

// wantToneAt checks that samples are a clean tone of hz hertz at want dBFS
// (±levelTol): the tone is what is heard (dominant), and all of it (its
// Goertzel level within 0.5 dB of the RMS level: no clipping, no noise or
// distortion of note), and returns the RMS level.
func wantToneAt(t *testing.T, what string, samples []int16, hz, want float64) float64 {
	t.Helper()
	level := testutil.LevelDBFS(samples)
	if f := audio.DominantFrequency(samples, audio.SampleRate, 100, 3000, 10); math.Abs(f-hz) > 20 {
		t.Errorf("%s: B hears %.0f Hz (at %.2f dBFS), want %.0f Hz", what, f, level, hz)
		return level
	}
	if math.Abs(level-want) > levelTol {
		t.Errorf("%s: B hears %.0f Hz at %.2f dBFS, want %.2f ±%.0f dB", what, hz, level, want, levelTol)
	}
	if tone := testutil.ToneDBFS(samples, audio.SampleRate, hz); level-tone > 0.5 {
		t.Errorf("%s: of %.2f dBFS heard, the %.0f Hz tone is only %.2f dBFS: clipped or distorted", what, level, hz, tone)
	}
	t.Logf("%s: %.0f Hz at %.2f dBFS (want %.2f)", what, hz, level, want)
	return level
}

// gainDB is the gain in dB of a level (volume, micVolume): linear amplitude,
// 100 is unity (DESIGN §2).
func gainDB(level int) float64 { return 20 * math.Log10(float64(level)/100) }

// TestLevelThroughG711: the sine arrives at B at the level G.711 predicts
// (-6.0 dBFS, see above), through µ-law and A-law.
func TestLevelThroughG711(t *testing.T) {
	for _, codec := range []string{"PCMU", "PCMA"} {
		t.Run(codec, func(t *testing.T) {
			c := startLevelCall(t, "audioCodecs="+codec+"\n")
			call, ok := c.b.Status(t).Call(c.bCall)
			if !ok || call.Codec != codec {
				t.Fatalf("B's call %+v, want codec %s", call, codec)
			}
			wantToneAt(t, codec, c.next(t), sineHz, sineDBFS)
			c.a.MustRun(t, "hangup", c.aCall)
			c.bev.WaitType(t, eventWait, "call.ended", c.bCall)
		})
	}
}

// TestLevelControls: on one call, B's volume and A's microphone level scale
// what B hears by their gain (50 → -6.02 dB, 25 → -12.04 dB), A's mute
// silences it until unmuted, and A switching its input to tone:440 mid-call
// makes B hear 440 Hz in the same call: same call ids, same SIP Call-ID,
// no new INVITE.
func TestLevelControls(t *testing.T) {
	c := startLevelCall(t, "")
	before := c.status(t)
	if before.aSIP != before.bSIP || before.aSIP == "" {
		t.Errorf("SIP Call-ID %q on A, %q on B: want the same", before.aSIP, before.bSIP)
	}
	base := wantToneAt(t, "before any change", c.next(t), sineHz, sineDBFS)

	c.b.MustRun(t, "setvolume", "50")
	wantToneAt(t, "B setvolume 50", c.next(t), sineHz, base+gainDB(50))
	c.b.MustRun(t, "setvolume", "100")
	c.a.MustRun(t, "setmicvolume", "25")
	wantToneAt(t, "A setmicvolume 25", c.next(t), sineHz, base+gainDB(25))
	c.a.MustRun(t, "setmicvolume", "100")
	wantToneAt(t, "A setmicvolume 100 again", c.next(t), sineHz, base)

	c.a.MustRun(t, "mute", "on")
	c.wantSilence(t, "A muted")
	c.a.MustRun(t, "mute", "off")
	wantToneAt(t, "A unmuted", c.next(t), sineHz, base)

	c.a.MustRun(t, "setdevice", "input", "tone:440")
	wantToneAt(t, "A setdevice input tone:440", c.next(t), 440, -10) // the tone device plays -10 dBFS
	if after := c.status(t); after != before {
		t.Errorf("after setdevice the calls are %+v, were %+v: want the same call", after, before)
	}
	for _, e := range c.bev.All() {
		if e.Type == "call.incoming" && e.Call != c.bCall {
			t.Errorf("B saw a second incoming call %s after setdevice", e.Call)
		}
	}
	c.a.MustRun(t, "hangup", c.aCall)
	c.bev.WaitType(t, eventWait, "call.ended", c.bCall)
}

// callIDs names the one call on each side: gophone's ids and the SIP Call-ID.
type callIDs struct{ a, b, aSIP, bSIP string }

// status returns the ids of the call on each side, failing unless each
// side has exactly that one call.
func (c *levelCall) status(t *testing.T) callIDs {
	t.Helper()
	as, bs := c.a.Status(t), c.b.Status(t)
	if len(as.Calls) != 1 || len(bs.Calls) != 1 {
		t.Fatalf("A has %d calls and B %d, want one each: %+v %+v", len(as.Calls), len(bs.Calls), as.Calls, bs.Calls)
	}
	return callIDs{string(as.Calls[0].ID), string(bs.Calls[0].ID), as.Calls[0].SIPCallID, bs.Calls[0].SIPCallID}
}

// wantSilence checks that a second of B's output, from levelSkip after now,
// is below -50 dBFS in every 20 ms frame.
func (c *levelCall) wantSilence(t *testing.T, what string) {
	t.Helper()
	samples, _ := testutil.WaitWAV(t, c.heard, testutil.WAVLen(c.heard)+levelSkip, audio.SampleRate, eventWait)
	loudest := math.Inf(-1)
	for i := 0; i < len(samples); i += audio.FrameSamples {
		loudest = max(loudest, testutil.LevelDBFS(samples[i:i+audio.FrameSamples]))
	}
	if loudest >= -50 {
		t.Errorf("%s: B hears up to %.1f dBFS in a 20 ms frame, want below -50 dBFS", what, loudest)
	}
	t.Logf("%s: loudest 20 ms frame %.1f dBFS", what, loudest)
}
