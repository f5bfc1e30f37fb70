package sipua

import (
	"context"
	"testing"
	"time"
)

// TestAnsweredKeepsLittle: after a call the callee ended by a BYE, what the
// callee keeps for retransmissions is the INVITE's key (to absorb it) and
// the BYE's status (test/integration's TestRetransmissionsAfterCallEnd
// checks a retransmitted BYE gets the same 200 from it), not texts or
// parsed messages.
func TestAnsweredKeepsLittle(t *testing.T) {
	caller, callee := callPair(t, Config{}, Config{}, func(*Call, Event) {})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := caller.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-callee.Done():
	case <-ctx.Done():
		t.Fatal("the callee's call did not end")
	}
	a := callee.u.answered
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.mu.Lock()
		n := len(a.m)
		a.mu.Unlock()
		if n == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling interval: the BYE's handler returns after the call ended
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var invites, byes int
	for key, r := range a.m {
		switch {
		case r.text != "":
			t.Errorf("%x: kept the text %q, want only the status", key, r.text)
		case r.code == 200 && r.reason == "OK":
			byes++
		case r.code == 0:
			invites++
		default:
			t.Errorf("%x: kept %+v", key, r)
		}
	}
	if invites != 1 || byes != 1 {
		t.Errorf("kept %d INVITE keys and %d BYE answers, want 1 and 1: %+v", invites, byes, a.m)
	}
}
