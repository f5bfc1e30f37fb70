//go:build !linux

package sipua

import (
	"net"
	"time"
)

// rtpSocket is a call's RTP socket whose reads never block, as the media
// clock drains it once per packet time. Outside Linux it is a net.UDPConn
// read by a goroutine into a queue (on Linux, a socket outside Go's poller).
type rtpSocket struct {
	*net.UDPConn
	queue chan rtpPacket
	done  chan struct{}
}

type rtpPacket struct {
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
	s := &rtpSocket{UDPConn: c, queue: make(chan rtpPacket, rtpQueueLen), done: make(chan struct{})}
	go s.read()
	return s, nil
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
		case s.queue <- rtpPacket{b[:n], from}:
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
