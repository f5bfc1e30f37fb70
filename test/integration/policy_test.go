package integration

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// Call policy (DESIGN §3, §8): B calls A, A is configured with a policy;
// what B sees (call.ended code) and what A sees (events, status) are checked.

// policyPeer is a daemon with its event stream.
type policyPeer struct {
	*testutil.Daemon
	ev *testutil.EventStream
}

func startPeer(t *testing.T, ini string) policyPeer {
	t.Helper()
	d := startDaemon(t, ini)
	return policyPeer{d, d.Events(t)}
}

// callTo places a call from p to target with `gophone callto` (never holds)
// and returns its id.
func (p policyPeer) callTo(t *testing.T, target string) string {
	t.Helper()
	id := strings.TrimSpace(p.MustRun(t, "callto", target))
	if id == "" {
		t.Fatalf("callto %s printed no call id", target)
	}
	return id
}

// wantEnded waits for call.ended of call id on p and checks its code.
func (p policyPeer) wantEnded(t *testing.T, id string, code int) testutil.Event {
	t.Helper()
	e := p.ev.WaitType(t, eventWait, "call.ended", id)
	if e.Code != code {
		t.Errorf("call %s ended with %d %q, want %d", id, e.Code, e.Reason, code)
	}
	return e
}

// wantCalls checks the number of calls in p's status.
func (p policyPeer) wantCalls(t *testing.T, who string, n int) testutil.Status {
	t.Helper()
	st := p.Status(t)
	if len(st.Calls) != n {
		t.Errorf("%s has %d calls, want %d: %+v", who, len(st.Calls), n, st.Calls)
	}
	return st
}

// call returns call id from p's status; it fails the test when it is missing.
func (p policyPeer) call(t *testing.T, id string) testutil.Call {
	t.Helper()
	c, ok := p.Status(t).Call(id)
	if !ok {
		t.Fatalf("call %s missing from status", id)
	}
	return c
}

func aliceAt(d policyPeer) string { return "sip:alice@" + d.SIPAddr() }

// TestPolicyDenyIncoming: denyIncoming=all declines with 603; DND with
// denyIncoming=button answers 486. A keeps no call.
func TestPolicyDenyIncoming(t *testing.T) {
	for _, tc := range []struct {
		name, ini string
		code      int
	}{
		{"all", "[Settings]\ndenyIncoming=all\nautoAnswer=all\n", 603},
		{"DND-button", "[Settings]\nDND=1\ndenyIncoming=button\nautoAnswer=all\n", 486},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := startPeer(t, tc.ini), startPeer(t, "")
			id := b.callTo(t, aliceAt(a))
			b.wantEnded(t, id, tc.code)
			in := a.ev.WaitType(t, eventWait, "call.incoming", "")
			a.wantEnded(t, in.Call, tc.code)
			a.wantCalls(t, "A", 0)
			b.wantCalls(t, "B", 0)
		})
	}
}

// TestPolicyMaxConcurrentCalls: with maxConcurrentCalls=1 the first call
// is answered, a second one gets 486 and the first stays up.
func TestPolicyMaxConcurrentCalls(t *testing.T) {
	a, b := startPeer(t, "[Settings]\nautoAnswer=all\nmaxConcurrentCalls=1\n"), startPeer(t, "")
	first := b.callTo(t, aliceAt(a))
	b.ev.WaitType(t, eventWait, "call.established", first)
	second := b.callTo(t, aliceAt(a))
	b.wantEnded(t, second, 486)
	st := a.wantCalls(t, "A", 1)
	if len(st.Calls) == 1 && st.Calls[0].State != "established" {
		t.Errorf("A's remaining call: %+v, want established", st.Calls[0])
	}
	if c := b.call(t, first); c.State != "established" {
		t.Errorf("B's first call: %+v, want established", c)
	}
}

// TestPolicyCallWaitingOff: callWaiting=0 answers 486 to a call that comes
// while another is established.
func TestPolicyCallWaitingOff(t *testing.T) {
	a, b := startPeer(t, "[Settings]\nautoAnswer=all\ncallWaiting=0\n"), startPeer(t, "")
	first := b.callTo(t, aliceAt(a))
	b.ev.WaitType(t, eventWait, "call.established", first)
	second := b.callTo(t, aliceAt(a))
	b.wantEnded(t, second, 486)
	a.wantCalls(t, "A", 1)
}

// TestPolicyAutoHangUp: autoHangUpTime=1 ends an established call by itself.
func TestPolicyAutoHangUp(t *testing.T) {
	a, b := startPeer(t, "[Settings]\nautoAnswer=all\nautoHangUpTime=1\n"), startPeer(t, "")
	id := b.callTo(t, aliceAt(a))
	b.ev.WaitType(t, eventWait, "call.established", id)
	aCall := a.ev.WaitType(t, eventWait, "call.established", "")
	aEnd := a.ev.WaitType(t, eventWait, "call.ended", aCall.Call)
	b.ev.WaitType(t, eventWait, "call.ended", id)
	if el := aEnd.Time.Sub(aCall.Time); el < 900*time.Millisecond || el > 5*time.Second {
		t.Errorf("A's call ended %v after it was established; want about 1 s", el)
	}
	a.wantCalls(t, "A", 0)
	b.wantCalls(t, "B", 0)
}

