package audio

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sync"
)

// fileInput plays a WAV file as 8 kHz mono PCM, then silence (or, looping,
// the file again).
type fileInput struct {
	mu     sync.Mutex
	f      *os.File
	br     *bufio.Reader
	path   string
	dec    *wavDecoder
	rs     *resampler
	frames []float64 // decode buffer
	done   chan struct{}
	loop   bool // play the file again at its end
	pass   int  // bytes produced since the file (re)started
	ended  bool // all audio read; done is closed
	closed bool
}

func openFileInput(path string) (*fileInput, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio: open input: %w", err)
	}
	br := bufio.NewReaderSize(f, 32<<10)
	dec, err := newWAVDecoder(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audio: open input %s: %w", path, err)
	}
	return &fileInput{
		f:      f,
		br:     br,
		path:   path,
		dec:    dec,
		rs:     newResampler(dec.rate, SampleRate),
		frames: make([]float64, 1024),
		done:   make(chan struct{}),
	}, nil
}

// OpenWAV opens the WAV file at path (any encoding, rate and channels
// ReadWAV takes; its name need not end in .wav) as an input of its audio,
// resampled to 8 kHz mono. Without loop the input is silence after the
// file's end, and Done is closed with its last sample; with loop the file
// starts again. A file with no audio is an error.
func OpenWAV(path string, loop bool) (Input, error) {
	in, err := openFileInput(path)
	if err != nil {
		return nil, err
	}
	if in.dec.remaining == 0 {
		in.f.Close()
		return nil, fmt.Errorf("audio: %s holds no audio", path)
	}
	in.loop = loop
	return in, nil
}

// rewind starts the file again from its first sample.
func (in *fileInput) rewind() error {
	if _, err := in.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	in.br.Reset(in.f)
	dec, err := newWAVDecoder(in.br)
	if err != nil {
		return err
	}
	in.dec, in.rs = dec, newResampler(dec.rate, SampleRate)
	return nil
}

// Read fills p with the file's audio, resampled to 8 kHz mono, and with
// silence once the file has ended.
func (in *fileInput) Read(p []byte) (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return 0, errClosed("read", "file:"+in.path)
	}
	n := len(p) &^ 1
	if n == 0 && len(p) > 0 {
		return 0, io.ErrShortBuffer
	}
	got := 0
	for got < n && !in.ended {
		m := 2 * in.rs.produce(p[got:n])
		got += m
		in.pass += m
		if in.rs.done() {
			// Looping: start again, unless a whole pass gave no sample.
			if in.loop && in.pass > 0 && in.rewind() == nil {
				in.pass = 0
				continue
			}
			in.end()
			break
		}
		if got == n {
			break
		}
		m, err := in.dec.read(in.frames)
		in.rs.feed(in.frames[:m])
		if err != nil && err != io.EOF {
			return got, fmt.Errorf("audio: read %s: %w", in.path, err)
		}
		if err == io.EOF || in.dec.remaining == 0 {
			in.rs.finish() // so Done closes with the last sample, not a read later
		}
	}
	clear(p[got:n])
	return n, nil
}

// end marks the audio as played out.
func (in *fileInput) end() {
	if !in.ended {
		in.ended = true
		close(in.done)
	}
}

// Close closes the file and the Done channel.
func (in *fileInput) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return errClosed("close", "file:"+in.path)
	}
	in.closed = true
	in.end()
	if err := in.f.Close(); err != nil {
		return fmt.Errorf("audio: close %s: %w", in.path, err)
	}
	return nil
}

// Done returns a channel closed when the file has been played to its end or
// the input is closed.
func (in *fileInput) Done() <-chan struct{} { return in.done }
