package sipua

import (
	"fmt"
	"net"
	"time"
)

// sipReadBuffer is the SIP socket's receive buffer, as far as the system
// allows (net.core.rmem_max). The usual default, 208 KB, holds about a
// hundred INVITEs as the kernel counts memory: a burst of calls arriving
// faster than they are handled overflows it within a fraction of a second,
// and every datagram lost costs a retransmission later, or a call when it
// was an ACK (bench/README.md, run G).
const sipReadBuffer = 4 << 20

// growReadBuffer asks for sipReadBuffer on c. It is best effort: a system
// that refuses keeps its default, which works, only with less slack.
func growReadBuffer(c *net.UDPConn) {
	c.SetReadBuffer(sipReadBuffer)
}

// waitUDPListener waits until sipgo has the UDP listener in its connection
// pool. diago reports the network ready as soon as the socket is bound,
// before sipgo's ServeUDP adds it to the pool: a request sent in between
// (a Dial right after Start) makes sipgo open a second socket on the same
// address, which fails with "address already in use" (sipgo issue 367).
func (u *UA) waitUDPListener() error {
	// Nothing else is in the pool before the first request.
	pool := u.ua.TransportLayer().Pool("udp")
	for deadline := time.Now().Add(5 * time.Second); pool.Size() == 0; {
		if time.Now().After(deadline) {
			return fmt.Errorf("serving SIP on %s: the UDP listener did not start", u.Addr())
		}
		time.Sleep(100 * time.Microsecond) // polling interval, once at start
	}
	return nil
}
