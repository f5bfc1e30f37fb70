package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
)

// WAV format tags.
const (
	wavePCM        = 1
	waveFloat      = 3
	waveALaw       = 6
	waveMuLaw      = 7
	waveExtensible = 0xFFFE
)

// wavHeaderSize is the size of the canonical header that WriteWAV and
// CreateWAV write; the data starts right after it.
const wavHeaderSize = 44

// maxWAVRead is the most a wavDecoder reads at a time, unless a single frame
// is larger.
const maxWAVRead = 64 << 10

// wavDecoder reads the audio of a WAV stream as mono samples.
type wavDecoder struct {
	r          io.Reader
	format     int // wavePCM, waveFloat, waveALaw or waveMuLaw
	channels   int
	rate       int
	bits       int   // bits per sample
	blockAlign int   // bytes per frame (one sample of every channel)
	remaining  int64 // bytes left in the data chunk; -1 means up to EOF
	raw        []byte
}

// newWAVDecoder reads the header of a RIFF WAVE stream up to the start of
// its data. It accepts integer PCM of 8 (unsigned), 16, 24 and 32 bits,
// 32- and 64-bit float, A-law and µ-law, any rate and any channel count.
func newWAVDecoder(r io.Reader) (*wavDecoder, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("read RIFF header: %w", noEOF(err))
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, errors.New("not a RIFF WAVE file")
	}
	d := &wavDecoder{r: r}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if err == io.EOF {
				return nil, errors.New("no data chunk")
			}
			return nil, fmt.Errorf("read chunk header: %w", noEOF(err))
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, fmt.Errorf("bad fmt chunk size %d", size)
			}
			buf := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, buf); err != nil {
				return nil, fmt.Errorf("read fmt chunk: %w", noEOF(err))
			}
			if err := d.parseFmt(buf[:size]); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, errors.New("data chunk before fmt chunk")
			}
			d.remaining = size
			if size == math.MaxUint32 {
				d.remaining = -1 // streaming writers use this for "unknown"
			}
			return d, nil
		default:
			if _, err := io.CopyN(io.Discard, r, size+size&1); err != nil {
				return nil, fmt.Errorf("skip %q chunk: %w", id, noEOF(err))
			}
		}
	}
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: a header cut short is an error.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (d *wavDecoder) parseFmt(b []byte) error {
	le := binary.LittleEndian
	d.format = int(le.Uint16(b[0:]))
	d.channels = int(le.Uint16(b[2:]))
	d.rate = int(le.Uint32(b[4:]))
	d.blockAlign = int(le.Uint16(b[12:]))
	d.bits = int(le.Uint16(b[14:]))
	if d.format == waveExtensible {
		if len(b) < 26 {
			return errors.New("short WAVE_FORMAT_EXTENSIBLE fmt chunk")
		}
		d.format = int(le.Uint16(b[24:])) // first two bytes of the sub-format GUID
	}
	ok := false
	switch d.format {
	case wavePCM:
		ok = d.bits == 8 || d.bits == 16 || d.bits == 24 || d.bits == 32
	case waveFloat:
		ok = d.bits == 32 || d.bits == 64
	case waveALaw, waveMuLaw:
		ok = d.bits == 8
	}
	if !ok {
		return fmt.Errorf("unsupported WAV encoding (format %d, %d bits)", d.format, d.bits)
	}
	if d.channels < 1 {
		return errors.New("WAV has no channels")
	}
	if d.rate < 1 || d.rate > 1<<20 {
		return fmt.Errorf("bad WAV sample rate %d", d.rate)
	}
	if min := d.channels * d.bits / 8; d.blockAlign < min {
		d.blockAlign = min
	}
	return nil
}

