package audio

import (
	"math"
	"testing"
)

func sine(n, rate int, hz, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
	}
	return s
}

func TestGoertzel(t *testing.T) {
	tests := []struct {
		name      string
		samples   []int16
		freq      float64
		want, tol float64
	}{
		{"full scale on frequency", sine(8000, 8000, 1000, 32767), 1000, 1, 0.01},
		{"half scale on frequency", sine(8000, 8000, 1000, 16384), 1000, 0.25, 0.005},
		{"off-bin frequency", sine(8000, 8000, 1234.5, 16384), 1234.5, 0.25, 0.005},
		{"other frequency", sine(8000, 8000, 1000, 32767), 2000, 0, 1e-6},
		{"silence", make([]int16, 800), 1000, 0, 0},
		{"empty", nil, 1000, 0, 0},
	}
	for _, tt := range tests {
		if got := Goertzel(tt.samples, 8000, tt.freq); math.Abs(got-tt.want) > tt.tol {
			t.Errorf("%s: Goertzel = %v, want %v ± %v", tt.name, got, tt.want, tt.tol)
		}
	}
}

func TestDominantFrequency(t *testing.T) {
	mixed := sine(8000, 8000, 700, 3000)
	for i, s := range sine(8000, 8000, 2100, 9000) {
		mixed[i] += s
	}
	tests := []struct {
		name         string
		samples      []int16
		rate         int
		lo, hi, step float64
		want         float64
	}{
		{"440 Hz", sine(4000, 8000, 440, 10000), 8000, 100, 3900, 10, 440},
		{"louder of two", mixed, 8000, 100, 3900, 10, 2100},
		{"band excludes the louder", mixed, 8000, 100, 1000, 10, 700},
		{"48 kHz", sine(4800, 48000, 15000, 10000), 48000, 1000, 20000, 50, 15000},
		{"bad step", mixed, 8000, 100, 3900, 0, 0},
		{"hi below lo", mixed, 8000, 3900, 100, 10, 0},
	}
	for _, tt := range tests {
		if got := DominantFrequency(tt.samples, tt.rate, tt.lo, tt.hi, tt.step); got != tt.want {
			t.Errorf("%s: DominantFrequency = %v, want %v", tt.name, got, tt.want)
		}
	}
}
