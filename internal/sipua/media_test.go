package sipua

import (
	"testing"
	"time"
)

func TestValidDTMF(t *testing.T) {
	tests := []struct {
		digits  string
		wantErr bool
	}{
		{"12#*ABCD,", false},
		{"0123456789", false},
		{"abcd", false},
		{"1,,2", false},
		{"#", false},
		{"12x", true},
		{"1 2", true},
		{"E", true},
		{"1;2", true},
		{"١", true}, // an Arabic-Indic digit one is not a DTMF digit
		{"", true},
	}
	for _, tt := range tests {
		err := ValidDTMF(tt.digits)
		if (err != nil) != tt.wantErr {
			t.Errorf("ValidDTMF(%q) = %v, want error %v", tt.digits, err, tt.wantErr)
		}
	}
}

// RFC 4733 §3.2: events 0-9 are the digits, 10 is *, 11 is #, 12-15 are A-D.
func TestDTMFEventCodes(t *testing.T) {
	const symbols = "0123456789*#ABCD"
	for want, r := range symbols {
		ev, err := dtmfEvent(r)
		if err != nil {
			t.Errorf("dtmfEvent(%q) error %v", r, err)
			continue
		}
		if int(ev) != want {
			t.Errorf("dtmfEvent(%q) = %d, want %d", r, ev, want)
		}
		if got := dtmfDigit(ev); got != string(r) {
			t.Errorf("dtmfDigit(dtmfEvent(%q)) = %q", r, got)
		}
	}
	for _, r := range "abcd" {
		ev, err := dtmfEvent(r)
		if err != nil || dtmfDigit(ev) != string(r-'a'+'A') {
			t.Errorf("dtmfEvent(%q) = %d, %v; want the event of %q", r, ev, err, r-'a'+'A')
		}
	}
	for _, r := range ",xE e!" {
		if ev, err := dtmfEvent(r); err == nil {
			t.Errorf("dtmfEvent(%q) = %d, want an error", r, ev)
		}
	}
	// Events past D (flash hook, tones) are not digits.
	for _, ev := range []byte{16, 32, 255} {
		if got := dtmfDigit(ev); got != "" {
			t.Errorf("dtmfDigit(%d) = %q, want empty", ev, got)
		}
	}
}

// rtpPacket is one received RTP rtpPacket: sequence number, RTP timestamp and
// arrival time offset.
type rtpPacket struct {
	seq     uint16
	ts      uint32
	arrival time.Duration
}

// paced returns n packets 20 ms apart starting at seq and ts.
func pacedPackets(seq uint16, ts uint32, n int) []rtpPacket {
	out := make([]rtpPacket, n)
	for i := range out {
		out[i] = rtpPacket{seq + uint16(i), ts + uint32(i)*160, time.Duration(i) * 20 * time.Millisecond}
	}
	return out
}

func dropPackets(ps []rtpPacket, drop ...int) []rtpPacket {
	var out []rtpPacket
	for i, p := range ps {
		keep := true
		for _, d := range drop {
			if i == d {
				keep = false
			}
		}
		if keep {
			out = append(out, p)
		}
	}
	return out
}

func TestRxStats(t *testing.T) {
	base := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)
	// Arrival alternates 10 ms early and 10 ms late around the 20 ms pace.
	var wobbly []rtpPacket
	for i, p := range pacedPackets(1000, 5000, 50) {
		if i%2 == 1 {
			p.arrival += 10 * time.Millisecond
		}
		wobbly = append(wobbly, p)
	}
	tests := []struct {
		name       string
		packets    []rtpPacket
		wantLost   int64
		wantJitter func(ms float64) bool
	}{
		{"in order", pacedPackets(1000, 5000, 50), 0, func(ms float64) bool { return ms == 0 }},
		{"gap of two", dropPackets(pacedPackets(1000, 5000, 50), 10, 11), 2, func(ms float64) bool { return ms == 0 }},
		{"two separate gaps", dropPackets(pacedPackets(1000, 5000, 50), 3, 20, 21, 22), 4, func(ms float64) bool { return ms == 0 }},
		{"sequence wraps", pacedPackets(65530, 5000, 20), 0, func(ms float64) bool { return ms == 0 }},
		{"timestamp wraps", pacedPackets(1000, 1<<32-801, 20), 0, func(ms float64) bool { return ms == 0 }},
		{"gap across the wrap", dropPackets(pacedPackets(65530, 5000, 20), 5, 6, 7), 3, func(ms float64) bool { return ms == 0 }},
		{"reordered, none lost", func() []rtpPacket {
			ps := pacedPackets(1000, 5000, 10)
			// 1005 arrives in 1004's slot and 1004 in 1005's.
			ps[4].seq, ps[5].seq = ps[5].seq, ps[4].seq
			ps[4].ts, ps[5].ts = ps[5].ts, ps[4].ts
			return ps
		}(), 0, func(ms float64) bool { return ms > 0 }},
		// Each transit difference is 10 ms, so the RFC 3550 estimate
		// converges towards 10 ms from below.
		{"arrival varies", wobbly, 0, func(ms float64) bool { return ms > 5 && ms <= 10 }},
		{"one rtpPacket", pacedPackets(1, 160, 1), 0, func(ms float64) bool { return ms == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &mediaLoop{}
			for _, p := range tt.packets {
				m.rx.update(p.seq, p.ts, base.Add(p.arrival))
			}
			lost, jitter := m.stats()
			if lost != tt.wantLost {
				t.Errorf("lost = %d, want %d", lost, tt.wantLost)
			}
			if !tt.wantJitter(jitter) {
				t.Errorf("jitter = %v ms, out of range", jitter)
			}
		})
	}
}

func TestRxStatsNothingReceived(t *testing.T) {
	m := &mediaLoop{}
	if lost, jitter := m.stats(); lost != 0 || jitter != 0 {
		t.Errorf("stats() = %d, %v; want 0, 0", lost, jitter)
	}
}
