//go:build !linux || 386

package sipua

import (
	"net"
	"time"
)

// rtpSocket is a call's RTP socket whose reads never block, as the media
// clock drains it once per packet time. Here (not Linux, or linux/386) it
// is a net.UDPConn read by a goroutine into a queue; on Linux it is a
// socket outside Go's poller (rtpsock_linux.go).
type rtpSocket struct {
	*net.UDPConn
	queue chan queuedPacket
	done  chan struct{}
}

type queuedPacket struct {
	b    []byte
	from net.Addr
}

// rtpQueueLen is how many packets wait between two drains (60 ms at 20 ms
// packets, with room for bursts); more are dropped, as a late packet would be.
const rtpQueueLen = 16

func listenRTPSocket(ip net.IP, port int) (*rtpSocket, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, err
	}
	s := &rtpSocket{UDPConn: c, queue: make(chan queuedPacket, rtpQueueLen), done: make(chan struct{})}
	go s.read()
	return s, nil
}

// listenRTCPSocket opens a call's RTCP socket on ip:port, an ordinary one
// here: diago reads it, and gophone takes the reports from diago.
func listenRTCPSocket(ip net.IP, port int) (net.PacketConn, error) {
	return net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
}

func (s *rtpSocket) read() {
	defer close(s.done)
	for {
		b := make([]byte, 1500)
		n, from, err := s.UDPConn.ReadFrom(b)
		if err != nil {
			return
		}
		select {
		case s.queue <- queuedPacket{b[:n], from}:
		default:
		}
	}
}

// ReadFrom returns the next waiting packet, or errNoPacket at once if there
// is none.
func (s *rtpSocket) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-s.queue:
		return copy(b, p.b), p.from, nil
	case <-s.done:
		return 0, nil, net.ErrClosed
	default:
		return 0, nil, errNoPacket
	}
}

// SetDeadline does nothing: the socket never blocks.
func (s *rtpSocket) SetDeadline(time.Time) error { return nil }

// SetReadDeadline does nothing: reads never block.
func (s *rtpSocket) SetReadDeadline(time.Time) error { return nil }