// TestPolicyAutoAnswerDelay: with autoAnswerDelay=1 the call rings first:
// A answers about a second after call.incoming, B sees ringing or early
// media before the call is established.
func TestPolicyAutoAnswerDelay(t *testing.T) {
	a, b := startPeer(t, "[Settings]\nautoAnswer=all\nautoAnswerDelay=1\n"), startPeer(t, "")
	id := b.callTo(t, aliceAt(a))
	in := a.ev.WaitType(t, eventWait, "call.incoming", "")
	ans := a.ev.WaitType(t, eventWait, "call.answered", in.Call)
	if el := ans.Time.Sub(in.Time); el < 900*time.Millisecond || el > 5*time.Second {
		t.Errorf("A answered %v after call.incoming; want about 1 s", el)
	}
	first := b.ev.WaitFor(t, eventWait, func(e testutil.Event) bool {
		return e.Call == id && (e.Type == "call.ringing" || e.Type == "call.early" || e.Type == "call.established")
	})
	if first.Type == "call.established" {
		t.Errorf("B's call was established without ringing first")
	}
	b.ev.WaitType(t, eventWait, "call.established", id)
	b.MustRun(t, "hangup", id)
	a.ev.WaitType(t, eventWait, "call.ended", in.Call)
}

// TestManualAnswer: without auto-answer the call rings on A until
// `gophone answer`; then it is established on both sides.
func TestManualAnswer(t *testing.T) {
	a, b := startPeer(t, ""), startPeer(t, "")
	id := b.callTo(t, aliceAt(a))
	in := a.ev.WaitType(t, eventWait, "call.incoming", "")
	b.ev.WaitType(t, eventWait, "call.ringing", id)
	if c := a.call(t, in.Call); c.State != "ringing" || c.Direction != "incoming" {
		t.Errorf("A's call before answer: %+v, want incoming ringing", c)
	}
	a.MustRun(t, "answer")
	a.ev.WaitType(t, eventWait, "call.established", in.Call)
	b.ev.WaitType(t, eventWait, "call.established", id)
	if c := a.call(t, in.Call); c.State != "established" {
		t.Errorf("A's call after answer: %+v", c)
	}
	a.MustRun(t, "hangup", in.Call)
	b.ev.WaitType(t, eventWait, "call.ended", id)
	a.ev.WaitType(t, eventWait, "call.ended", in.Call)
}

// TestManualReject: reject → 486, reject --decline → 603, hangup of a
// ringing incoming call → 486 (DESIGN §8); with the call id, and without
// it (they act on the ringing incoming call).
func TestManualReject(t *testing.T) {
	a, b := startPeer(t, ""), startPeer(t, "")
	for _, withID := range []bool{true, false} {
		for _, tc := range []struct {
			name string
			args []string
			code int
		}{
			{"reject", []string{"reject"}, 486},
			{"reject-decline", []string{"reject", "--decline"}, 603},
			{"hangup", []string{"hangup"}, 486},
		} {
			name := tc.name
			if !withID {
				name += "-without-id"
			}
			t.Run(name, func(t *testing.T) {
				id := b.callTo(t, aliceAt(a))
				in := a.ev.WaitType(t, eventWait, "call.incoming", "")
				b.ev.WaitType(t, eventWait, "call.ringing", id)
				args := tc.args
				if withID {
					args = append(args[:len(args):len(args)], in.Call)
				}
				a.MustRun(t, args...)
				b.wantEnded(t, id, tc.code)
				a.wantEnded(t, in.Call, tc.code)
				a.wantCalls(t, "A", 0)
			})
		}
	}
}

// TestCallWaitingAnswerHoldsActive: A talks to B, C calls A; `gophone
// answer` on A answers C and holds B's call first (DESIGN §8).
func TestCallWaitingAnswerHoldsActive(t *testing.T) {
	a, b, c := startPeer(t, ""), startPeer(t, ""), startPeer(t, "")
	bID := b.callTo(t, aliceAt(a))
	aB := a.ev.WaitType(t, eventWait, "call.incoming", "").Call
	a.MustRun(t, "answer")
	b.ev.WaitType(t, eventWait, "call.established", bID)
	a.ev.WaitType(t, eventWait, "call.established", aB)

	cID := c.callTo(t, aliceAt(a))
	aC := a.ev.WaitType(t, eventWait, "call.incoming", "").Call
	c.ev.WaitType(t, eventWait, "call.ringing", cID)
	if got := a.call(t, aC); got.State != "ringing" {
		t.Fatalf("A's call from C: %+v, want ringing", got)
	}
	a.MustRun(t, "answer")
	a.ev.WaitType(t, eventWait, "call.established", aC)
	c.ev.WaitType(t, eventWait, "call.established", cID)
	b.ev.WaitType(t, eventWait, "call.remote_held", bID)

	st := a.Status(t)
	held, _ := st.Call(aB)
	talking, _ := st.Call(aC)
	if !held.Held || held.State != "established" {
		t.Errorf("A's call with B after answering C: %+v, want established and held", held)
	}
	if talking.Held || talking.State != "established" {
		t.Errorf("A's call with C: %+v, want established, not held", talking)
	}
	if got := b.call(t, bID); !got.RemoteHeld {
		t.Errorf("B's call: %+v, want remoteHeld", got)
	}
}

