package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRetransmissionsAfterCallEnd: the daemon ends a BYE's transaction as
// soon as it answered it and keeps only the response's text (an ended
// call's memory is freed at once, not after sipgo's 32 s), yet a
// retransmitted BYE (its 200 lost) still gets the same 200, not 481
// (RFC 3261 §17.2.2); and a retransmitted INVITE of the ended call is
// absorbed (RFC 6026 §7.1): no answer, no second call.
func TestRetransmissionsAfterCallEnd(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	ev := d.Events(t)
	rc := newRawCaller(t, d, "retrans-1@127.0.0.1")
	rc.invite(t, "")
	in := ev.WaitType(t, eventWait, "call.incoming", "")
	status, toTag := rc.final(t, eventWait)
	if !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("INVITE answered %q, want 200", status)
	}
	// The ACK of a 2xx is a transaction of its own (RFC 3261 §17.1.1.3).
	rc.send(t, strings.Replace(rc.head("ACK", toTag), "branch=z9hG4bK-", "branch=z9hG4bK-ack-", 1)+
		"Content-Length: 0\r\n\r\n")
	ev.WaitType(t, eventWait, "call.established", in.Call)

	bye := fmt.Sprintf("BYE sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-bye-%s\r\n"+
		"From: <sip:tester@127.0.0.1>;tag=t1\r\nTo: <sip:1001@127.0.0.1>;tag=%s\r\nCall-ID: %s\r\n"+
		"CSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", rc.daemon, rc.me, rc.callID, toTag, rc.callID)
	rc.send(t, bye)
	first := rc.response(t, eventWait)
	if !strings.HasPrefix(first, "SIP/2.0 200") {
		t.Fatalf("BYE answered %q, want 200", first)
	}
	ev.WaitType(t, eventWait, "call.ended", in.Call)
	time.Sleep(500 * time.Millisecond) // the 200 "lost": the BYE comes again later
	rc.send(t, bye)
	if again := rc.response(t, eventWait); again != first {
		t.Errorf("retransmitted BYE answered\n%s\nwant the same response as the first time\n%s", again, first)
	}

	rc.invite(t, "") // the same branch: a retransmission
	if msg, ok := rc.maybeResponse(2 * time.Second); ok {
		t.Errorf("retransmitted INVITE of an ended call answered\n%s\nwant it absorbed", msg)
	}
	if n := len(d.Status(t).Calls); n != 0 {
		t.Errorf("%d calls after the retransmitted INVITE, want none", n)
	}
}

// response waits for the next SIP message and returns it whole.
func (r *rawCaller) response(t *testing.T, wait time.Duration) string {
	t.Helper()
	msg, ok := r.maybeResponse(wait)
	if !ok {
		t.Fatal("no response")
	}
	return msg
}

// maybeResponse returns the next SIP message received within wait.
func (r *rawCaller) maybeResponse(wait time.Duration) (string, bool) {
	buf := make([]byte, 65535)
	r.conn.SetReadDeadline(time.Now().Add(wait))
	n, _, err := r.conn.ReadFrom(buf)
	if err != nil {
		return "", false
	}
	return string(buf[:n]), true
}
