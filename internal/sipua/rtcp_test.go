package sipua

import (
	"net"
	"testing"
	"time"

	"github.com/emiago/diago/media"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// ntpMiddle is the middle 32 bits of t's NTP time, as LSR carries an SR's.
func ntpMiddle(t time.Time) uint32 { return uint32(media.NTPTimestamp(t) >> 16) }

func TestRoundTrip(t *testing.T) {
	sr := time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)
	dlsr := uint32(1.5 * 65536) // the far end held our SR 1.5 s before answering
	tests := []struct {
		name    string
		arrival time.Time
		lsr     uint32
		want    time.Duration
		ok      bool
	}{
		{"30 ms", sr.Add(1500*time.Millisecond + 30*time.Millisecond), ntpMiddle(sr), 30 * time.Millisecond, true},
		{"under a ms", sr.Add(1500*time.Millisecond + 400*time.Microsecond), ntpMiddle(sr), 400 * time.Microsecond, true},
		{"across the NTP seconds wrap of the middle bits", time.Unix(1<<16*4+7, 0).Add(1530 * time.Millisecond), ntpMiddle(time.Unix(1<<16*4+7, 0)), 30 * time.Millisecond, true},
		{"no SR echoed", sr.Add(2 * time.Second), 0, 0, false},
		{"negative: a clock step", sr.Add(time.Second), ntpMiddle(sr), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := roundTrip(tt.arrival, tt.lsr, dlsr)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (rtt %v)", ok, tt.ok, got)
			}
			// NTP's middle 32 bits count 1/65536 s: 15 µs steps.
			if d := got - tt.want; d < -50*time.Microsecond || d > 50*time.Microsecond {
				t.Fatalf("rtt = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestTakeRTCP checks that the report block on our stream, in a sender or a
// receiver report, gives the call's remote statistics, and that blocks on
// other streams are left alone.
func TestTakeRTCP(t *testing.T) {
	const ours = 0x1234
	sr := time.Now()
	at := sr.Add(2*time.Second + 25*time.Millisecond)
	block := rtcp.ReceptionReport{SSRC: ours, TotalLost: 17, Jitter: 160, LastSenderReport: ntpMiddle(sr), Delay: 2 * 65536}
	other := rtcp.ReceptionReport{SSRC: 99, TotalLost: 1000, Jitter: 8000}
	for _, p := range []rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 7, Reports: []rtcp.ReceptionReport{other, block}},
		&rtcp.SenderReport{SSRC: 7, Reports: []rtcp.ReceptionReport{block, other}},
	} {
		var m mediaLoop
		m.takeRTCP(p, at, ours, 8000)
		r := m.remoteReport()
		if r.lost != 17 || r.jitterMs != 20 {
			t.Fatalf("%T: lost %d jitter %.1f ms, want 17 and 20 ms", p, r.lost, r.jitterMs)
		}
		if d := r.rtt - 25*time.Millisecond; d < -50*time.Microsecond || d > 50*time.Microsecond {
			t.Fatalf("%T: rtt %v, want 25ms", p, r.rtt)
		}
	}
	var m mediaLoop
	m.takeRTCP(&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{SSRC: ours, TotalLost: 0xffffff}}}, at, ours, 8000)
	if r := m.remoteReport(); r.lost != -1 || r.rtt != 0 {
		t.Fatalf("a report of -1 lost (duplicates) without LSR: lost %d rtt %v, want -1 and none", r.lost, r.rtt)
	}
}

// TestDiagoEchoesSR checks diago's side of the round trip (GOPHONE.md items
// 9 and 10): an SR handed to it with ReadRTCPPacketAt is echoed in the
// report it sends next, LSR its NTP time and DLSR the time since its
// arrival in 1/65536 s, so that the far end's roundTrip gives its true
// value. It waits for diago's 5 s RTCP tick.
func TestDiagoEchoesSR(t *testing.T) {
	t.Parallel()
	lo := net.IPv4(127, 0, 0, 1)
	rtpConn, rtcpConn, err := newRTPPorts(0, 0, false).listen(lo)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: lo})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	sess := &media.MediaSession{Codecs: []media.Codec{media.CodecAudioUlaw}}
	sess.InitWithListeners(rtpConn, rtcpConn, peer.LocalAddr().(*net.UDPAddr))
	defer sess.Close()
	rs := media.NewRTPSession(sess)
	sent := make(chan rtcp.ReceptionReport, 1)
	rs.OnWriteRTCP(func(p rtcp.Packet, _ media.RTPWriteStats) {
		if sr, ok := p.(*rtcp.SenderReport); ok && len(sr.Reports) > 0 {
			select {
			case sent <- sr.Reports[0]:
			default:
			}
		}
	})
	if err := rs.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 0xabc, PayloadType: 0}, Payload: make([]byte, 160)}); err != nil {
		t.Fatal(err)
	}
	// The far end's SR arrived 4 s ago: DLSR will be about 9 s, where
	// diago's old 1/65356 s made 24 ms of round-trip time.
	farSR := time.Now().Add(-4 * time.Second)
	rs.ReadRTCPPacketAt(&rtcp.SenderReport{SSRC: 0x5eed, NTPTime: media.NTPTimestamp(farSR)}, farSR)
	if err := rs.MonitorBackground(); err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	select {
	case rr := <-sent:
		if rr.LastSenderReport != ntpMiddle(farSR) {
			t.Fatalf("LSR %#x, want the SR's NTP time %#x", rr.LastSenderReport, ntpMiddle(farSR))
		}
		// The far end gets the report now: its RTT is ~0 (loopback).
		rtt, ok := roundTrip(time.Now(), rr.LastSenderReport, rr.Delay)
		if !ok || rtt > 5*time.Millisecond {
			t.Fatalf("the far end would compute an RTT of %v (ok %v) from DLSR %d, want ~0", rtt, ok, rr.Delay)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("diago sent no report within 10 s")
	}
}
