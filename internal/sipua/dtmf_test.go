package sipua

import (
	"strings"
	"testing"
)

func TestDTMFDetector(t *testing.T) {
	type pkt struct {
		ts    uint32
		event byte
		end   bool
	}
	ev := func(ts uint32, event byte, end bool) pkt { return pkt{ts, event, end} }
	tests := []struct {
		name string
		pkts []pkt
		want string
	}{
		{"one digit with three end packets", []pkt{ev(100, 1, false), ev(100, 1, false), ev(100, 1, true), ev(100, 1, true), ev(100, 1, true)}, "1"},
		{"long-held digit: many updates", append(repeat(ev(200, 5, false), 100), ev(200, 5, true)), "5"},
		{"retransmitted end packets after the next digit started", []pkt{ev(1, 1, true), ev(2, 2, false), ev(1, 1, true), ev(2, 2, true)}, "12"},
		{"same digit twice is two events", []pkt{ev(10, 7, false), ev(10, 7, true), ev(900, 7, false), ev(900, 7, true)}, "77"},
		{"end packet only (start lost) still counts", []pkt{ev(5, 11, true), ev(5, 11, true)}, "#"},
		{"all symbols", []pkt{ev(1, 0, false), ev(2, 9, false), ev(3, 10, false), ev(4, 11, false), ev(5, 12, false), ev(6, 15, false)}, "09*#AD"},
		{"non-DTMF event ignored", []pkt{ev(1, 16, false), ev(2, 3, false)}, "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d dtmfDetector
			var got strings.Builder
			for _, p := range tt.pkts {
				payload := []byte{p.event, 10, 0, 160}
				if p.end {
					payload[1] |= 0x80
				}
				if digit, ok := d.feed(p.ts, payload); ok {
					got.WriteString(digit)
				}
			}
			if got.String() != tt.want {
				t.Errorf("digits = %q, want %q", got.String(), tt.want)
			}
		})
	}
	var d dtmfDetector
	if _, ok := d.feed(1, []byte{1, 2}); ok {
		t.Error("a 2-byte payload gave a digit")
	}
}

func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}
