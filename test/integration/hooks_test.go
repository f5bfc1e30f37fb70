package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// allHooks are the hook keys of [Settings] (DESIGN §4).
var allHooks = []string{
	"cmdOutgoingCall", "cmdIncomingCall", "cmdCallRing", "cmdCallAnswer", "cmdCallBusy",
	"cmdCallStart", "cmdCallEnd", "cmdIncomingMessage", "cmdDTMF", "cmdRegistration",
}

// hookSettings returns [Settings] lines that set every hook key to run
// script with args, and the extra lines.
func hookSettings(script, args string, extra ...string) string {
	var b strings.Builder
	b.WriteString("[Settings]\n")
	for _, k := range allHooks {
		fmt.Fprintf(&b, "%s='%s' %s\n", k, script, args)
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// closeDaemon closes d and waits for it to exit; hooks still running get
// their short grace, so every hook fired so far has recorded by then.
func closeDaemon(t *testing.T, d *testutil.Daemon) {
	t.Helper()
	d.MustRun(t, "close")
	select {
	case <-d.Exited():
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not exit after close")
	}
}

// wantRan fails unless exactly the hooks keys ran, each once.
func wantRan(t *testing.T, rec *testutil.HookRecorder, keys ...string) {
	t.Helper()
	want := slices.Clone(keys)
	slices.Sort(want)
	if got := rec.Events(t); !reflect.DeepEqual(got, want) {
		t.Errorf("hooks that ran: %q, want each of %q once", got, want)
	}
}

// wantHook checks one recorded run's arguments and environment.
func wantHook(t *testing.T, r testutil.HookRecord, args []string, env map[string]string) {
	t.Helper()
	if !reflect.DeepEqual(r.Args, args) {
		t.Errorf("%s: args %q, want %q", r.Event, r.Args, args)
	}
	want := map[string]string{"GOPHONE_EVENT": r.Event}
	for k, v := range env {
		want["GOPHONE_"+k] = v
	}
	if !reflect.DeepEqual(r.Env, want) {
		t.Errorf("%s: environment\n%q\nwant\n%q", r.Event, r.Env, want)
	}
}

// TestHooksIncomingCall: a ringing incoming call runs cmdIncomingCall and
// cmdCallRing; answering it runs cmdCallAnswer and cmdCallStart (and the
// caller's INFO digit cmdDTMF); hanging up runs cmdCallEnd — each once,
// at that step, with the caller's number last and the GOPHONE_* values.
func TestHooksIncomingCall(t *testing.T) {
	rec := testutil.NewHookRecorder(t)
	d := startDaemon(t, hookSettings(rec.Script, "{callid} {direction} {duration} {text}"))
	ev := d.Events(t)
	uac := testutil.NewSIPp(t, scenario(t, "uac_hooks.xml"))
	uac.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001",
		"-key", "from_name", "Alice Smith", "-key", "from_user", "5551234")

	id := ev.WaitType(t, eventWait, "call.ringing", "").Call
	rec.Wait(t, eventWait, "cmdIncomingCall", "cmdCallRing")
	wantRan(t, rec, "cmdIncomingCall", "cmdCallRing") // nothing answered yet

	d.MustRun(t, "answer", id)
	ev.WaitType(t, eventWait, "dtmf.received", id)
	rec.Wait(t, eventWait, "cmdCallAnswer", "cmdCallStart", "cmdDTMF")
	wantRan(t, rec, "cmdIncomingCall", "cmdCallRing", "cmdCallAnswer", "cmdCallStart", "cmdDTMF")

	d.MustRun(t, "hangup", id)
	end := ev.WaitType(t, eventWait, "call.ended", id)
	wantSIPpOK(t, "uac_hooks.xml", uac.Wait())
	closeDaemon(t, d)
	wantRan(t, rec, "cmdIncomingCall", "cmdCallRing", "cmdCallAnswer", "cmdCallStart", "cmdDTMF", "cmdCallEnd")

	got := map[string]testutil.HookRecord{}
	for _, r := range rec.Records(t) {
		got[r.Event] = r
	}
	env := func(dur, text string) map[string]string {
		return map[string]string{"NUMBER": "5551234", "NAME": "Alice Smith", "CALLID": id,
			"DIRECTION": "incoming", "DURATION": dur, "DOMAIN": "127.0.0.1", "TEXT": text}
	}
	for _, k := range []string{"cmdIncomingCall", "cmdCallRing", "cmdCallAnswer", "cmdCallStart"} {
		wantHook(t, got[k], []string{id, "incoming", "", "", "5551234"}, env("", ""))
	}
	// gophone's own hooks get no number appended.
	wantHook(t, got["cmdDTMF"], []string{id, "incoming", "", "5"}, env("", "5"))
	dur := fmt.Sprint(*end.Duration)
	wantHook(t, got["cmdCallEnd"], []string{id, "incoming", dur, "", "5551234"}, env(dur, ""))
}

// TestHooksOutgoingCall: dialling runs cmdOutgoingCall, the confirmed call
// cmdCallStart (not cmdCallAnswer, and the far end's 180 no cmdCallRing),
// hanging up cmdCallEnd; a call answered 486 runs cmdCallBusy instead of
// cmdCallEnd.
func TestHooksOutgoingCall(t *testing.T) {
	t.Run("answered", func(t *testing.T) {
		rec := testutil.NewHookRecorder(t)
		d := startDaemon(t, hookSettings(rec.Script, "{number}@{domain} {name}"))
		ev := d.Events(t)
		uas := oneCallUAS(t, "uas.xml")
		id := dial(t, d, "sip:1001@"+uas.Addr())
		ev.WaitType(t, eventWait, "call.established", id)
		rec.Wait(t, eventWait, "cmdOutgoingCall", "cmdCallStart")
		wantRan(t, rec, "cmdOutgoingCall", "cmdCallStart")
		d.MustRun(t, "hangup", id)
		ev.WaitType(t, eventWait, "call.ended", id)
		wantSIPpOK(t, "uas.xml", uas.Wait())
		closeDaemon(t, d)
		wantRan(t, rec, "cmdOutgoingCall", "cmdCallStart", "cmdCallEnd")
		for _, r := range rec.Records(t) {
			if r.Args[0] != "1001@127.0.0.1" || r.Args[len(r.Args)-1] != "1001" ||
				r.Env["GOPHONE_DIRECTION"] != "outgoing" || r.Env["GOPHONE_CALLID"] != id {
				t.Errorf("%s: args %q env %q, want 1001@127.0.0.1 … 1001, outgoing, call %s", r.Event, r.Args, r.Env, id)
			}
		}
	})
	t.Run("ended by close", func(t *testing.T) {
		rec := testutil.NewHookRecorder(t)
		d := startDaemon(t, hookSettings(rec.Script, ""))
		ev := d.Events(t)
		uas := oneCallUAS(t, "uas.xml")
		id := dial(t, d, "sip:1001@"+uas.Addr())
		ev.WaitType(t, eventWait, "call.established", id)
		closeDaemon(t, d) // hangs the call up; its hook still runs
		wantRan(t, rec, "cmdOutgoingCall", "cmdCallStart", "cmdCallEnd")
		wantSIPpOK(t, "uas.xml", uas.Wait())
	})
	t.Run("busy", func(t *testing.T) {
		rec := testutil.NewHookRecorder(t)
		d := startDaemon(t, hookSettings(rec.Script, "{duration}"))
		ev := d.Events(t)
		uas := oneCallUAS(t, "uas_busy.xml")
		id := dial(t, d, "sip:1001@"+uas.Addr())
		if e := ev.WaitType(t, eventWait, "call.ended", id); e.Code != 486 {
			t.Fatalf("call ended %d %q, want 486", e.Code, e.Reason)
		}
		rec.Wait(t, eventWait, "cmdCallBusy")
		wantSIPpOK(t, "uas_busy.xml", uas.Wait())
		closeDaemon(t, d)
		wantRan(t, rec, "cmdOutgoingCall", "cmdCallBusy")
		for _, r := range rec.Records(t) {
			if r.Event == "cmdCallBusy" && !reflect.DeepEqual(r.Args, []string{"0", "1001"}) {
				t.Errorf("cmdCallBusy args %q, want [0 1001]", r.Args)
			}
		}
	})
}

// TestHooksTakeCallerTextLiterally: a caller whose display name and user
// part carry shell syntax ($(…), backticks, ;) gets it into the hook as
// plain data: no file is created, nothing runs, and the hook receives the
// text exactly as the call event reports it.
func TestHooksTakeCallerTextLiterally(t *testing.T) {
	dir := t.TempDir()
	p := func(n int) string { return filepath.Join(dir, fmt.Sprintf("pwned%d", n)) }
	name := fmt.Sprintf("$(touch %s) `touch %s` ;touch %s ;id", p(1), p(2), p(3))
	// A SIP URI user part has no spaces, backticks or newlines unescaped
	// (RFC 3261 §25.1): they come %-escaped, and stay so.
	user := fmt.Sprintf(";touch%%20%s;id$(touch%%20%s)%%60touch%%20%s%%60%%0Aid", p(4), p(5), p(6))
	t.Cleanup(func() { // also when the test stops early
		for i := 1; i <= 6; i++ {
			if _, err := os.Stat(p(i)); err == nil {
				t.Errorf("%s exists: caller text ran as a command", p(i))
			}
		}
	})
	rec := testutil.NewHookRecorder(t)
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n"+
		fmt.Sprintf("cmdIncomingCall='%s' {name} {number} \"{name}|{number}\"\n", rec.Script)+
		fmt.Sprintf("cmdCallStart='%s' --name={name}\n", rec.Script))
	ev := d.Events(t)
	uac := testutil.NewSIPp(t, scenario(t, "uac_hooks.xml"))
	uac.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001", "-key", "from_name", name, "-key", "from_user", user)
	in := ev.WaitType(t, eventWait, "call.incoming", "")
	ev.WaitType(t, eventWait, "dtmf.received", in.Call)
	got := rec.Wait(t, eventWait, "cmdIncomingCall", "cmdCallStart")
	d.MustRun(t, "hangup", in.Call)
	wantSIPpOK(t, "uac_hooks.xml", uac.Wait())

	if in.Name != name || in.Number != user {
		t.Errorf("call.incoming name %q number %q, want %q and %q as sent", in.Name, in.Number, name, user)
	}
	wantHook(t, got["cmdIncomingCall"], []string{in.Name, in.Number, in.Name + "|" + in.Number, in.Number},
		map[string]string{"NUMBER": in.Number, "NAME": in.Name, "CALLID": in.Call, "DIRECTION": "incoming",
			"DURATION": "", "DOMAIN": "127.0.0.1", "TEXT": ""})
	if a := got["cmdCallStart"].Args; !reflect.DeepEqual(a, []string{"--name=" + in.Name, in.Number}) {
		t.Errorf("cmdCallStart args %q", a)
	}
	closeDaemon(t, d)
}

