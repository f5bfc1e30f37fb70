package sipua

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/diago/media"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/codec"
)

// TestParseCodecsOrder: the offer lists the configured codecs in their
// order, G.722 at payload type 9 with RTP clock 8000, opus only in a
// with_opus_c build, telephone-event last unless DTMF goes in-band.
func TestParseCodecsOrder(t *testing.T) {
	got, err := parseCodecs([]string{"G722", "PCMA", "PCMU"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var pts []uint8
	for _, c := range got {
		pts = append(pts, c.PayloadType)
	}
	if want := []uint8{9, 8, 0, 101}; !slices.Equal(pts, want) {
		t.Errorf("payload types %v, want %v", pts, want)
	}
	if g := got[0]; g.Name != "G722" || g.SampleRate != 8000 || g.NumChannels != 1 {
		t.Errorf("G.722 is offered as %s, want G722/8000 (RFC 3551 §4.5.2)", g.String())
	}
	if got, _ := parseCodecs([]string{"PCMU", "G722"}, false); len(got) != 2 || got[1].PayloadType != 9 {
		t.Errorf("PCMU,G722 without telephone-event: %v", got)
	}
	got, err = parseCodecs([]string{"opus", "PCMU"}, true)
	switch {
	case codec.HaveOpus && (err != nil || len(got) != 4 || got[0].Name != "opus" || got[0].SampleRate != 48000 || got[0].NumChannels != 2):
		t.Errorf("opus,PCMU in a with_opus_c build: %v, %v; want opus/48000/2 first", got, err)
	case codec.HaveOpus && (got[2] != media.CodecTelephoneEvent8000 || got[3] != codecTelephoneEvent48000):
		t.Errorf("opus,PCMU in a with_opus_c build: %v; want telephone-event at 8000 and 48000 Hz last", got)
	case !codec.HaveOpus && err == nil:
		t.Errorf("opus,PCMU in a build without Opus: %v, want an error", got)
	}
}

// TestNegotiatedEvents: the telephone-event sent is the one at the audio
// codec's RTP clock rate when the answer has it (RFC 4733 §2.1), else the
// first.
func TestNegotiatedEvents(t *testing.T) {
	te8, te48 := media.CodecTelephoneEvent8000, codecTelephoneEvent48000
	for _, tc := range []struct {
		name   string
		common []media.Codec
		audio  string
		te     uint32
	}{
		{"G.711", []media.Codec{media.CodecAudioUlaw, te8, te48}, "PCMU", 8000},
		{"Opus, both", []media.Codec{media.CodecAudioOpus, media.CodecAudioUlaw, te8, te48}, "opus", 48000},
		{"Opus, 8 kHz events only", []media.Codec{media.CodecAudioOpus, te8}, "opus", 8000},
		{"G.722, 48 kHz events first", []media.Codec{codecG722, te48, te8}, "G722", 8000},
		{"no events", []media.Codec{codecG722}, "G722", 0},
	} {
		a, te := negotiated(tc.common)
		if a.Name != tc.audio || te.SampleRate != tc.te {
			t.Errorf("%s: audio %s, events at %d Hz; want %s and %d", tc.name, a.Name, te.SampleRate, tc.audio, tc.te)
		}
	}
}

// TestCodecKinds: how the media clock tells codecs apart and how far each
// moves the RTP clock per 8 kHz sample.
func TestCodecKinds(t *testing.T) {
	opus := kindNone
	if codec.HaveOpus {
		opus = kindOpus
	}
	for _, tc := range []struct {
		c     media.Codec
		kind  codecKind
		ticks uint32
	}{
		{media.CodecAudioUlaw, kindPCMU, 1},
		{media.Codec{Name: "PCMU", PayloadType: 0, SampleRate: 8000}, kindPCMU, 1},
		{media.CodecAudioAlaw, kindPCMA, 1},
		{codecG722, kindG722, 1},
		{media.Codec{Name: "g722", PayloadType: 9, SampleRate: 8000}, kindG722, 1},
		{media.Codec{Name: "G722", PayloadType: 9, SampleRate: 16000}, kindNone, 1}, // not what RFC 3551 names
		{media.CodecAudioOpus, opus, opus.ticks()},
		{media.CodecTelephoneEvent8000, kindNone, 1},
		{media.Codec{Name: "G729", PayloadType: 18, SampleRate: 8000}, kindNone, 1},
	} {
		if k := kindOf(tc.c); k != tc.kind || k.ticks() != tc.ticks {
			t.Errorf("%s: kind %d ticks %d, want %d and %d", tc.c.String(), k, k.ticks(), tc.kind, tc.ticks)
		}
	}
	if kindOpus.ticks() != 6 {
		t.Errorf("Opus moves the RTP clock %d per 8 kHz sample, want 6 (48 kHz, RFC 7587)", kindOpus.ticks())
	}
}

// TestRecvKind: received audio is decoded by its payload type, any audio
// codec of the answer; others (comfort noise) are not decoded.
func TestRecvKind(t *testing.T) {
	c := newCodecCache([]media.Codec{codecG722, media.CodecAudioUlaw, media.CodecTelephoneEvent8000})
	if c.kind != kindG722 || c.audio.PayloadType != 9 || c.dtmf.PayloadType != 101 {
		t.Fatalf("cache %+v: want G.722 to send, telephone-event 101", c)
	}
	for pt, want := range map[uint8]codecKind{9: kindG722, 0: kindPCMU, 8: kindNone, 13: kindNone} {
		if got := c.recvKind(pt); got != want {
			t.Errorf("payload type %d: kind %d, want %d", pt, got, want)
		}
	}
}

// TestCodersRoundTrip: 1 s of a -10 dBFS 1 kHz tone, encoded 20 ms at a
// time with each codec this build has and decoded again, keeps its
// frequency (±10 Hz) and level (±1 dB).
func TestCodersRoundTrip(t *testing.T) {
	const hz, amp = 1000, 10362 // -10 dBFS
	for _, c := range frameCodecs() {
		t.Run(c.Name, func(t *testing.T) {
			var enc, dec coders
			k := kindOf(c)
			payload, pcm := make([]byte, maxPayload), make([]byte, opusMaxSamples*2)
			var out []int16
			for f := range 50 {
				frame := make([]byte, frameBytes)
				for i := range frameSamples {
					v := amp * math.Sin(2*math.Pi*hz*float64(f*frameSamples+i)/8000)
					binary.LittleEndian.PutUint16(frame[2*i:], uint16(int16(v)))
				}
				n, err := enc.encode(k, payload, frame)
				if err != nil || n == 0 {
					t.Fatalf("frame %d: encoded %d bytes, %v", f, n, err)
				}
				m, err := dec.decode(k, pcm, payload[:n])
				if err != nil || m != frameBytes {
					t.Fatalf("frame %d: decoded %d bytes, %v; want %d", f, m, err, frameBytes)
				}
				for i := range frameSamples {
					out = append(out, int16(binary.LittleEndian.Uint16(pcm[2*i:])))
				}
			}
			out = out[4000:] // the last half second: past any codec's start
			if f := audio.DominantFrequency(out, 8000, 100, 3800, 5); math.Abs(f-hz) > 10 {
				t.Errorf("decoded as %v Hz", f)
			}
			if l := 10 * math.Log10(audio.Goertzel(out, 8000, hz)/math.Pow(amp/32768.0, 2)); math.Abs(l) > 1 {
				t.Errorf("level changed by %+.2f dB", l)
			}
		})
	}
}

// TestCodecPacketTime: a far end's a=ptime is what G.711 and G.722 send at;
// Opus takes the longest frame it codes not over it, and every codec
// encodes a frame of the packet time it takes for each a=ptime sdpPtime
// gives (10-60 ms): with Opus's 30 and 50 ms, libopus refused the frame
// and the call sent no audio.
func TestCodecPacketTime(t *testing.T) {
	want := map[codecKind]map[int]int{ // ptime ms -> packet time ms
		kindPCMU: {10: 10, 20: 20, 30: 30, 40: 40, 50: 50, 60: 60},
		kindG722: {10: 10, 20: 20, 30: 30, 40: 40, 50: 50, 60: 60},
		kindOpus: {10: 10, 20: 20, 30: 20, 40: 40, 50: 40, 60: 60},
	}
	for _, c := range frameCodecs() {
		k := kindOf(c)
		for ms := 10; ms <= 60; ms += 10 {
			ptime := sdpPtime([]byte("a=ptime:" + strconv.Itoa(ms) + "\r\n"))
			got := k.packetTime(ptime)
			if w, ok := want[k][ms]; ok && got != time.Duration(w)*time.Millisecond {
				t.Errorf("%s, a=ptime:%d: packet time %v, want %d ms", c.Name, ms, got, w)
			}
			var enc coders
			n, err := enc.encode(k, make([]byte, maxPayload), make([]byte, samplesIn(got)*2))
			if err != nil || n == 0 {
				t.Errorf("%s, a=ptime:%d: a %v frame encoded to %d bytes, %v", c.Name, ms, got, n, err)
			}
		}
	}
	if got := kindOpus.packetTime(5 * time.Millisecond); got != framePeriod {
		t.Errorf("Opus at a=ptime:5 (below every frame it takes): %v, want %v", got, framePeriod)
	}
}
