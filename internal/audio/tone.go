package audio

import (
	"encoding/binary"
	"io"
	"math"
	"strconv"
	"sync"
)

// toneInput reads a continuous sine. Because the frequency is a whole number
// of hertz, the wave repeats exactly every second, so one second of samples
// is tabulated and the phase is an exact index into it.
type toneInput struct {
	mu     sync.Mutex
	table  []int16 // table[k] = amplitude * sin(2πk/SampleRate)
	hz     int
	idx    int // phase, in table entries
	closed bool
}

func newToneInput(hz int) *toneInput {
	t := &toneInput{table: make([]int16, SampleRate), hz: hz}
	amp := toneAmp * math.MaxInt16
	for k := range t.table {
		t.table[k] = int16(math.Round(amp * math.Sin(2*math.Pi*float64(k)/SampleRate)))
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
	idx := t.idx
	for i := 0; i < n; i += 2 {
		binary.LittleEndian.PutUint16(p[i:], uint16(t.table[idx]))
		idx += t.hz
		if idx >= SampleRate {
			idx -= SampleRate
		}
	}
	t.idx = idx
	return n, nil
}

func (t *toneInput) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return nil
}

func (t *toneInput) Done() <-chan struct{} { return nil }
