package sipua

import (
	"testing"

	"github.com/emiago/diago/audio"
)

// TestG711Tables checks the table encoders against the library's encoder
// for every 16-bit sample.
func TestG711Tables(t *testing.T) {
	pcm := make([]byte, 2<<16)
	for i := range 1 << 16 {
		pcm[2*i], pcm[2*i+1] = byte(i), byte(i>>8)
	}
	for _, tc := range []struct {
		name string
		ours func(dst, pcm []byte)
		lib  func(dst, pcm []byte) (int, error)
	}{
		{"PCMU", encodeUlaw, audio.EncodeUlawTo},
		{"PCMA", encodeAlaw, audio.EncodeAlawTo},
	} {
		got, want := make([]byte, 1<<16), make([]byte, 1<<16)
		tc.ours(got, pcm)
		if _, err := tc.lib(want, pcm); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: sample %#04x encodes to %#02x, library says %#02x", tc.name, i, got[i], want[i])
				break
			}
		}
	}
}

func BenchmarkEncodeUlaw(b *testing.B) {
	pcm := make([]byte, frameBytes)
	for i := range frameSamples {
		v := int16(i * 200)
		pcm[2*i], pcm[2*i+1] = byte(v), byte(v>>8)
	}
	dst := make([]byte, frameSamples)
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			encodeUlaw(dst, pcm)
		}
	})
	b.Run("library", func(b *testing.B) {
		for b.Loop() {
			audio.EncodeUlawTo(dst, pcm)
		}
	})
}
