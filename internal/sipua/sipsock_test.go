package sipua

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

// TestSIPSocket checks the SIP UDP socket against an ordinary UDP peer:
// datagrams and their source arrive intact both ways, a read waits for a
// datagram, and Close ends a waiting read with net.ErrClosed (sipgo's reader
// stops quietly on that error only).
func TestSIPSocket(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		peer       string // the peer's address, and the host it reaches the socket on
	}{
		{"IPv4", "127.0.0.1:0", "127.0.0.1"},
		{"IPv6", "[::1]:0", "::1"},
		// A wildcard address gets a dual-stack IPv6 socket, which reaches
		// IPv4 peers through mapped addresses.
		{"wildcard, IPv4 peer", "0.0.0.0:0", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := listenSIPSocket("udp", tc.addr)
			if err != nil {
				t.Skipf("no %s here: %v", tc.name, err)
			}
			defer s.Close()
			peer, err := net.ListenPacket("udp", net.JoinHostPort(tc.peer, "0"))
			if err != nil {
				t.Skipf("no %s loopback here: %v", tc.peer, err)
			}
			defer peer.Close()
			target := &net.UDPAddr{IP: net.ParseIP(tc.peer), Port: s.LocalAddr().(*net.UDPAddr).Port}

			type read struct {
				b    []byte
				from net.Addr
				err  error
			}
			reads := make(chan read, 1)
			readOne := func() {
				buf := make([]byte, 65535)
				n, from, err := s.ReadFrom(buf)
				reads <- read{buf[:n], from, err}
			}
			go readOne() // waits: nothing has been sent yet
			big := bytes.Repeat([]byte("v"), 60000)
			for _, msg := range [][]byte{[]byte("OPTIONS sip:a@b SIP/2.0\r\n\r\n"), big} {
				if _, err := peer.WriteTo(msg, target); err != nil {
					t.Fatal(err)
				}
				select {
				case r := <-reads:
					if r.err != nil || !bytes.Equal(r.b, msg) || r.from.String() != peer.LocalAddr().String() {
						t.Fatalf("read %d bytes from %v (%v), want %d from %v", len(r.b), r.from, r.err, len(msg), peer.LocalAddr())
					}
				case <-time.After(5 * time.Second):
					t.Fatal("read did not return the datagram")
				}
				go readOne()
			}

			if n, err := s.WriteTo(big, peer.LocalAddr()); err != nil || n != len(big) {
				t.Fatalf("WriteTo = %d, %v", n, err)
			}
			buf := make([]byte, 65535)
			peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := peer.ReadFrom(buf)
			if err != nil || !bytes.Equal(buf[:n], big) || from.String() != target.String() {
				t.Fatalf("peer read %d bytes from %v (%v), want %d from %v", n, from, err, len(big), target)
			}
			if _, err := s.WriteTo(big, &net.TCPAddr{IP: net.IPv6loopback, Port: 5060}); err == nil {
				t.Error("WriteTo a TCP address: no error")
			}

			s.Close()
			select {
			case r := <-reads:
				if !errors.Is(r.err, net.ErrClosed) {
					t.Errorf("waiting read after Close: %v, want net.ErrClosed", r.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not end the waiting read")
			}
		})
	}
}
