package sipua

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSIPSocketReadBuffer: the SIP socket asks for sipReadBuffer, and gets
// as much of it as net.core.rmem_max allows (Linux reports twice what was
// granted, for its bookkeeping).
func TestSIPSocketReadBuffer(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := listenSIPSocket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rc, err := s.(interface {
		SyscallConn() (syscall.RawConn, error)
	}).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if want := 2 * min(sipReadBuffer, rmemMax); got != want {
		t.Errorf("SO_RCVBUF = %d, want %d (rmem_max %d)", got, want, rmemMax)
	}
}
