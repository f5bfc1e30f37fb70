package audio

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

func pcm(samples ...int16) []byte {
	b := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

func TestApplyGain(t *testing.T) {
	in := []int16{0, 1, -1, 1000, -1000, 20000, -20000, math.MaxInt16, math.MinInt16}
	tests := []struct {
		level int
		want  []int16
	}{
		{100, in},
		{0, []int16{0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{-5, []int16{0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{50, []int16{0, 0, 0, 500, -500, 10000, -10000, 16383, -16384}},
		{10, []int16{0, 0, 0, 100, -100, 2000, -2000, 3276, -3276}},
		{200, []int16{0, 2, -2, 2000, -2000, math.MaxInt16, math.MinInt16, math.MaxInt16, math.MinInt16}},
		{math.MaxInt, []int16{0, math.MaxInt16, math.MinInt16, math.MaxInt16, math.MinInt16, math.MaxInt16, math.MinInt16, math.MaxInt16, math.MinInt16}},
	}
	for _, tt := range tests {
		b := pcm(in...)
		ApplyGain(b, tt.level)
		if want := pcm(tt.want...); !slices.Equal(b, want) {
			t.Errorf("level %d: got %v, want %v", tt.level, b, want)
		}
	}
}

func TestApplyGainOddByte(t *testing.T) {
	b := append(pcm(1000), 0x7F)
	ApplyGain(b, 50)
	if !slices.Equal(b, append(pcm(500), 0x7F)) {
		t.Errorf("got %v", b)
	}
	ApplyGain(b, 0)
	if !slices.Equal(b, []byte{0, 0, 0}) {
		t.Errorf("level 0: got %v, want all zero", b)
	}
}

func TestApplyGainDoesNotAllocate(t *testing.T) {
	frame := make([]byte, FrameBytes)
	if n := testing.AllocsPerRun(100, func() { ApplyGain(frame, 70) }); n != 0 {
		t.Errorf("ApplyGain allocates %v times", n)
	}
}

func BenchmarkApplyGain(b *testing.B) {
	frame := pcm(slices.Repeat([]int16{12345, -12345, 30000, -30000}, FrameSamples/4)...)
	b.ReportAllocs()
	b.SetBytes(FrameBytes)
	for b.Loop() {
		ApplyGain(frame, 70)
	}
}
