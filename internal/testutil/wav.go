package testutil

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
)

// RMS returns the root mean square of samples scaled to ±1, for telling a
// recording with sound in it from one of near silence. Frequency analysis
// and WAV reading are internal/audio's (ReadWAV, DominantFrequency).
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, v := range samples {
		x := float64(v) / 32768
		sum += x * x
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// LevelDBFS returns the RMS level of samples in dBFS as AES17 defines it: a
// sine whose peaks reach full scale reads 0 dBFS (so a full-scale square
// wave reads +3.01). Silence reads -Inf.
func LevelDBFS(samples []int16) float64 {
	return 20 * math.Log10(RMS(samples)*math.Sqrt2)
}

// ToneDBFS returns the level in dBFS (AES17, as LevelDBFS) of the component
// at hz hertz of samples taken at rate hertz (Goertzel). It is exact for a
// window of whole periods of the tone.
func ToneDBFS(samples []int16, rate int, hz float64) float64 {
	return 10 * math.Log10(audio.Goertzel(samples, rate, hz))
}

// SineWAV writes a 16-bit WAV file of d of a sine of hz hertz at level dBFS
// (AES17: its peaks are 10^(dBFS/20) of full scale), sampled at rate hertz,
// the same in each of channels channels.
func SineWAV(t testing.TB, path string, rate, channels int, hz, dBFS float64, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * float64(rate))
	amp := math.Pow(10, dBFS/20) * math.MaxInt16
	samples := make([]int16, 0, n*channels)
	for i := range n {
		v := int16(math.Round(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
		for range channels {
			samples = append(samples, v)
		}
	}
	if err := audio.WriteWAV(path, rate, channels, samples); err != nil {
		t.Fatal(err)
	}
}

// WAVLen returns the number of samples (mono) of the WAV file at path, 0
// while it does not exist or is not a WAV file yet.
func WAVLen(path string) int {
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	samples, _, err := audio.ReadWAV(path)
	if err != nil {
		return 0
	}
	return len(samples)
}

// WaitWAV waits up to timeout until the WAV file at path, which a daemon's
// file: output device writes as it plays, holds from+n samples, and returns
// samples[from:from+n] and the file's rate.
func WaitWAV(t testing.TB, path string, from, n int, timeout time.Duration) ([]int16, int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		samples, rate, err := audio.ReadWAV(path)
		if err == nil && len(samples) >= from+n {
			return samples[from : from+n], rate
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d samples from sample %d not written within %v (has %d; %v)", path, n, from, timeout, len(samples), err)
		}
		time.Sleep(20 * time.Millisecond) // polling a file, not waiting for an event
	}
}

// WAVFile is a canonical 16-bit PCM WAV file (a 44-byte header, as
// gophone's recordings have) as ReadWAVFile found it: the sizes its header
// gives beside the file's length, and its samples per channel.
type WAVFile struct {
	Channels, Rate, Bits int
	RIFFSize, DataSize   int64 // as the header gives them
	Length               int64 // the file's length in bytes
	// Channel holds the samples of each channel the header describes.
	Channel [][]int16
}

// ReadWAVFile reads the canonical WAV file at path.
func ReadWAVFile(path string) (*WAVFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		return nil, fmt.Errorf("%s: not a canonical WAV file", path)
	}
	w := &WAVFile{Channels: int(le.Uint16(b[22:])), Rate: int(le.Uint32(b[24:])), Bits: int(le.Uint16(b[34:])),
		RIFFSize: int64(le.Uint32(b[4:])), DataSize: int64(le.Uint32(b[40:])), Length: int64(len(b))}
	if le.Uint16(b[20:]) != 1 || w.Bits != 16 || w.Channels < 1 {
		return nil, fmt.Errorf("%s: not 16-bit PCM (%d channels, %d bits)", path, w.Channels, w.Bits)
	}
	w.Channel = make([][]int16, w.Channels)
	data := b[44:min(int64(len(b)), 44+w.DataSize)]
	for i := 0; i+2*w.Channels <= len(data); i += 2 * w.Channels {
		for c := range w.Channels {
			w.Channel[c] = append(w.Channel[c], int16(le.Uint16(data[i+2*c:])))
		}
	}
	return w, nil
}

// Valid reports whether a reader may trust the header: its chunks end
// within the file, and the RIFF size covers exactly the header and data.
func (w *WAVFile) Valid() error {
	switch {
	case w.RIFFSize != w.DataSize+36:
		return fmt.Errorf("RIFF size %d, data size %d: want RIFF = data + 36", w.RIFFSize, w.DataSize)
	case 44+w.DataSize > w.Length:
		return fmt.Errorf("data size %d reaches past the file's %d bytes", w.DataSize, w.Length)
	case w.DataSize%int64(2*w.Channels) != 0:
		return fmt.Errorf("data size %d is not whole frames", w.DataSize)
	}
	return nil
}

// Exact reports whether the header describes the whole file.
func (w *WAVFile) Exact() error {
	if err := w.Valid(); err != nil {
		return err
	}
	if 44+w.DataSize != w.Length {
		return fmt.Errorf("data size %d, file %d bytes: %d bytes of audio not in the header", w.DataSize, w.Length, w.Length-44-w.DataSize)
	}
	return nil
}

// Duration is the audio the header describes.
func (w *WAVFile) Duration() time.Duration {
	if w.Rate == 0 || w.Channels == 0 {
		return 0
	}
	return time.Duration(w.DataSize/int64(2*w.Channels)) * time.Second / time.Duration(w.Rate)
}
