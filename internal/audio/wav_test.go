package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// wavSpec describes a WAV file for buildWAV.
type wavSpec struct {
	format, channels, rate, bits int
	extensible                   bool   // use WAVE_FORMAT_EXTENSIBLE
	extraChunk                   bool   // put an odd-sized LIST chunk before fmt
	dataSize                     uint32 // 0 means the real size
}

// buildWAV returns a WAV file holding data (already encoded).
func buildWAV(s wavSpec, data []byte) []byte {
	le := binary.LittleEndian
	var b bytes.Buffer
	b.WriteString("RIFF\x00\x00\x00\x00WAVE")
	if s.extraChunk {
		b.WriteString("LIST\x03\x00\x00\x00abc\x00")
	}
	fmtChunk := make([]byte, 16, 40)
	tag := s.format
	if s.extensible {
		tag = waveExtensible
	}
	le.PutUint16(fmtChunk[0:], uint16(tag))
	le.PutUint16(fmtChunk[2:], uint16(s.channels))
	le.PutUint32(fmtChunk[4:], uint32(s.rate))
	align := s.channels * s.bits / 8
	le.PutUint32(fmtChunk[8:], uint32(s.rate*align))
	le.PutUint16(fmtChunk[12:], uint16(align))
	le.PutUint16(fmtChunk[14:], uint16(s.bits))
	if s.extensible {
		ext := make([]byte, 24)
		le.PutUint16(ext[0:], 22)
		le.PutUint16(ext[2:], uint16(s.bits))
		le.PutUint16(ext[8:], uint16(s.format)) // sub-format GUID starts with the tag
		copy(ext[10:], "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
		fmtChunk = append(fmtChunk, ext...)
	}
	b.WriteString("fmt ")
	binary.Write(&b, le, uint32(len(fmtChunk)))
	b.Write(fmtChunk)
	b.WriteString("data")
	size := uint32(len(data))
	if s.dataSize != 0 {
		size = s.dataSize
	}
	binary.Write(&b, le, size)
	b.Write(data)
	out := b.Bytes()
	le.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

// encode encodes int16 samples in the format of s.
func encode(s wavSpec, samples []int16) []byte {
	le := binary.LittleEndian
	var b []byte
	for _, v := range samples {
		switch {
		case s.format == wavePCM && s.bits == 8:
			b = append(b, byte(int(v)>>8+128))
		case s.format == wavePCM && s.bits == 16:
			b = le.AppendUint16(b, uint16(v))
		case s.format == wavePCM && s.bits == 24:
			u := uint32(int32(v) << 8)
			b = append(b, byte(u), byte(u>>8), byte(u>>16))
		case s.format == wavePCM && s.bits == 32:
			b = le.AppendUint32(b, uint32(int32(v)<<16))
		case s.format == waveFloat && s.bits == 32:
			b = le.AppendUint32(b, math.Float32bits(float32(v)/32768))
		case s.format == waveFloat && s.bits == 64:
			b = le.AppendUint64(b, math.Float64bits(float64(v)/32768))
		default:
			panic("unsupported test encoding")
		}
	}
	return b
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.wav")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadWAVFormats(t *testing.T) {
	// Stereo: left and right differ; the mono mix is their mean.
	left := []int16{0, 256, -256, 32512, -32768, 12800}
	right := []int16{0, 256, 256, 32512, -32768, -12800}
	mono := []int16{0, 256, 0, 32512, -32768, 0}
	stereo := make([]int16, 0, 2*len(left))
	for i := range left {
		stereo = append(stereo, left[i], right[i])
	}
	tests := []struct {
		name string
		spec wavSpec
	}{
		{"pcm8", wavSpec{format: wavePCM, channels: 2, rate: 11025, bits: 8}},
		{"pcm16", wavSpec{format: wavePCM, channels: 2, rate: 8000, bits: 16}},
		{"pcm24", wavSpec{format: wavePCM, channels: 2, rate: 96000, bits: 24}},
		{"pcm32", wavSpec{format: wavePCM, channels: 2, rate: 48000, bits: 32}},
		{"float32", wavSpec{format: waveFloat, channels: 2, rate: 44100, bits: 32}},
		{"float64", wavSpec{format: waveFloat, channels: 2, rate: 22050, bits: 64}},
		{"extensible", wavSpec{format: wavePCM, channels: 2, rate: 16000, bits: 16, extensible: true}},
		{"extra chunk", wavSpec{format: wavePCM, channels: 2, rate: 8000, bits: 16, extraChunk: true}},
		{"streaming size", wavSpec{format: wavePCM, channels: 2, rate: 8000, bits: 16, dataSize: math.MaxUint32}},
		{"size past end", wavSpec{format: wavePCM, channels: 2, rate: 8000, bits: 16, dataSize: 1 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, buildWAV(tt.spec, encode(tt.spec, stereo)))
			got, rate, err := ReadWAV(path)
			if err != nil {
				t.Fatal(err)
			}
			if rate != tt.spec.rate || !slices.Equal(got, mono) {
				t.Errorf("ReadWAV = %v at %d Hz, want %v at %d Hz", got, rate, mono, tt.spec.rate)
			}
		})
	}
}

func TestReadWAVG711(t *testing.T) {
	// µ-law 0xFF and A-law 0xD5 are zero; 0x80 / 0xAA are the positive maximum.
	tests := []struct {
		format int
		data   []byte
		want   []int16
	}{
		{waveMuLaw, []byte{0xFF, 0x7F, 0x80, 0x00}, []int16{0, 0, 32124, -32124}},
		{waveALaw, []byte{0xD5, 0x55, 0xAA, 0x2A}, []int16{8, -8, 32256, -32256}},
	}
	for _, tt := range tests {
		spec := wavSpec{format: tt.format, channels: 1, rate: 8000, bits: 8}
		got, _, err := ReadWAV(writeFile(t, buildWAV(spec, tt.data)))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("format %d: got %v, want %v", tt.format, got, tt.want)
		}
	}
}

