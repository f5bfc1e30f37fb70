package audio

import (
	"encoding/binary"
	"math"
)

// The in-band DTMF detector's parameters. A block of 102 samples (12.75 ms)
// separates neighbouring DTMF frequencies (73 Hz apart at the least) by
// more than 20 dB in the Goertzel filters, as Asterisk and spandsp do.
const (
	dtmfBlock = 102
	// dtmfMinAmp is the least peak amplitude of each tone: -38 dBFS, below
	// the -25 dBm0 a receiver must accept (about -28 dBFS).
	dtmfMinAmp = 410.0
	// Twist limits, as power ratios: the high group may be up to 8 dB
	// stronger than the low group, the low group up to 4 dB stronger than
	// the high (Q.24's usual receiver limits; wider reverse twist lets
	// voiced speech through).
	dtmfNormalTwist  = 6.31
	dtmfReverseTwist = 2.51
	// dtmfRelativePeak is how much (8 dB) the detected tone of each group
	// must exceed the other frequencies of its group.
	dtmfRelativePeak = 6.31
	// dtmfToTotal is the least share of the block's energy the two tones
	// must carry: speech and music spread theirs over many frequencies.
	dtmfToTotal = 0.7
	// dtmfHitsToBegin consecutive blocks with the same key (38 ms) make a
	// digit; dtmfMissesToEnd blocks without it (25 ms) end it, so a digit
	// is reported once however long its tone lasts.
	dtmfHitsToBegin = 3
	dtmfMissesToEnd = 2
)

// dtmfCoeffs are the Goertzel coefficients 2·cos(2πf/SampleRate) of the
// eight DTMF frequencies, low group first.
var dtmfCoeffs = func() (c [8]float64) {
	for i, f := range append(dtmfLow[:], dtmfHigh[:]...) {
		c[i] = 2 * math.Cos(2*math.Pi*f/SampleRate)
	}
	return c
}()

// DTMFDetector finds DTMF digits in audio (8 kHz 16-bit PCM): both tones
// of one key present above a threshold, within the twist limits, each
// well above the other frequencies of its group, carrying most of the
// signal's energy, for at least 38 ms. Each tone burst is reported once.
// The zero value is ready to use; it is not safe for concurrent use.
type DTMFDetector struct {
	block [dtmfBlock]int16
	n     int // samples in block

	// Keys are 1 + their index in dtmfKeypad; 0 is none.
	key    int8 // the digit being heard
	cand   int8 // the key of the last blocks
	hits   int  // consecutive blocks of cand
	misses int  // consecutive blocks without key
}

// Feed takes 16-bit little-endian PCM and appends to digits the keys (0-9
// * # A-D) whose tones started in it, in order.
func (d *DTMFDetector) Feed(pcm []byte, digits []byte) []byte {
	for i := 0; i+1 < len(pcm); i += 2 {
		d.block[d.n] = int16(binary.LittleEndian.Uint16(pcm[i:]))
		d.n++
		if d.n == dtmfBlock {
			d.n = 0
			if k := d.step(blockKey(&d.block) + 1); k != 0 {
				digits = append(digits, dtmfKeypad[k-1])
			}
		}
	}
	return digits
}

// step takes one block's key (0 for none) and returns the key of a digit
// that has just begun, or 0.
func (d *DTMFDetector) step(k int8) int8 {
	if k == d.cand {
		d.hits++
	} else {
		d.cand, d.hits = k, 1
	}
	if d.key != 0 {
		if k == d.key {
			d.misses = 0
			return 0
		}
		if d.misses++; d.misses < dtmfMissesToEnd {
			return 0
		}
		d.key = 0
	}
	if k != 0 && d.hits >= dtmfHitsToBegin {
		d.key, d.misses = k, 0
		return k
	}
	return 0
}

// blockKey returns the key whose tones a block holds, or -1.
func blockKey(block *[dtmfBlock]int16) int8 {
	var x [dtmfBlock]float64
	var energy float64
	for i, s := range block {
		v := float64(s)
		x[i] = v
		energy += v * v
	}
	// Each tone of amplitude A adds N·A²/2 to the energy.
	if energy < dtmfBlock*dtmfMinAmp*dtmfMinAmp {
		return -1
	}
	p := goertzel8(&x)
	row, col := peak(p[:4]), peak(p[4:])
	low, high := p[row], p[4+col]
	const minPower = dtmfBlock * dtmfMinAmp / 2 * dtmfBlock * dtmfMinAmp / 2
	switch {
	case low < minPower || high < minPower:
		return -1
	case high > low*dtmfNormalTwist || low > high*dtmfReverseTwist:
		return -1
	case low+high < dtmfToTotal*energy*dtmfBlock/2:
		return -1
	}
	for i := range 4 {
		if i != row && p[i]*dtmfRelativePeak > low || i != col && p[4+i]*dtmfRelativePeak > high {
			return -1
		}
	}
	return int8(4*row + col)
}

// peak returns the index of the greatest of p.
func peak(p []float64) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// goertzel8 runs the eight DTMF Goertzel filters over a block and returns
// their powers: a tone of amplitude A at a filter's frequency gives
// (N·A/2)². The filters run side by side, in registers, in one pass.
func goertzel8(x *[dtmfBlock]float64) (p [8]float64) {
	c := &dtmfCoeffs
	var a1, a2, b1, b2, c1, c2, d1, d2, e1, e2, f1, f2, g1, g2, h1, h2 float64
	for _, v := range x {
		a1, a2 = v+c[0]*a1-a2, a1
		b1, b2 = v+c[1]*b1-b2, b1
		c1, c2 = v+c[2]*c1-c2, c1
		d1, d2 = v+c[3]*d1-d2, d1
		e1, e2 = v+c[4]*e1-e2, e1
		f1, f2 = v+c[5]*f1-f2, f1
		g1, g2 = v+c[6]*g1-g2, g1
		h1, h2 = v+c[7]*h1-h2, h1
	}
	for k, s := range [8][2]float64{{a1, a2}, {b1, b2}, {c1, c2}, {d1, d2}, {e1, e2}, {f1, f2}, {g1, g2}, {h1, h2}} {
		p[k] = s[0]*s[0] + s[1]*s[1] - c[k]*s[0]*s[1]
	}
	return p
}
