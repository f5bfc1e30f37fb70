package audio

import "sync"

// pcmRing is a bounded FIFO of PCM bytes between a sound card's real-time
// callback and the media clock, which keep different clocks: the side that
// writes never waits (a full ring drops its oldest audio, so latency stays
// bounded), and the side that reads never waits either (what is missing
// reads as silence).
type pcmRing struct {
	mu      sync.Mutex
	buf     []byte
	start   int // index of the oldest byte
	n       int // bytes held
	dropped int // bytes dropped because the ring was full
	missing int // bytes read as silence because the ring was empty
}

func newPCMRing(size int) *pcmRing { return &pcmRing{buf: make([]byte, size&^1)} }

// write appends p, dropping the oldest bytes when it does not fit.
func (r *pcmRing) write(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p) > len(r.buf) {
		r.dropped += len(p) - len(r.buf)
		p = p[len(p)-len(r.buf):]
	}
	if over := r.n + len(p) - len(r.buf); over > 0 {
		r.start = (r.start + over) % len(r.buf)
		r.n -= over
		r.dropped += over
	}
	end := (r.start + r.n) % len(r.buf)
	c := copy(r.buf[end:], p)
	copy(r.buf, p[c:])
	r.n += len(p)
}

// read fills p (whole samples) from the ring and the rest with silence.
func (r *pcmRing) read(p []byte) int {
	p = p[:len(p)&^1]
	r.mu.Lock()
	defer r.mu.Unlock()
	got := min(r.n, len(p))
	c := copy(p[:got], r.buf[r.start:])
	copy(p[c:got], r.buf)
	r.start = (r.start + got) % len(r.buf)
	r.n -= got
	clear(p[got:])
	r.missing += len(p) - got
	return len(p)
}

// counts reports the bytes dropped and read as silence so far.
func (r *pcmRing) counts() (dropped, missing int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped, r.missing
}
