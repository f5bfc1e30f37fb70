package codec

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/gotranspile/g722"

	"github.com/gophone/gophone/internal/audio"
)

// tone returns n samples of a sine of frequency hz and peak amplitude amp
// at rate, as int16.
func tone(n, rate int, hz, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
	}
	return s
}

func toPCM(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func fromPCM(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

func dB(x float64) float64 { return 10 * math.Log10(x) }

// snr returns the ratio, in dB, of the power of want to that of the
// difference between got and want.
func snr(want, got []int16) float64 {
	var sig, noise float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		sig += float64(want[i]) * float64(want[i])
		noise += d * d
	}
	return dB(sig / noise)
}

// roundTrip encodes pcm 20 ms at a time, as a call does, and decodes each
// payload the same way.
func roundTrip(t *testing.T, pcm []byte) []byte {
	t.Helper()
	enc, dec := NewG722Encoder(), NewG722Decoder()
	var out []byte
	payload, frame := make([]byte, 160), make([]byte, 320)
	for off := 0; off+320 <= len(pcm); off += 320 {
		if n := enc.Encode(payload, pcm[off:off+320]); n != 160 {
			t.Fatalf("20 ms encoded into %d bytes, want 160 (64 kbit/s)", n)
		}
		if n := dec.Decode(frame, payload); n != 320 {
			t.Fatalf("160 bytes decoded into %d bytes of PCM, want 320", n)
		}
		out = append(out, frame...)
	}
	return out
}

// TestG722RoundTrip: a tone through G.722 and back keeps its frequency
// (±10 Hz) and level (±0.5 dB), with the quantisation noise at least 35 dB
// below it, from -30 to -3 dBFS across the narrowband range. The first
// 20 ms, while the ADPCM step sizes adapt, are not measured.
func TestG722RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		hz, dBFS float64
	}{
		{300, -10}, {1000, -3}, {1000, -10}, {1000, -30}, {2000, -10}, {3000, -10},
	} {
		amp := 32767 * math.Pow(10, tc.dBFS/20)
		in := tone(8000, 8000, tc.hz, amp) // 1 s
		out := fromPCM(roundTrip(t, toPCM(in)))
		if len(out) != len(in) {
			t.Fatalf("%v Hz: %d samples out of %d", tc.hz, len(out), len(in))
		}
		in, out = in[160:], out[160:]
		if f := audio.DominantFrequency(out, 8000, 100, 3800, 5); math.Abs(f-tc.hz) > 10 {
			t.Errorf("%v Hz %v dBFS: decoded as %v Hz", tc.hz, tc.dBFS, f)
		}
		level := dB(audio.Goertzel(out, 8000, tc.hz) / audio.Goertzel(in, 8000, tc.hz))
		if math.Abs(level) > 0.5 {
			t.Errorf("%v Hz %v dBFS: level changed by %.2f dB", tc.hz, tc.dBFS, level)
		}
		if s := snr(in, out); s < 35 {
			t.Errorf("%v Hz %v dBFS: SNR %.1f dB, want at least 35", tc.hz, tc.dBFS, s)
		} else {
			t.Logf("%v Hz %v dBFS: level %+.2f dB, SNR %.1f dB", tc.hz, tc.dBFS, level, s)
		}
	}
}