// read decodes up to len(dst) frames into dst as mono samples (the mean of
// the channels) on the int16 scale. At the end of the data it returns 0 and
// io.EOF; a data chunk cut short just ends early.
func (d *wavDecoder) read(dst []float64) (int, error) {
	// At most maxWAVRead bytes (or one frame) at a time: the header's
	// channel count and block align must not size a buffer the file does
	// not fill.
	frames := min(int64(len(dst)), max(1, maxWAVRead/int64(d.blockAlign)))
	if d.remaining >= 0 {
		frames = min(frames, d.remaining/int64(d.blockAlign))
	}
	if frames == 0 {
		return 0, io.EOF
	}
	need := int(frames) * d.blockAlign
	if cap(d.raw) < need {
		d.raw = make([]byte, need)
	}
	n, err := io.ReadFull(d.r, d.raw[:need])
	if d.remaining >= 0 {
		d.remaining -= int64(n)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		d.remaining, err = 0, nil
	}
	got := n / d.blockAlign
	for i := range got {
		d.decodeFrame(dst[i:i+1], d.raw[i*d.blockAlign:])
	}
	if err != nil {
		return got, err
	}
	if got == 0 {
		return 0, io.EOF
	}
	return got, nil
}

// decodeFrame stores the mean of frame's channels in out[0].
func (d *wavDecoder) decodeFrame(out []float64, frame []byte) {
	le := binary.LittleEndian
	size := d.bits / 8
	var sum float64
	for c := range d.channels {
		b := frame[c*size:]
		var v float64
		switch {
		case d.format == wavePCM && size == 1:
			v = float64(int(b[0])-128) * 256
		case d.format == wavePCM && size == 2:
			v = float64(int16(le.Uint16(b)))
		case d.format == wavePCM && size == 3:
			v = float64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24)) / 65536
		case d.format == wavePCM && size == 4:
			v = float64(int32(le.Uint32(b))) / 65536
		case d.format == waveFloat && size == 4:
			v = float64(math.Float32frombits(le.Uint32(b))) * 32768
		case d.format == waveFloat && size == 8:
			v = math.Float64frombits(le.Uint64(b)) * 32768
		case d.format == waveMuLaw:
			v = float64(ulawDecode(b[0]))
		case d.format == waveALaw:
			v = float64(alawDecode(b[0]))
		}
		sum += v
	}
	out[0] = sum / float64(d.channels)
}

// ulawDecode expands a G.711 µ-law byte to linear PCM.
func ulawDecode(u byte) int16 {
	u = ^u
	t := (int(u&0x0F) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// alawDecode expands a G.711 A-law byte to linear PCM.
func alawDecode(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// toInt16 rounds v and clips it to the int16 range.
func toInt16(v float64) int16 {
	v = math.Round(v)
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}

// ReadWAV reads a whole WAV file and returns its samples mixed down to mono,
// at the file's own sample rate.
func ReadWAV(path string) (samples []int16, rate int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("audio: read WAV: %w", err)
	}
	defer f.Close()
	d, err := newWAVDecoder(bufio.NewReader(f))
	if err != nil {
		return nil, 0, fmt.Errorf("audio: read WAV %s: %w", path, err)
	}
	buf := make([]float64, 4096)
	for {
		n, err := d.read(buf)
		for _, v := range buf[:n] {
			samples = append(samples, toInt16(v))
		}
		if err == io.EOF {
			return samples, d.rate, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("audio: read WAV %s: %w", path, err)
		}
	}
}

// putWAVHeader fills h with a canonical 16-bit PCM WAV header for dataSize
// bytes of audio.
func putWAVHeader(h *[wavHeaderSize]byte, rate, channels int, dataSize uint32) {
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], wavHeaderSize-8+dataSize)
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)
	le.PutUint16(h[20:], wavePCM)
	le.PutUint16(h[22:], uint16(channels))
	le.PutUint32(h[24:], uint32(rate))
	le.PutUint32(h[28:], uint32(rate*channels*2))
	le.PutUint16(h[32:], uint16(channels*2))
	le.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	le.PutUint32(h[40:], dataSize)
}

// maxWAVData is the most audio a WAV file's 32-bit sizes can describe.
const maxWAVData = math.MaxUint32 - (wavHeaderSize - 8)

