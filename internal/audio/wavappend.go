package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// WAVAppender writes a 16-bit PCM WAV file whose header is brought up to
// date by SyncHeader rather than after every write: a long recording
// costs one write per chunk of audio, plus two small writes per header
// update. Between updates the header describes less audio than the file
// holds, so the file is a valid WAV at every moment, missing at most the
// audio since the last update; RepairWAV gives that audio back after a
// crash. A WAVAppender is not safe for concurrent use.
type WAVAppender struct {
	f        *os.File
	path     string
	frame    int   // bytes per frame (a sample of every channel)
	size     int64 // bytes of audio written
	synced   int64 // size the header gives
	scratch  [4]byte
	writeErr error
}

// CreateWAVAppender creates the file at path, which must not exist, and
// writes the header of an empty 16-bit PCM WAV of channels channels at
// rate hertz.
func CreateWAVAppender(path string, rate, channels int) (*WAVAppender, error) {
	if channels < 1 || channels > 8 || rate < 1 || rate > 1<<20 {
		return nil, fmt.Errorf("audio: create WAV %s: bad format (%d Hz, %d channels)", path, rate, channels)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audio: create WAV: %w", err)
	}
	var h [wavHeaderSize]byte
	putWAVHeader(&h, rate, channels, 0)
	if _, err := f.Write(h[:]); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("audio: create WAV %s: %w", path, err)
	}
	return &WAVAppender{f: f, path: path, frame: 2 * channels}, nil
}

// Path returns the file's path.
func (w *WAVAppender) Path() string { return w.path }

// Size returns the bytes of audio written.
func (w *WAVAppender) Size() int64 { return w.size }

// Write appends p, interleaved 16-bit little-endian samples in whole
// frames, to the file. It does not touch the header.
func (w *WAVAppender) Write(p []byte) (int, error) {
	if len(p)%w.frame != 0 {
		return 0, fmt.Errorf("audio: write WAV %s: %d bytes are not whole frames of %d", w.path, len(p), w.frame)
	}
	if w.size+int64(len(p)) > maxWAVData {
		return 0, fmt.Errorf("audio: write WAV %s: file full (4 GiB)", w.path)
	}
	n, err := w.f.Write(p)
	w.size += int64(n - n%w.frame)
	if err != nil {
		return n, fmt.Errorf("audio: write WAV %s: %w", w.path, err)
	}
	return n, nil
}

// SyncHeader writes the RIFF and data sizes of the audio written so far
// into the header. The audio is in the file before the sizes that
// describe it, and the RIFF size grows before the data size, so a reader
// never sees a chunk reaching past the file's end.
func (w *WAVAppender) SyncHeader() error {
	if w.synced == w.size {
		return nil
	}
	le := binary.LittleEndian
	le.PutUint32(w.scratch[:], uint32(wavHeaderSize-8+w.size))
	if _, err := w.f.WriteAt(w.scratch[:], 4); err != nil {
		return fmt.Errorf("audio: write WAV %s header: %w", w.path, err)
	}
	le.PutUint32(w.scratch[:], uint32(w.size))
	if _, err := w.f.WriteAt(w.scratch[:], 40); err != nil {
		return fmt.Errorf("audio: write WAV %s header: %w", w.path, err)
	}
	w.synced = w.size
	return nil
}

// Close brings the header up to date and closes the file.
func (w *WAVAppender) Close() error {
	err := w.SyncHeader()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("audio: close WAV %s: %w", w.path, cerr)
	}
	return err
}

// ErrNotRepairable is returned by RepairWAV for a file that is not a
// canonical 16-bit PCM WAV (a 44-byte header, as WAVAppender writes).
var ErrNotRepairable = errors.New("not a canonical 16-bit PCM WAV file")

// RepairWAV makes the header of the canonical PCM WAV file at path (as
// WAVAppender writes it) describe all the audio in the file, as when the
// program writing it was killed between header updates; a trailing part
// frame is cut off. It reports whether it changed the file. A file whose
// RIFF size already matches its length is left alone, even when its data
// chunk is shorter (other chunks may follow it).
func RepairWAV(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("audio: repair WAV: %w", err)
	}
	defer f.Close()
	changed, err := repairWAV(f)
	if err != nil {
		return false, fmt.Errorf("audio: repair WAV %s: %w", path, err)
	}
	return changed, nil
}

func repairWAV(f *os.File) (bool, error) {
	var h [wavHeaderSize]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return false, ErrNotRepairable
	}
	le := binary.LittleEndian
	channels, bits := int(le.Uint16(h[22:])), int(le.Uint16(h[34:]))
	if string(h[0:4]) != "RIFF" || string(h[8:16]) != "WAVEfmt " || le.Uint32(h[16:]) != 16 ||
		le.Uint16(h[20:]) != wavePCM || bits != 16 || channels < 1 || string(h[36:40]) != "data" {
		return false, ErrNotRepairable
	}
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if int64(le.Uint32(h[4:])) == st.Size()-8 {
		return false, nil
	}
	frame := int64(channels * 2)
	data := min((st.Size()-wavHeaderSize)/frame*frame, maxWAVData/frame*frame)
	if wavHeaderSize+data != st.Size() {
		if err := f.Truncate(wavHeaderSize + data); err != nil {
			return false, err
		}
	}
	le.PutUint32(h[4:], uint32(wavHeaderSize-8+data))
	le.PutUint32(h[40:], uint32(data))
	if _, err := f.WriteAt(h[4:8], 4); err != nil {
		return false, err
	}
	if _, err := f.WriteAt(h[40:44], 40); err != nil {
		return false, err
	}
	return true, nil
}
