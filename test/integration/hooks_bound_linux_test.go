package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestHookBoundKeepsCallsAnswered: a hook that sleeps 60 s is killed with
// its whole process group at the 10 s bound (hook.failed), and while it
// sleeps, with maxHooks=1 so every later hook waits behind it, calls keep
// being answered; the hooks that waited run after it.
func TestHookBoundKeepsCallsAnswered(t *testing.T) {
	rec := testutil.NewHookRecorder(t)
	dir := t.TempDir()
	slept, pidFile := filepath.Join(dir, "slept"), filepath.Join(dir, "pid")
	// The first run records its pid (= its process group), starts a
	// background sleeper in its group, and sleeps; later runs record.
	slow := filepath.Join(dir, "slow-hook")
	body := fmt.Sprintf("#!/bin/sh\nif mkdir '%s' 2>/dev/null; then\n"+
		"\tsleep 60 &\n\techo $$ >'%s.tmp'\n\tmv '%s.tmp' '%s'\n\tsleep 60\n\texit 0\nfi\nexec '%s' \"$@\"\n",
		slept, pidFile, pidFile, pidFile, rec.Script)
	if err := os.WriteFile(slow, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, fmt.Sprintf("[Settings]\nautoAnswer=all\nmaxHooks=1\ncmdIncomingCall='%s'\n", slow))
	ev := d.Events(t)

	first := testutil.NewSIPp(t, scenario(t, "uac_autoanswer.xml"))
	first.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001")
	id := ev.WaitType(t, eventWait, "call.incoming", "").Call
	var pgid int
	for deadline := time.Now().Add(eventWait); ; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil {
			pgid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow hook did not start")
		}
	}
	wantSIPpOK(t, "uac_autoanswer.xml", first.Wait())

	// While the hook sleeps: 5 more calls, all answered.
	more := testutil.NewSIPp(t, scenario(t, "uac_autoanswer.xml"))
	wantSIPpOK(t, "uac_autoanswer.xml (5 calls)", more.Run(d.SIPAddr(), sippLimit, "-m", "5", "-r", "5", "-s", "1001"))
	answered := 0
	for _, e := range ev.All() {
		if e.Type == "call.established" && e.Call != id {
			answered++
		}
		if e.Type == "hook.failed" {
			t.Errorf("hook.failed before the calls were done: %s", e.Raw)
		}
	}
	if answered != 5 {
		t.Errorf("%d calls established during the slow hook, want 5", answered)
	}

	failed := ev.WaitType(t, 15*time.Second, "hook.failed", "")
	if failed.Hook != "cmdIncomingCall" || failed.Call != id || !strings.Contains(failed.Error, "killed after 10s") {
		t.Errorf("hook.failed %s, want cmdIncomingCall of call %s killed after 10s", failed.Raw, id)
	}
	if alive := testutil.GroupAlive(pgid); len(alive) > 0 {
		t.Errorf("processes %v of the hook's group %d alive after the bound", alive, pgid)
	}
	// The hooks that waited behind it run now.
	deadline := time.Now().Add(eventWait)
	for len(rec.Records(t)) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the 5 waiting hooks ran", len(rec.Records(t)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
