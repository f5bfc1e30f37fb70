package audio

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// wavSizes returns the RIFF and data sizes in the header of the file at path.
func wavSizes(t *testing.T, path string) (riff, data uint32, fileLen int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < wavHeaderSize {
		t.Fatalf("%s: %d bytes, shorter than a header", path, len(b))
	}
	le := binary.LittleEndian
	return le.Uint32(b[4:]), le.Uint32(b[40:]), int64(len(b))
}

// stereoFrames returns n stereo frames: left counts up from 1, right down from -1.
func stereoFrames(n int) []byte {
	var b []byte
	for i := range n {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(i+1)))
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(-i-1)))
	}
	return b
}

func TestWAVAppenderHeaderFollowsSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := CreateWAVAppender(path, SampleRate, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(stereoFrames(100)); err != nil {
		t.Fatal(err)
	}
	// Before a sync the header still describes an empty file: valid, short.
	if riff, data, n := wavSizes(t, path); riff != 36 || data != 0 || n != wavHeaderSize+400 {
		t.Fatalf("before sync: riff %d data %d length %d; want 36, 0, %d", riff, data, n, wavHeaderSize+400)
	}
	if err := w.SyncHeader(); err != nil {
		t.Fatal(err)
	}
	if riff, data, n := wavSizes(t, path); int64(riff) != n-8 || data != 400 {
		t.Fatalf("after sync: riff %d data %d length %d", riff, data, n)
	}
	if _, err := w.Write(stereoFrames(1)[:2]); err == nil {
		t.Fatal("a write of half a frame was taken")
	}
	if _, err := w.Write(stereoFrames(50)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if riff, data, n := wavSizes(t, path); int64(riff) != n-8 || data != 600 {
		t.Fatalf("after close: riff %d data %d length %d", riff, data, n)
	}
	samples, rate, err := ReadWAV(path)
	if err != nil || rate != SampleRate || len(samples) != 150 {
		t.Fatalf("ReadWAV: %d samples at %d Hz, %v; want 150 at 8000", len(samples), rate, err)
	}
	// The file is never overwritten.
	if _, err := CreateWAVAppender(path, SampleRate, 2); !errors.Is(err, os.ErrExist) {
		t.Fatalf("CreateWAVAppender on an existing file: %v, want ErrExist", err)
	}
}

func TestRepairWAV(t *testing.T) {
	audio := stereoFrames(1000) // 4000 bytes
	tests := []struct {
		name     string
		synced   int    // frames the header describes
		tail     []byte // bytes after the audio
		changed  bool
		wantData uint32
	}{
		{name: "never synced", synced: 0, changed: true, wantData: 4000},
		{name: "stale", synced: 600, changed: true, wantData: 4000},
		{name: "part frame cut", synced: 600, tail: []byte{1, 2, 3}, changed: true, wantData: 4000},
		{name: "current", synced: 1000, changed: false, wantData: 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec.wav")
			w, err := CreateWAVAppender(path, SampleRate, 2)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(audio[:tt.synced*4])
			w.SyncHeader()
			w.Write(audio[tt.synced*4:])
			w.f.Write(tt.tail)
			w.f.Close() // as a kill leaves it: no last header update
			changed, err := RepairWAV(path)
			if err != nil || changed != tt.changed {
				t.Fatalf("RepairWAV = %v, %v; want %v, nil", changed, err, tt.changed)
			}
			riff, data, n := wavSizes(t, path)
			if data != tt.wantData || int64(riff) != n-8 || n != wavHeaderSize+int64(tt.wantData) {
				t.Fatalf("after repair: riff %d data %d length %d; want data %d", riff, data, n, tt.wantData)
			}
			b, _ := os.ReadFile(path)
			if !slices.Equal(b[wavHeaderSize:], audio) {
				t.Fatal("repair changed the audio")
			}
			if changed, err := RepairWAV(path); changed || err != nil {
				t.Fatalf("second RepairWAV = %v, %v; want false, nil", changed, err)
			}
		})
	}
}