// TestHooksIncomingMessage: a received MESSAGE runs cmdIncomingMessage
// once, with the body as {text} and GOPHONE_TEXT, taken literally, and the
// sender's number in GOPHONE_NUMBER (no number appended: a gophone hook).
func TestHooksIncomingMessage(t *testing.T) {
	rec := testutil.NewHookRecorder(t)
	d := startDaemon(t, hookSettings(rec.Script, "{text}")+"[Account1]\nusername=alice\n")
	sender := startDaemon(t, "[Account1]\nusername=bob\n")
	pwned := filepath.Join(t.TempDir(), "pwned")
	text := "hi $(touch " + pwned + ") `touch " + pwned + "`; ok ✓"
	if out := strings.TrimSpace(sender.MustRun(t, "message", "sip:alice@"+d.SIPAddr(), text)); out != "sent" {
		t.Fatalf("message printed %q, want sent", out)
	}
	rec.Wait(t, eventWait, "cmdIncomingMessage")
	closeDaemon(t, d)
	wantRan(t, rec, "cmdIncomingMessage")
	r := rec.Records(t)[0]
	if !reflect.DeepEqual(r.Args, []string{text}) {
		t.Errorf("args %q, want the text as one argument", r.Args)
	}
	if r.Env["GOPHONE_TEXT"] != text || r.Env["GOPHONE_NUMBER"] != "bob" {
		t.Errorf("environment %q, want GOPHONE_TEXT the text and GOPHONE_NUMBER bob", r.Env)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Error("the message's text ran as a command")
	}
}
