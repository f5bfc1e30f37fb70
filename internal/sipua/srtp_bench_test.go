package sipua

import (
	"net"
	"testing"
	"time"

	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
)

// memConn is a packet connection that keeps the last packet written to it
// for the next read: one call's RTP between two media sessions, without a
// socket.
type memConn struct {
	buf  []byte
	n    int
	addr *net.UDPAddr
}

func (c *memConn) ReadFrom(p []byte) (int, net.Addr, error) {
	return copy(p, c.buf[:c.n]), c.addr, nil
}
func (c *memConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	c.n = copy(c.buf, p)
	return len(p), nil
}
func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return c.addr }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// memSessions negotiates two media sessions, with SDES keys if sdes, whose
// RTP goes through one memConn: what the first writes the second reads.
func memSessions(tb testing.TB, sdes bool) (from, to *media.MediaSession) {
	tb.Helper()
	pipe := &memConn{buf: make([]byte, media.RTPBufSize), addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}}
	newSession := func() *media.MediaSession {
		s := &media.MediaSession{Codecs: []media.Codec{media.CodecAudioUlaw}, Mode: "sendrecv",
			Laddr: net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)},
			Listen: func(net.IP) (net.PacketConn, net.PacketConn, error) {
				return pipe, &memConn{buf: make([]byte, 1500), addr: pipe.addr}, nil
			}}
		if sdes {
			s.SecureRTP = 1
		}
		if err := s.Init(); err != nil {
			tb.Fatal(err)
		}
		return s
	}
	from, to = newSession(), newSession()
	if err := to.RemoteSDP(from.LocalSDP(false), false); err != nil {
		tb.Fatal(err)
	}
	if err := from.RemoteSDP(to.LocalSDP(true), true); err != nil {
		tb.Fatal(err)
	}
	if from.SRTP() != sdes || to.SRTP() != sdes {
		tb.Fatalf("SRTP %v and %v, want %v", from.SRTP(), to.SRTP(), sdes)
	}
	return from, to
}

// BenchmarkRTPPacket measures one 20 ms PCMU packet written by one media
// session and read by another (diago's WriteRTP and ReadRTP, as the media
// clock's RTPPacketWriter and drain call them), without the socket: plain
// RTP, and SRTP with SDES keys (AES-CM-128, HMAC-SHA1-80), whose
// difference is SRTP's per-packet cost (encrypting and authenticating one
// side, checking and decrypting the other).
func BenchmarkRTPPacket(b *testing.B) {
	for _, tt := range []struct {
		name string
		sdes bool
	}{{"rtp", false}, {"srtp", true}} {
		b.Run(tt.name, func(b *testing.B) {
			from, to := memSessions(b, tt.sdes)
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 0x5eed}, Payload: make([]byte, 160)}
			buf := make([]byte, media.RTPBufSize)
			var got rtp.Packet
			b.ReportAllocs()
			for b.Loop() {
				pkt.SequenceNumber++
				pkt.Timestamp += 160
				if err := from.WriteRTP(&pkt); err != nil {
					b.Fatal(err)
				}
				if _, err := to.ReadRTP(buf, &got); err != nil {
					b.Fatal(err)
				}
				if got.SequenceNumber != pkt.SequenceNumber || len(got.Payload) != 160 {
					b.Fatalf("read packet %d with %d bytes, want %d with 160", got.SequenceNumber, len(got.Payload), pkt.SequenceNumber)
				}
			}
		})
	}
}

// TestRTPPacketSRTP checks what BenchmarkRTPPacket measures: the packet on
// the wire is SRTP (its payload encrypted, a 10-byte tag added) and reads
// back as it was written.
func TestRTPPacketSRTP(t *testing.T) {
	from, to := memSessions(t, true)
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(i)
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, SSRC: 0x5eed}, Payload: payload}
	if err := from.WriteRTP(&pkt); err != nil {
		t.Fatal(err)
	}
	var wire rtp.Packet
	raw := make([]byte, media.RTPBufSize)
	n, _ := from.ReadRTPRaw(raw) // the memConn both share
	if err := wire.Unmarshal(raw[:n]); err != nil || n != 12+160+10 || string(wire.Payload[:160]) == string(payload) {
		t.Fatalf("on the wire: %d bytes (want 12+160+10), payload in clear %v, %v", n, string(wire.Payload[:min(160, len(wire.Payload))]) == string(payload), err)
	}
	var got rtp.Packet
	buf := make([]byte, media.RTPBufSize)
	if _, err := to.ReadRTP(buf, &got); err != nil || string(got.Payload) != string(payload) {
		t.Fatalf("read back: %v, payload equal %v", err, string(got.Payload) == string(payload))
	}
}
