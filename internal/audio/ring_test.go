package audio

import (
	"bytes"
	"testing"
)

func TestPCMRing(t *testing.T) {
	seq := func(from, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(from + i)
		}
		return b
	}
	tests := []struct {
		name        string
		size        int
		writes      [][]byte
		readLen     int
		want        []byte
		wantDropped int
		wantMissing int
	}{
		{"empty reads silence", 8, nil, 4, []byte{0, 0, 0, 0}, 0, 4},
		{"what was written", 8, [][]byte{seq(1, 4)}, 4, seq(1, 4), 0, 0},
		{"short, then silence", 8, [][]byte{seq(1, 2)}, 6, []byte{1, 2, 0, 0, 0, 0}, 0, 4},
		{"full ring drops the oldest", 8, [][]byte{seq(1, 6), seq(7, 6)}, 8, seq(5, 8), 4, 0},
		{"a write larger than the ring keeps its end", 4, [][]byte{seq(1, 10)}, 4, seq(7, 4), 6, 0},
		{"wraps around", 8, [][]byte{seq(1, 6), nil, seq(7, 4)}, 8, seq(3, 8), 2, 0},
		{"odd read length reads whole samples", 8, [][]byte{seq(1, 4)}, 3, seq(1, 2), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newPCMRing(tt.size)
			for _, w := range tt.writes {
				r.write(w)
			}
			p := bytes.Repeat([]byte{0xff}, tt.readLen)
			n := r.read(p)
			if !bytes.Equal(p[:n], tt.want) {
				t.Errorf("read %v, want %v", p[:n], tt.want)
			}
			if d, m := r.counts(); d != tt.wantDropped || m != tt.wantMissing {
				t.Errorf("dropped %d, missing %d; want %d, %d", d, m, tt.wantDropped, tt.wantMissing)
			}
		})
	}
}

// Reading in pieces returns the bytes in the order written, across the
// ring's end.
func TestPCMRingOrder(t *testing.T) {
	r := newPCMRing(10)
	var want, got []byte
	next := byte(1)
	for i := 0; i < 50; i++ {
		w := make([]byte, 2+2*(i%3))
		for j := range w {
			w[j] = next
			next++
		}
		r.write(w)
		want = append(want, w...)
		p := make([]byte, len(w))
		r.read(p)
		got = append(got, p...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %v\nwant %v", got, want)
	}
}
