package testutil

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// ReadWAV reads a 16-bit PCM WAV file and returns its samples (channels
// averaged to mono) and sample rate. It tolerates a data chunk whose size
// field was not yet finalized by the writer (0 or past the end of the file):
// then the rest of the file is the data.
func ReadWAV(path string) ([]int16, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%s: not a RIFF/WAVE file", path)
	}
	var channels, bits, format int
	rate := 0
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := off + 8
		switch id {
		case "fmt ":
			if size < 16 || body+16 > len(b) {
				return nil, 0, fmt.Errorf("%s: short fmt chunk", path)
			}
			format = int(binary.LittleEndian.Uint16(b[body:]))
			channels = int(binary.LittleEndian.Uint16(b[body+2:]))
			rate = int(binary.LittleEndian.Uint32(b[body+4:]))
			bits = int(binary.LittleEndian.Uint16(b[body+14:]))
		case "data":
			if rate == 0 {
				return nil, 0, fmt.Errorf("%s: data before fmt", path)
			}
			if (format != 1 && format != 0xFFFE) || bits != 16 || channels < 1 {
				return nil, 0, fmt.Errorf("%s: want 16-bit PCM, have format %d, %d bits, %d channels", path, format, bits, channels)
			}
			if size == 0 || body+size > len(b) {
				size = len(b) - body
			}
			data := b[body : body+size]
			frames := len(data) / (2 * channels)
			out := make([]int16, frames)
			for i := range out {
				sum := 0
				for c := range channels {
					sum += int(int16(binary.LittleEndian.Uint16(data[2*(i*channels+c):])))
				}
				out[i] = int16(sum / channels)
			}
			return out, rate, nil
		}
		off = body + size + size%2
	}
	return nil, 0, errors.New(path + ": no data chunk")
}

// Goertzel returns the power of freq in samples (sampled at rate), with the
// samples scaled to ±1 and the result divided by the sample count, so that
// powers of signals of different lengths compare.
func Goertzel(samples []int16, rate int, freq float64) float64 {
	if len(samples) == 0 || rate <= 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range samples {
		s0 := float64(v)/32768 + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	return p / float64(len(samples))
}

// DominantFrequency returns the frequency between lo and hi (in steps of
// step Hz) with the most power in samples, by Goertzel.
func DominantFrequency(samples []int16, rate int, lo, hi, step float64) float64 {
	best, bestP := 0.0, -1.0
	for f := lo; f <= hi; f += step {
		if p := Goertzel(samples, rate, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

// RMS returns the root mean square of samples scaled to ±1.
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, v := range samples {
		x := float64(v) / 32768
		sum += x * x
	}
	return math.Sqrt(sum / float64(len(samples)))
}
