package integration

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestOfferIPv6ToIPv4Daemon: an offer whose media address is IPv6 (c=IN
// IP6), sent to a daemon whose sockets are IPv4 only, is refused with 488
// rather than answered 200 into a one-way call.
func TestOfferIPv6ToIPv4Daemon(t *testing.T) {
	d := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n")
	r := newRawCaller(t, d, "ip6-offer")
	r.inviteSDP(t, "", "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"+
		"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
	status, toTag := r.final(t, eventWait)
	if !strings.HasPrefix(status, "SIP/2.0 488") {
		t.Fatalf("answer to a c=IN IP6 offer: %q; want 488", status)
	}
	r.ack(t, toTag)
}

// TestDaemonsOverIPv6: two daemons listening on [::1] call each other;
// media flows both ways over IPv6 and DTMF arrives. (An IPv4 offer would
// have been refused 488 by A, whose sockets are IPv6 only: the offer was
// c=IN IP6.)
func TestDaemonsOverIPv6(t *testing.T) {
	dir := t.TempDir()
	aHeard, bHeard := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	aPort, bPort := testutil.FreePort(t), testutil.FreePort(t)
	a := testutil.StartDaemon(t, gophoneBin, fmt.Sprintf("[Settings]\nlisten=[::1]:%d\nautoAnswer=all\naudioInput=tone:440\naudioOutput=file:%s\n", aPort, aHeard))
	b := testutil.StartDaemon(t, gophoneBin, fmt.Sprintf("[Settings]\nlisten=[::1]:%d\naudioInput=tone:1000\naudioOutput=file:%s\n", bPort, bHeard))
	aev, bev := a.Events(t), b.Events(t)
	bCall := strings.TrimSpace(b.MustRun(t, "dial", fmt.Sprintf("sip:alice@[::1]:%d", aPort)))
	bev.WaitType(t, eventWait, "call.established", bCall)
	aCall := aev.WaitType(t, eventWait, "call.established", "").Call
	wantHearing(t, "A", aHeard, 1000)
	wantHearing(t, "B", bHeard, 440)
	b.MustRun(t, "senddtmf", "7")
	if e := aev.WaitType(t, eventWait, "dtmf.received", aCall); e.Digit != "7" {
		t.Fatalf("A received DTMF %q, want 7", e.Digit)
	}
	b.MustRun(t, "hangup")
	aev.WaitType(t, eventWait, "call.ended", aCall)
}

// TestDualStackDaemon: a daemon listening on [::] takes calls over IPv4
// SIP whose offers are IPv6 (c=IN IP6 ::1, as linphone sends on a host with
// an IPv6 address) or IPv4: each is answered 200 with media of the offer's
// family (c=, o=), a Contact the caller reaches over IPv4, and its RTP
// arrives at the offer's address.
func TestDualStackDaemon(t *testing.T) {
	port := testutil.FreePort(t)
	d := testutil.StartDaemon(t, gophoneBin, fmt.Sprintf("[Settings]\nlisten=[::]:%d\nautoAnswer=all\naudioInput=tone:440\n", port))
	d.SIPPort = port // the caller reaches [::]:port at 127.0.0.1
	for _, tt := range []struct{ family, ip string }{{"IP6", "::1"}, {"IP4", "127.0.0.1"}} {
		t.Run(tt.family, func(t *testing.T) {
			rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(tt.ip)})
			if err != nil {
				t.Fatal(err)
			}
			defer rtp.Close()
			r := newRawCaller(t, d, "dual-stack-"+tt.family)
			conn := fmt.Sprintf("IN %s %s", tt.family, tt.ip)
			r.inviteSDP(t, "", fmt.Sprintf("v=0\r\no=- 1 1 %s\r\ns=-\r\nc=%s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
				conn, conn, rtp.LocalAddr().(*net.UDPAddr).Port))
			msg := r.finalMessage(t, eventWait)
			status, _, _ := strings.Cut(msg, "\r\n")
			if !strings.HasPrefix(status, "SIP/2.0 200") {
				t.Fatalf("answer to a c=%s offer: %q; want 200", conn, status)
			}
			// The ACK of a 2xx, and the BYE, are transactions of their own.
			toTag := headerParam(msg, "To", ";tag=")
			inDialog := func(method, cseq string) {
				req := strings.Replace(r.head(method, toTag), ";branch=z9hG4bK-", ";branch=z9hG4bK-"+method+"-", 1)
				r.send(t, strings.Replace(req, "CSeq: 1 ", "CSeq: "+cseq+" ", 1)+"Content-Length: 0\r\n\r\n")
			}
			inDialog("ACK", "1")
			defer func() {
				inDialog("BYE", "2")
				if m := r.finalMessage(t, eventWait); !strings.HasPrefix(m, "SIP/2.0 200") {
					t.Errorf("BYE answered %.40q", m)
				}
			}()
			for _, want := range []string{"\r\nc=" + conn + "\r\n", " " + conn + "\r\ns=", "Contact: <sip:1001@127.0.0.1:"} {
				if !strings.Contains(msg, want) {
					t.Errorf("answer has no %q:\n%s", want, msg)
				}
			}
			rtp.SetReadDeadline(time.Now().Add(eventWait))
			buf := make([]byte, 1500)
			for range 5 {
				n, from, err := rtp.ReadFrom(buf)
				if err != nil {
					t.Fatalf("no RTP at %s: %v", rtp.LocalAddr(), err)
				}
				if n != 12+160 || buf[0]>>6 != 2 || buf[1]&0x7f != 0 {
					t.Fatalf("not 20 ms of PCMU from %v: % x", from, buf[:min(n, 16)])
				}
			}
		})
	}
	if st := d.Status(t); len(st.Calls) != 0 {
		t.Errorf("calls left: %+v", st.Calls)
	}
}

