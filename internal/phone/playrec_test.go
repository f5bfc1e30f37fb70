package phone

import (
	"log/slog"
	"math"
	"path/filepath"
	"testing"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/recording"
	"github.com/gophone/gophone/internal/testutil"
)

// toneWAV writes n samples of a hz sine at 8 kHz and returns the path.
func toneWAV(t testing.TB, hz float64, n int) string {
	t.Helper()
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := audio.WriteWAV(path, 8000, 1, s); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCallAudioPlayAndRecord drives one call's audio as the media clock
// does: a file played replaces the input device, which resumes after it;
// a recording gets what is sent (after the mic level) on the left, what
// is received on the right, and an RFC 4733 packet time as local silence;
// with a null output the far end's frames are wanted only while recording.
func TestCallAudioPlayAndRecord(t *testing.T) {
	a := newTestAudio("tone:440", "null", 50, 50)
	defer a.close()
	ca := a.CallAudio("c").(*callAudio)
	if ca.Listening() {
		t.Fatal("null output, no recording: Listening")
	}
	in, err := audio.OpenWAV(toneWAV(t, 1000, 800), false) // 5 frames
	if err != nil {
		t.Fatal(err)
	}
	ca.play.Store(&player{path: "tone.wav", in: in, done: make(chan struct{})})
	recPath := filepath.Join(t.TempDir(), "rec.wav")
	r, err := recording.Start(recPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca.rec.Store(r)
	if !ca.Listening() {
		t.Fatal("recording: not Listening")
	}
	remote := make([]byte, audio.FrameBytes)
	for i := range audio.FrameSamples {
		v := int16(6000 * math.Sin(2*math.Pi*2000*float64(i)/8000))
		remote[2*i], remote[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	frame := make([]byte, audio.FrameBytes)
	for i := range 10 {
		if i == 5 {
			<-in.Done() // the file played out with its fifth frame
			ca.play.Store(nil)
		}
		ca.WriteFrame(append([]byte(nil), remote...))
		ca.ReadFrame(frame)
		ca.FrameSent(frame) // as the media loop does, after any in-band DTMF
	}
	ca.FrameSent(make([]byte, audio.FrameBytes)) // an RFC 4733 event's packet time
	ca.rec.Store(nil)
	if _, err := r.Close(); err != nil {
		t.Fatal(err)
	}
	w, err := testutil.ReadWAVFile(recPath)
	if err != nil {
		t.Fatal(err)
	}
	left, right := w.Channel[0], w.Channel[1]
	if len(left) != 11*audio.FrameSamples {
		t.Fatalf("%d frames recorded, want %d", len(left), 11*audio.FrameSamples)
	}
	if f := audio.DominantFrequency(left[:800], 8000, 100, 3000, 10); f != 1000 {
		t.Errorf("left while the file played: %.0f Hz, want 1000", f)
	}
	if f := audio.DominantFrequency(left[800:1600], 8000, 100, 3000, 10); f != 440 {
		t.Errorf("left after the file: %.0f Hz, want the device's 440", f)
	}
	// Mic level 50: half the file's 8000 peak.
	if peak := peakAbs(left[:800]); peak < 3900 || peak > 4100 {
		t.Errorf("left peak %d while the file played at mic level 50, want about 4000", peak)
	}
	if peak := peakAbs(left[1600:]); peak != 0 {
		t.Errorf("skipped packet time recorded with peak %d, want silence", peak)
	}
	if f := audio.DominantFrequency(right[:1600], 8000, 100, 3000, 10); f != 2000 {
		t.Errorf("right: %.0f Hz, want the far end's 2000", f)
	}
	// Speaker level 50: the recording has the far end as received.
	if peak := peakAbs(right[:1600]); peak < 5900 || peak > 6100 {
		t.Errorf("right peak %d at speaker level 50, want the received 6000", peak)
	}
}

// BenchmarkCallAudioFrameRecorded is a recorded call's audio per packet
// time: one far-end frame written and one local frame read, both to the
// recorder (compare BenchmarkReadFrameTone and BenchmarkWriteFrameNull).
func BenchmarkCallAudioFrameRecorded(b *testing.B) {
	a := benchAudio(b, 100, 100)
	ca := a.CallAudio("call-1").(*callAudio)
	r, err := recording.Start(filepath.Join(b.TempDir(), "rec.wav"), slog.New(slog.DiscardHandler)) // faster than real time: it drops, and would warn
	if err != nil {
		b.Fatal(err)
	}
	ca.rec.Store(r)
	defer func() { ca.rec.Store(nil); r.Close() }()
	pcm, remote := make([]byte, 320), make([]byte, 320)
	ca.ReadFrame(pcm)
	b.ReportAllocs()
	for b.Loop() {
		ca.WriteFrame(remote)
		ca.ReadFrame(pcm)
		ca.FrameSent(pcm)
	}
}
