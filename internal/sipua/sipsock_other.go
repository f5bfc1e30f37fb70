//go:build !linux || 386

package sipua

import "net"

// listenSIPSocket opens the SIP UDP socket on addr: an ordinary one here
// (sipsock_linux.go's raw system calls are for Linux).
func listenSIPSocket(network, addr string) (net.PacketConn, error) {
	c, err := net.ListenPacket(network, addr)
	if err != nil {
		return nil, err
	}
	if u, ok := c.(*net.UDPConn); ok {
		growReadBuffer(u)
	}
	return c, nil
}
