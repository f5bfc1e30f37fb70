//go:build !386

package sipua

import (
	"net"
	"testing"
	"time"
)

// TestRTCPStamped checks that a call's RTCP socket, which the media clock
// reads only every few seconds, gives each report with the time the kernel
// received it, not the time it was read, answers errNoPacket once drained,
// and still sends.
func TestRTCPStamped(t *testing.T) {
	rtp, rtcp, err := newRTPPorts(0, 0, false).listen(net.IPv4(127, 0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()
	defer rtcp.Close()
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	// The kernel turns receive stamps on for everyone a moment after the
	// first socket asks (net_enable_timestamp defers it to a work queue);
	// until then a packet is stamped when read. Reports come seconds
	// after a call's socket opens; here the first one comes a bit later.
	time.Sleep(100 * time.Millisecond)
	sent := time.Now()
	for range 3 {
		if _, err := peer.WriteTo([]byte("receiver report"), rtcp.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // the reports wait, as between two polls
	s := rtcp.(*rtpSocket)
	buf := make([]byte, 1500)
	for i := range 3 {
		n, from, err := s.ReadFrom(buf)
		at := s.arrival()
		if err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
		if string(buf[:n]) != "receiver report" || from.String() != peer.LocalAddr().String() {
			t.Fatalf("report %d = %q from %v", i, buf[:n], from)
		}
		if at.Before(sent.Add(-time.Millisecond)) || at.After(sent.Add(200*time.Millisecond)) {
			t.Fatalf("report %d stamped %v after sending, want its arrival (not the read, 300 ms later)", i, at.Sub(sent))
		}
	}
	if _, _, err := s.ReadFrom(buf); !isNoPacket(err) {
		t.Fatalf("read of a drained socket: %v, want errNoPacket", err)
	}
	if _, err := rtcp.WriteTo([]byte("sender report"), peer.LocalAddr()); err != nil {
		t.Fatalf("RTCP send: %v", err)
	}
}
