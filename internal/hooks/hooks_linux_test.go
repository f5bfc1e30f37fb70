package hooks

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/testutil"
)

const wait = 10 * time.Second

// start runs a Runner on a new bus with cmds and returns both; the runner
// is closed at cleanup.
func start(t *testing.T, cmds map[string]string, opts Options) (*Runner, *events.Bus) {
	t.Helper()
	bus := events.NewBus(100)
	r, err := Start(bus, cmds, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r, bus
}

// waitEvent waits for the first event of type typ on sub.
func waitEvent(t *testing.T, sub *events.Subscription, typ string) events.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("no %s event: %v", typ, err)
		}
		if e.Type == typ {
			return e
		}
	}
}

// script writes an sh script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitFile waits for path to exist and returns its contents.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNoHooksNoRunner(t *testing.T) {
	r, err := Start(events.NewBus(10), map[string]string{CallEnd: ""}, Options{})
	if r != nil || err != nil {
		t.Errorf("Start with no hook = %v, %v; want nil, nil", r, err)
	}
	r.Close() // a nil Runner closes
	if _, err := Start(events.NewBus(10), map[string]string{CallEnd: `x "y`}, Options{}); err == nil {
		t.Error("Start took a command line that does not split")
	}
}

// modes runs f with hooks started from the test process and from a
// spawner process.
func modes(t *testing.T, f func(t *testing.T, spawner string)) {
	t.Run("in-process", func(t *testing.T) { f(t, "") })
	t.Run("spawner", func(t *testing.T) { f(t, os.Args[0]) })
}

func TestRunsHookWithArgsAndEnv(t *testing.T) { modes(t, testRunsHookWithArgsAndEnv) }

func testRunsHookWithArgsAndEnv(t *testing.T, spawner string) {
	rec := testutil.NewHookRecorder(t)
	_, bus := start(t, map[string]string{
		CallEnd: shellQuote(rec.Script) + ` "{name} <{number}>" --dur={duration}`,
		DTMF:    shellQuote(rec.Script) + ` {text}`,
	}, Options{Env: []string{"PATH=" + os.Getenv("PATH"), "KEEP=1"}, Spawner: spawner})
	d := 42
	bus.Publish(events.Event{Type: events.CallEnded, Call: "3", Number: "-1001", Name: "Bob $(id)",
		URI: "sip:-1001@pbx.example.com:5070", Direction: "outgoing", Code: 200, Duration: &d})
	bus.Publish(events.Event{Type: events.DTMFReceived, Call: "3", Number: "-1001", Direction: "outgoing", Digit: "*"})
	got := rec.Wait(t, wait, CallEnd, DTMF)
	end := got[CallEnd]
	if want := []string{"Bob $(id) <-1001>", "--dur=42", "-1001"}; !reflect.DeepEqual(end.Args, want) {
		t.Errorf("cmdCallEnd args %q, want %q", end.Args, want)
	}
	wantEnv := map[string]string{"GOPHONE_EVENT": CallEnd, "GOPHONE_NUMBER": "-1001", "GOPHONE_NAME": "Bob $(id)",
		"GOPHONE_CALLID": "3", "GOPHONE_DIRECTION": "outgoing", "GOPHONE_DURATION": "42",
		"GOPHONE_DOMAIN": "pbx.example.com", "GOPHONE_TEXT": ""}
	if !reflect.DeepEqual(end.Env, wantEnv) {
		t.Errorf("cmdCallEnd env\n%v\nwant\n%v", end.Env, wantEnv)
	}
	if dt := got[DTMF]; !reflect.DeepEqual(dt.Args, []string{"*"}) || dt.Env["GOPHONE_TEXT"] != "*" {
		t.Errorf("cmdDTMF args %q text %q, want [*] and *", dt.Args, dt.Env["GOPHONE_TEXT"])
	}
}

// shellQuote quotes a path for a hook command line.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func TestRelativeProgramFromDir(t *testing.T) {
	rec := testutil.NewHookRecorder(t)
	dir := filepath.Dir(rec.Script)
	_, bus := start(t, map[string]string{CallEnd: "./" + filepath.Base(rec.Script)}, Options{Dir: dir})
	bus.Publish(events.Event{Type: events.CallEnded, Call: "1", Number: "1001"})
	rec.Wait(t, wait, CallEnd)
}