func TestReadWAVErrors(t *testing.T) {
	good := buildWAV(wavSpec{format: wavePCM, channels: 1, rate: 8000, bits: 16}, []byte{1, 2})
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "unexpected EOF"},
		{"not riff", []byte("RIFX\x00\x00\x00\x00WAVE"), "not a RIFF WAVE"},
		{"no data", good[:36], "no data chunk"},
		{"cut header", good[:20], "unexpected EOF"},
		{"mp3 in wav", buildWAV(wavSpec{format: 0x55, channels: 1, rate: 8000, bits: 0}, nil), "unsupported WAV encoding"},
		{"12-bit", buildWAV(wavSpec{format: wavePCM, channels: 1, rate: 8000, bits: 12}, nil), "unsupported WAV encoding"},
		{"no channels", buildWAV(wavSpec{format: wavePCM, channels: 0, rate: 8000, bits: 16}, nil), "no channels"},
		{"zero rate", buildWAV(wavSpec{format: wavePCM, channels: 1, rate: 0, bits: 16}, nil), "bad WAV sample rate"},
		{"data first", []byte("RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00"), "data chunk before fmt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.data)
			if _, _, err := ReadWAV(path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadWAV error = %v, want one containing %q", err, tt.want)
			}
			if _, err := OpenInput("file:" + path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenInput error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestWriteWAVRoundTrip(t *testing.T) {
	tests := []struct {
		rate, channels int
		samples        []int16
	}{
		{8000, 1, []int16{0, 1, -1, math.MaxInt16, math.MinInt16}},
		{44100, 1, sine(4410, 44100, 1000, 20000)},
		{16000, 1, nil},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "rt.wav")
		if err := WriteWAV(path, tt.rate, tt.channels, tt.samples); err != nil {
			t.Fatal(err)
		}
		got, rate, err := ReadWAV(path)
		if err != nil {
			t.Fatal(err)
		}
		if rate != tt.rate || !slices.Equal(got, tt.samples) {
			t.Errorf("round trip at %d Hz: got %d samples at %d Hz", tt.rate, len(got), rate)
		}
	}
	path := filepath.Join(t.TempDir(), "bad.wav")
	if err := WriteWAV(path, 8000, 2, []int16{1, 2, 3}); err == nil {
		t.Error("WriteWAV of 3 samples in 2 channels succeeded")
	}
	if err := WriteWAV(path, 0, 1, nil); err == nil {
		t.Error("WriteWAV at 0 Hz succeeded")
	}
}

func TestWAVWriterValidAfterEveryWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := CreateWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	check := func(want []int16) {
		t.Helper()
		got, rate, err := ReadWAV(path)
		if err != nil {
			t.Fatalf("file invalid mid-recording: %v", err)
		}
		if rate != SampleRate || !slices.Equal(got, want) {
			t.Fatalf("mid-recording: got %v at %d Hz, want %v", got, rate, want)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		le := binary.LittleEndian
		if riff, data := le.Uint32(raw[4:]), le.Uint32(raw[40:]); int(riff) != len(raw)-8 || int(data) != len(raw)-44 {
			t.Fatalf("sizes RIFF %d data %d for a %d-byte file", riff, data, len(raw))
		}
	}
	check(nil)
	var all []int16
	// Whole frames, then writes that split samples across calls.
	writes := [][]byte{pcm(1, 2, 3), pcm(-4, 5), {0x06}, {0x00, 0x07}, {0x00}, {}, pcm(8)}
	wants := [][]int16{{1, 2, 3}, {-4, 5}, nil, {6}, {7}, nil, {8}}
	for i, p := range writes {
		n, err := w.Write(p)
		if n != len(p) || err != nil {
			t.Fatalf("Write(%v) = %d, %v", p, n, err)
		}
		all = append(all, wants[i]...)
		check(all)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	check(all)
	if _, err := w.Write(pcm(1)); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
}

func TestCreateWAVError(t *testing.T) {
	if _, err := CreateWAV(filepath.Join(t.TempDir(), "no", "such", "dir.wav")); err == nil {
		t.Error("CreateWAV in a missing directory succeeded")
	}
}
