package audio

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"slices"
	"strconv"
	"testing"
)

// readSamples reads n samples from r in frames of frame bytes.
func readSamples(t testing.TB, r io.Reader, n, frame int) []int16 {
	t.Helper()
	raw := make([]byte, 2*n)
	for off := 0; off < len(raw); {
		end := min(off+frame, len(raw))
		k, err := r.Read(raw[off:end])
		if err != nil {
			t.Fatal(err)
		}
		off += k
	}
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return out
}

func TestToneFrequency(t *testing.T) {
	for _, hz := range []int{440, 1000, 50, 3400} {
		in, err := OpenInput("tone:" + strconv.Itoa(hz))
		if err != nil {
			t.Fatal(err)
		}
		samples := readSamples(t, in, SampleRate/2, FrameBytes)
		if f := DominantFrequency(samples, SampleRate, 20, 3990, 5); f != float64(hz) {
			t.Errorf("tone:%d: dominant frequency %v", hz, f)
		}
		// -10 dBFS peak: power (A/32768)² ≈ 0.1.
		if p := Goertzel(samples, SampleRate, float64(hz)); math.Abs(p-0.1) > 0.005 {
			t.Errorf("tone:%d: power %v, want about 0.1 (-10 dBFS)", hz, p)
		}
		peak := 0
		for _, s := range samples {
			peak = max(peak, int(s))
		}
		if want := 10362; peak < want-2 || peak > want {
			t.Errorf("tone:%d: peak %d, want about %d", hz, peak, want)
		}
		in.Close()
	}
}

func TestTonePhaseIsContinuous(t *testing.T) {
	whole, _ := OpenInput("tone:440")
	pieces, _ := OpenInput("tone:440")
	a := readSamples(t, whole, 4000, 8000)
	b := readSamples(t, pieces, 4000, 6) // three samples a read
	if !slices.Equal(a, b) {
		t.Fatal("reading in small pieces changes the waveform")
	}
	// Across frames, consecutive samples never jump more than a sine can.
	maxStep := 2 * math.Pi * 440 / SampleRate * 10362
	for i := 1; i < len(b); i++ {
		if d := math.Abs(float64(b[i]) - float64(b[i-1])); d > maxStep+2 {
			t.Fatalf("jump of %v at sample %d", d, i)
		}
	}
}

func TestToneOddBuffer(t *testing.T) {
	in, _ := OpenInput("tone:440")
	buf := bytes.Repeat([]byte{0xAA}, 7)
	n, err := in.Read(buf)
	if n != 6 || err != nil || buf[6] != 0xAA {
		t.Errorf("Read(7 bytes) = %d, %v; want 6 bytes and the last byte untouched", n, err)
	}
	in.Close()
	if _, err := in.Read(buf); err == nil {
		t.Error("Read after Close succeeded")
	}
}

func BenchmarkTone(b *testing.B) {
	in, _ := OpenInput("tone:440")
	frame := make([]byte, FrameBytes)
	b.ReportAllocs()
	b.SetBytes(FrameBytes)
	for b.Loop() {
		in.Read(frame)
	}
}
