package integration

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// TestG722BetweenDaemons: with G.722 the only codec on both sides, B's
// call to A is G722 in Status, and each side plays out the other's tone at
// the level it was sent (tone:HZ is a -10 dBFS sine), so the codec carries
// audio both ways.
func TestG722BetweenDaemons(t *testing.T) {
	codecCall(t, "G722/16000/1", "G722")
}

// codecCall has daemon B call daemon A, both with only the codec named in
// audioCodecs, and checks the call's codec and its audio both ways.
func codecCall(t *testing.T, audioCodecs, status string) {
	t.Helper()
	dir := t.TempDir()
	aHeard, bHeard := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioCodecs="+audioCodecs+
		"\naudioInput=tone:440\naudioOutput=file:"+aHeard+"\n")
	b := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioCodecs="+audioCodecs+
		"\naudioInput=tone:1000\naudioOutput=file:"+bHeard+"\n")
	aev, bev := a.Events(t), b.Events(t)

	bCall := dial(t, b, "sip:alice@"+a.SIPAddr())
	bev.WaitType(t, eventWait, "call.established", bCall)
	aCall := aev.WaitType(t, eventWait, "call.established", "").Call
	for _, side := range []struct {
		d  *testutil.Daemon
		id string
	}{{a, aCall}, {b, bCall}} {
		call, ok := side.d.Status(t).Call(side.id)
		if !ok || call.Codec != status {
			t.Fatalf("status of call %s: %+v, want codec %s", side.id, call, status)
		}
	}
	wantHearingLevel(t, "B", bHeard, 440)
	wantHearingLevel(t, "A", aHeard, 1000)
	b.MustRun(t, "hangup")
	aev.WaitType(t, eventWait, "call.ended", aCall)
}

// toneLevel is the level of the devices' tone:HZ (-10 dBFS), as Goertzel's
// power of a full-scale sine (A²).
var toneLevel = math.Pow(10, -10.0/10)

// wantHearingLevel is wantHearing that also checks the tone's level: within
// 1 dB of what the far end's tone: device sends.
func wantHearingLevel(t *testing.T, who, path string, hz float64) {
	t.Helper()
	wantHearing(t, who, path, hz)
	samples, rate, err := audio.ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	last := samples[max(0, len(samples)-rate/2):] // the last half second
	if dB := 10 * math.Log10(audio.Goertzel(last, rate, hz)/toneLevel); math.Abs(dB) > 1 {
		t.Errorf("%s heard the %v Hz tone %+.1f dB off its level", who, hz, dB)
	}
}

// TestG722Baresip: baresip (its g722 module: spandsp's wideband G.722 at
// 16 kHz) calls gophone offering only G722: the call is G722 and each side
// hears the other's tone at the level it was sent (±1 dB): what baresip
// decoded against gophone's -10 dBFS tone, what gophone decoded against
// what baresip encoded (sndfile's dumps of both).
func TestG722Baresip(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "heard.wav")
	d := startDaemon(t, "[Settings]\nautoAnswer=all\naudioCodecs=PCMU/8000/1 G722/16000/1\n"+
		"audioInput=tone:1000\naudioOutput=file:"+rec+"\n")
	ev := d.Events(t)
	b := testutil.StartBaresip(t, testutil.BaresipOptions{User: "alice", ToneHz: 440, Codecs: "G722/16000/1",
		ExtraConfig: []string{"module g722.so"}})

	id := baresipCalls(t, b, d, ev)
	if call, ok := d.Status(t).Call(id); !ok || call.Codec != "G722" {
		t.Fatalf("status: %+v, want codec G722", call)
	}
	wantHearing(t, "gophone", rec, 440)
	b.WaitRecorded(t, eventWait, time.Second)
	b.MustCommand(t, "hangup", "")
	ev.WaitType(t, eventWait, "call.ended", id)
	dec := b.WaitRecording(t, eventWait)
	wantTone(t, "baresip heard", dec, 1000)
	if l := toneDB(t, dec, 1000); math.Abs(l-(-10)) > 1 {
		t.Errorf("baresip heard gophone's -10 dBFS tone at %.1f dBFS", l)
	}
	sent, heard := toneDB(t, strings.TrimSuffix(dec, "-dec.wav")+"-enc.wav", 440), toneDB(t, rec, 440)
	if math.Abs(heard-sent) > 1 {
		t.Errorf("gophone heard baresip's tone at %.1f dBFS, baresip sent it at %.1f dBFS", heard, sent)
	}
}

// toneDB returns the level in dBFS (of a full-scale sine) of the tone of
// frequency hz in the WAV file path, past its first half second.
func toneDB(t *testing.T, path string, hz float64) float64 {
	t.Helper()
	samples, rate, err := audio.ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) < rate {
		t.Fatalf("%s: only %d samples at %d Hz", path, len(samples), rate)
	}
	return 10 * math.Log10(audio.Goertzel(samples[rate/2:], rate, hz))
}
