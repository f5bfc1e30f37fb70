package integration

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/testutil"
)

// TestTwoDaemons is the phone's acceptance walk: B calls A (auto-answer),
// hold both ways, DTMF with a pause, blind transfer to C, hangup and close.
func TestTwoDaemons(t *testing.T) {
	dir := t.TempDir()
	aHeard, bHeard := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\naudioInput=tone:440\naudioOutput=file:"+aHeard+"\n")
	b := testutil.StartDaemon(t, gophoneBin, "[Settings]\naudioInput=tone:1000\naudioOutput=file:"+bHeard+"\n")
	c := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n")
	aev, bev, cev := a.Events(t), b.Events(t), c.Events(t)

	bCall := strings.TrimSpace(b.MustRun(t, "dial", "sip:alice@"+a.SIPAddr()))
	if bCall == "" {
		t.Fatal("dial printed no call id")
	}
	bev.WaitType(t, eventWait, "call.established", bCall)
	aCall := aev.WaitType(t, eventWait, "call.established", "").Call

	callOf := func(d *testutil.Daemon, id string) testutil.Call {
		t.Helper()
		call, ok := d.Status(t).Call(id)
		if !ok {
			t.Fatalf("call %s missing from status", id)
		}
		return call
	}
	if st := callOf(a, aCall).State; st != "established" {
		t.Fatalf("A call state = %q, want established", st)
	}
	if st := callOf(b, bCall); st.State != "established" || st.Direction != "outgoing" || st.Codec == "" {
		t.Fatalf("B call = %+v, want established outgoing with a codec", st)
	}

	// B holds: A sees remoteHeld, B held. Hold again resumes.
	b.MustRun(t, "hold")
	aev.WaitType(t, eventWait, "call.remote_held", aCall)
	if st := callOf(a, aCall); !st.RemoteHeld || st.Held {
		t.Fatalf("after B hold, A call = held %v remoteHeld %v; want remoteHeld only", st.Held, st.RemoteHeld)
	}
	if st := callOf(b, bCall); !st.Held || st.RemoteHeld {
		t.Fatalf("after B hold, B call = held %v remoteHeld %v; want held only", st.Held, st.RemoteHeld)
	}
	b.MustRun(t, "hold")
	aev.WaitType(t, eventWait, "call.remote_resumed", aCall)
	if st := callOf(b, bCall); st.Held {
		t.Fatal("second Hold did not resume B's call")
	}

	// Both hold, then both resume: the RFC 3264 direction table both ways.
	a.MustRun(t, "hold")
	bev.WaitType(t, eventWait, "call.remote_held", bCall)
	b.MustRun(t, "hold", bCall)
	aev.WaitType(t, eventWait, "call.remote_held", aCall)
	a.MustRun(t, "hold", aCall)
	bev.WaitType(t, eventWait, "call.remote_resumed", bCall)
	b.MustRun(t, "hold", bCall)
	aev.WaitType(t, eventWait, "call.remote_resumed", aCall)
	for _, st := range []testutil.Call{callOf(a, aCall), callOf(b, bCall)} {
		if st.Held || st.RemoteHeld || st.State != "established" {
			t.Fatalf("after both resumed: %+v", st)
		}
	}
	// Audio flows both ways again: each side hears the other's tone.
	wantHearing(t, "A", aHeard, 1000)
	wantHearing(t, "B", bHeard, 440)

	// DTMF: digits arrive in order, each once.
	b.MustRun(t, "senddtmf", "12#,4")
	var got []string
	for len(got) < 4 {
		got = append(got, aev.WaitType(t, eventWait, "dtmf.received", aCall).Digit)
	}
	if strings.Join(got, "") != "12#4" {
		t.Fatalf("A received DTMF %q, want 12#4", got)
	}

	// Blind transfer of A to C: A ends up talking to C, B's call ends.
	out := b.MustRun(t, "transfer", "sip:carol@"+c.SIPAddr())
	if !strings.Contains(out, "success") {
		t.Fatalf("transfer result %q does not report success", out)
	}
	bev.WaitFor(t, eventWait, func(e testutil.Event) bool { return e.Type == "call.transfer" && e.Outcome == "success" })
	bev.WaitType(t, eventWait, "call.ended", bCall)
	// On A, the call to C is established and the call with B ends, in
	// either order: the final NOTIFY goes out as the new call is confirmed.
	onA := waitAll(t, aev,
		func(e testutil.Event) bool { return e.Type == "call.established" && e.Call != aCall },
		func(e testutil.Event) bool { return e.Type == "call.ended" && e.Call == aCall })
	newCall := onA[0].Call
	cev.WaitType(t, eventWait, "call.established", "")
	if st := callOf(a, newCall); st.Number != "carol" || st.State != "established" {
		t.Fatalf("A's new call = %+v, want established with carol", st)
	}
	if n := len(b.Status(t).Calls); n != 0 {
		t.Fatalf("B still has %d calls after the transfer", n)
	}

	a.MustRun(t, "hangup", "--all")
	aev.WaitType(t, eventWait, "call.ended", newCall)
	if n := len(a.Status(t).Calls); n != 0 {
		t.Fatalf("A has %d calls after hangup --all", n)
	}
	if _, err := a.Run("close"); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case <-a.Exited():
		if err := a.ExitErr(); err != nil {
			t.Fatalf("daemon exit after close: %v, want status 0", err)
		}
	case <-time.After(eventWait):
		t.Fatal("daemon did not exit after close")
	}
}

