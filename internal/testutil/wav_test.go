package testutil

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func writeTestWAV(t *testing.T, path string, rate, channels int, samples []int16, dataSize uint32) {
	t.Helper()
	var b []byte
	le := binary.LittleEndian
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, uint32(36+2*len(samples)))
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, uint16(channels))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*channels*2))
	b = le.AppendUint16(b, uint16(channels*2))
	b = le.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = le.AppendUint32(b, dataSize)
	for _, s := range samples {
		b = le.AppendUint16(b, uint16(s))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sine(rate int, hz float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(12000 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return out
}

func TestReadWAVAndDominantFrequency(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		hz       float64
		dataSize func(n int) uint32
	}{
		{"final", 440, func(n int) uint32 { return uint32(2 * n) }},
		{"unfinalized", 1000, func(int) uint32 { return 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sine(8000, tc.hz, 8000)
			path := filepath.Join(dir, tc.name+".wav")
			writeTestWAV(t, path, 8000, 1, s, tc.dataSize(len(s)))
			got, rate, err := ReadWAV(path)
			if err != nil {
				t.Fatal(err)
			}
			if rate != 8000 || len(got) != len(s) {
				t.Fatalf("rate %d, %d samples; want 8000, %d", rate, len(got), len(s))
			}
			if f := DominantFrequency(got, rate, 100, 3000, 10); f != tc.hz {
				t.Errorf("dominant frequency %v, want %v", f, tc.hz)
			}
			if r := RMS(got); r < 0.2 || r > 0.3 {
				t.Errorf("RMS %v, want about 0.26", r)
			}
		})
	}
}

func TestReadWAVStereoDownmix(t *testing.T) {
	mono := sine(16000, 440, 1600)
	stereo := make([]int16, 0, 2*len(mono))
	for _, v := range mono {
		stereo = append(stereo, v, v)
	}
	path := filepath.Join(t.TempDir(), "s.wav")
	writeTestWAV(t, path, 16000, 2, stereo, uint32(2*len(stereo)))
	got, rate, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rate != 16000 || len(got) != len(mono) || got[100] != mono[100] {
		t.Fatalf("rate %d, %d frames", rate, len(got))
	}
}

func TestMergeINI(t *testing.T) {
	got := MergeINI([]string{"listen=127.0.0.1:1", "dataDir=/x"}, `
[Settings]
listen=127.0.0.1:2
autoAnswer=all
[Account1]
label=a
`)
	want := "[Settings]\nlisten=127.0.0.1:2\ndataDir=/x\nautoAnswer=all\n\n[Account1]\nlabel=a\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := MergeINI(nil, ""); got != "[Settings]\n\n[Account1]\nlabel=local\n" {
		t.Errorf("default account: got %q", got)
	}
}

func TestFreePorts(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	start := FreePortRange(t, 10)
	if start%2 != 0 {
		t.Errorf("range start %d is odd", start)
	}
}
