package testutil

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
)

// RMS returns the root mean square of samples scaled to ±1, for telling a
// recording with sound in it from one of near silence. Frequency analysis
// and WAV reading are internal/audio's (ReadWAV, DominantFrequency).
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

// LevelDBFS returns the RMS level of samples in dBFS as AES17 defines it: a
// sine whose peaks reach full scale reads 0 dBFS (so a full-scale square
// wave reads +3.01). Silence reads -Inf.
func LevelDBFS(samples []int16) float64 {
	return 20 * math.Log10(RMS(samples)*math.Sqrt2)
}

// ToneDBFS returns the level in dBFS (AES17, as LevelDBFS) of the component
// at hz hertz of samples taken at rate hertz (Goertzel). It is exact for a
// window of whole periods of the tone.
func ToneDBFS(samples []int16, rate int, hz float64) float64 {
	return 10 * math.Log10(audio.Goertzel(samples, rate, hz))
}

// SineWAV writes a 16-bit WAV file of d of a sine of hz hertz at level dBFS
// (AES17: its peaks are 10^(dBFS/20) of full scale), sampled at rate hertz,
// the same in each of channels channels.
func SineWAV(t testing.TB, path string, rate, channels int, hz, dBFS float64, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * float64(rate))
	amp := math.Pow(10, dBFS/20) * math.MaxInt16
	samples := make([]int16, 0, n*channels)
	for i := range n {
		v := int16(math.Round(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
		for range channels {
			samples = append(samples, v)
		}
	}
	if err := audio.WriteWAV(path, rate, channels, samples); err != nil {
		t.Fatal(err)
	}
}

// WAVLen returns the number of samples (mono) of the WAV file at path, 0
// while it does not exist or is not a WAV file yet.
func WAVLen(path string) int {
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	samples, _, err := audio.ReadWAV(path)
	if err != nil {
		return 0
	}
	return len(samples)
}

// WaitWAV waits up to timeout until the WAV file at path, which a daemon's
// file: output device writes as it plays, holds from+n samples, and returns
// samples[from:from+n] and the file's rate.
func WaitWAV(t testing.TB, path string, from, n int, timeout time.Duration) ([]int16, int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		samples, rate, err := audio.ReadWAV(path)
		if err == nil && len(samples) >= from+n {
			return samples[from : from+n], rate
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d samples from sample %d not written within %v (has %d; %v)", path, n, from, timeout, len(samples), err)
		}
		time.Sleep(20 * time.Millisecond) // polling a file, not waiting for an event
	}
}