// WriteWAV writes a 16-bit PCM WAV file of samples, interleaved when
// channels > 1, at rate hertz.
func WriteWAV(path string, rate, channels int, samples []int16) error {
	if channels < 1 || channels > math.MaxUint16 || len(samples)%channels != 0 {
		return fmt.Errorf("audio: write WAV %s: %d samples do not fill %d channels", path, len(samples), channels)
	}
	if rate < 1 || int64(rate)*int64(channels)*2 > math.MaxUint32 {
		return fmt.Errorf("audio: write WAV %s: bad sample rate %d", path, rate)
	}
	if int64(len(samples))*2 > maxWAVData {
		return fmt.Errorf("audio: write WAV %s: too long for a WAV file", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("audio: write WAV: %w", err)
	}
	w := bufio.NewWriter(f)
	var h [wavHeaderSize]byte
	putWAVHeader(&h, rate, channels, uint32(len(samples)*2))
	w.Write(h[:])
	var b [2]byte
	for _, s := range samples {
		binary.LittleEndian.PutUint16(b[:], uint16(s))
		w.Write(b[:])
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audio: write WAV %s: %w", path, err)
	}
	return nil
}

// WAVWriter records 8 kHz mono 16-bit PCM to a WAV file that is valid at
// every moment: after each Write, the RIFF and data chunk sizes in the
// header describe all the audio written so far. It is safe for concurrent
// use.
type WAVWriter struct {
	mu      sync.Mutex
	f       *os.File
	path    string
	size    int64 // bytes of audio written
	odd     bool  // a byte of half a sample is held in half
	half    byte
	closed  bool
	scratch [4]byte
}

// CreateWAV creates (or truncates) the file at path and writes the header
// of an empty 8 kHz mono 16-bit WAV to it.
func CreateWAV(path string) (*WAVWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("audio: create WAV: %w", err)
	}
	var h [wavHeaderSize]byte
	putWAVHeader(&h, SampleRate, 1, 0)
	if _, err := f.Write(h[:]); err != nil {
		f.Close()
		return nil, fmt.Errorf("audio: create WAV %s: %w", path, err)
	}
	return &WAVWriter{f: f, path: path}, nil
}

// Write appends PCM and then updates the header. Whole samples are written
// at once; an odd trailing byte waits for the next Write.
func (w *WAVWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, errClosed("write", "file:"+w.path)
	}
	n := len(p)
	if n == 0 {
		return 0, nil
	}
	add := int64(n) &^ 1
	if w.odd && n&1 == 1 {
		add += 2
	}
	if w.size+add > maxWAVData {
		return 0, fmt.Errorf("audio: write WAV %s: file full (4 GiB)", w.path)
	}
	off := wavHeaderSize + w.size
	if w.odd {
		w.scratch[0], w.scratch[1] = w.half, p[0]
		if _, err := w.f.WriteAt(w.scratch[:2], off); err != nil {
			return 0, fmt.Errorf("audio: write WAV %s: %w", w.path, err)
		}
		off += 2
		p = p[1:]
		w.odd = false
	}
	even := len(p) &^ 1
	if _, err := w.f.WriteAt(p[:even], off); err != nil {
		return 0, fmt.Errorf("audio: write WAV %s: %w", w.path, err)
	}
	if even < len(p) {
		w.odd, w.half = true, p[even]
	}
	w.size += add
	// The audio is on disk before the sizes that describe it, and the RIFF
	// size grows before the data size, so a reader never sees a chunk
	// reaching past what the file holds.
	binary.LittleEndian.PutUint32(w.scratch[:], uint32(wavHeaderSize-8+w.size))
	if _, err := w.f.WriteAt(w.scratch[:], 4); err != nil {
		return 0, fmt.Errorf("audio: write WAV %s header: %w", w.path, err)
	}
	binary.LittleEndian.PutUint32(w.scratch[:], uint32(w.size))
	if _, err := w.f.WriteAt(w.scratch[:], 40); err != nil {
		return 0, fmt.Errorf("audio: write WAV %s header: %w", w.path, err)
	}
	return n, nil
}

// Close closes the file. A held odd byte is dropped.
func (w *WAVWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed("close", "file:"+w.path)
	}
	w.closed = true
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("audio: close WAV %s: %w", w.path, err)
	}
	return nil
}

// DecodeG711 expands G.711 bytes (µ-law, or A-law if alaw) to linear PCM.
func DecodeG711(payload []byte, alaw bool) []int16 {
	out := make([]int16, len(payload))
	for i, b := range payload {
		if alaw {
			out[i] = alawDecode(b)
		} else {
			out[i] = ulawDecode(b)
		}
	}
	return out
}