func TestRepairWAVLeavesOtherFilesAlone(t *testing.T) {
	samples := make([]int16, 800)
	// A WAV with a chunk after its data, sizes consistent: untouched.
	withList := append(buildWAV(wavSpec{format: wavePCM, channels: 1, rate: 8000, bits: 16}, encode(wavSpec{format: wavePCM, bits: 16}, samples)), "LIST\x04\x00\x00\x00abcd"...)
	binary.LittleEndian.PutUint32(withList[4:], uint32(len(withList)-8))
	tests := []struct {
		name string
		data []byte
		err  error
	}{
		{name: "trailing chunk", data: withList},
		{name: "8-bit", data: buildWAV(wavSpec{format: wavePCM, channels: 1, rate: 8000, bits: 8}, make([]byte, 100)), err: ErrNotRepairable},
		{name: "LIST before fmt", data: buildWAV(wavSpec{format: wavePCM, channels: 1, rate: 8000, bits: 16, extraChunk: true}, make([]byte, 100)), err: ErrNotRepairable},
		{name: "not a WAV", data: []byte("hello, this is not a WAV file at all, no no no"), err: ErrNotRepairable},
		{name: "short", data: []byte("RIFF"), err: ErrNotRepairable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.data)
			changed, err := RepairWAV(path)
			if changed || !errors.Is(err, tt.err) {
				t.Fatalf("RepairWAV = %v, %v; want false, %v", changed, err, tt.err)
			}
			if b, _ := os.ReadFile(path); !slices.Equal(b, tt.data) {
				t.Fatal("RepairWAV changed the file")
			}
		})
	}
}

func TestOpenWAVLoop(t *testing.T) {
	// 100 ms of 8 kHz: 5 frames a pass.
	data := encode(wavSpec{format: wavePCM, bits: 16}, sine(800, 8000, 440, 0.5))
	path := writeFile(t, buildWAV(wavSpec{format: wavePCM, channels: 1, rate: 8000, bits: 16}, data))

	once, err := OpenWAV(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer once.Close()
	if got := playAll(t, once); len(got) != 800 {
		t.Fatalf("played %d samples, want 800", len(got))
	}

	loop, err := OpenWAV(path, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []int16
	for range 12 { // 240 ms: two passes and then some
		got = append(got, readSamples(t, loop, FrameSamples, FrameBytes)...)
	}
	select {
	case <-loop.Done():
		t.Fatal("a looping input ended")
	default:
	}
	want := sine(800, 8000, 440, 0.5)
	for pass := range 2 {
		if !slices.Equal(got[pass*800:(pass+1)*800], want) {
			t.Fatalf("pass %d differs from the file", pass+1)
		}
	}
	loop.Close()
	select {
	case <-loop.Done():
	default:
		t.Fatal("Done not closed by Close")
	}

	empty := writeFile(t, buildWAV(wavSpec{format: wavePCM, channels: 1, rate: 8000, bits: 16}, nil))
	if in, err := OpenWAV(empty, true); err == nil {
		in.Close()
		t.Fatal("OpenWAV took a file with no audio")
	}
	if in, err := OpenWAV(filepath.Join(t.TempDir(), "missing.wav"), false); err == nil || !errors.Is(err, os.ErrNotExist) {
		if in != nil {
			in.Close()
		}
		t.Fatalf("OpenWAV of a missing file: %v, want ErrNotExist", err)
	}
}

// BenchmarkWAVAppenderSync measures a header update, which a recording
// makes once a second.
func BenchmarkWAVAppenderSync(b *testing.B) {
	w, err := CreateWAVAppender(filepath.Join(b.TempDir(), "rec.wav"), SampleRate, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	frame := stereoFrames(FrameSamples)
	for b.Loop() {
		w.Write(frame)
		w.SyncHeader()
	}
}
