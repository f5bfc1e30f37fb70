package integration

import (
	"testing"
	"time"
)

// TestDaemonGivesUpExpiredInvite: an INVITE with Expires that nobody
// answers is given up with 487 when it expires (RFC 3261 §13.3.1), so
// INVITEs that are never answered do not ring for ever.
func TestDaemonGivesUpExpiredInvite(t *testing.T) {
	d := startDaemon(t, "") // no auto-answer: the call rings
	ev := d.Events(t)
	rc := newRawCaller(t, d, "expires-1@127.0.0.1")
	rc.invite(t, "Expires: 1\r\n")
	in := ev.WaitType(t, eventWait, "call.incoming", "")
	status, toTag := rc.final(t, eventWait)
	if status != "SIP/2.0 487 Request Terminated" {
		t.Fatalf("final response %q, want 487 Request Terminated", status)
	}
	rc.ack(t, toTag)

	if e := ev.WaitType(t, eventWait, "call.ended", in.Call); e.Code != 487 {
		t.Errorf("call.ended code %d, want 487", e.Code)
	}
}

// TestRejectDoesNotWaitForAck: `gophone reject` answers once its 486 is
// sent, even if the caller never ACKs it (diago's Respond waits up to
// 64·T1 = 32 s for that ACK), and what the transaction retransmits until
// the ACK stays that 486.
func TestRejectDoesNotWaitForAck(t *testing.T) {
	d := startDaemon(t, "") // no auto-answer: the call rings
	ev := d.Events(t)
	rc := newRawCaller(t, d, "reject-no-ack-1@127.0.0.1")
	rc.invite(t, "")
	in := ev.WaitType(t, eventWait, "call.incoming", "")
	start := time.Now()
	d.MustRun(t, "reject", in.Call)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("reject of a call whose caller does not ACK took %v", took)
	}
	if e := ev.WaitType(t, eventWait, "call.ended", in.Call); e.Code != 486 {
		t.Errorf("call.ended code %d, want 486", e.Code)
	}
	if n := len(d.Status(t).Calls); n != 0 {
		t.Errorf("%d calls after reject, want none", n)
	}
	// The 486 and its first two retransmissions (Timer G: T1, 2·T1).
	var toTag string
	for i := range 3 {
		var status string
		status, toTag = rc.final(t, 5*time.Second)
		if status != "SIP/2.0 486 Busy Here" {
			t.Fatalf("final response %d: %q, want 486 Busy Here", i+1, status)
		}
	}
	rc.ack(t, toTag)
}
