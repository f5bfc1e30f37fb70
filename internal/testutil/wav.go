package testutil

import "math"

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
