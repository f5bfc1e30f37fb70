package audio

import "math"

// Goertzel returns the power of the component at freq hertz in samples taken
// at rate hertz, relative to full scale: a sine of peak amplitude A at freq
// gives about (A/32768)². It returns 0 for no samples.
func Goertzel(samples []int16, rate int, freq float64) float64 {
	if len(samples) == 0 || rate <= 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	n := float64(len(samples))
	return 4 * power / (n * n * 32768 * 32768)
}

// DominantFrequency scans lo, lo+step, … up to hi hertz and returns the
// frequency with the greatest Goertzel power in samples taken at rate hertz.
// It returns 0 if step is not positive or hi < lo.
func DominantFrequency(samples []int16, rate int, lo, hi, step float64) float64 {
	if !(step > 0) || hi < lo {
		return 0
	}
	best, bestPower := lo, -1.0
	steps := int((hi-lo)/step + 1e-9)
	for i := 0; i <= steps; i++ {
		f := lo + float64(i)*step
		if p := Goertzel(samples, rate, f); p > bestPower {
			best, bestPower = f, p
		}
	}
	return best
}
