// Package recording records calls to stereo WAV files: what the phone
// sends on the left, what it receives on the right, 8 kHz 16-bit.
//
// The media clock hands a Recorder each frame as it passes (Local,
// Remote); the Recorder interleaves them into chunks of memory and hands
// full chunks to a goroutine of its own, which writes them to disk and
// brings the WAV header up to date at least once a second. The clock
// never waits for the disk: when the writer falls a whole queue behind,
// chunks are dropped and counted, and the writer logs a warning.
package recording

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gophone/gophone/internal/audio"
)

const (
	// chunkFrames is the stereo frames in a chunk handed to the writer: 100 ms.
	chunkFrames = audio.SampleRate / 10
	chunkBytes  = chunkFrames * 4
	// queueChunks bounds the chunks waiting for the writer: 2 s of audio.
	queueChunks = 20
	// maxRemote bounds the far end's samples waiting for a local frame to
	// pair with: 200 ms (more arrive in a burst only without a jitter
	// buffer, or when the far end's clock runs fast).
	maxRemote = audio.SampleRate / 5
	// syncEvery is how often the header is brought up to date.
	syncEvery = time.Second
)

// Recorder records one call. Local and Remote are called from the
// call's media goroutine; Close from any.
type Recorder struct {
	path string
	log  *slog.Logger

	mu     sync.Mutex
	closed bool
	remote [2 * maxRemote]byte // far-end samples not yet paired: a ring of 16-bit PCM
	rHead  int                 // the oldest's byte offset (even)
	rLen   int                 // bytes waiting (even)
	cur    []byte              // the chunk being filled
	free   [][]byte
	made   int // chunks allocated

	queue    chan []byte // full chunks, to the writer
	back     chan []byte // written chunks, from the writer
	dropped  atomic.Int64
	trimmed  atomic.Int64 // far-end samples dropped past maxRemote
	finished chan struct{}
	err      error // the writer's, read after finished
}

// Start creates the WAV file at path (which must not exist) and starts
// recording into it.
func Start(path string, log *slog.Logger) (*Recorder, error) {
	w, err := audio.CreateWAVAppender(path, audio.SampleRate, 2)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Recorder{
		path:     path,
		log:      log,
		queue:    make(chan []byte, queueChunks),
		back:     make(chan []byte, queueChunks+2),
		finished: make(chan struct{}),
	}
	go r.write(w)
	return r, nil
}

// Path returns the file's path.
func (r *Recorder) Path() string { return r.path }

// Local takes a frame of what the phone sends (16-bit little-endian PCM)
// and records it beside as much of the far end's audio.
func (r *Recorder) Local(pcm []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.pair(pcm[:len(pcm)&^1])
	}
}

// Remote takes a frame of the far end's audio, to be recorded beside the
// local frames that follow. Past maxRemote waiting, the oldest go.
func (r *Recorder) Remote(pcm []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	const size = 2 * maxRemote
	pcm = pcm[:len(pcm)&^1]
	if len(pcm) > size {
		r.trimmed.Add(int64(len(pcm)-size) / 2)
		pcm = pcm[len(pcm)-size:]
	}
	if over := r.rLen + len(pcm) - size; over > 0 { // full: the oldest go
		r.rHead = (r.rHead + over) % size
		r.rLen -= over
		r.trimmed.Add(int64(over) / 2)
	}
	tail := (r.rHead + r.rLen) % size
	n := copy(r.remote[tail:], pcm)
	copy(r.remote[:], pcm[n:])
	r.rLen += len(pcm)
}

// pair appends a stereo frame to the chunks for every local sample of
// pcm, beside the oldest far-end sample waiting (silence when none is);
// r.mu is held.
func (r *Recorder) pair(pcm []byte) {
	const size = 2 * maxRemote
	for n := len(pcm) / 2; n > 0; {
		if r.cur == nil {
			if r.cur = r.chunk(); r.cur == nil {
				r.dropped.Add(int64(n)) // the writer holds every chunk: drop
				r.popRemote(2 * n)
				return
			}
		}
		k := min(n, (chunkBytes-len(r.cur))/4)
		at := len(r.cur)
		r.cur = r.cur[:at+4*k]
		out := r.cur[at:]
		for i := range k {
			out[4*i], out[4*i+1] = pcm[2*i], pcm[2*i+1]
			if r.rLen > 0 {
				out[4*i+2], out[4*i+3] = r.remote[r.rHead], r.remote[r.rHead+1]
				r.rHead = (r.rHead + 2) % size
				r.rLen -= 2
			} else {
				out[4*i+2], out[4*i+3] = 0, 0
			}
		}
		pcm = pcm[2*k:]
		n -= k
		if len(r.cur) == chunkBytes {
			r.send()
		}
	}
}