func TestFailurePublishesHookFailed(t *testing.T) { modes(t, testFailurePublishesHookFailed) }

func testFailurePublishesHookFailed(t *testing.T, spawner string) {
	dir := t.TempDir()
	fail := script(t, dir, "fail", "echo first line >&2\necho \"bad: $1\" >&2\nexit 3\n")
	tests := []struct {
		name, line, want string
	}{
		{"non-zero exit", shellQuote(fail), "exit status 3"},
		{"not found", shellQuote(filepath.Join(dir, "missing")), "no such file or directory"},
		{"not on PATH", "gophone-no-such-hook-program", "executable file not found"},
		{"not executable", shellQuote(dir), "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, bus := start(t, map[string]string{CallStart: tt.line}, Options{Spawner: spawner})
			sub := bus.Subscribe(bus.Last())
			defer sub.Close()
			bus.Publish(events.Event{Type: events.CallEstablished, Call: "9", Number: "1001", Direction: "outgoing"})
			e := waitEvent(t, sub, events.HookFailed)
			if e.Hook != CallStart || e.Call != "9" || !strings.Contains(e.Error, tt.want) {
				t.Errorf("hook.failed %+v, want hook %s call 9 error containing %q", e, CallStart, tt.want)
			}
		})
	}
}

// outcomes records what Options.Ran is told.
type outcomes struct {
	mu  sync.Mutex
	got map[string]int // "hook outcome" → count
}

func (o *outcomes) ran(hook, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.got == nil {
		o.got = map[string]int{}
	}
	o.got[hook+" "+outcome]++
}

func (o *outcomes) snapshot() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.got)
}

func TestRanToldEveryOutcome(t *testing.T) { modes(t, testRanToldEveryOutcome) }

// testRanToldEveryOutcome: runs that exit 0 are reported as well as the
// failures (gophone_hook_runs_total counts both).
func testRanToldEveryOutcome(t *testing.T, spawner string) {
	dir := t.TempDir()
	ok := script(t, dir, "ok", "exit 0\n")
	fail := script(t, dir, "fail", "exit 1\n")
	var o outcomes
	r, bus := start(t, map[string]string{CallStart: shellQuote(ok), CallEnd: shellQuote(fail)},
		Options{Spawner: spawner, Ran: o.ran})
	for _, c := range []string{"1", "2"} {
		bus.Publish(events.Event{Type: events.CallEstablished, Call: c, Direction: "outgoing"})
		bus.Publish(events.Event{Type: events.CallEnded, Call: c, Direction: "outgoing", Code: 200})
	}
	r.Close()
	want := map[string]int{CallStart + " ok": 2, CallEnd + " failed": 2}
	if got := o.snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
}

func TestStderrTailLogged(t *testing.T) {
	dir := t.TempDir()
	fail := script(t, dir, "fail", "i=0; while [ $i -lt 300 ]; do echo \"noise $i\" >&2; i=$((i+1)); done\necho \"bad: $1\" >&2\nexit 3\n")
	var log syncWriter
	_, bus := start(t, map[string]string{CallStart: shellQuote(fail)}, Options{Log: slog.New(slog.NewTextHandler(&log, nil))})
	sub := bus.Subscribe(bus.Last())
	defer sub.Close()
	bus.Publish(events.Event{Type: events.CallEstablished, Call: "9", Number: "1001", Direction: "outgoing"})
	waitEvent(t, sub, events.HookFailed)
	out := log.String()
	if !strings.Contains(out, "hook failed") || !strings.Contains(out, `bad: 1001`) || !strings.Contains(out, "exit status 3") {
		t.Errorf("log lacks the failure, its status or its stderr:\n%s", out)
	}
	if strings.Contains(out, "noise 0\\n") {
		t.Errorf("log holds all of stderr, not its tail:\n%s", out)
	}
}

func TestBoundKillsProcessGroup(t *testing.T) { modes(t, testBoundKillsProcessGroup) }

