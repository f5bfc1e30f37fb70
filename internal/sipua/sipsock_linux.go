//go:build !386

package sipua

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// sipSocket is the SIP UDP socket: a *net.UDPConn, in Go's network poller
// like any other, whose reads and writes are raw non-blocking system calls.
// A syscall the runtime is told of wakes its monitor thread (sysmon) whenever
// every P was idle, and sysmon then polls every 20 µs for a millisecond or
// more; at a few SIP messages per call that was a sixth of the daemon's CPU
// at 50 calls/s. A non-blocking recvfrom or sendto cannot block, so the
// runtime need not be told; waiting for the socket stays the poller's job.
type sipSocket struct {
	*net.UDPConn
	rc   syscall.RawConn
	ipv4 bool
}

// listenSIPSocket opens the SIP UDP socket on addr.
func listenSIPSocket(network, addr string) (net.PacketConn, error) {
	la, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP(network, la)
	if err != nil {
		return nil, err
	}
	growReadBuffer(c)
	rc, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	ipv4 := c.LocalAddr().(*net.UDPAddr).IP.To4() != nil
	return &sipSocket{UDPConn: c, rc: rc, ipv4: ipv4}, nil
}

// ReadFrom waits for the next datagram and reads it into b.
func (s *sipSocket) ReadFrom(b []byte) (int, net.Addr, error) {
	if len(b) == 0 {
		return 0, nil, io.ErrShortBuffer
	}
	var (
		n     uintptr
		errno syscall.Errno
		from  syscall.RawSockaddrAny
	)
	err := s.rc.Read(func(fd uintptr) bool {
		for {
			fromLen := uint32(unsafe.Sizeof(from))
			n, _, errno = syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
				syscall.MSG_DONTWAIT, uintptr(unsafe.Pointer(&from)), uintptr(unsafe.Pointer(&fromLen)))
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN
			}
		}
	})
	if err == nil && errno != 0 {
		err = os.NewSyscallError("recvfrom", errno)
	}
	if err != nil {
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Addr: s.LocalAddr(), Err: err}
	}
	return int(n), udpAddrOf(&from), nil
}

// WriteTo sends b to addr, a *net.UDPAddr.
func (s *sipSocket) WriteTo(b []byte, addr net.Addr) (int, error) {
	to, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: fmt.Errorf("cannot send to %T", addr)}
	}
	raw, rawLen, err := rawSockaddrOf(to, s.ipv4)
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: err}
	}
	var (
		n     int
		errno syscall.Errno
	)
	err = s.rc.Write(func(fd uintptr) bool {
		n, errno = rawSendto(int(fd), b, &raw, rawLen)
		return errno != syscall.EAGAIN
	})
	if err == nil && errno != 0 {
		err = os.NewSyscallError("sendto", errno)
	}
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: err}
	}
	return n, nil
}
