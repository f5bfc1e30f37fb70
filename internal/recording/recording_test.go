package recording

import (
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
)

// pcm returns 16-bit little-endian samples.
func pcm(samples ...int16) []byte {
	var b []byte
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

// ramp returns n samples from start on, one apart.
func ramp(start, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(start + i)
	}
	return out
}

// readStereo returns the left and right channels of the stereo WAV at path,
// checking that its header describes the whole file.
func readStereo(t *testing.T, path string) (left, right []int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(b) < 44 || string(b[:4]) != "RIFF" || le.Uint16(b[22:]) != 2 || le.Uint32(b[24:]) != 8000 || le.Uint16(b[34:]) != 16 {
		t.Fatalf("%s is not an 8 kHz 16-bit stereo WAV", path)
	}
	if int(le.Uint32(b[4:])) != len(b)-8 || int(le.Uint32(b[40:])) != len(b)-44 {
		t.Fatalf("header sizes %d/%d do not match the file's %d bytes", le.Uint32(b[4:]), le.Uint32(b[40:]), len(b))
	}
	for i := 44; i+3 < len(b); i += 4 {
		left = append(left, int16(le.Uint16(b[i:])))
		right = append(right, int16(le.Uint16(b[i+2:])))
	}
	return left, right
}

func TestRecorderPairsLocalAndRemote(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	r, err := Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The far end's frame arrives before ours (drain runs before the send).
	r.Remote(pcm(ramp(1000, 160)...))
	r.Local(pcm(ramp(1, 160)...))
	// Ours without one from the far end: silence on the right.
	r.Local(pcm(ramp(161, 160)...))
	// An RFC 4733 event in place of audio: silence on the left.
	r.Remote(pcm(ramp(2000, 160)...))
	r.Local(make([]byte, 320))
	// Two far-end frames in a burst: paired with the next two of ours.
	r.Remote(pcm(ramp(3000, 160)...))
	r.Remote(pcm(ramp(3160, 160)...))
	r.Local(pcm(ramp(321, 160)...))
	r.Local(pcm(ramp(481, 160)...))
	// Enough for several chunks, so the writer's path is taken too.
	for i := range 50 {
		r.Remote(pcm(ramp(5000+160*i, 160)...))
		r.Local(pcm(ramp(641+160*i, 160)...))
	}
	if dropped, err := r.Close(); err != nil || dropped != 0 {
		t.Fatalf("Close = %v, %v", dropped, err)
	}
	r.Local(pcm(1, 2, 3)) // after Close: ignored
	left, right := readStereo(t, path)

	wantLeft := append(ramp(1, 320), make([]int16, 160)...)
	wantLeft = append(wantLeft, ramp(321, 320+50*160)...)
	wantRight := append(ramp(1000, 160), make([]int16, 160)...)
	wantRight = append(wantRight, ramp(2000, 160)...)
	wantRight = append(wantRight, ramp(3000, 320)...)
	wantRight = append(wantRight, ramp(5000, 50*160)...)
	if !slices.Equal(left, wantLeft) {
		t.Fatalf("left channel: %d samples, want %d; starts %v", len(left), len(wantLeft), left[:min(8, len(left))])
	}
	if !slices.Equal(right, wantRight) {
		t.Fatalf("right channel: %d samples, want %d", len(right), len(wantRight))
	}
}

func TestRecorderBoundsRemoteBacklog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	r, err := Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 400 ms from the far end with nothing of ours: the oldest 200 ms go.
	for i := range 20 {
		r.Remote(pcm(ramp(160*i, 160)...))
	}
	r.Local(make([]byte, 2*maxRemote))
	r.Close()
	_, right := readStereo(t, path)
	if !slices.Equal(right, ramp(maxRemote, maxRemote)) {
		t.Fatalf("right channel starts %v, want the newest %d samples from %d", right[:4], maxRemote, maxRemote)
	}
	if r.trimmed.Load() != maxRemote {
		t.Fatalf("trimmed %d, want %d", r.trimmed.Load(), maxRemote)
	}
}