func testBoundKillsProcessGroup(t *testing.T, spawner string) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	slow := script(t, dir, "slow", "sleep 60 &\necho $$ >"+shellQuote(pidFile)+".tmp\nmv "+shellQuote(pidFile)+".tmp "+shellQuote(pidFile)+"\nwait\n")
	_, bus := start(t, map[string]string{IncomingCall: shellQuote(slow)}, Options{Timeout: 300 * time.Millisecond, Spawner: spawner})
	sub := bus.Subscribe(bus.Last())
	defer sub.Close()
	bus.Publish(events.Event{Type: events.CallIncoming, Call: "1", Number: "1001", Direction: "incoming"})
	pgid, err := strconv.Atoi(strings.TrimSpace(waitFile(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, sub, events.HookFailed)
	if e.Hook != IncomingCall || e.Call != "1" || !strings.Contains(e.Error, "killed after 300ms") {
		t.Errorf("hook.failed %+v, want cmdIncomingCall call 1 killed after 300ms", e)
	}
	if alive := testutil.GroupAlive(pgid); len(alive) > 0 {
		t.Errorf("processes %v of the hook's group %d still alive", alive, pgid)
	}
}

func TestQueueOrderAndDrop(t *testing.T) {
	rec := testutil.NewHookRecorder(t)
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	// The first run blocks until released; the others record and exit.
	block := script(t, dir, "block", "if mkdir "+shellQuote(started)+" 2>/dev/null; then\n"+
		"\twhile [ ! -e "+shellQuote(release)+" ]; do sleep 0.01; done\nfi\nexec "+shellQuote(rec.Script)+" \"$@\"\n")
	var o outcomes
	r, bus := start(t, map[string]string{DTMF: shellQuote(block) + " {text}"}, Options{Max: 1, Queue: 2, Ran: o.ran})
	digit := func(d string) { bus.Publish(events.Event{Type: events.DTMFReceived, Call: "1", Digit: d}) }
	digit("1")
	for deadline := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first hook did not start")
		}
	}
	for _, d := range []string{"2", "3", "4", "5"} {
		digit(d)
	}
	deadline := time.Now().Add(wait)
	for r.Dropped() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("dropped %d hooks, want 2 (queue of 2 behind one running)", r.Dropped())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r.Close()
	var digits []string
	for _, rec := range rec.Records(t) {
		digits = append(digits, rec.Args[0])
	}
	if want := []string{"1", "2", "3"}; !reflect.DeepEqual(digits, want) {
		t.Errorf("ran for digits %q, want %q (in order, 4 and 5 dropped)", digits, want)
	}
	if r.Dropped() != 2 {
		t.Errorf("dropped %d, want 2", r.Dropped())
	}
	if got, want := o.snapshot(), map[string]int{DTMF + " ok": 3, DTMF + " dropped": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
}

func TestMaxAtOnce(t *testing.T) {
	dir := t.TempDir()
	// Each run counts itself in, waits for the release, counts itself out.
	hook := script(t, dir, "hook", "touch "+shellQuote(dir)+"/in.$$\n"+
		"while [ ! -e "+shellQuote(dir)+"/release ]; do sleep 0.01; done\n")
	r, bus := start(t, map[string]string{DTMF: shellQuote(hook)}, Options{Max: 3})
	for range 5 {
		bus.Publish(events.Event{Type: events.DTMFReceived, Digit: "1"})
	}
	count := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, "in.*"))
		return len(m)
	}
	deadline := time.Now().Add(wait)
	for count() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d hooks running, want 3", count())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // would a fourth start?
	if n := count(); n != 3 {
		t.Errorf("%d hooks ran at once, want at most 3", n)
	}
	os.WriteFile(filepath.Join(dir, "release"), nil, 0o600)
	r.Close()
	if n := count(); n != 5 {
		t.Errorf("%d hooks ran, want 5", n)
	}
}

func TestCloseKillsAfterGrace(t *testing.T) { modes(t, testCloseKillsAfterGrace) }