// TestG722Wideband: what gophone sends is a valid G.722 stream to a 16 kHz
// decoder (the tone at its level, nothing above 4 kHz), and what a 16 kHz
// encoder sends decodes to the same tone at its level: gophone interworks
// with wideband peers.
func TestG722Wideband(t *testing.T) {
	const hz, amp = 1000, 10000
	// gophone → wideband peer.
	in := tone(8000, 8000, hz, amp)
	payload := make([]byte, len(in))
	NewG722Encoder().Encode(payload, toPCM(in))
	wide := g722.Decode(payload, g722.Rate64000, 0)
	if len(wide) != 2*len(in) {
		t.Fatalf("16 kHz decoder made %d samples of %d bytes, want %d", len(wide), len(payload), 2*len(in))
	}
	wide = wide[320:]
	if f := audio.DominantFrequency(wide, 16000, 100, 7900, 5); math.Abs(f-hz) > 10 {
		t.Errorf("16 kHz decoder hears %v Hz, want %v", f, hz)
	}
	ref := tone(len(wide), 16000, hz, amp)
	if level := dB(audio.Goertzel(wide, 16000, hz) / audio.Goertzel(ref, 16000, hz)); math.Abs(level) > 0.5 {
		t.Errorf("16 kHz decoder hears the tone %+.2f dB off", level)
	}
	var high float64 // power above 4 kHz, against the tone's
	for f := 4500.0; f < 8000; f += 500 {
		high += audio.Goertzel(wide, 16000, f)
	}
	if r := dB(high / audio.Goertzel(wide, 16000, hz)); r > -30 {
		t.Errorf("16 kHz decoder hears %.1f dB (relative to the tone) above 4 kHz, want below -30", r)
	}

	// Wideband peer → gophone.
	payload = g722.Encode(tone(16000, 16000, hz, amp), g722.Rate64000, 0)
	out := make([]byte, 2*len(payload))
	NewG722Decoder().Decode(out, payload)
	got := fromPCM(out)[160:]
	if f := audio.DominantFrequency(got, 8000, 100, 3800, 5); math.Abs(f-hz) > 10 {
		t.Errorf("a 16 kHz encoder's %v Hz decodes as %v Hz", hz, f)
	}
	ref = tone(len(got), 8000, hz, amp)
	if level := dB(audio.Goertzel(got, 8000, hz) / audio.Goertzel(ref, 8000, hz)); math.Abs(level) > 0.5 {
		t.Errorf("a 16 kHz encoder's tone decodes %+.2f dB off", level)
	}
}

// TestG722Short: short buffers bound what is written, nothing panics.
func TestG722Short(t *testing.T) {
	pcm := toPCM(tone(160, 8000, 1000, 1000))
	if n := NewG722Encoder().Encode(make([]byte, 10), pcm); n != 10 {
		t.Errorf("Encode into 10 bytes wrote %d", n)
	}
	if n := NewG722Decoder().Decode(make([]byte, 21), make([]byte, 160)); n != 20 {
		t.Errorf("Decode into 21 bytes wrote %d, want 20", n)
	}
}

// BenchmarkG722Encode encodes one 20 ms frame (160 samples at 8 kHz).
func BenchmarkG722Encode(b *testing.B) {
	pcm, dst := toPCM(tone(160, 8000, 1000, 10000)), make([]byte, 160)
	enc := NewG722Encoder()
	b.SetBytes(int64(len(pcm)))
	b.ReportAllocs()
	for b.Loop() {
		enc.Encode(dst, pcm)
	}
}

// BenchmarkG722Decode decodes one 20 ms payload (160 bytes).
func BenchmarkG722Decode(b *testing.B) {
	payload := make([]byte, 160)
	NewG722Encoder().Encode(payload, toPCM(tone(160, 8000, 1000, 10000)))
	dst := make([]byte, 320)
	dec := NewG722Decoder()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		dec.Decode(dst, payload)
	}
}

// BenchmarkG722Wideband is what carrying 16 kHz would cost instead: the
// library's 16 kHz encoder and decoder (with their QMFs) on 20 ms of
// 16 kHz audio, before any resampling between 8 and 16 kHz.
func BenchmarkG722Wideband(b *testing.B) {
	in := tone(320, 16000, 1000, 10000)
	b.Run("encode", func(b *testing.B) {
		enc, dst := g722.NewEncoder(g722.Rate64000, 0), make([]byte, 160)
		b.ReportAllocs()
		for b.Loop() {
			enc.Encode(dst, in)
		}
	})
	b.Run("decode", func(b *testing.B) {
		payload := g722.Encode(in, g722.Rate64000, 0)
		dec, dst := g722.NewDecoder(g722.Rate64000, 0), make([]int16, 320)
		b.ReportAllocs()
		for b.Loop() {
			dec.Decode(dst, payload)
		}
	})
}
