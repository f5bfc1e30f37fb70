//go:build malgo

package audio

import (
	"testing"
	"time"
)

// alsaNull is the name miniaudio gives ALSA's null PCM, a card without
// hardware that libasound always has: what the tests open.
const alsaNull = "Discard all samples (playback) or generate zero samples (capture)"

// Through ALSA (libasound, no hardware needed) a card is listed, opens both
// ways at 8 kHz mono, reads whole frames without waiting, and its playback
// side drains what is written.
func TestCardOnALSANull(t *testing.T) {
	t.Setenv("GOPHONE_AUDIO_BACKEND", "alsa")
	kinds := map[string]string{}
	for _, d := range Devices() {
		kinds[d.ID] = d.Kind
	}
	if kinds["card:default"] != KindBoth || kinds["card:"+alsaNull] != KindBoth {
		t.Fatalf("Devices() = %v, want card:default and card:%s, both ways", Devices(), alsaNull)
	}
	in, err := OpenInput("card:" + alsaNull)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	p := make([]byte, FrameBytes)
	if n, err := in.Read(p); n != FrameBytes || err != nil {
		t.Fatalf("Read = %d, %v; want a whole frame", n, err)
	}
	out, err := OpenOutput("card:" + alsaNull)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ring := out.(*cardOutput).ring
	out.Write(make([]byte, 5*FrameBytes))
	deadline := time.Now().Add(5 * time.Second)
	for {
		ring.mu.Lock()
		held := ring.n
		ring.mu.Unlock()
		if held < 5*FrameBytes {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the playback card took nothing from its ring in 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := OpenInput("card:no such card"); err == nil {
		t.Error("OpenInput of an unknown card succeeded")
	}
}

func TestCardBackendName(t *testing.T) {
	t.Setenv("GOPHONE_AUDIO_BACKEND", "gramophone")
	if _, err := OpenInput("card:default"); err == nil {
		t.Fatal("an unknown backend name was accepted")
	}
}