func testCloseKillsAfterGrace(t *testing.T, spawner string) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	slow := script(t, dir, "slow", "echo $$ >"+shellQuote(pidFile)+".tmp\nmv "+shellQuote(pidFile)+".tmp "+shellQuote(pidFile)+"\nsleep 60\n")
	r, bus := start(t, map[string]string{CallEnd: shellQuote(slow)}, Options{Grace: 200 * time.Millisecond, Spawner: spawner})
	sub := bus.Subscribe(bus.Last())
	defer sub.Close()
	bus.Publish(events.Event{Type: events.CallEnded, Call: "2"})
	pgid, _ := strconv.Atoi(strings.TrimSpace(waitFile(t, pidFile)))
	r.Close()
	if e := waitEvent(t, sub, events.HookFailed); !strings.Contains(e.Error, "killed at shutdown") {
		t.Errorf("hook.failed %+v, want killed at shutdown", e)
	}
	if alive := testutil.GroupAlive(pgid); len(alive) > 0 {
		t.Errorf("processes %v of the hook's group still alive after Close", alive)
	}
}

func TestCloseRunsHooksOfEventsSoFar(t *testing.T) { modes(t, testCloseRunsHooksOfEventsSoFar) }

func testCloseRunsHooksOfEventsSoFar(t *testing.T, spawner string) {
	rec := testutil.NewHookRecorder(t)
	r, bus := start(t, map[string]string{CallEnd: shellQuote(rec.Script)}, Options{Spawner: spawner})
	for i := range 5 {
		bus.Publish(events.Event{Type: events.CallEnded, Call: strconv.Itoa(i)})
	}
	r.Close()
	if n := len(rec.Records(t)); n != 5 {
		t.Errorf("%d hooks ran before Close returned, want 5", n)
	}
}

func TestSpawnerMissingFallsBack(t *testing.T) {
	rec := testutil.NewHookRecorder(t)
	var log syncWriter
	_, bus := start(t, map[string]string{CallEnd: shellQuote(rec.Script)},
		Options{Spawner: filepath.Join(t.TempDir(), "no-such-gophone"), Log: slog.New(slog.NewTextHandler(&log, nil))})
	bus.Publish(events.Event{Type: events.CallEnded, Call: "1"})
	rec.Wait(t, wait, CallEnd)
	if !strings.Contains(log.String(), "hooks start from the daemon itself") {
		t.Errorf("no warning about the missing spawner:\n%s", log.String())
	}
}

func TestSpawnerGone(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	slow := script(t, dir, "slow", "echo $$ >"+shellQuote(pidFile)+".tmp\nmv "+shellQuote(pidFile)+".tmp "+shellQuote(pidFile)+"\nsleep 60\n")
	rec := testutil.NewHookRecorder(t)
	r, bus := start(t, map[string]string{CallEnd: shellQuote(slow), DTMF: shellQuote(rec.Script)}, Options{Spawner: os.Args[0]})
	sub := bus.Subscribe(bus.Last())
	defer sub.Close()
	bus.Publish(events.Event{Type: events.CallEnded, Call: "5"})
	waitFile(t, pidFile)
	r.sp.cmd.Process.Kill() // the spawner dies with a hook running
	if e := waitEvent(t, sub, events.HookFailed); e.Call != "5" || !strings.Contains(e.Error, "spawner exited") {
		t.Errorf("hook.failed %+v, want call 5, the spawner exited", e)
	}
	pgid, _ := strconv.Atoi(strings.TrimSpace(waitFile(t, pidFile)))
	syscall.Kill(-pgid, syscall.SIGKILL) // the orphaned hook: ours to end
	// Later hooks start from this process.
	bus.Publish(events.Event{Type: events.DTMFReceived, Call: "5", Digit: "1"})
	rec.Wait(t, wait, DTMF)
}

func TestGapCounted(t *testing.T) {
	r, _ := start(t, map[string]string{CallEnd: "true"}, Options{})
	r.handle(events.Event{Type: events.Gap, From: 10, To: 19})
	r.handle(events.Event{Type: events.Gap, From: 30, To: 30})
	if r.Missed() != 11 {
		t.Errorf("missed %d events, want 11", r.Missed())
	}
}

// syncWriter is a bytes.Buffer safe for the runner's goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
