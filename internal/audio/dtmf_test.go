package audio

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// signal builds test audio as float samples at SampleRate.
type signal []float64

func (s signal) pcm() []byte {
	out := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(clamp16(int(math.Round(v)))))
	}
	return out
}

// dual appends ms milliseconds of a key's two tones, the low one of peak
// amplitude lowAmp, the high one highAmp, each frequency scaled by dev.
func (s signal) dual(key byte, ms int, lowAmp, highAmp, dev float64) signal {
	low, high, ok := dtmfFreqs(key)
	if !ok {
		panic("bad key")
	}
	for n := range ms * SampleRate / 1000 {
		t := float64(n) / SampleRate
		s = append(s, lowAmp*math.Sin(2*math.Pi*low*dev*t)+highAmp*math.Sin(2*math.Pi*high*dev*t))
	}
	return s
}

func (s signal) silence(ms int) signal { return append(s, make([]float64, ms*SampleRate/1000)...) }

// noise adds white Gaussian noise of RMS rms to every sample.
func (s signal) noise(rms float64, r *rand.Rand) signal {
	for i := range s {
		s[i] += rms * r.NormFloat64()
	}
	return s
}

// detect runs a detector over pcm in frames of frame samples.
func detect(pcm []byte, frame int) string {
	var d DTMFDetector
	var got []byte
	for len(pcm) > 0 {
		n := min(len(pcm), 2*frame)
		got = d.Feed(pcm[:n], got)
		pcm = pcm[n:]
	}
	return string(got)
}

func dBFS(db float64) float64 { return 32767 * math.Pow(10, db/20) }

// TestDTMFDetectorKeys: every key at levels from -3 to -25 dBFS (the peak
// of the two tones together), with twist either way, a frequency off by
// 1.5 % and noise 15 dB below the tones, is heard once.
func TestDTMFDetectorKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, level := range []float64{-3, -10, -18, -25} {
		for _, tc := range []struct {
			name  string
			twist float64 // high minus low, dB
			dev   float64
		}{{"level", 0, 1}, {"twist+6dB", 6, 1}, {"twist-3dB", -3, 1}, {"freq+1.5%", 2, 1.015}, {"freq-1.5%", 2, 0.985}} {
			t.Run(fmt.Sprintf("%gdBFS/%s", level, tc.name), func(t *testing.T) {
				g := math.Pow(10, tc.twist/20)
				lowAmp := dBFS(level) / (1 + g)
				highAmp := lowAmp * g
				// Noise 15 dB below the tones' power.
				rms := math.Sqrt((lowAmp*lowAmp+highAmp*highAmp)/2) * math.Pow(10, -15.0/20)
				for _, key := range []byte(dtmfKeypad) {
					s := signal{}.silence(30).dual(key, 100, lowAmp, highAmp, tc.dev).silence(60).noise(rms, r)
					if got := detect(s.pcm(), 160); got != string(key) {
						t.Errorf("key %c: detected %q", key, got)
					}
				}
			})
		}
	}
}

