package sipua

import (
	"strings"
	"testing"
	"time"
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

// TestPlanDigits checks the RFC 4733 packets a DTMF job becomes: per digit
// 120 ms of updates with a growing duration, three end packets, the RTP
// clock moved past the event by the last, digits 60 ms apart, ',' a pause.
func TestPlanDigits(t *testing.T) {
	// describe writes a plan as one letter per packet time: a (audio),
	// S (a digit's first packet), u (update), E (end packet), e (the last
	// end packet, which moves the RTP clock on).
	describe := func(plan []dtmfStep) string {
		var b strings.Builder
		for _, s := range plan {
			switch {
			case s.audio:
				b.WriteByte('a')
			case s.start:
				b.WriteByte('S')
			case s.advance != 0:
				b.WriteByte('e')
			case s.payload[1]&0x80 != 0:
				b.WriteByte('E')
			default:
				b.WriteByte('u')
			}
		}
		return b.String()
	}
	for _, tc := range []struct {
		name   string
		digits string
		pause  time.Duration
		period time.Duration
		want   string
	}{
		{"one digit, 20 ms", "5", 0, 20 * time.Millisecond, "SuuuuuEEe"},
		{"two digits, 60 ms apart", "12", 0, 20 * time.Millisecond, "SuuuuuEEe" + "aaa" + "SuuuuuEEe"},
		{"a pause", "1,2", 100 * time.Millisecond, 20 * time.Millisecond, "SuuuuuEEe" + "aaaaa" + "aaa" + "SuuuuuEEe"},
		{"40 ms packets", "#", 0, 40 * time.Millisecond, "SuuEEe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := planDigits(dtmfJob{digits: tc.digits, pause: tc.pause}, tc.period)
			if got := describe(plan); got != tc.want {
				t.Fatalf("plan %s, want %s", got, tc.want)
			}
			// The first digit's packets: event code, durations, RTP clock.
			step := samplesIn(tc.period)
			packets := packetsIn(dtmfLength, tc.period)
			event, _ := dtmfEvent(rune(tc.digits[0]))
			for p, s := range plan[:packets+dtmfEndCopies] {
				dur := int(s.payload[2])<<8 | int(s.payload[3])
				if s.payload[0] != event || dur != min(p+1, packets)*step || s.payload[1]&0x7f != 10 {
					t.Errorf("packet %d: payload % x, want event %d duration %d volume 10", p, s.payload, event, min(p+1, packets)*step)
				}
			}
			if last := plan[packets+dtmfEndCopies-1]; last.advance != uint32((packets+dtmfEndCopies)*step) {
				t.Errorf("last end packet moves the RTP clock %d, want %d", last.advance, (packets+dtmfEndCopies)*step)
			}
		})
	}
}
