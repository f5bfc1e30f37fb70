//go:build !386

package sipua

import (
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestRTCPDrained checks that a call's RTCP socket, which nothing else reads
// on Linux, is emptied by its RTP socket's reads, so received reports do
// not pile up in the kernel for the length of a call, and that it still
// sends.
func TestRTCPDrained(t *testing.T) {
	rtp, rtcp, err := newRTPPorts(0, 0).listen(net.IPv4(127, 0, 0, 1))
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
	for range 3 {
		if _, err := peer.WriteTo([]byte("receiver report"), rtcp.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	s := rtp.(*rtpSocket)
	for deadline := time.Now().Add(5 * time.Second); waiting(t, s.rtcp) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the reports never reached the RTCP socket")
		}
		time.Sleep(time.Millisecond)
	}

	buf := make([]byte, 1500)
	for i := range rtcpDrainEvery - 1 {
		if _, _, err := s.ReadFrom(buf); !isNoPacket(err) {
			t.Fatalf("RTP read %d: %v, want errNoPacket", i, err)
		}
	}
	if waiting(t, s.rtcp) == 0 {
		t.Fatalf("RTCP drained after %d empty RTP reads, want %d", rtcpDrainEvery-1, rtcpDrainEvery)
	}
	s.ReadFrom(buf)
	if n := waiting(t, s.rtcp); n != 0 {
		t.Fatalf("%d bytes still wait on the RTCP socket after %d empty RTP reads", n, rtcpDrainEvery)
	}

	if _, err := rtcp.WriteTo([]byte("sender report"), peer.LocalAddr()); err != nil {
		t.Fatalf("RTCP send: %v", err)
	}
}

// waiting returns the size of the next datagram in s's receive queue, 0 if
// there is none.
func waiting(t *testing.T, s *rtpSocket) int {
	t.Helper()
	var n int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(s.fd), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatalf("FIONREAD: %v", errno)
	}
	return int(n)
}
