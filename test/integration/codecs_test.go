package integration

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// TestG722BetweenDaemons: with G.722 the only codec on both sides, B's
// call to A is G722 in Status, each side plays out the other's tone at
// the level it was sent (tone:HZ is a -10 dBFS sine), so the codec carries
// audio both ways, and RFC 4733 digits go through.
func TestG722BetweenDaemons(t *testing.T) {
	codecCall(t, "G722/16000/1", wireCodec{status: "G722", pt: 9, clock: 8000, payload: 160, eventPT: 101})
}

// wireCodec is what a codec looks like in Status and on the wire.
type wireCodec struct {
	status  string // Status's codec
	pt      int    // payload type
	clock   int    // RTP clock rate
	payload int    // bytes of a 20 ms packet, 0 if it varies
	eventPT int    // payload type of the telephone-event sent
}

// codecCall has daemon B call daemon A, both with only the codec named in
// audioCodecs, and checks the call's codec, its audio both ways, and DTMF
// from B to A; and on the wire, B's packets: payload type, size, RTP
// clock (timestamps against time, also across the digits), and the
// digits' duration in the event clock's units.
func codecCall(t *testing.T, audioCodecs string, want wireCodec) {
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
		if !ok || call.Codec != want.status {
			t.Fatalf("status of call %s: %+v, want codec %s", side.id, call, want.status)
		}
	}
	wantHearingLevel(t, "B", bHeard, 440)
	wantHearingLevel(t, "A", aHeard, 1000)
	rows, stderr := captureFields(t, b, "rtp", func() {
		time.Sleep(500 * time.Millisecond) // audio packets to measure the clock by
		b.MustRun(t, "senddtmf", "12", bCall)
		for _, digit := range []string{"1", "2"} {
			if e := aev.WaitType(t, eventWait, "dtmf.received", aCall); e.Digit != digit || e.Method != "rfc4733" {
				t.Errorf("A received DTMF %s by %s, want %s by rfc4733", e.Digit, e.Method, digit)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}, "frame.time_epoch", "rtp.p_type", "rtp.timestamp", "rtp.payload", "udp.length")
	checkWire(t, rows, want, stderr)
	b.MustRun(t, "hangup")
	aev.WaitType(t, eventWait, "call.ended", aCall)
}

// checkWire checks the RTP packets captured (time, payload type, RTP
// timestamp, payload, UDP length) against want.
func checkWire(t *testing.T, rows [][]string, want wireCodec, stderr string) {
	t.Helper()
	var first, last struct {
		at float64
		ts uint32
	}
	audioPackets, events, maxDur := 0, 0, 0
	for _, r := range rows {
		at, _ := strconv.ParseFloat(r[0], 64)
		pt, _ := strconv.Atoi(r[1])
		ts, _ := strconv.ParseUint(r[2], 10, 32)
		udpLen, _ := strconv.Atoi(r[4])
		switch pt {
		case want.pt:
			if audioPackets == 0 {
				first.at, first.ts = at, uint32(ts)
			}
			last.at, last.ts = at, uint32(ts)
			audioPackets++
			if want.payload != 0 && udpLen-8-12 != want.payload {
				t.Errorf("an audio packet of %d bytes, want %d", udpLen-8-12, want.payload)
			}
		case want.eventPT:
			// tshark knows no event payload type but 101: read the
			// duration from the payload (event, E|volume, duration).
			if p, err := hex.DecodeString(strings.ReplaceAll(r[3], ":", "")); err == nil && len(p) >= 4 {
				events++
				maxDur = max(maxDur, int(binary.BigEndian.Uint16(p[2:4])))
			}
		default:
			t.Errorf("a packet of payload type %d, want %d or %d", pt, want.pt, want.eventPT)
		}
	}
	if audioPackets < 40 || events == 0 {
		t.Fatalf("captured %d audio packets and %d events, want at least 40 and some; tshark:\n%s", audioPackets, events, stderr)
	}
	// Timestamps against time over the capture, the digits included.
	if rate := float64(last.ts-first.ts) / (last.at - first.at); math.Abs(rate/float64(want.clock)-1) > 0.1 {
		t.Errorf("RTP clock runs at %.0f Hz, want %d", rate, want.clock)
	}
	// A digit lasts 120 ms, its duration in the event clock's units.
	if wantDur := want.clock * 120 / 1000; maxDur != wantDur {
		t.Errorf("digits last %d timestamp units, want %d (120 ms at %d Hz)", maxDur, wantDur, want.clock)
	}
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
