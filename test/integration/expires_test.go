package integration

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestDaemonGivesUpExpiredInvite: an INVITE with Expires that nobody
// answers is given up with 487 when it expires (RFC 3261 §13.3.1), so
// INVITEs that are never answered do not ring for ever.
func TestDaemonGivesUpExpiredInvite(t *testing.T) {
	d := startDaemon(t, "") // no auto-answer: the call rings
	ev := d.Events(t)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, err := net.ResolveUDPAddr("udp4", d.SIPAddr())
	if err != nil {
		t.Fatal(err)
	}
	me := conn.LocalAddr().String()
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	head := func(method string) string {
		return fmt.Sprintf("%s sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-expires-1\r\n"+
			"From: <sip:tester@127.0.0.1>;tag=t1\r\nTo: <sip:1001@127.0.0.1>%%s\r\nCall-ID: expires-1@127.0.0.1\r\n"+
			"CSeq: 1 %s\r\nMax-Forwards: 70\r\n", method, d.SIPAddr(), me, method)
	}
	invite := fmt.Sprintf(head("INVITE"), "") + "Contact: <sip:tester@" + me + ">\r\nExpires: 1\r\n" +
		fmt.Sprintf("Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(sdp), sdp)
	if _, err := conn.WriteTo([]byte(invite), dst); err != nil {
		t.Fatal(err)
	}
	in := ev.WaitType(t, eventWait, "call.incoming", "")

	buf := make([]byte, 65535)
	var final string
	conn.SetReadDeadline(time.Now().Add(eventWait))
	for final == "" {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no final response to an INVITE with Expires: 1: %v", err)
		}
		msg := string(buf[:n])
		status, _, _ := strings.Cut(msg, "\r\n")
		if strings.HasPrefix(status, "SIP/2.0 1") {
			continue
		}
		final = msg
	}
	status, _, _ := strings.Cut(final, "\r\n")
	if status != "SIP/2.0 487 Request Terminated" {
		t.Fatalf("final response %q, want 487 Request Terminated", status)
	}
	// ACK the 487 with the To tag it carries (RFC 3261 §17.1.1.3).
	to := ""
	for _, line := range strings.Split(final, "\r\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(name, "To") || name == "t") {
			if _, tag, ok := strings.Cut(value, ">"); ok {
				to = tag
			}
		}
	}
	ack := fmt.Sprintf(head("ACK"), to) + "Content-Length: 0\r\n\r\n"
	conn.WriteTo([]byte(ack), dst)

	if e := ev.WaitType(t, eventWait, "call.ended", in.Call); e.Code != 487 {
		t.Errorf("call.ended code %d, want 487", e.Code)
	}
}
