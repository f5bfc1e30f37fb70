package audio

import (
	"encoding/binary"
	"io"
	"math"
	"strconv"
	"sync"
)

// toneInput reads a continuous sine. Because the frequency is a whole number
// of hertz, the samples repeat exactly after SampleRate/gcd(hz, SampleRate)
// of them (200 for 440 Hz, 8 for 1000 Hz); that one period is tabulated as
// little-endian PCM, so reading is copying and the phase is exact forever.
type toneInput struct {
	mu     sync.Mutex
	period []byte // one period of the wave, 16-bit little-endian samples
	hz     int
	off    int // phase, in bytes into period
	closed bool
}

func newToneInput(hz int) *toneInput {
	n := SampleRate / int(gcd(int64(hz), SampleRate))
	t := &toneInput{period: make([]byte, 2*n), hz: hz}
	amp := toneAmp * math.MaxInt16
	for k := range n {
		phase := k * hz % SampleRate // exact: 2πk·hz/SampleRate modulo 2π
		v := int16(math.Round(amp * math.Sin(2*math.Pi*float64(phase)/SampleRate)))
		binary.LittleEndian.PutUint16(t.period[2*k:], uint16(v))
	}
	return t
}

func (t *toneInput) Read(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return 0, errClosed("read", "tone:"+strconv.Itoa(t.hz))
	}
	n := len(p) &^ 1
	if n == 0 && len(p) > 0 {
		return 0, io.ErrShortBuffer
	}
	for done := 0; done < n; {
		c := copy(p[done:n], t.period[t.off:])
		done += c
		t.off = (t.off + c) % len(t.period)
	}
	return n, nil
}

func (t *toneInput) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return nil
}

func (t *toneInput) Done() <-chan struct{} { return nil }
