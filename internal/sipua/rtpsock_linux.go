//go:build !386

// linux/386 has no sendto system call of its own (it goes through
// socketcall): it uses rtpsock_other.go.

package sipua

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// rtpReadBatch is how many packets one recvmmsg reads at most, and
// spareSlot the room for each beyond the first (an Ethernet MTU).
const (
	rtpReadBatch = 3
	spareSlot    = 1500
)

// rtpSocket is a call's RTP socket, outside Go's network poller: reads
// never block (the media clock drains the socket once per packet time), so a
// received packet costs part of one recvmmsg and wakes no thread or
// goroutine, and a sent one one sendto. Both are made with MSG_DONTWAIT and
// as raw syscalls: they cannot block, so the runtime need not be told (a
// syscall it is told of and that outlasts 20 µs, as a loopback send that
// delivers the packet can, makes it hand the P to another thread).
type rtpSocket struct {
	mu    sync.Mutex // serialises the syscalls with Close, which frees fd
	fd    int        // -1 once closed
	laddr *net.UDPAddr
	// An RTCP socket's reads are single, stamped with the kernel's arrival
	// time (readStamped), kept in stamp for the reader.
	stamped bool
	stamp   time.Time

	// One recvmmsg reads up to rtpReadBatch packets: the first into the
	// caller's buffer, the others into spare, kept for the next ReadFroms.
	// Fewer than rtpReadBatch means the socket was empty, so the ReadFrom
	// after the last of them answers errNoPacket without asking the kernel
	// again: at 50 packets a second a drain costs one syscall, not a read and
	// a failing read, and so does a drain of two packets (a peer catching up
	// after a late packet sends them back to back).
	msgs    [rtpReadBatch]mmsghdr
	iov     [rtpReadBatch]syscall.Iovec
	names   [rtpReadBatch]syscall.RawSockaddrAny
	spare   []byte // rtpReadBatch-1 slots of spareSlot bytes; msgs[i+1] and names[i+1] describe slot i
	queued  int    // slots of spare holding packets
	next    int    // the slot ReadFrom hands out next
	filled  int    // slots the last recvmmsg filled
	drained bool   // the last recvmmsg emptied the socket

	// The last peer seen or written to: steady RTP comes from and goes to
	// one address, so it is converted once, not per packet.
	from     *net.UDPAddr
	fromRaw  syscall.RawSockaddrAny
	to       net.UDPAddr
	toRaw    syscall.RawSockaddrAny
	toRawLen uint32
}

// netPort reads a port field of a kernel sockaddr, which holds it in
// network byte order whatever the host's.
func netPort(p *uint16) int {
	b := (*[2]byte)(unsafe.Pointer(p))
	return int(b[0])<<8 | int(b[1])
}

// setNetPort writes port into a kernel sockaddr's port field.
func setNetPort(p *uint16, port int) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

// mmsghdr is the kernel's struct mmsghdr (Go pads it to the alignment of
// Msghdr, as C does, on 32- and 64-bit platforms alike).
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
}

// listenRTPSocket opens a UDP socket on ip:port (port 0: any). Like every
// system call on the socket, its socket, bind, getsockname and close are
// raw: none of them blocks on a UDP socket, and one the runtime is told of
// would wake its monitor thread (see sipSocket).
func listenRTPSocket(ip net.IP, port int) (*rtpSocket, error) {
	ipv4 := ip.To4() != nil
	sa, saLen, err := rawSockaddrOf(&net.UDPAddr{IP: ip, Port: port}, ipv4)
	if err != nil {
		return nil, fmt.Errorf("RTP socket: %w", err)
	}
	family := syscall.AF_INET6
	if ipv4 {
		family = syscall.AF_INET
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if !ipv4 && ip.IsUnspecified() {
		// Dual-stack: IPv4 peers too, as v4-mapped addresses, whatever
		// the host's net.ipv6.bindv6only says.
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 0); err != nil {
			rawClose(fd)
			return nil, os.NewSyscallError("setsockopt IPV6_V6ONLY", err)
		}
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(saLen)); errno != 0 {
		rawClose(fd)
		return nil, os.NewSyscallError("bind", errno)
	}
	var local syscall.RawSockaddrAny
	localLen := uint32(unsafe.Sizeof(local))
	if _, _, errno := syscall.RawSyscall(syscall.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&local)), uintptr(unsafe.Pointer(&localLen))); errno != 0 {
		rawClose(fd)
		return nil, os.NewSyscallError("getsockname", errno)
	}
	return &rtpSocket{fd: fd, laddr: udpAddrOf(&local)}, nil
}

