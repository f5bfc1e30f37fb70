package audio

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// wavSeeds are FuzzWAV's hand-made seeds: every encoding the decoder
// takes, and headers whose declared sizes, counts and rates are out of
// proportion to the file.
func wavSeeds() [][]byte {
	le := binary.LittleEndian
	tone := sine(400, 8000, 1000, 8000)
	mono16 := wavSpec{format: wavePCM, channels: 1, rate: 8000, bits: 16}
	good := buildWAV(mono16, encode(mono16, tone))
	seeds := [][]byte{nil, good, good[:20], good[:44]}
	for _, s := range []wavSpec{
		{format: wavePCM, channels: 2, rate: 44100, bits: 8},
		{format: wavePCM, channels: 2, rate: 48000, bits: 24},
		{format: wavePCM, channels: 1, rate: 96000, bits: 32},
		{format: waveFloat, channels: 2, rate: 22050, bits: 32},
		{format: waveFloat, channels: 1, rate: 16000, bits: 64},
		{format: waveMuLaw, channels: 1, rate: 8000, bits: 8},
		{format: waveALaw, channels: 1, rate: 8000, bits: 8},
		{format: wavePCM, channels: 6, rate: 48000, bits: 16, extensible: true},
		{format: wavePCM, channels: 1, rate: 8000, bits: 16, extraChunk: true},
		{format: wavePCM, channels: 1, rate: 8000, bits: 16, dataSize: math.MaxUint32}, // streaming
		{format: wavePCM, channels: 1, rate: 8000, bits: 16, dataSize: 1 << 30},        // past the end
		{format: wavePCM, channels: 0, rate: 8000, bits: 16},
		{format: wavePCM, channels: 1, rate: 0, bits: 16},
		{format: wavePCM, channels: 1, rate: 1, bits: 16},
		{format: wavePCM, channels: 1, rate: 1 << 20, bits: 16},
		{format: wavePCM, channels: 1, rate: math.MaxInt32, bits: 16},
		{format: wavePCM, channels: math.MaxUint16, rate: 8000, bits: 64},
		{format: waveFloat, channels: math.MaxUint16, rate: 7, bits: 64, dataSize: math.MaxUint32},
	} {
		pcm := tone[:min(len(tone), 64*s.channels)]
		data := encode(mono16, pcm) // G.711 or an encoding we reject: any bytes do
		if s.format == waveFloat || s.format == wavePCM && s.bits <= 32 {
			data = encode(s, pcm)
		}
		seeds = append(seeds, buildWAV(s, data))
	}
	// Block aligns: 0, odd, one frame of 64 KiB.
	for _, align := range []uint16{0, 3, 5, math.MaxUint16} {
		b := buildWAV(wavSpec{format: wavePCM, channels: 2, rate: 8000, bits: 16}, encode(mono16, tone[:100]))
		le.PutUint16(b[32:], align)
		seeds = append(seeds, b)
	}
	// A fmt chunk, and another chunk, declaring 4 GiB.
	b := append([]byte(nil), good...)
	le.PutUint32(b[16:], math.MaxUint32)
	seeds = append(seeds, b)
	seeds = append(seeds, []byte("RIFF\x00\x00\x00\x00WAVEjunk\xff\xff\xff\xffabc"))
	// WAVE_FORMAT_EXTENSIBLE cut short, and with a sub-format of none.
	ext := buildWAV(wavSpec{format: wavePCM, channels: 1, rate: 8000, bits: 16, extensible: true}, nil)
	short := append([]byte(nil), ext[:36]...)
	le.PutUint32(short[16:], 16)
	seeds = append(seeds, append(short, "data\x00\x00\x00\x00"...))
	ext[44] = 0
	return append(seeds, ext)
}

// FuzzWAV feeds arbitrary bytes to the WAV decoder as ReadWAV and a file:
// input device read them: both must agree on whether the file is usable
// and return an error or audio, never panic, and allocate in proportion to
// the file, whatever sizes, channel counts and rates its header declares.
func FuzzWAV(f *testing.F) {
	for _, s := range wavSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "in.wav")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)

		samples, rate, rerr := ReadWAV(path)
		if rerr == nil && (rate < 1 || len(samples) > len(data)) {
			t.Errorf("ReadWAV: %d samples at %d Hz from %d bytes", len(samples), rate, len(data))
		}
		in, ierr := openFileInput(path)
		if (rerr == nil) != (ierr == nil) {
			t.Fatalf("ReadWAV error %v, but file input error %v", rerr, ierr)
		}
		if ierr == nil {
			// 100 ms: enough to run the resampler, bounded in time.
			frame := make([]byte, FrameBytes)
			for range 5 {
				if n, err := in.Read(frame); n != len(frame) || err != nil {
					t.Fatalf("file input Read = %d, %v; want %d, nil", n, err, len(frame))
				}
			}
			if err := in.Close(); err != nil {
				t.Fatal(err)
			}
		}

		runtime.ReadMemStats(&after)
		// The resampler's tables take up to 1 MiB, a frame of audio up to
		// 512 KiB; beyond that, memory follows the file's length.
		const fixed = 4 << 20
		if grew := after.TotalAlloc - before.TotalAlloc; grew > fixed+16*uint64(len(data)) {
			t.Errorf("decoding %d bytes allocated %d bytes", len(data), grew)
		}
	})
}
