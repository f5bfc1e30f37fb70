package phone

import (
	"testing"
	"time"
)

// callSpec describes a call for the selection tests: its id, state, whether we
// hold it, and when it started (seconds after selectionT0).
type callSpec struct {
	id    string
	state string
	held  bool
	at    int
}

var selectionT0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// calls builds the calls in the given order and sorts them the way the
// phone does (oldest first).
func testCalls(specs ...callSpec) []*call {
	out := make([]*call, len(specs))
	for i, s := range specs {
		out[i] = &call{id: s.id, state: s.state, held: s.held, started: selectionT0.Add(time.Duration(s.at) * time.Second)}
	}
	sortCalls(out)
	return out
}

func idOf(c *call) string {
	if c == nil {
		return ""
	}
	return c.id
}

func TestSortCalls(t *testing.T) {
	got := testCalls(
		callSpec{"10", stateRinging, false, 5},
		callSpec{"3", stateRinging, false, 1},
		callSpec{"2", stateRinging, false, 5},
		callSpec{"1", stateRinging, false, 9},
		callSpec{"9", stateRinging, false, 5},
	)
	want := []string{"3", "2", "9", "10", "1"} // by start, then numeric id
	for i, c := range got {
		if c.id != want[i] {
			t.Fatalf("sorted ids = %v, want %v", callIDs(got), want)
		}
	}
}

func callIDs(cs []*call) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.id
	}
	return out
}

func TestCallSelection(t *testing.T) {
	tests := []struct {
		name                       string
		calls                      []*call
		active, target, oldestRing string // expected ids, "" for none
	}{
		{"no calls", nil, "", "", ""},
		{"one established", testCalls(callSpec{"1", stateEstablished, false, 0}), "1", "1", ""},
		{"newest established not held wins",
			testCalls(callSpec{"1", stateEstablished, false, 0}, callSpec{"2", stateEstablished, false, 5}), "2", "2", ""},
		{"held call is not active",
			testCalls(callSpec{"1", stateEstablished, false, 0}, callSpec{"2", stateEstablished, true, 5}), "1", "1", ""},
		{"all held: no active, target is the newest established",
			testCalls(callSpec{"1", stateEstablished, true, 0}, callSpec{"2", stateEstablished, true, 5}), "", "2", ""},
		{"only ringing incoming calls: oldest ringing",
			testCalls(callSpec{"2", stateRinging, false, 5}, callSpec{"1", stateRinging, false, 1}), "", "", "1"},
		{"call waiting: active call and a ringing one",
			testCalls(callSpec{"1", stateEstablished, false, 0}, callSpec{"2", stateRinging, false, 5}), "1", "1", "2"},
		{"outgoing being set up is the target, not active",
			testCalls(callSpec{"1", stateCalling, false, 0}), "", "1", ""},
		{"early outgoing is the target",
			testCalls(callSpec{"1", stateEarly, false, 0}), "", "1", ""},
		{"newest call being set up",
			testCalls(callSpec{"1", stateCalling, false, 0}, callSpec{"2", stateEarly, false, 3}), "", "2", ""},
		{"established beats a newer call being set up",
			testCalls(callSpec{"1", stateEstablished, true, 0}, callSpec{"2", stateCalling, false, 3}), "", "1", ""},
		{"ringing incoming is never the target",
			testCalls(callSpec{"1", stateRinging, false, 0}), "", "", "1"},
		{"ended calls are ignored",
			testCalls(callSpec{"1", stateEstablished, false, 0}, callSpec{"2", stateEnded, false, 5}, callSpec{"3", stateEnded, false, 6}), "1", "1", ""},
		{"two ringing during a call: the older is answered first",
			testCalls(callSpec{"1", stateEstablished, false, 0}, callSpec{"2", stateRinging, false, 4}, callSpec{"3", stateRinging, false, 8}), "1", "1", "2"},
		{"same start time: lower id first",
			testCalls(callSpec{"12", stateRinging, false, 0}, callSpec{"3", stateRinging, false, 0}), "", "", "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := idOf(activeCall(tt.calls)); got != tt.active {
				t.Errorf("activeCall = %q, want %q", got, tt.active)
			}
			if got := idOf(targetCall(tt.calls)); got != tt.target {
				t.Errorf("targetCall = %q, want %q", got, tt.target)
			}
			if got := idOf(oldestRinging(tt.calls)); got != tt.oldestRing {
				t.Errorf("oldestRinging = %q, want %q", got, tt.oldestRing)
			}
		})
	}
}

func TestSetStateTimes(t *testing.T) {
	c := &call{id: "1", state: stateCalling, started: time.Now()}
	c.setState(stateEarly)
	if _, _, _, answered := c.snapshot(); !answered.IsZero() {
		t.Fatal("early call has an answer time")
	}
	c.setState(stateEstablished)
	st, _, _, answered := c.snapshot()
	if st != stateEstablished || answered.IsZero() {
		t.Fatalf("after established: state %q, answered %v", st, answered)
	}
	// A re-INVITE does not move the answer time.
	c.setState(stateEstablished)
	if _, _, _, again := c.snapshot(); !again.Equal(answered) {
		t.Errorf("answer time moved from %v to %v", answered, again)
	}
	fired := make(chan struct{}, 1)
	c.after(20*time.Millisecond, func() { fired <- struct{}{} })
	c.setState(stateEnded)
	if c.ended.IsZero() {
		t.Error("ended call has no end time")
	}
	select {
	case <-fired:
		t.Error("timer fired after the call ended")
	case <-time.After(60 * time.Millisecond):
	}
	c.after(time.Millisecond, func() { fired <- struct{}{} })
	select {
	case <-fired:
		t.Error("timer set on an ended call fired")
	case <-time.After(20 * time.Millisecond):
	}
}

func TestSIPOutcome(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{
		{200, "success"},
		{202, "success"},
		{299, "success"},
		{0, "unknown"},
		{300, "failed: 300"},
		{403, "failed: 403"},
		{486, "failed: 486"},
		{503, "failed: 503"},
		{603, "failed: 603"},
	}
	for _, tt := range tests {
		if got := sipOutcome(tt.code); got != tt.want {
			t.Errorf("sipOutcome(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}