// TestDTMFDetectorSequences: digits as senders space them are heard once
// each and in order, in any frame size; a digit held for seconds is one
// digit; too short a tone, one tone alone, or too weak a pair is none.
func TestDTMFDetectorSequences(t *testing.T) {
	amp := dBFS(-12) / 2
	seq := func(keys string, on, off int) signal {
		var s signal
		for _, k := range []byte(keys) {
			s = s.dual(k, on, amp, amp, 1).silence(off)
		}
		return s
	}
	single := func(hz float64, ms int) signal {
		var s signal
		for n := range ms * 8 {
			s = append(s, 2*amp*math.Sin(2*math.Pi*hz*float64(n)/SampleRate))
		}
		return s
	}
	for _, tc := range []struct {
		name string
		s    signal
		want string
	}{
		{"gophone's timing: 120 ms on, 60 off", seq("0123456789*#ABCD", 120, 60), "0123456789*#ABCD"},
		{"the same key twice, 40 ms apart", seq("5", 70, 40).dual('5', 70, amp, amp, 1), "55"},
		{"held for 3 s", seq("#", 3000, 0), "#"},
		{"60 ms tones", seq("147", 60, 50), "147"},
		{"25 ms tones", seq("147", 25, 50), ""},
		{"low tone alone", single(697, 500), ""},
		{"high tone alone", single(1336, 500), ""},
		{"1 kHz", single(1000, 500), ""},
		{"-45 dBFS", signal{}.dual('1', 200, dBFS(-45)/2, dBFS(-45)/2, 1), ""},
		{"frequencies 5 % off", signal{}.dual('1', 200, amp, amp, 1.05), ""},
		{"twist 12 dB", signal{}.dual('1', 200, amp/4, amp, 1), ""},
	} {
		for _, frame := range []int{80, 160, 480} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, frame), func(t *testing.T) {
				if got := detect(tc.s.pcm(), frame); got != tc.want {
					t.Errorf("detected %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// voice synthesises speech-like audio: a harmonic series whose pitch
// glides between lo and hi hertz, shaped by the formants of vowels that
// change every 150 ms, with its 3.4 kHz band filled.
func voice(seconds, lo, hi float64, r *rand.Rand) signal {
	vowels := [][2]float64{{730, 1090}, {270, 2290}, {300, 870}, {530, 1840}, {660, 1720}, {640, 1190}, {490, 1350}, {700, 1220}}
	n := int(seconds * SampleRate)
	s := make(signal, n)
	var phase float64
	v := vowels[0]
	for i := range n {
		t := float64(i) / SampleRate
		if i%(SampleRate*150/1000) == 0 {
			v = vowels[r.IntN(len(vowels))]
		}
		f0 := lo + (hi-lo)*(0.5+0.5*math.Sin(2*math.Pi*0.7*t))
		phase += 2 * math.Pi * f0 / SampleRate
		var x float64
		for k := 1; float64(k)*f0 < 3400; k++ {
			f := float64(k) * f0
			env := math.Exp(-sq((f-v[0])/90)) + 0.6*math.Exp(-sq((f-v[1])/120)) + 0.05
			x += env / math.Sqrt(float64(k)) * math.Sin(float64(k)*phase)
		}
		s[i] = 4000 * x
	}
	return s
}

func sq(x float64) float64 { return x * x }

// TestDTMFDetectorSpeechLike: no digits from voice-like harmonics at
// several pitches (including a voice whose formants sit on DTMF rows and
// columns), a chirp sweeping the DTMF band, or loud noise.
func TestDTMFDetectorSpeechLike(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// A chirp from 300 Hz to 3400 Hz and back, 2 s each way.
	chirp := make(signal, 4*SampleRate)
	var phase float64
	for i := range chirp {
		u := float64(i) / float64(len(chirp)/2)
		if u > 1 {
			u = 2 - u
		}
		phase += 2 * math.Pi * (300 + 3100*u) / SampleRate
		chirp[i] = dBFS(-6) * math.Sin(phase)
	}
	for _, tc := range []struct {
		name string
		s    signal
	}{
		{"low voice", voice(10, 85, 160, r)},
		{"high voice", voice(10, 180, 320, r)},
		{"steady 100 Hz (harmonics on 700 and 1200)", voice(5, 100, 100, r)},
		{"chirp", chirp},
		{"noise", make(signal, 5*SampleRate).noise(dBFS(-10), r)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := detect(tc.s.pcm(), 160); got != "" {
				t.Errorf("detected %q in speech-like audio", got)
			}
		})
	}
}

// TestDTMFToneLevels: the generated tones are at -10 and -8 dBm0 and are
// detected as their key.
func TestDTMFToneLevels(t *testing.T) {
	for _, key := range []byte(dtmfKeypad + "abcd") {
		pcm := make([]byte, 2*960)
		for off := 0; off < 960; off += 160 {
			if !DTMFTone(pcm[2*off:2*(off+160)], key, off) {
				t.Fatalf("DTMFTone(%c) = false", key)
			}
		}
		samples := make([]int16, 960)
		for i := range samples {
			samples[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
		}
		low, high, _ := dtmfFreqs(key)
		for _, f := range []struct {
			hz, dBm0 float64
		}{{low, -10}, {high, -8}} {
			got := 10*math.Log10(Goertzel(samples, SampleRate, f.hz)) - 20*math.Log10(dBm0Peak/32768.0)
			if math.Abs(got-f.dBm0) > 0.5 {
				t.Errorf("key %c: %v Hz at %.1f dBm0, want %v", key, f.hz, got, f.dBm0)
			}
		}
		want := key
		if key >= 'a' {
			want -= 'a' - 'A'
		}
		if got := detect(pcm, 160); got != string(want) {
			t.Errorf("key %c: detected %q", key, got)
		}
	}
	if DTMFTone(make([]byte, 320), 'x', 0) {
		t.Error("DTMFTone accepted key x")
	}
}

// BenchmarkDTMFDetector is the in-band detector's work for one 20 ms frame
// of speech-like audio (the common case: no digit, every filter run).
func BenchmarkDTMFDetector(b *testing.B) {
	pcm := voice(1, 100, 200, rand.New(rand.NewPCG(5, 6))).pcm()
	var d DTMFDetector
	var digits [4]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		off := i % (len(pcm)/FrameBytes - 1) * FrameBytes
		d.Feed(pcm[off:off+FrameBytes], digits[:0])
	}
}