// TestRecorderDropsWhenWriterBehind fills the queue of a recorder whose
// writer is not running: the media side drops and counts, never waits.
func TestRecorderDropsWhenWriterBehind(t *testing.T) {
	r := &Recorder{queue: make(chan []byte, queueChunks), back: make(chan []byte, queueChunks+2), finished: make(chan struct{})}
	frame := make([]byte, audio.FrameBytes)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5 * 50 { // 5 s against a queue of 2 s
			r.Local(frame)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Local blocked on a full queue")
	}
	if got, want := r.dropped.Load(), int64(5*audio.SampleRate-queueChunks*chunkFrames); got != want {
		t.Fatalf("dropped %d frames, want %d", got, want)
	}
}

func TestFileName(t *testing.T) {
	at := time.Date(2026, 12, 4, 5, 6, 7, 0, time.FixedZone("x", 3600))
	tests := []struct{ number, call, want string }{
		{"1001", "3", "20261204-040607_1001_3.wav"},
		{"+49 30/123", "12", "20261204-040607_+49_30_123_12.wav"},
		{"../../etc/passwd", "1", "20261204-040607_.._.._etc_passwd_1.wav"},
		{"", "1", "20261204-040607___1.wav"},
		{"..", "1", "20261204-040607___1.wav"},
		{"ünï\x00$(rm)", "1", "20261204-040607__n____rm__1.wav"},
		{strings.Repeat("9", 100), "1", "20261204-040607_" + strings.Repeat("9", 40) + "_1.wav"},
	}
	for _, tt := range tests {
		got := FileName(at, tt.number, tt.call)
		if got != tt.want {
			t.Errorf("FileName(%q, %q) = %q, want %q", tt.number, tt.call, got, tt.want)
		}
		if strings.ContainsAny(got, "/\\\x00") || filepath.Base(got) != got {
			t.Errorf("FileName(%q) = %q is not one plain name", tt.number, got)
		}
	}
}

func TestCreateNeverOverwrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec", "sub")
	at := time.Now()
	var paths []string
	for range 3 {
		r, err := Create(dir, at, "1001", "1", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Local(pcm(1, 2))
		r.Close()
		paths = append(paths, r.Path())
	}
	if paths[0] == paths[1] || paths[1] == paths[2] || !strings.HasSuffix(paths[2], "-3.wav") {
		t.Fatalf("paths %v: want three distinct files, the last ending -3.wav", paths)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("recording directory: %v %v, want mode 0700", st, err)
	}
}

func TestRepairDir(t *testing.T) {
	dir := t.TempDir()
	w, err := audio.CreateWAVAppender(filepath.Join(dir, "killed.wav"), audio.SampleRate, 2)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 4*800)) // never synced: as after kill -9
	other := filepath.Join(dir, "notes.txt")
	os.WriteFile(other, []byte("RIFF but not a wav"), 0o600)
	good, _ := Create(dir, time.Now(), "1", "1", nil)
	good.Local(make([]byte, 320))
	good.Close()

	repaired, err := RepairDir(dir)
	if err != nil || len(repaired) != 1 || filepath.Base(repaired[0]) != "killed.wav" {
		t.Fatalf("RepairDir = %v, %v; want killed.wav only", repaired, err)
	}
	if left, _ := readStereo(t, filepath.Join(dir, "killed.wav")); len(left) != 800 {
		t.Fatalf("repaired file has %d frames, want 800", len(left))
	}
	if repaired, err := RepairDir(filepath.Join(dir, "missing")); err != nil || repaired != nil {
		t.Fatalf("RepairDir of a missing directory = %v, %v", repaired, err)
	}
}

// BenchmarkRecorderFrame is a recorded call's per-packet cost on the
// media clock: one far-end and one local 20 ms frame.
func BenchmarkRecorderFrame(b *testing.B) {
	r, err := Start(filepath.Join(b.TempDir(), "rec.wav"), slog.New(slog.DiscardHandler)) // faster than real time: it drops, and would warn
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	frame := pcm(ramp(0, audio.FrameSamples)...)
	b.ReportAllocs()
	for b.Loop() {
		r.Remote(frame)
		r.Local(frame)
	}
}
