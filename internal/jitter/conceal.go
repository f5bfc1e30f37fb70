package jitter

import "encoding/binary"

const (
	// maxFrame is the longest frame concealed: 60 ms at 8 kHz.
	maxFrame = 480
	// holdSamples is how long a concealed loss keeps the full level (10 ms),
	// fadeSamples how long it then takes to fade out (100 ms: 10 % per 10
	// ms; G.711 Appendix I fades in 50 ms, which leaves a silence in a
	// burst of three losses).
	holdSamples = 80
	fadeSamples = 800
	// blendSamples is the crossfade from a concealment into the next
	// received frame (4 ms), so that audio does not jump where they meet.
	blendSamples = 32
)

// Concealer hides missing packets of 8 kHz 16-bit little-endian PCM after
// ITU-T G.711 Appendix I, simplified: the last frame received is repeated,
// at full level for 10 ms, then 10 % lower every 10 ms, silent after 110 ms;
// the next frame received is crossfaded in. A single lost packet is never
// silence.
type Concealer struct {
	last [2 * maxFrame]byte // the last frame received, as received
	n    int                // samples in last; 0: nothing received yet
	run  int                // samples concealed since the last frame received
}

// Received takes a frame that was received and is about to be played; after
// a concealment it crossfades pcm's start from the concealed audio.
func (c *Concealer) Received(pcm []byte) {
	n := min(len(pcm)/2, maxFrame)
	if c.run > 0 && c.n > 0 {
		for i := range min(blendSamples, n) {
			g := c.gain(c.run + i)
			was := float64(c.sample((c.run+i)%c.n)) * g
			now := float64(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
			w := float64(i) / blendSamples
			binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(w*now+(1-w)*was)))
		}
	}
	copy(c.last[:], pcm[:2*n])
	c.n, c.run = n, 0
}

// Conceal fills pcm with the audio that hides a missing frame and reports
// whether there was any to conceal from (a frame received before).
func (c *Concealer) Conceal(pcm []byte) bool {
	if c.n == 0 {
		return false
	}
	for i := range len(pcm) / 2 {
		t := c.run + i
		v := int16(float64(c.sample(t%c.n)) * c.gain(t))
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
	}
	c.run += len(pcm) / 2
	return true
}

// sample is the i-th sample of the last frame received.
func (c *Concealer) sample(i int) int16 { return int16(binary.LittleEndian.Uint16(c.last[2*i:])) }

// FrameBytes is the length of the last frame received, in bytes.
func (c *Concealer) FrameBytes() int { return 2 * c.n }

// gain is the level of the t-th concealed sample.
func (c *Concealer) gain(t int) float64 {
	switch {
	case t < holdSamples:
		return 1
	case t >= holdSamples+fadeSamples:
		return 0
	}
	return 1 - float64(t-holdSamples)/fadeSamples
}
