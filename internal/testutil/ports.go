package testutil

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
)

// handedOut remembers the ports this process gave out to tests still
// running, so two tests running in parallel never get the same port from
// the helpers below even though each port is closed again before it is
// returned. A test's ports go back when it ends (its daemons, started after
// the ports were taken, are stopped by then); kept for the whole run, they
// fragmented the range so much that late tests found no long run of free
// ports.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: make(map[int]bool)}

// claim records ports as handed out to t until it ends and reports whether
// they were all still free in this process's books.
func claim(t testing.TB, ports ...int) bool {
	if !take(ports...) {
		return false
	}
	t.Cleanup(func() {
		handedOut.Lock()
		defer handedOut.Unlock()
		for _, p := range ports {
			delete(handedOut.ports, p)
		}
	})
	return true
}

// take records ports as handed out, if none of them is.
func take(ports ...int) bool {
	handedOut.Lock()
	defer handedOut.Unlock()
	for _, p := range ports {
		if handedOut.ports[p] {
			return false
		}
	}
	for _, p := range ports {
		handedOut.ports[p] = true
	}
	return true
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testutil: free UDP port: %v", err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if claim(t, port) {
			return port
		}
	}
	t.Fatal("testutil: no free UDP port after 100 tries")
	return 0
}

// FreePort returns a port on 127.0.0.1 that is free for both UDP and TCP,
// as a SIP listener needs.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testutil: free TCP port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		c, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err != nil {
			continue
		}
		c.Close()
		if claim(t, port) {
			return port
		}
	}
	t.Fatal("testutil: no port free for both UDP and TCP after 100 tries")
	return 0
}

// FreePortRange returns the first of n consecutive UDP ports on 127.0.0.1
// that are all free, starting at an even port as RTP wants. The range is
// picked below the kernel's ephemeral range (20000–31999) so that ports the
// kernel hands out to other sockets do not land in it.
func FreePortRange(t testing.TB, n int) int {
	t.Helper()
	if n < 1 {
		t.Fatalf("testutil: FreePortRange(%d)", n)
	}
	for range 200 {
		start := 20000 + 2*rand.IntN(6000-n)
		ports := make([]int, n)
		for i := range ports {
			ports[i] = start + i
		}
		if err := udpFree(ports); err != nil {
			continue
		}
		if claim(t, ports...) {
			return start
		}
	}
	t.Fatalf("testutil: no %d consecutive free UDP ports", n)
	return 0
}

// udpFree binds every port in ports at once and releases them again.
func udpFree(ports []int) error {
	var conns []net.PacketConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, p := range ports {
		c, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	if len(conns) != len(ports) {
		return errors.New("short")
	}
	return nil
}

// FreePortPair returns a port free for UDP and TCP whose next port is free
// for TCP too, both claimed: a SIP listener with TLS on the port after it,
// as baresip opens.
func FreePortPair(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := FreePort(t)
		l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		if err != nil {
			continue
		}
		l.Close()
		if claim(t, port+1) {
			return port
		}
	}
	t.Fatal("testutil: no two consecutive free SIP ports after 100 tries")
	return 0
}