// popRemote drops up to b bytes of the oldest far-end audio; r.mu is held.
func (r *Recorder) popRemote(b int) {
	b = min(b, r.rLen)
	r.rHead = (r.rHead + b) % (2 * maxRemote)
	r.rLen -= b
}

// chunk returns an empty chunk: one the writer gave back, else a new one
// while fewer than the queue's worth exist, else nil.
func (r *Recorder) chunk() []byte {
	for {
		select {
		case b := <-r.back:
			r.free = append(r.free, b)
			continue
		default:
		}
		break
	}
	if n := len(r.free); n > 0 {
		b := r.free[n-1]
		r.free = r.free[:n-1]
		return b[:0]
	}
	if r.made < queueChunks+2 {
		r.made++
		return make([]byte, 0, chunkBytes)
	}
	return nil
}

// send hands the current chunk to the writer, or drops it when the
// writer's queue is full; r.mu is held.
func (r *Recorder) send() {
	select {
	case r.queue <- r.cur:
	default:
		r.dropped.Add(int64(len(r.cur) / 4))
		r.free = append(r.free, r.cur)
	}
	r.cur = nil
}

// write is the writer goroutine: it appends chunks to w and keeps its
// header current, until the queue is closed.
func (r *Recorder) write(w *audio.WAVAppender) {
	defer close(r.finished)
	lastSync := time.Now()
	var warned int64
	for b := range r.queue {
		if _, err := w.Write(b); err != nil && r.err == nil {
			r.err = err
			r.log.Error("recording: writing", "path", r.path, "error", err)
		}
		select {
		case r.back <- b:
		default:
		}
		if time.Since(lastSync) >= syncEvery {
			if err := w.SyncHeader(); err != nil && r.err == nil {
				r.err = err
			}
			lastSync = time.Now()
		}
		if d := r.dropped.Load(); d != warned {
			r.log.Warn("recording: the disk is slower than the call; audio dropped",
				"path", r.path, "droppedMs", d*1000/audio.SampleRate)
			warned = d
		}
	}
	if err := w.Close(); err != nil && r.err == nil {
		r.err = err
	}
}

// Close stops the recording, writes what is left and closes the file. It
// returns the audio dropped because the disk was slower than the call.
func (r *Recorder) Close() (dropped time.Duration, err error) {
	r.mu.Lock()
	first, last := !r.closed, r.cur
	r.closed, r.cur = true, nil
	r.mu.Unlock()
	if first {
		// Outside the lock: the media goroutine may be waiting for it,
		// and this send waits for the writer.
		if len(last) > 0 {
			r.queue <- last
		}
		close(r.queue)
	}
	<-r.finished
	return time.Duration(r.dropped.Load()) * time.Second / audio.SampleRate, r.err
}

// FileName returns a recording's file name: the start time, the far end's
// number and gophone's call id, each reduced to characters safe in a file
// name on any system ([A-Za-z0-9+._-]; the rest become _).
func FileName(start time.Time, number, callID string) string {
	return fmt.Sprintf("%s_%s_%s.wav", start.UTC().Format("20060102-150405"), safe(number, 40), safe(callID, 20))
}

// safe returns s with every character outside [A-Za-z0-9+._-] replaced by
// _, cut to max bytes; "" and names of dots only become "_".
func safe(s string, max int) string {
	var b strings.Builder
	for _, c := range s {
		if b.Len() >= max {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '+', c == '.', c == '_', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if strings.Trim(out, ".") == "" {
		return "_"
	}
	return out
}

// Create starts a recording in dir (made if missing) under FileName, with
// -2, -3 … added should the name be taken.
func Create(dir string, start time.Time, number, callID string, log *slog.Logger) (*Recorder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recording directory: %w", err)
	}
	name := FileName(start, number, callID)
	base := strings.TrimSuffix(name, ".wav")
	for i := 2; ; i++ {
		r, err := Start(filepath.Join(dir, name), log)
		if err == nil || !errors.Is(err, fs.ErrExist) || i > 1000 {
			return r, err
		}
		name = fmt.Sprintf("%s-%d.wav", base, i)
	}
}

// RepairDir repairs the WAV files in dir whose headers a crash left stale
// (audio.RepairWAV) and returns the paths it repaired. Files that are not
// gophone's canonical WAVs are left alone.
func RepairDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var repaired []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.EqualFold(filepath.Ext(e.Name()), ".wav") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if changed, err := audio.RepairWAV(path); err == nil && changed {
			repaired = append(repaired, path)
		}
	}
	return repaired, nil
}
