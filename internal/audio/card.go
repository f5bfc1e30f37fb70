package audio

import "io"

// Sound cards (card:NAME) come from github.com/gen2brain/malgo (miniaudio,
// cgo) in a build with the malgo tag (card_malgo.go); the default build is
// pure Go and has none (card_nomalgo.go). A card runs on its own clock, so
// between its real-time callback and the media clock sits a pcmRing of
// cardBuffer: the card's callback never waits for gophone, nor gophone for
// the card.

// cardBuffer is how much audio a card's ring holds: 200 ms bounds the delay
// a slow reader adds, and is ten media packets of slack.
const cardBuffer = SampleRate / 5 * 2

// cardInput reads a capture card's audio out of its ring.
type cardInput struct {
	ring  *pcmRing
	close func() error
}

func (in *cardInput) Read(p []byte) (int, error) {
	if len(p) < 2 && len(p) > 0 {
		return 0, io.ErrShortBuffer
	}
	return in.ring.read(p), nil
}
func (in *cardInput) Close() error          { return in.close() }
func (in *cardInput) Done() <-chan struct{} { return nil }

// cardOutput queues audio for a playback card in its ring.
type cardOutput struct {
	ring  *pcmRing
	close func() error
}

func (out *cardOutput) Write(p []byte) (int, error) {
	out.ring.write(p)
	return len(p), nil
}
func (out *cardOutput) Close() error { return out.close() }
