package integration

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// rawCaller is a SIP caller on a bare UDP socket: it sends what the test
// tells it to and nothing else (no ACK, no retransmission), so a test can
// play a caller that misbehaves.
type rawCaller struct {
	conn   net.PacketConn
	dst    net.Addr
	me     string // our address
	daemon string // the daemon's SIP address
	callID string
}

func newRawCaller(t *testing.T, d *testutil.Daemon, callID string) *rawCaller {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	dst, err := net.ResolveUDPAddr("udp4", d.SIPAddr())
	if err != nil {
		t.Fatal(err)
	}
	return &rawCaller{conn: conn, dst: dst, me: conn.LocalAddr().String(), daemon: d.SIPAddr(), callID: callID}
}

// head is the start of a request of the INVITE transaction (INVITE or its
// ACK) up to and including Max-Forwards; toTag is the To tag, if any.
func (r *rawCaller) head(method, toTag string) string {
	if toTag != "" {
		toTag = ";tag=" + toTag
	}
	return fmt.Sprintf("%s sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%s\r\n"+
		"From: <sip:tester@127.0.0.1>;tag=t1\r\nTo: <sip:1001@127.0.0.1>%s\r\nCall-ID: %s\r\n"+
		"CSeq: 1 %s\r\nMax-Forwards: 70\r\n", method, r.daemon, r.me, r.callID, toTag, r.callID, method)
}

func (r *rawCaller) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := r.conn.WriteTo([]byte(msg), r.dst); err != nil {
		t.Fatal(err)
	}
}

// invite sends an INVITE offering PCMU, with extra header lines (each
// ending in CRLF).
func (r *rawCaller) invite(t *testing.T, extra string) {
	t.Helper()
	r.inviteSDP(t, extra, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
}

// inviteSDP sends an INVITE with the offer sdp.
func (r *rawCaller) inviteSDP(t *testing.T, extra, sdp string) {
	t.Helper()
	r.send(t, r.head("INVITE", "")+"Contact: <sip:tester@"+r.me+">\r\n"+extra+
		fmt.Sprintf("Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(sdp), sdp))
}

// ack ACKs a final response with the To tag it carried (RFC 3261 §17.1.1.3).
func (r *rawCaller) ack(t *testing.T, toTag string) {
	t.Helper()
	r.send(t, r.head("ACK", toTag)+"Content-Length: 0\r\n\r\n")
}

// final waits for the next final response and returns its status line
// and its To tag.
func (r *rawCaller) final(t *testing.T, wait time.Duration) (status, toTag string) {
	t.Helper()
	msg := r.finalMessage(t, wait)
	status, _, _ = strings.Cut(msg, "\r\n")
	return status, headerParam(msg, "To", ";tag=")
}

// finalMessage waits for the next final response and returns it whole.
func (r *rawCaller) finalMessage(t *testing.T, wait time.Duration) string {
	t.Helper()
	buf := make([]byte, 65535)
	r.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, _, err := r.conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no final response: %v", err)
		}
		if msg := string(buf[:n]); !strings.HasPrefix(msg, "SIP/2.0 1") {
			return msg
		}
	}
}

// headerParam returns what follows param (";tag=") in msg's header name
// (or its compact form), "" when there is none.
func headerParam(msg, name, param string) string {
	v := ""
	for _, line := range strings.Split(msg, "\r\n") {
		if n, value, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(n, name) || strings.EqualFold(n, name[:1])) {
			_, v, _ = strings.Cut(value, param)
		}
	}
	return v
}
