package sipua

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// errNoPacket is an RTP socket's answer to a read when no packet is
// waiting; it is a timeout, as a read past its deadline would be.
var errNoPacket error = noPacketError{}

type noPacketError struct{}

func (noPacketError) Error() string   { return "RTP socket: no packet waiting" }
func (noPacketError) Timeout() bool   { return true }
func (noPacketError) Temporary() bool { return true }

var _ net.Error = noPacketError{}

// isNoPacket reports whether err says the RTP socket is drained.
func isNoPacket(err error) bool { return errors.Is(err, errNoPacket) }

// rtpPorts hands out the local ports of calls' media: RTP on an even port,
// RTCP on the next (RFC 3550 §11), round-robin through the configured range
// so a port just freed is not reused at once.
type rtpPorts struct {
	min, max int // 0, 0: any ports
	// dualStack opens every socket on ::, reaching IPv4 (v4-mapped) and
	// IPv6 peers alike, whatever address diago asks for.
	dualStack bool

	mu   sync.Mutex
	next int
}

func newRTPPorts(min, max int, dualStack bool) *rtpPorts {
	if min <= 0 || max <= min {
		return &rtpPorts{dualStack: dualStack}
	}
	min += min % 2
	return &rtpPorts{min: min, max: max, next: min, dualStack: dualStack}
}

// listen opens a call's RTP socket and its RTCP socket on ip (on :: when
// dual-stack).
func (p *rtpPorts) listen(ip net.IP) (rtp, rtcp net.PacketConn, err error) {
	if p.dualStack {
		ip = net.IPv6unspecified
	}
	tries := 10
	if p.max > 0 {
		tries = max(1, (p.max-p.min+1)/2)
	}
	for range tries {
		port := p.take()
		var s *rtpSocket
		s, err = listenRTPSocket(ip, port)
		if err != nil {
			continue
		}
		var c net.PacketConn
		c, err = listenRTCPSocket(ip, s.LocalAddr().(*net.UDPAddr).Port+1)
		if err != nil {
			s.Close()
			continue
		}
		return s, c, nil
	}
	if p.max > 0 {
		return nil, nil, fmt.Errorf("no free RTP port pair in %d-%d: %w", p.min, p.max, err)
	}
	return nil, nil, fmt.Errorf("no free RTP port pair: %w", err)
}

// take returns the next RTP port to try (0: any).
func (p *rtpPorts) take() int {
	if p.max == 0 {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	port := p.next
	p.next += 2
	if p.next+1 > p.max {
		p.next = p.min
	}
	return port
}
