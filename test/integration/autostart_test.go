package integration

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// TestAutostartDial: with no daemon running, `gophone dial URI` starts
// `gophone serve` in the background (DESIGN §1) and the call goes through.
func TestAutostartDial(t *testing.T) {
	o := testutil.NewOffline(t, gophoneBin, "")
	peer := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	pev := peer.Events(t)

	r := o.Run("dial", "sip:x@"+peer.SIPAddr())
	if r.Exit != 0 {
		t.Fatalf("dial with no daemon: %s", r)
	}
	id := strings.TrimSpace(r.Stdout)
	if id == "" {
		t.Fatalf("dial printed no call id: %s", r)
	}
	in := pev.WaitType(t, eventWait, "call.incoming", "")
	pev.WaitType(t, eventWait, "call.established", in.Call)

	// The peer's call is confirmed by the caller's ACK, so the caller
	// (the auto-started daemon) has the call established by now.
	st := offlineStatus(t, o)
	c, ok := st.Call(id)
	if !ok || c.State != "established" || c.Direction != "outgoing" {
		t.Errorf("auto-started daemon's call %s: %+v (found %v); calls %+v", id, c, ok, st.Calls)
	}
	if r := o.Run("hangup", id); r.Exit != 0 {
		t.Errorf("hangup: %s", r)
	}
	pev.WaitType(t, eventWait, "call.ended", in.Call)
	if n := servingLines(t, o); n != 1 {
		t.Errorf("%d \"gophone serving\" lines in %s, want 1", n, o.LogFile)
	}
}

// TestNotRunningCommands: status, answer, reject, hangup and close with no
// daemon exit 3 with "gophone is not running" and start none.
func TestNotRunningCommands(t *testing.T) {
	o := testutil.NewOffline(t, gophoneBin, "")
	for _, args := range [][]string{
		{"status"}, {"status", "--json"}, {"answer"}, {"reject"}, {"hangup"}, {"hangup", "--all"}, {"close"},
	} {
		r := o.Run(args...)
		if r.Exit != 3 || strings.TrimSpace(r.Stderr) != "gophone is not running" || r.Stdout != "" {
			t.Errorf("%s with no daemon: %s; want exit 3 and stderr \"gophone is not running\"",
				strings.Join(args, " "), r)
		}
	}
	if _, err := os.Stat(o.Socket); !os.IsNotExist(err) {
		t.Errorf("control socket %s exists (%v): a daemon was started", o.Socket, err)
	}
	if _, err := os.Stat(o.LogFile); !os.IsNotExist(err) {
		b, _ := os.ReadFile(o.LogFile)
		t.Errorf("the daemon's log file exists: a daemon was started:\n%s", b)
	}
	if r := o.Run("status"); r.Exit != 3 {
		t.Errorf("status after the refused commands: %s", r)
	}
}

// TestAutostartConcurrent: four clients run `devices` at once on a fresh
// config; between them they start exactly one daemon, and all succeed.
func TestAutostartConcurrent(t *testing.T) {
	o := testutil.NewOffline(t, gophoneBin, "")
	const n = 4
	results := make([]testutil.CLIResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = o.Run("devices")
		})
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		if r.Exit != 0 || strings.TrimSpace(r.Stdout) == "" {
			t.Errorf("client %d: devices: %s", i, r)
		}
		if r.Stdout != results[0].Stdout {
			t.Errorf("client %d listed %q, client 0 %q", i, r.Stdout, results[0].Stdout)
		}
	}
	offlineStatus(t, o)
	if n := servingLines(t, o); n != 1 {
		t.Errorf("%d \"gophone serving\" lines in %s, want exactly one daemon", n, o.LogFile)
	}
	if b, err := os.ReadFile(o.ServeLog()); err == nil && strings.Contains(string(b), "already running") {
		t.Errorf("a second daemon was started and refused:\n%s", b)
	}
}

func offlineStatus(t *testing.T, o *testutil.Offline) testutil.Status {
	t.Helper()
	r := o.Run("status", "--json")
	if r.Exit != 0 {
		t.Fatalf("status --json: %s", r)
	}
	var st testutil.Status
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("status --json: %v: %s", err, r.Stdout)
	}
	return st
}

// servingLines counts the daemon start lines in the log file.
func servingLines(t *testing.T, o *testutil.Offline) int {
	t.Helper()
	b, err := os.ReadFile(o.LogFile)
	if err != nil {
		t.Fatalf("daemon log: %v", err)
	}
	return strings.Count(string(b), `msg="gophone serving"`)
}