// TestCommandsNeedNoSleeps is MicroSIP's pain fixed: `dial X && senddtmf
// 123` with no delay works, because SendDTMF waits for the call to be
// established, and Hangup right after is applied after the digits.
func TestCommandsNeedNoSleeps(t *testing.T) {
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\nautoAnswerDelay=1\n")
	b := testutil.StartDaemon(t, gophoneBin, "")
	aev := a.Events(t)

	id := strings.TrimSpace(b.MustRun(t, "dial", "sip:alice@"+a.SIPAddr()))
	b.MustRun(t, "senddtmf", "123")
	b.MustRun(t, "hangup", id)

	call := aev.WaitType(t, eventWait, "call.established", "").Call
	var got string
	for len(got) < 3 {
		got += aev.WaitType(t, eventWait, "dtmf.received", call).Digit
	}
	if got != "123" {
		t.Fatalf("A received %q, want 123", got)
	}
	aev.WaitType(t, eventWait, "call.ended", call)
}

// wantHearing waits until the WAV a daemon writes what it hears into has
// grown by half a second from now, and checks that this new audio is the
// far end's tone.
func wantHearing(t *testing.T, who, path string, hz float64) {
	t.Helper()
	samples, rate := testutil.WaitWAV(t, path, testutil.WAVLen(path), audio.SampleRate/2, eventWait)
	got := audio.DominantFrequency(samples, rate, 100, 3000, 10)
	if math.Abs(got-hz) > 20 {
		t.Fatalf("%s heard %.0f Hz, want %.0f Hz", who, got, hz)
	}
}

// waitAll waits until every predicate has matched some event of the stream,
// in any order, and returns the first match of each.
func waitAll(t *testing.T, s *testutil.EventStream, match ...func(testutil.Event) bool) []testutil.Event {
	t.Helper()
	deadline := time.Now().Add(eventWait)
	for {
		found := make([]testutil.Event, len(match))
		n := 0
		for i, m := range match {
			for _, e := range s.All() {
				if m(e) {
					found[i] = e
					n++
					break
				}
			}
		}
		if n == len(match) {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d expected events within %v: %+v", n, len(match), eventWait, s.All())
		}
		time.Sleep(20 * time.Millisecond) // polling the collected events
	}
}