// listenRTCPSocket opens a call's RTCP socket on ip:port. It is a socket
// of the same kind, which the kernel stamps with each packet's arrival
// time: the media clock reads it (through diago, which decrypts SRTCP) only
// every rtcpPollEvery packet times and asks arrival, so diago's RTCP reader, which stops at the first read that
// finds nothing, costs no goroutine for the length of the call, and the
// reports' round-trip times are still to the microsecond. diago sends its
// reports through it.
func listenRTCPSocket(ip net.IP, port int) (net.PacketConn, error) {
	s, err := listenRTPSocket(ip, port)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetsockoptInt(s.fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		rawClose(s.fd)
		return nil, os.NewSyscallError("setsockopt SO_TIMESTAMPNS", err)
	}
	s.stamped = true
	return s, nil
}

// readStamped reads the next waiting packet into b and keeps the time the
// kernel received it (SO_TIMESTAMPNS; the read's time if the kernel gave
// none) in s.stamp, or answers errNoPacket at once. s.mu is held.
func (s *rtpSocket) readStamped(b []byte) (int, net.Addr, error) {
	if len(b) == 0 {
		return 0, nil, io.ErrShortBuffer
	}
	var oob [64]byte
	var name syscall.RawSockaddrAny
	iov := syscall.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	msg := syscall.Msghdr{Name: (*byte)(unsafe.Pointer(&name)), Namelen: uint32(unsafe.Sizeof(name)), Iov: &iov, Iovlen: 1, Control: &oob[0]}
	msg.SetControllen(len(oob))
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&msg)), syscall.MSG_DONTWAIT)
		switch errno {
		case 0:
			s.stamp = stampOf(oob[:msg.Controllen])
			return int(n), s.peer(&name), nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, nil, errNoPacket
		}
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Addr: s.laddr, Err: os.NewSyscallError("recvmsg", errno)}
	}
}

// arrival returns when the kernel received the packet read last.
func (s *rtpSocket) arrival() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stamp
}

// stampOf returns the SO_TIMESTAMPNS time in a packet's control messages,
// or now.
func stampOf(oob []byte) time.Time {
	msgs, _ := syscall.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(int64(ts.Sec), int64(ts.Nsec))
		}
	}
	return time.Now()
}

func rawClose(fd int) error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
	if errno != 0 {
		return os.NewSyscallError("close", errno)
	}
	return nil
}

// ReadFrom returns the next waiting packet, or errNoPacket at once if there
// is none.
func (s *rtpSocket) ReadFrom(b []byte) (int, net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return 0, nil, net.ErrClosed
	}
	if s.stamped {
		return s.readStamped(b)
	}
	if s.next < s.queued {
		i := s.next
		s.next++
		n := copy(b, s.spare[i*spareSlot:i*spareSlot+int(s.msgs[i+1].len)])
		return n, s.peer(&s.names[i+1]), nil
	}
	s.next, s.queued = 0, 0
	if s.drained {
		s.drained = false
		return 0, nil, errNoPacket
	}
	if len(b) == 0 {
		return 0, nil, io.ErrShortBuffer
	}
	if s.spare == nil {
		s.layOut()
	}
	// Slot 0 reads into b; the kernel wrote the name length of each slot
	// the last read filled, which is all it changes.
	s.iov[0] = syscall.Iovec{Base: &b[0]}
	s.iov[0].SetLen(len(b))
	s.msgs[0].hdr.Iov = &s.iov[0]
	for i := range s.filled {
		s.msgs[i].hdr.Namelen = uint32(unsafe.Sizeof(s.names[i]))
	}
	n, errno := s.recvmmsg()
	s.iov[0], s.msgs[0].hdr.Iov = syscall.Iovec{}, nil // do not keep the caller's buffer
	switch errno {
	case 0:
	case syscall.EAGAIN:
		n = 0
	default:
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Addr: s.laddr, Err: os.NewSyscallError("recvmmsg", errno)}
	}
	s.filled = n
	if n == 0 {
		return 0, nil, errNoPacket
	}
	s.drained = n < rtpReadBatch
	s.queued = n - 1
	return int(s.msgs[0].len), s.peer(&s.names[0]), nil
}

// recvmmsg reads into the slots without blocking, retrying when a signal
// interrupts it.
func (s *rtpSocket) recvmmsg() (int, syscall.Errno) {
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0])), rtpReadBatch,
			syscall.MSG_DONTWAIT, 0, 0)
		if errno != syscall.EINTR {
			return int(n), errno
		}
	}
}

// layOut sets up the read slots once: each reads one packet and its
// sender's address, slot 0 into the caller's buffer (set per read), the
// others into spare. Rewriting them all at every read would touch a few
// hundred bytes of memory that, a packet time and many calls later, is no
// longer in the CPU's cache.
func (s *rtpSocket) layOut() {
	s.spare = make([]byte, (rtpReadBatch-1)*spareSlot)
	for i := range rtpReadBatch {
		if i > 0 {
			s.iov[i] = syscall.Iovec{Base: &s.spare[(i-1)*spareSlot]}
			s.iov[i].SetLen(spareSlot)
			s.msgs[i].hdr.Iov = &s.iov[i]
		}
		s.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&s.names[i]))
		s.msgs[i].hdr.Namelen = uint32(unsafe.Sizeof(s.names[i]))
		s.msgs[i].hdr.Iovlen = 1
	}
}