// TestDialHoldsCallToDoesNot: Dial holds the active call before placing
// the new one; CallTo leaves it as it is (DESIGN §2).
func TestDialHoldsCallToDoesNot(t *testing.T) {
	a := startPeer(t, "[Settings]\nautoAnswer=all\n")
	c := startPeer(t, "[Settings]\nautoAnswer=all\n")
	b := startPeer(t, "")

	first := b.callTo(t, aliceAt(a))
	b.ev.WaitType(t, eventWait, "call.established", first)
	second := b.callTo(t, "sip:carol@"+c.SIPAddr())
	b.ev.WaitType(t, eventWait, "call.established", second)
	st := b.Status(t)
	for _, id := range []string{first, second} {
		if got, ok := st.Call(id); !ok || got.Held || got.State != "established" {
			t.Errorf("after callto, B's call %s: %+v (found %v), want established, not held", id, got, ok)
		}
	}

	third := dial(t, b.Daemon, "sip:dave@"+c.SIPAddr())
	// The active call (the newest established, not held) is held first.
	b.ev.WaitType(t, eventWait, "call.held", second)
	b.ev.WaitType(t, eventWait, "call.established", third)
	st = b.Status(t)
	want := map[string]bool{first: false, second: true, third: false}
	for id, held := range want {
		if got, ok := st.Call(id); !ok || got.Held != held || got.State != "established" {
			t.Errorf("after dial, B's call %s: %+v (found %v), want established with held=%v", id, got, ok, held)
		}
	}
}

// TestPolicyForwardingAll: forwarding=all with forwardingNumber answers
// 302 at once; the caller's call ends with 302. (The daemon as caller does
// not follow the redirect: nothing reaches C. DESIGN does not say either
// way, so that is not asserted.)
// B, as a caller, follows the 302 to C as MicroSIP and pjsua do: the same
// call ends up established with C.
func TestPolicyForwardingAll(t *testing.T) {
	c := startPeer(t, "[Settings]\nautoAnswer=all\n")
	a := startPeer(t, "[Settings]\nforwarding=all\nforwardingNumber=sip:carol@"+c.SIPAddr()+"\n")
	b := startPeer(t, "")
	id := b.callTo(t, aliceAt(a))
	in := a.ev.WaitType(t, eventWait, "call.incoming", "")
	a.wantEnded(t, in.Call, 302)
	a.wantCalls(t, "A", 0)
	b.ev.WaitType(t, eventWait, "call.established", id)
	c.ev.WaitType(t, eventWait, "call.established", "")
	if st, ok := b.Status(t).Call(id); !ok || st.State != "established" {
		t.Fatalf("B's call after the redirect: %+v (found %v)", st, ok)
	}
}

// TestPolicyForwardingContact: the 302 carries forwardingNumber as its
// Contact; SIPp is the caller so the response can be read as sent.
func TestPolicyForwardingContact(t *testing.T) {
	a := startPeer(t, "[Settings]\nforwarding=all\nforwardingNumber=sip:carol@127.0.0.1:5999\n")
	uac := testutil.NewSIPp(t, scenario(t, "uac_expect_302.xml"))
	r := uac.Run(a.SIPAddr(), sippLimit, "-m", "1", "-s", "1001")
	wantSIPpOK(t, "uac_expect_302.xml", r)
	if !regexp.MustCompile(`(?im)^(Contact|m):\s*<sip:carol@127\.0\.0\.1:5999>`).MatchString(r.Messages) {
		t.Errorf("the 302 has no Contact <sip:carol@127.0.0.1:5999>:\n%s", lastLines(r.Messages, 40))
	}
	a.wantCalls(t, "A", 0)
}

// TestPolicyForwardingDelay: with forwardingDelay=1 A rings first, then
// forwards with 302 about a second later.
func TestPolicyForwardingDelay(t *testing.T) {
	c := startPeer(t, "[Settings]\nautoAnswer=all\n")
	a := startPeer(t, "[Settings]\nforwarding=all\nforwardingDelay=1\nforwardingNumber=sip:carol@"+c.SIPAddr()+"\n")
	b := startPeer(t, "")
	id := b.callTo(t, aliceAt(a))
	in := a.ev.WaitType(t, eventWait, "call.incoming", "")
	ring := b.ev.WaitType(t, eventWait, "call.ringing", id)
	end := a.wantEnded(t, in.Call, 302)
	if el := end.Time.Sub(ring.Time); el < 800*time.Millisecond || el > 5*time.Second {
		t.Errorf("302 came %v after ringing; want about 1 s (forwardingDelay=1)", el)
	}
	a.wantCalls(t, "A", 0)
	b.ev.WaitType(t, eventWait, "call.established", id)
}
