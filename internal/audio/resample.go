package audio

import (
	"encoding/binary"
	"math"
)

// The resampler is a band-limited (windowed-sinc) interpolator after Smith's
// "Digital Audio Resampling": every output sample is a convolution of the
// input with a Kaiser-windowed sinc low-pass (β = 8, 24 zero crossings each
// side) centred on the output instant. The cut-off (-6 dB) is 45% of the
// lower of the two rates. For 8 kHz output that is 3.6 kHz: flat within
// 0.1 dB to 3.3 kHz, -0.6 dB at 3.4 kHz, and at least 80 dB down from
// 4 kHz, so nothing aliases. When the two rates have a small rational ratio
// (48, 44.1, 32, 22.05 and 16 kHz to 8 kHz all do) the kernel is
// precomputed for every output phase; otherwise it is tabulated and
// linearly interpolated.
const (
	zeroCrossings = 24      // kernel half-width, in zero crossings
	kernelDensity = 256     // table entries per zero crossing
	kaiserBeta    = 8.0     // Kaiser window shape
	cutoffShare   = 0.45    // cut-off as a share of the lower rate
	maxPolyphase  = 1 << 17 // most coefficients precomputed for a rate pair
)

// resampler converts a stream of mono samples from one rate to another.
// Samples before the start and after the end of the stream count as zero.
type resampler struct {
	in, out int64     // rates
	fc      float64   // cut-off relative to the input Nyquist frequency
	half    int       // kernel half-width in input samples; 0 copies samples
	kernel  []float64 // kernel[i] = windowed sinc at i/kernelDensity zero crossings
	phases  []float64 // if set, 2*half scaled coefficients for each output phase
	phaseOf int64     // the phase of output instant i+frac is frac*out/phaseOf
	buf     []float64 // input samples from absolute index base on
	base    int64
	total   int64 // input samples fed; base+len(buf) == total
	n       int64 // index of the next output sample
	eof     bool  // no more input will be fed
}

func newResampler(in, out int) *resampler {
	r := &resampler{in: int64(in), out: int64(out)}
	if in == out {
		return r
	}
	r.fc = 2 * cutoffShare * float64(min(in, out)) / float64(in)
	r.half = int(math.Ceil(zeroCrossings / r.fc))
	taps := 2 * r.half
	if g := gcd(r.in, r.out); (r.out/g)*int64(taps) <= maxPolyphase {
		r.phaseOf = g
		r.phases = make([]float64, (r.out/g)*int64(taps))
		for p := range r.out / g {
			frac := float64(p*g) / float64(r.out)
			for m := range taps {
				d := frac + float64(r.half-1-m)
				r.phases[int(p)*taps+m] = r.fc * kernelAt(math.Abs(d)*r.fc)
			}
		}
	} else {
		r.kernel = make([]float64, zeroCrossings*kernelDensity+1)
		for i := range r.kernel {
			r.kernel[i] = kernelAt(float64(i) / kernelDensity)
		}
	}
	// Samples before the start are zero.
	r.buf = make([]float64, r.half, 2*r.half+4096)
	r.base = -int64(r.half)
	return r
}

// kernelAt is the Kaiser-windowed sinc at x zero crossings from its centre.
func kernelAt(x float64) float64 {
	if x >= zeroCrossings {
		return 0
	}
	w := x / zeroCrossings
	return sinc(x) * bessel0(kaiserBeta*math.Sqrt(1-w*w)) / bessel0(kaiserBeta)
}

// gcd returns the greatest common divisor of a and b.
func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// sinc is the normalised sinc function sin(πx)/(πx).
func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// bessel0 is the zeroth-order modified Bessel function of the first kind.
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 100; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < sum*1e-17 {
			break
		}
	}
	return sum
}

// feed appends input samples.
func (r *resampler) feed(samples []float64) {
	r.buf = append(r.buf, samples...)
	r.total += int64(len(samples))
}

// finish marks the end of the input.
func (r *resampler) finish() { r.eof = true }

// done reports whether every output sample of the input has been produced.
func (r *resampler) done() bool { return r.eof && r.n*r.in >= r.total*r.out }

// produce writes as many output samples as the input fed so far allows, up
// to len(dst)/2, into dst as 16-bit little-endian PCM and returns how many
// samples it wrote.
func (r *resampler) produce(dst []byte) int {
	k := 0
	for ; 2*k+1 < len(dst) && !r.done(); k++ {
		num := r.n * r.in
		i0 := num / r.out // the output instant is i0 + frac input samples
		if !r.eof && i0+int64(r.half) >= r.total {
			break
		}
		var v float64
		switch {
		case r.half == 0:
			v = r.buf[i0-r.base]
		case r.phases != nil:
			v = r.dot(int(i0-r.base), num%r.out/r.phaseOf)
		default:
			v = r.filter(int(i0-r.base), float64(num%r.out)/float64(r.out))
		}
		binary.LittleEndian.PutUint16(dst[2*k:], uint16(toInt16(v)))
		r.n++
	}
	r.trim()
	return k
}

// dot convolves the precomputed coefficients of phase p centred at buf
// index i with the input.
func (r *resampler) dot(i int, p int64) float64 {
	taps := 2 * r.half
	start := i - r.half + 1
	coef := r.phases[int(p)*taps : int(p+1)*taps]
	in := r.buf[start:min(start+taps, len(r.buf))] // past the end of input is zero
	coef = coef[:len(in)]
	var sum float64
	for m, x := range in {
		sum += x * coef[m]
	}
	return sum
}

// filter convolves the kernel centred at buf index i+frac with the input.
func (r *resampler) filter(i int, frac float64) float64 {
	var sum float64
	start := i - r.half + 1
	taps := min(2*r.half, len(r.buf)-start) // past the end of input is zero
	scale := r.fc * kernelDensity
	limit := zeroCrossings * kernelDensity
	for m := range taps {
		d := frac + float64(r.half-1-m) // distance from the output instant
		u := math.Abs(d) * scale
		ui := int(u)
		if ui >= limit {
			continue
		}
		w := r.kernel[ui] + (u-float64(ui))*(r.kernel[ui+1]-r.kernel[ui])
		sum += r.buf[start+m] * w
	}
	return sum * r.fc
}

// trim drops input that no further output needs.
func (r *resampler) trim() {
	first := (r.n*r.in)/r.out - int64(r.half) + 1 // first input of the next output
	if r.half == 0 {
		first = (r.n * r.in) / r.out
	}
	drop := int(min(max(first-r.base, 0), int64(len(r.buf))))
	if drop == 0 {
		return
	}
	kept := copy(r.buf, r.buf[drop:])
	r.buf = r.buf[:kept]
	r.base += int64(drop)
}