// peer returns the address a packet came from.
func (s *rtpSocket) peer(raw *syscall.RawSockaddrAny) *net.UDPAddr {
	if s.from != nil && *raw == s.fromRaw {
		return s.from
	}
	s.fromRaw = *raw
	s.from = udpAddrOf(raw)
	return s.from
}

// udpAddrOf converts a kernel socket address to a new *net.UDPAddr.
func udpAddrOf(raw *syscall.RawSockaddrAny) *net.UDPAddr {
	switch raw.Addr.Family {
	case syscall.AF_INET:
		a := (*syscall.RawSockaddrInet4)(unsafe.Pointer(raw))
		return &net.UDPAddr{IP: net.IP(a.Addr[:]).To16(), Port: netPort(&a.Port)}
	case syscall.AF_INET6:
		a := (*syscall.RawSockaddrInet6)(unsafe.Pointer(raw))
		return &net.UDPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: netPort(&a.Port)}
	}
	return &net.UDPAddr{}
}

// WriteTo sends b to addr (a *net.UDPAddr) without blocking; a packet the
// kernel has no room for is dropped, as a late one would be.
func (s *rtpSocket) WriteTo(b []byte, addr net.Addr) (int, error) {
	to, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("RTP socket: cannot send to %T", addr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	if s.toRawLen == 0 || to.Port != s.to.Port || !to.IP.Equal(s.to.IP) {
		if err := s.setTo(to); err != nil {
			return 0, err
		}
	}
	n, errno := rawSendto(s.fd, b, &s.toRaw, s.toRawLen)
	if errno != 0 {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: to, Err: os.NewSyscallError("sendto", errno)}
	}
	return n, nil
}

// rawSendto sends b to the kernel address raw (rawLen bytes of it) without
// blocking, retrying when a signal interrupts it.
func rawSendto(fd int, b []byte, raw *syscall.RawSockaddrAny, rawLen uint32) (int, syscall.Errno) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)),
			syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, uintptr(unsafe.Pointer(raw)), uintptr(rawLen))
		if errno != syscall.EINTR {
			return int(n), errno
		}
	}
}

// setTo converts the destination to the kernel's form.
func (s *rtpSocket) setTo(to *net.UDPAddr) error {
	s.to = net.UDPAddr{IP: append(net.IP(nil), to.IP...), Port: to.Port}
	var err error
	s.toRaw, s.toRawLen, err = rawSockaddrOf(to, s.laddr.IP.To4() != nil)
	if err != nil {
		return fmt.Errorf("RTP socket: %w", err)
	}
	return nil
}

// rawSockaddrOf converts to, a peer or the address to bind, to the kernel's
// form for a socket of the family ipv4 says (an IPv4 address on an IPv6
// socket is mapped).
func rawSockaddrOf(to *net.UDPAddr, ipv4 bool) (syscall.RawSockaddrAny, uint32, error) {
	var raw syscall.RawSockaddrAny
	if ip4 := to.IP.To4(); ip4 != nil && ipv4 {
		a := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&raw))
		a.Family = syscall.AF_INET
		setNetPort(&a.Port, to.Port)
		copy(a.Addr[:], ip4)
		return raw, syscall.SizeofSockaddrInet4, nil
	}
	if ipv4 {
		return raw, 0, fmt.Errorf("IPv4 socket cannot send to %v", to)
	}
	if to.IP.To16() == nil {
		return raw, 0, fmt.Errorf("bad address %v", to)
	}
	a := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&raw))
	a.Family = syscall.AF_INET6
	setNetPort(&a.Port, to.Port)
	copy(a.Addr[:], to.IP.To16())
	return raw, syscall.SizeofSockaddrInet6, nil
}

// Close closes the socket; later reads and writes fail with net.ErrClosed.
func (s *rtpSocket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return net.ErrClosed
	}
	err := rawClose(s.fd)
	s.fd = -1
	return err
}

// LocalAddr returns the address the socket is bound to.
func (s *rtpSocket) LocalAddr() net.Addr { return s.laddr }

// SetDeadline does nothing: the socket never blocks.
func (s *rtpSocket) SetDeadline(time.Time) error { return nil }

// SetReadDeadline does nothing: reads never block.
func (s *rtpSocket) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline does nothing: writes never block.
func (s *rtpSocket) SetWriteDeadline(time.Time) error { return nil }
