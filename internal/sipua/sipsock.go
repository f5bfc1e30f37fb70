package sipua

import "net"

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