// TestDualStackDaemonDials: a daemon listening on [::] calls over IPv4 (a
// SIPp UAS at 127.0.0.1: its INVITE leaves from 127.0.0.1, Via, Contact
// and offer all IPv4) and over IPv6 (a daemon on [::1], which refuses
// IPv4 offers, hears the caller's tone).
func TestDualStackDaemonDials(t *testing.T) {
	d := testutil.StartDaemon(t, gophoneBin, fmt.Sprintf("[Settings]\nlisten=[::]:%d\naudioInput=tone:440\n", testutil.FreePort(t)))
	ev := d.Events(t)

	uas := oneCallUAS(t, "uas.xml")
	id := dial(t, d, "sip:1001@"+uas.Addr())
	ev.WaitType(t, eventWait, "call.established", id)
	d.MustRun(t, "hangup", id)
	ev.WaitType(t, eventWait, "call.ended", id)
	r := uas.Wait()
	wantSIPpOK(t, "uas.xml", r)
	invite := ""
	for _, m := range sippMessages(r.Messages) {
		if m.received && strings.HasPrefix(m.firstLine(), "INVITE ") {
			invite = m.text
			break
		}
	}
	for _, want := range []string{"Via: SIP/2.0/UDP 127.0.0.1:", "Contact: <sip:gophone@127.0.0.1:", "\nc=IN IP4 127.0.0.1\n"} {
		if !strings.Contains(strings.ReplaceAll(invite, "\r\n", "\n"), want) {
			t.Errorf("INVITE over IPv4 has no %q:\n%s", want, invite)
		}
	}

	heard := filepath.Join(t.TempDir(), "heard.wav")
	bPort := testutil.FreePort(t)
	b := testutil.StartDaemon(t, gophoneBin, fmt.Sprintf("[Settings]\nlisten=[::1]:%d\nautoAnswer=all\naudioOutput=file:%s\n", bPort, heard))
	bev := b.Events(t)
	id = strings.TrimSpace(d.MustRun(t, "dial", fmt.Sprintf("sip:alice@[::1]:%d", bPort)))
	ev.WaitType(t, eventWait, "call.established", id)
	bCall := bev.WaitType(t, eventWait, "call.established", "").Call
	wantHearing(t, "the IPv6 daemon", heard, 440)
	d.MustRun(t, "hangup", id)
	bev.WaitType(t, eventWait, "call.ended", bCall)
}
