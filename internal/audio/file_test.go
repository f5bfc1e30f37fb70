package audio

import (
	"errors"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// interleave returns n frames of channels copies of a sine.
func interleaved(n, rate, channels int, hz, amp float64) []int16 {
	mono := sine(n, rate, hz, amp)
	out := make([]int16, 0, n*channels)
	for _, s := range mono {
		for range channels {
			out = append(out, s)
		}
	}
	return out
}

// playAll reads a file input until Done is closed, in 20 ms frames, and
// returns what it read before the end.
func playAll(t *testing.T, in Input) []int16 {
	t.Helper()
	var out []int16
	for i := 0; ; i++ {
		select {
		case <-in.Done():
			return out
		default:
		}
		if i > 10000 {
			t.Fatal("file input never ended")
		}
		out = append(out, readSamples(t, in, FrameSamples, FrameBytes)...)
	}
}

func TestFileInputResamples(t *testing.T) {
	tests := []struct {
		rate, channels int
		hz             float64
	}{
		{48000, 2, 1000},
		{44100, 2, 1000},
		{16000, 1, 440},
		{22050, 6, 2500},
		{8000, 1, 1000},
		{11025, 1, 3000},
		{96000, 1, 3300},
		{4000, 1, 1000},  // upsampling
		{44101, 2, 1000}, // no small ratio: interpolated kernel table
		{32000, 1, 3300},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "in.wav")
		if err := WriteWAV(path, tt.rate, tt.channels, interleaved(tt.rate, tt.rate, tt.channels, tt.hz, 16000)); err != nil {
			t.Fatal(err)
		}
		in, err := OpenInput("file:" + path)
		if err != nil {
			t.Fatal(err)
		}
		got := playAll(t, in)
		// One second of audio is 8000 samples, rounded up to whole frames.
		if len(got) < SampleRate || len(got) > SampleRate+FrameSamples {
			t.Errorf("%d Hz ×%d: played %d samples, want about %d", tt.rate, tt.channels, len(got), SampleRate)
		}
		body := got[1000:7000] // away from the edges
		if f := DominantFrequency(body, SampleRate, 100, 3900, 10); f != tt.hz {
			t.Errorf("%d Hz ×%d: dominant frequency %v, want %v", tt.rate, tt.channels, f, tt.hz)
		}
		// The level is kept: power (16000/32768)² ≈ 0.238.
		if p := Goertzel(body, SampleRate, tt.hz); math.Abs(p-0.2384) > 0.01 {
			t.Errorf("%d Hz ×%d: power %v, want about 0.238", tt.rate, tt.channels, p)
		}
		// After the end: silence, and reads go on.
		after := readSamples(t, in, 3*FrameSamples, FrameBytes)
		if slices.ContainsFunc(after, func(s int16) bool { return s != 0 }) {
			t.Errorf("%d Hz: audio after the end", tt.rate)
		}
		in.Close()
	}
}

func TestFileInputPassThroughIsExact(t *testing.T) {
	samples := sine(1234, SampleRate, 777, 30000)
	samples[0], samples[1] = math.MaxInt16, math.MinInt16
	path := filepath.Join(t.TempDir(), "in.wav")
	if err := WriteWAV(path, SampleRate, 1, samples); err != nil {
		t.Fatal(err)
	}
	in, err := OpenInput("file:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	got := readSamples(t, in, len(samples), 100) // reads not aligned with anything
	if !slices.Equal(got, samples) {
		t.Error("8 kHz mono 16-bit file not played bit-exact")
	}
	readSamples(t, in, 1, 2)
	select {
	case <-in.Done():
	default:
		t.Error("Done not closed after the last sample")
	}
}

func TestFileInputRejectsAliases(t *testing.T) {
	// 5 kHz cannot be carried at 8 kHz; without a low-pass it would fold
	// to 3 kHz. 3.2 kHz must pass.
	tests := []struct {
		hz      float64
		minPow  float64
		maxPow  float64
		measure float64
	}{
		{5000, 0, 1e-7, 3000},    // stop band, -70 dB or better
		{4500, 0, 1e-5, 3500},    // transition band, well down
		{3200, 0.22, 0.26, 3200}, // pass band, about full level
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "in.wav")
		if err := WriteWAV(path, 48000, 1, sine(48000, 48000, tt.hz, 16000)); err != nil {
			t.Fatal(err)
		}
		in, err := OpenInput("file:" + path)
		if err != nil {
			t.Fatal(err)
		}
		got := playAll(t, in)[1000:7000]
		if p := Goertzel(got, SampleRate, tt.measure); p < tt.minPow || p > tt.maxPow {
			t.Errorf("%v Hz in: power at %v Hz = %v, want %v..%v", tt.hz, tt.measure, p, tt.minPow, tt.maxPow)
		}
		in.Close()
	}
}

func TestFileInputEmptyAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.wav")
	if err := WriteWAV(path, 48000, 2, nil); err != nil {
		t.Fatal(err)
	}
	in, err := OpenInput("file:" + path)
	if err != nil {
		t.Fatal(err)
	}
	if got := readSamples(t, in, FrameSamples, FrameBytes); slices.ContainsFunc(got, func(s int16) bool { return s != 0 }) {
		t.Error("empty file played non-silence")
	}
	<-in.Done()
	in.Close()

	// Close releases waiters on Done and later reads fail.
	if err := WriteWAV(path, 8000, 1, make([]int16, 8000)); err != nil {
		t.Fatal(err)
	}
	in, err = OpenInput("file:" + path)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	<-in.Done()
	if _, err := in.Read(make([]byte, 2)); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
}

func TestFileInputConcurrentClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.wav")
	if err := WriteWAV(path, 44100, 2, interleaved(44100, 44100, 2, 1000, 8000)); err != nil {
		t.Fatal(err)
	}
	in, err := OpenInput("file:" + path)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		frame := make([]byte, FrameBytes)
		for {
			if _, err := in.Read(frame); err != nil {
				return
			}
		}
	}()
	in.Close()
	<-in.Done()
}

func TestFileInputRecordingInProgress(t *testing.T) {
	// A file being recorded can be played: it ends where the header says.
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := CreateWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write(pcm(sine(800, SampleRate, 1000, 1000)...))
	in, err := OpenInput("file:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if got := playAll(t, in); len(got) != 800 {
		t.Errorf("played %d samples, want 800", len(got))
	}
}

func BenchmarkResample(b *testing.B) {
	for _, rate := range []int{48000, 44100, 44101} {
		b.Run(strconv.Itoa(rate)+"to8k", func(b *testing.B) {
			// One 20 ms output frame per iteration.
			src := make([]float64, rate/50)
			for i := range src {
				src[i] = 16000 * math.Sin(2*math.Pi*1000*float64(i)/float64(rate))
			}
			r := newResampler(rate, SampleRate)
			frame := make([]byte, FrameBytes)
			b.ReportAllocs()
			b.SetBytes(FrameBytes)
			for b.Loop() {
				r.feed(src)
				for r.produce(frame) > 0 {
				}
			}
		})
	}
}
