package sipua

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestRTPSocket checks the poller-free socket against an ordinary UDP peer:
// reads never block, packets and their source arrive intact both ways, and
// a closed socket says so.
func TestRTPSocket(t *testing.T) {
	for _, tc := range []struct {
		name string
		ip   net.IP
	}{
		{"IPv4", net.IPv4(127, 0, 0, 1)},
		{"IPv6", net.IPv6loopback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: tc.ip})
			if err != nil {
				t.Skipf("no %s loopback here: %v", tc.name, err)
			}
			defer peer.Close()
			s, err := listenRTPSocket(tc.ip, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			buf := make([]byte, 1500)
			if _, _, err := s.ReadFrom(buf); !isNoPacket(err) {
				t.Fatalf("read of an empty socket: %v, want errNoPacket at once", err)
			}
			var ne net.Error
			if !errors.As(errNoPacket, &ne) || !ne.Timeout() {
				t.Fatal("errNoPacket is not a net.Error timeout")
			}

			// peer → socket, more packets from one address than one
			// kernel read takes, then drained: all of them, in order.
			to := s.LocalAddr().(*net.UDPAddr)
			msgs := []string{"first", "second", "2b", "2c", "2d"}
			for _, msg := range msgs {
				if _, err := peer.WriteTo([]byte(msg), to); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range msgs {
				n, from := readSoon(t, s, buf)
				if got := string(buf[:n]); got != want {
					t.Errorf("read %q, want %q", got, want)
				}
				if from.String() != peer.LocalAddr().String() {
					t.Errorf("from %v, want %v", from, peer.LocalAddr())
				}
			}
			if _, _, err := s.ReadFrom(buf); !isNoPacket(err) {
				t.Errorf("read after draining: %v, want errNoPacket", err)
			}
			// A packet that arrives after a drain found the socket empty
			// is read by the next drain, not lost.
			if _, err := peer.WriteTo([]byte("third"), to); err != nil {
				t.Fatal(err)
			}
			if n, _ := readSoon(t, s, buf); string(buf[:n]) != "third" {
				t.Fatalf("read %q, want third", buf[:n])
			}
			if _, err := peer.WriteTo([]byte("fourth"), to); err != nil {
				t.Fatal(err)
			}
			if n, _ := readSoon(t, s, buf); string(buf[:n]) != "fourth" {
				t.Fatalf("read %q, want fourth", buf[:n])
			}

			// socket → peer.
			payload := bytes.Repeat([]byte{0x80}, 172)
			if n, err := s.WriteTo(payload, peer.LocalAddr()); err != nil || n != len(payload) {
				t.Fatalf("WriteTo = %d, %v", n, err)
			}
			peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := peer.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:n], payload) || from.String() != to.String() {
				t.Errorf("peer got %d bytes from %v, want %d from %v", n, from, len(payload), to)
			}

			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
				t.Errorf("read after Close: %v, want net.ErrClosed", err)
			}
			if _, err := s.WriteTo(payload, peer.LocalAddr()); !errors.Is(err, net.ErrClosed) {
				t.Errorf("write after Close: %v, want net.ErrClosed", err)
			}
		})
	}
}

// readSoon reads one packet, waiting briefly for loopback delivery.
func readSoon(t *testing.T, s *rtpSocket, buf []byte) (int, net.Addr) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, from, err := s.ReadFrom(buf)
		if err == nil {
			return n, from
		}
		if !isNoPacket(err) || time.Now().After(deadline) {
			t.Fatalf("reading: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRTPPorts(t *testing.T) {
	min := testutil.FreePortRange(t, 6) // even
	for _, tc := range []struct {
		name     string
		min, max int
		want     []int // RTP ports of successive calls
	}{
		{"even start", min, min + 3, []int{min, min + 2, min}},
		{"odd start rounds up", min + 1, min + 5, []int{min + 2, min + 4, min + 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRTPPorts(tc.min, tc.max, false)
			for i, want := range tc.want {
				rtp, rtcp, err := p.listen(net.IPv4(127, 0, 0, 1))
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				got := rtp.LocalAddr().(*net.UDPAddr).Port
				gotRTCP := rtcp.LocalAddr().(*net.UDPAddr).Port
				rtp.Close()
				rtcp.Close()
				if got != want || gotRTCP != want+1 {
					t.Errorf("call %d: RTP %d RTCP %d, want %d and %d", i, got, gotRTCP, want, want+1)
				}
			}
		})
	}

	t.Run("range in use", func(t *testing.T) {
		p := newRTPPorts(min, min+1, false)
		rtp, rtcp, err := p.listen(net.IPv4(127, 0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		defer rtp.Close()
		defer rtcp.Close()
		_, _, err = p.listen(net.IPv4(127, 0, 0, 1))
		if err == nil || !strings.Contains(err.Error(), "no free RTP port pair") {
			t.Fatalf("second call in a one-pair range: %v, want no free RTP port pair", err)
		}
	})

	t.Run("any port", func(t *testing.T) {
		rtp, rtcp, err := newRTPPorts(0, 0, false).listen(net.IPv4(127, 0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		defer rtp.Close()
		defer rtcp.Close()
		if a, b := rtp.LocalAddr().(*net.UDPAddr).Port, rtcp.LocalAddr().(*net.UDPAddr).Port; b != a+1 {
			t.Errorf("RTP %d RTCP %d: RTCP is not the next port", a, b)
		}
	})
}

// TestRTPPortsDualStack: dual-stack, a call's RTP socket is on :: whatever
// address diago asks for, and takes packets from IPv4 and IPv6 peers and
// answers each at its own address.
func TestRTPPortsDualStack(t *testing.T) {
	rtp, rtcp, err := newRTPPorts(0, 0, true).listen(net.ParseIP("fd00::2"))
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()
	defer rtcp.Close()
	laddr := rtp.LocalAddr().(*net.UDPAddr)
	if !laddr.IP.Equal(net.IPv6unspecified) {
		t.Fatalf("RTP socket on %v, want [::]", laddr)
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		if _, err := peer.WriteTo([]byte("ping"), &net.UDPAddr{IP: net.ParseIP(ip), Port: laddr.Port}); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		var from net.Addr
		for deadline := time.Now().Add(2 * time.Second); ; {
			var n int
			n, from, err = rtp.ReadFrom(buf)
			if err == nil && string(buf[:n]) == "ping" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("from %s: nothing received (%v)", ip, err)
			}
			time.Sleep(time.Millisecond)
		}
		if !from.(*net.UDPAddr).IP.Equal(net.ParseIP(ip)) {
			t.Errorf("packet from %s read as from %v", ip, from)
		}
		if _, err := rtp.WriteTo([]byte("pong"), from); err != nil {
			t.Fatalf("answering %v: %v", from, err)
		}
		peer.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, _, err := peer.ReadFrom(buf); err != nil || string(buf[:n]) != "pong" {
			t.Errorf("%s got %q, %v; want pong", ip, buf[:n], err)
		}
	}
}
