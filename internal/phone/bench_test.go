package phone

import (
	"testing"

	"github.com/gophone/gophone/internal/config"
)

// benchAudio returns the audio state of a default configuration with a
// 440 Hz tone as microphone, at the given levels.
func benchAudio(b *testing.B, volume, micVolume int) *audioState {
	b.Helper()
	cfg := config.Default()
	cfg.AudioInput = "tone:440"
	cfg.Volume, cfg.MicVolume = volume, micVolume
	a, err := newAudioState(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.close)
	return a
}

// BenchmarkReadFrameTone reads 20 ms microphone frames from the tone
// device at mic level 80 (so the gain is applied).
func BenchmarkReadFrameTone(b *testing.B) {
	a := benchAudio(b, 100, 80)
	ca := a.CallAudio("call-1")
	pcm := make([]byte, 320)
	ca.ReadFrame(pcm) // opens the device
	b.SetBytes(int64(len(pcm)))
	b.ReportAllocs()
	for b.Loop() {
		ca.ReadFrame(pcm)
	}
	if peak := peakAbs(pcmSamples(pcm)); peak == 0 {
		b.Fatal("silent frame")
	}
}

// BenchmarkWriteFrameNull plays 20 ms far-end frames on the null output at
// volume 80 (so the gain is applied).
func BenchmarkWriteFrameNull(b *testing.B) {
	a := benchAudio(b, 80, 100)
	src := make([]byte, 320)
	for i := range src {
		src[i] = byte(i * 7)
	}
	pcm := make([]byte, len(src))
	copy(pcm, src)
	ca := a.CallAudio("call-1")
	ca.WriteFrame(pcm) // opens the device
	b.SetBytes(int64(len(pcm)))
	b.ReportAllocs()
	for b.Loop() {
		copy(pcm, src)
		ca.WriteFrame(pcm)
	}
}
