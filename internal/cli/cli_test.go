package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/control"
	"github.com/gophone/gophone/internal/events"
)

// fakeDaemon stands in for the daemon behind the control socket.
type fakeDaemon struct {
	mu        sync.Mutex
	running   bool
	reqs      []command.Request
	sockets   []string
	starts    int
	startArgs []string
	respond   func(command.Request) command.Response
	events    []events.Event
	since     uint64
	// startDelay is how long a started daemon takes to answer.
	startDelay time.Duration
}

func (d *fakeDaemon) dial(ctx context.Context, socket string) (conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sockets = append(d.sockets, socket)
	if !d.running {
		return nil, fmt.Errorf("%w: no socket", control.ErrNotRunning)
	}
	return &fakeConn{d: d}, nil
}

func (d *fakeDaemon) start(socket, configFlag string) (<-chan error, string, error) {
	d.mu.Lock()
	d.starts++
	d.startArgs = append(d.startArgs, configFlag)
	d.mu.Unlock()
	go func() {
		time.Sleep(d.startDelay)
		d.mu.Lock()
		d.running = true
		d.mu.Unlock()
	}()
	return make(chan error), "/tmp/log", nil
}

type fakeConn struct{ d *fakeDaemon }

func (c *fakeConn) Do(ctx context.Context, req command.Request) (command.Response, error) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	c.d.reqs = append(c.d.reqs, req)
	if c.d.respond != nil {
		return c.d.respond(req), nil
	}
	return command.Response{OK: true}, nil
}

func (c *fakeConn) Subscribe(ctx context.Context, since uint64, fn func(events.Event) error) error {
	c.d.mu.Lock()
	c.d.since = since
	evs := c.d.events
	c.d.mu.Unlock()
	for _, e := range evs {
		if err := fn(e); err != nil {
			return err
		}
	}
	return errors.New("control: connection closed")
}

func (c *fakeConn) Close() error { return nil }

// testRunner returns a runner wired to d, and its stdout and stderr.
func testRunner(d *fakeDaemon) (*runner, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	r := newRunner(Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }})
	r.dial = d.dial
	r.start = d.start
	r.findSocket = func(configFlag string) (string, error) {
		if configFlag == "" {
			return "/run/gophone.sock", nil
		}
		return configFlag + ".sock", nil
	}
	r.pollInterval = time.Millisecond
	return r, &stdout, &stderr
}

type A = command.Args

func TestRequests(t *testing.T) {
	tests := []struct {
		args []string
		want []command.Request
	}{
		{[]string{"dial", "1001"}, []command.Request{{Command: "Dial", Args: A{"number": "1001"}}}},
		{[]string{"DIAL", "sip:a@b", "--account", "2"}, []command.Request{{Command: "Dial", Args: A{"number": "sip:a@b", "account": "2"}}}},
		{[]string{"callto", "1002"}, []command.Request{{Command: "CallTo", Args: A{"number": "1002"}}}},
		{[]string{"SendDTMF", "12#"}, []command.Request{{Command: "SendDTMF", Args: A{"digits": "12#"}}}},
		{[]string{"senddtmf", "1,2", "c3", "--timeout", "5s"}, []command.Request{{Command: "SendDTMF", Args: A{"digits": "1,2", "call": "c3", "timeout": "5s"}}}},
		{[]string{"hangup", "--all"}, []command.Request{{Command: "Hangup", Args: A{"all": true}}}},
		{[]string{"hangup", "c1"}, []command.Request{{Command: "Hangup", Args: A{"call": "c1"}}}},
		{[]string{"reject", "--decline"}, []command.Request{{Command: "Reject", Args: A{"decline": true}}}},
		{[]string{"hold"}, []command.Request{{Command: "Hold", Args: A{}}}},
		{[]string{"transfer", "1003", "c1"}, []command.Request{{Command: "Transfer", Args: A{"number": "1003", "call": "c1"}}}},
		{[]string{"mute", "on"}, []command.Request{{Command: "Mute", Args: A{"state": "on"}}}},
		{[]string{"volumeup", "3"}, []command.Request{{Command: "VolumeUp", Args: A{"steps": 3}}}},
		{[]string{"micdown"}, []command.Request{{Command: "MicDown", Args: A{}}}},
		{[]string{"setdevice", "output", "file:/tmp/x.wav"}, []command.Request{{Command: "SetDevice", Args: A{"direction": "output", "device": "file:/tmp/x.wav"}}}},
		{[]string{"status", "--json"}, []command.Request{{Command: "Status", Args: A{}}}},
		{[]string{"message", "1001", "hello world"}, []command.Request{{Command: "Message", Args: A{"to": "1001", "text": "hello world"}}}},
		{[]string{"messages", "--json"}, []command.Request{{Command: "Messages", Args: A{}}}},
		{[]string{"history"}, []command.Request{{Command: "History", Args: A{}}}},
		{[]string{"wait", "call.established", "--call", "c1", "--timeout", "10s"}, []command.Request{{Command: "Wait", Args: A{"event": "call.established", "call": "c1", "timeout": "10s"}}}},
		{[]string{"-c", "x.ini", "--json", "close"}, []command.Request{{Command: "Close", Args: A{}}}},
		{[]string{"dial", "1001", "-c", "x.ini"}, []command.Request{{Command: "Dial", Args: A{"number": "1001"}}}},
		// MicroSIP grammar.
		{[]string{"1001"}, []command.Request{{Command: "Dial", Args: A{"number": "1001"}}}},
		{[]string{"/account:2", "1001"}, []command.Request{{Command: "Dial", Args: A{"number": "1001", "account": "2"}}}},
		{[]string{"1001", "hi", "there"}, []command.Request{{Command: "Message", Args: A{"to": "1001", "text": "hi there"}}}},
		{[]string{"/ANSWER"}, []command.Request{{Command: "Answer", Args: A{}}}},
		{[]string{"/hangupall", "tel:1002"}, []command.Request{{Command: "Hangup", Args: A{"all": true}}, {Command: "Dial", Args: A{"number": "1002"}}}},
		{[]string{"msip:speakup"}, []command.Request{{Command: "VolumeUp", Args: A{"steps": 1}}}},
		{[]string{"/minimized"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			d := &fakeDaemon{running: true}
			r, _, stderr := testRunner(d)
			if code := r.main(context.Background(), tt.args); code != ExitOK {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if !reflect.DeepEqual(d.reqs, tt.want) {
				t.Errorf("requests\n %#v\nwant\n %#v", d.reqs, tt.want)
			}
		})
	}
}

func TestConfigFlagFindsSocket(t *testing.T) {
	for _, args := range [][]string{
		{"-c", "x.ini", "dial", "1"}, {"--config", "x.ini", "dial", "1"}, {"--config=x.ini", "dial", "1"},
		{"dial", "1", "-c", "x.ini"}, {"-c", "x.ini", "1001"},
	} {
		d := &fakeDaemon{running: true}
		r, _, _ := testRunner(d)
		r.main(context.Background(), args)
		if want := []string{"x.ini.sock"}; !reflect.DeepEqual(d.sockets, want) {
			t.Errorf("%q: dialled %q, want %q", args, d.sockets, want)
		}
	}
}

func TestExitCodes(t *testing.T) {
	failing := func(req command.Request) command.Response {
		return command.Response{Error: command.Errorf(command.CodeNoActiveCall, "no active call")}
	}
	tests := []struct {
		name       string
		args       []string
		running    bool
		respond    func(command.Request) command.Response
		code       int
		stderr     string
		wantStarts int
	}{
		{"ok", []string{"hold"}, true, nil, ExitOK, "", 0},
		{"command error", []string{"hold"}, true, failing, ExitFailure, "gophone: no active call (no_active_call)\n", 0},
		{"microsip command error", []string{"msip:hold"}, true, failing, ExitFailure, "gophone: no active call (no_active_call)\n", 0},
		{"no args", nil, true, nil, ExitUsage, "usage: gophone", 0},
		{"unknown command", []string{"frobnicate"}, true, nil, ExitUsage, `gophone: unknown command "frobnicate" (see gophone help) (unknown_command)`, 0},
		{"unknown flag", []string{"-x", "dial"}, true, nil, ExitUsage, "gophone: unknown flag -x (bad_args)", 0},
		{"missing arg", []string{"dial"}, true, nil, ExitUsage, "gophone: Dial: missing number (bad_args)", 0},
		{"bad int", []string{"volumeup", "11"}, true, nil, ExitUsage, "steps must be 1-10", 0},
		{"bad enum", []string{"mute", "maybe"}, true, nil, ExitUsage, "(bad_args)", 0},
		{"extra arg", []string{"answer", "c1", "c2"}, true, nil, ExitUsage, "unexpected argument", 0},
		{"-c without file", []string{"-c"}, true, nil, ExitUsage, "-c needs a file name", 0},
		{"unknown microsip option", []string{"/foo"}, true, nil, ExitUsage, "gophone: unknown MicroSIP option /foo (bad_args)", 0},
		{"answer not running", []string{"answer"}, false, nil, ExitNotRunning, "gophone is not running\n", 0},
		{"reject not running", []string{"reject"}, false, nil, ExitNotRunning, "gophone is not running\n", 0},
		{"hangup not running", []string{"hangup", "--all"}, false, nil, ExitNotRunning, "gophone is not running\n", 0},
		{"close not running", []string{"close"}, false, nil, ExitNotRunning, "gophone is not running\n", 0},
		{"status not running", []string{"status"}, false, nil, ExitNotRunning, "gophone is not running\n", 0},
		{"/answer not running", []string{"/answer"}, false, nil, ExitNotRunning, "gophone is not running\n", 0},
		{"/exit not running", []string{"/exit"}, false, nil, ExitNotRunning, "gophone is not running\n", 0},
		{"dial starts daemon", []string{"dial", "1001"}, false, nil, ExitOK, "", 1},
		{"microsip number starts daemon", []string{"1001"}, false, nil, ExitOK, "", 1},
		{"/minimized starts daemon", []string{"/minimized"}, false, nil, ExitOK, "", 1},
		{"/hangupall then dial starts daemon", []string{"/hangupall", "1001"}, false, nil, ExitOK, "", 1},
		{"wait starts daemon", []string{"wait", "call.incoming"}, false, nil, ExitOK, "", 1},
		{"timeout", []string{"wait", "call.incoming", "--timeout", "1s"}, true,
			func(command.Request) command.Response {
				return command.Response{Error: command.Errorf(command.CodeTimeout, "timeout waiting for call.incoming")}
			}, ExitFailure, "gophone: timeout waiting for call.incoming (timeout)\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDaemon{running: tt.running, respond: tt.respond}
			r, _, stderr := testRunner(d)
			code := r.main(context.Background(), tt.args)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr.String(), tt.stderr) || tt.stderr == "" && stderr.Len() > 0 {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
			if d.starts != tt.wantStarts {
				t.Errorf("daemon started %d times, want %d", d.starts, tt.wantStarts)
			}
		})
	}
}

func TestOutput(t *testing.T) {
	status := func(calls ...map[string]any) any {
		return map[string]any{"accounts": []any{}, "calls": calls, "audio": map[string]any{"volume": 100}}
	}
	call := func(number, state string, held bool, dur float64) map[string]any {
		return map[string]any{"id": "c1", "number": number, "state": state, "held": held, "duration": dur}
	}
	tests := []struct {
		name   string
		args   []string
		result any
		want   string
	}{
		{"idle", []string{"status"}, status(), "IDLE\n"},
		{"only ended", []string{"status"}, status(call("1001", "ended", false, 3)), "IDLE\n"},
		{"ringing", []string{"status"}, status(call("1001", "ringing", false, 0)), "RINGING 1001\n"},
		{"calling", []string{"status"}, status(call("1001", "calling", false, 0)), "CALLING 1001\n"},
		{"early", []string{"status"}, status(call("1001", "early", false, 0)), "CALLING 1001\n"},
		{"connected", []string{"status"}, status(call("1001", "established", false, 42)), "CONNECTED 1001 00:42\n"},
		{"connected minutes", []string{"status"}, status(call("1001", "established", false, 754.6)), "CONNECTED 1001 12:34\n"},
		{"connected hours", []string{"status"}, status(call("1001", "established", false, 3725)), "CONNECTED 1001 01:02:05\n"},
		{"hold", []string{"status"}, status(call("1001", "established", true, 42)), "HOLD 1001 00:42\n"},
		{"several", []string{"status"}, status(call("1001", "established", true, 61), call("1002", "ringing", false, 0)),
			"HOLD 1001 01:01\nRINGING 1002\n"},
		{"no number", []string{"status"}, status(map[string]any{"id": "c9", "uri": "sip:x@y", "state": "ringing"}), "RINGING sip:x@y\n"},
		{"status json", []string{"status", "--json"}, status(call("1001", "ringing", false, 0)),
			`{"accounts":[],"audio":{"volume":100},"calls":[{"duration":0,"held":false,"id":"c1","number":"1001","state":"ringing"}]}` + "\n"},
		{"dial call id", []string{"dial", "1001"}, map[string]any{"call": "c7"}, "c7\n"},
		{"callto call id", []string{"callto", "1001"}, map[string]any{"call": "c8", "number": "1001"}, "c8\n"},
		{"microsip dial call id", []string{"1001"}, map[string]any{"call": "c7"}, "c7\n"},
		{"dial json", []string{"--json", "dial", "1001"}, map[string]any{"call": "c7"}, `{"call":"c7"}` + "\n"},
		{"message sent", []string{"message", "1001", "hi"}, map[string]any{"status": "sent", "code": 200}, "sent\n"},
		{"message string", []string{"message", "1001", "hi"}, "sent", "sent\n"},
		{"string", []string{"transfer", "1002"}, "200 OK", "200 OK\n"},
		{"object", []string{"wait", "call.incoming"}, events.Event{Seq: 3, Type: "call.incoming", Call: "c1"},
			`{"seq":3,"time":"0001-01-01T00:00:00Z","type":"call.incoming","call":"c1"}` + "\n"},
		{"list", []string{"devices"}, []any{"null", map[string]any{"id": "tone:440"}}, "null\n{\"id\":\"tone:440\"}\n"},
		{"empty object", []string{"hold"}, map[string]any{}, ""},
		{"nil", []string{"hold"}, nil, ""},
		{"messages", []string{"messages"}, []any{
			map[string]any{"id": "1", "time": "2026-01-02T15:04:05Z", "direction": "in", "peer": "1001", "text": "hi\nthere", "status": "received"},
		}, "2026-01-02T15:04:05Z in 1001 [received]: hi there\n"},
		{"messages json", []string{"messages", "--json"}, []any{map[string]any{"id": "1", "text": "hi"}}, `[{"id":"1","text":"hi"}]` + "\n"},
		{"history", []string{"history"}, []any{
			map[string]any{"id": "1", "direction": "outgoing", "number": "1001", "name": "Bob", "started": "2026-01-02T15:04:05Z",
				"duration": 65, "code": 200, "reason": "OK"},
		}, "2026-01-02T15:04:05Z outgoing 1001 (Bob) 01:05 200 OK\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDaemon{running: true, respond: func(command.Request) command.Response {
				return command.Response{OK: true, Result: tt.result}
			}}
			r, stdout, stderr := testRunner(d)
			if code := r.main(context.Background(), tt.args); code != ExitOK {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if stdout.String() != tt.want {
				t.Errorf("stdout\n %q\nwant\n %q", stdout, tt.want)
			}
		})
	}
}

func TestMessageFailed(t *testing.T) {
	d := &fakeDaemon{running: true, respond: func(command.Request) command.Response {
		return command.Response{OK: true, Result: map[string]any{"status": "failed", "code": 404, "reason": "Not Found"}}
	}}
	r, stdout, stderr := testRunner(d)
	if code := r.main(context.Background(), []string{"1001", "hello"}); code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	if want := "gophone: failed: 404 Not Found (sip_error)\n"; stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("stdout %q stderr %q, want stderr %q", stdout, stderr, want)
	}
}

func TestClock(t *testing.T) {
	for _, tt := range []struct {
		s    float64
		want string
	}{{0, "00:00"}, {-1, "00:00"}, {59.9, "00:59"}, {60, "01:00"}, {3599, "59:59"}, {3600, "01:00:00"}, {36000 + 61, "10:01:01"}} {
		if got := clock(tt.s); got != tt.want {
			t.Errorf("clock(%v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestEvents(t *testing.T) {
	for _, args := range [][]string{{"events", "--since", "5"}, {"subscribe", "--since=5"}} {
		d := &fakeDaemon{running: true, events: []events.Event{
			{Seq: 6, Type: events.CallIncoming, Call: "c1", Number: "1001"},
			{Seq: 7, Type: events.Gap, From: 8, To: 9},
		}}
		r, stdout, stderr := testRunner(d)
		code := r.main(context.Background(), args)
		if code != ExitFailure || !strings.Contains(stderr.String(), "connection closed") {
			t.Errorf("%q: exit %d stderr %q; want failure when the stream ends", args, code, stderr)
		}
		want := `{"seq":6,"time":"0001-01-01T00:00:00Z","type":"call.incoming","call":"c1","number":"1001"}` + "\n" +
			`{"seq":7,"time":"0001-01-01T00:00:00Z","type":"gap","from":8,"to":9}` + "\n"
		if stdout.String() != want {
			t.Errorf("%q: stdout\n%s\nwant\n%s", args, stdout, want)
		}
		if d.since != 5 {
			t.Errorf("%q: since %d, want 5", args, d.since)
		}
	}
}

func TestEventsEndsWithContext(t *testing.T) {
	d := &fakeDaemon{running: true}
	r, _, stderr := testRunner(d)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := r.main(ctx, []string{"events"}); code != ExitOK {
		t.Errorf("exit %d (stderr %q), want 0 when interrupted", code, stderr)
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{"usage: gophone", "SendDTMF DIGITS [CALL] [--timeout TIMEOUT]", "Message TO TEXT", "events [--since SEQ]", "MicUp"}},
		{[]string{"-h"}, []string{"usage: gophone", "Dial NUMBER"}},
		{[]string{"--help", "1001"}, []string{"usage: gophone"}},
		{[]string{"help", "dial"}, []string{"usage: gophone Dial NUMBER [--account ACCOUNT]", "Place a call"}},
		{[]string{"hangup", "-h"}, []string{"usage: gophone Hangup [CALL] [--all] [--filter FILTER]", "incoming|outgoing"}},
		{[]string{"help", "events"}, []string{"usage: gophone events [--since SEQ]"}},
		{[]string{"events", "--help"}, []string{"usage: gophone events [--since SEQ]"}},
		{[]string{"serve", "--help"}, []string{"usage: gophone serve [-c FILE] [--cpuprofile FILE]"}},
		{[]string{"help", "serve"}, []string{"usage: gophone serve [-c FILE] [--cpuprofile FILE]"}},
	}
	for _, tt := range tests {
		d := &fakeDaemon{}
		r, stdout, stderr := testRunner(d)
		if code := r.main(context.Background(), tt.args); code != ExitOK {
			t.Errorf("%q: exit %d, stderr %q", tt.args, code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%q: output lacks %q:\n%s", tt.args, w, stdout)
			}
		}
		if len(d.sockets) > 0 {
			t.Errorf("%q: help dialled the daemon", tt.args)
		}
	}
}

func TestServe(t *testing.T) {
	tests := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"serve"}, "", ExitOK},
		{[]string{"serve", "-c", "a.ini"}, "a.ini", ExitOK},
		{[]string{"--config", "b.ini", "SERVE"}, "b.ini", ExitOK},
		{[]string{"serve", "extra"}, "-", ExitUsage},
		{[]string{"serve", "--cpuprofile"}, "-", ExitUsage},
	}
	for _, tt := range tests {
		got := "-"
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), tt.args, Env{Stdout: &stdout, Stderr: &stderr,
			Serve: func(ctx context.Context, configPath string) error { got = configPath; return nil }})
		if code != tt.code || got != tt.want {
			t.Errorf("%q: exit %d config %q, want %d %q", tt.args, code, got, tt.code, tt.want)
		}
	}
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	code := Main(context.Background(), []string{"serve", "--cpuprofile", prof}, Env{Stdout: io.Discard, Stderr: io.Discard,
		Serve: func(context.Context, string) error { return nil }})
	if st, err := os.Stat(prof); code != ExitOK || err != nil || st.Size() == 0 {
		t.Errorf("serve --cpuprofile: exit %d, profile %v", code, err)
	}
	var stderr bytes.Buffer
	code = Main(context.Background(), []string{"serve"}, Env{Stderr: &stderr,
		Serve: func(context.Context, string) error { return errors.New("listen: address in use") }})
	if code != ExitFailure || stderr.String() != "gophone: listen: address in use\n" {
		t.Errorf("serve failure: exit %d stderr %q", code, stderr.String())
	}
}

// Two clients racing to start a missing daemon start one between them.
func TestStartDaemonLock(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "run", "gophone.sock")
	d := &fakeDaemon{startDelay: 50 * time.Millisecond}
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() {
			r, _, _ := testRunner(d)
			r.findSocket = func(string) (string, error) { return socket, nil }
			codes[i] = r.main(context.Background(), []string{"dial", "1001"})
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != ExitOK {
			t.Errorf("client %d: exit %d", i, c)
		}
	}
	if d.starts != 1 {
		t.Errorf("daemon started %d times, want 1", d.starts)
	}
	if len(d.reqs) != len(codes) {
		t.Errorf("%d requests, want %d", len(d.reqs), len(codes))
	}
	if _, err := os.Stat(socket + ".lock"); err != nil {
		t.Errorf("lock file: %v", err)
	}
}

func TestStartDaemonFailures(t *testing.T) {
	t.Run("exits early", func(t *testing.T) {
		d := &fakeDaemon{}
		r, _, stderr := testRunner(d)
		r.findSocket = func(string) (string, error) { return filepath.Join(t.TempDir(), "s.sock"), nil }
		r.start = func(socket, configFlag string) (<-chan error, string, error) {
			ch := make(chan error, 1)
			ch <- errors.New("exit status 1")
			return ch, "/x/gophone-serve.log", nil
		}
		if code := r.main(context.Background(), []string{"dial", "1"}); code != ExitFailure ||
			!strings.Contains(stderr.String(), "exited before its control socket answered (exit status 1); see /x/gophone-serve.log") {
			t.Errorf("exit %d stderr %q", code, stderr)
		}
	})
	t.Run("never answers", func(t *testing.T) {
		d := &fakeDaemon{}
		r, _, stderr := testRunner(d)
		r.findSocket = func(string) (string, error) { return filepath.Join(t.TempDir(), "s.sock"), nil }
		r.start = func(socket, configFlag string) (<-chan error, string, error) { return nil, "log", nil }
		r.startTimeout = 30 * time.Millisecond
		if code := r.main(context.Background(), []string{"dial", "1"}); code != ExitFailure ||
			!strings.Contains(stderr.String(), "did not answer") {
			t.Errorf("exit %d stderr %q", code, stderr)
		}
	})
	t.Run("no executable", func(t *testing.T) {
		d := &fakeDaemon{}
		r, _, stderr := testRunner(d)
		r.findSocket = func(string) (string, error) { return filepath.Join(t.TempDir(), "s.sock"), nil }
		r.start = r.startServe
		if code := r.main(context.Background(), []string{"dial", "1"}); code != ExitFailure ||
			!strings.Contains(stderr.String(), "executable is unknown") {
			t.Errorf("exit %d stderr %q", code, stderr)
		}
	})
}

// startServe runs the executable detached with [-c ABS] serve and its
// output in the log next to the socket.
func TestStartServe(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "fake-gophone")
	script := "#!/bin/sh\necho \"args: $*\"\necho \"sid: $$ $(ps -o sid= -p $$ 2>/dev/null)\"\n"
	if err := os.WriteFile(exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRunner(Env{Executable: exe})
	socket := filepath.Join(dir, "gophone.sock")
	exited, logPath, err := r.startServe(socket, "conf.ini")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("fake daemon: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fake daemon did not exit")
	}
	if logPath != filepath.Join(dir, logName) {
		t.Errorf("log path %q", logPath)
	}
	out, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("conf.ini")
	if want := "args: -c " + abs + " serve\n"; !strings.HasPrefix(string(out), want) {
		t.Errorf("log %q, want prefix %q", out, want)
	}
	// With Setsid the shell leads its own session: its sid is its pid.
	if f := strings.Fields(strings.TrimPrefix(strings.Split(string(out), "\n")[1], "sid:")); len(f) == 2 && f[0] != f[1] {
		t.Errorf("daemon is not in a session of its own: pid %s sid %s", f[0], f[1])
	} else if len(f) != 2 {
		t.Logf("ps unavailable; session not checked (%q)", out)
	}
}

func TestFlagScanners(t *testing.T) {
	for _, tc := range []struct {
		name   string
		global bool
		words  []string
		rest   []string
		want   opts
		err    bool
	}{
		{"global config", true, []string{"-c", "a.ini", "dial", "1"}, []string{"dial", "1"}, opts{config: "a.ini"}, false},
		{"global go-style", true, []string{"-config", "a.ini", "-help"}, nil, opts{config: "a.ini", help: true}, false},
		{"global equals", true, []string{"--config=b.ini", "--json", "status"}, []string{"status"}, opts{config: "b.ini", json: true}, false},
		{"global end of flags", true, []string{"--", "-5"}, []string{"-5"}, opts{}, false},
		{"global unknown", true, []string{"-x"}, nil, opts{}, true},
		{"global missing file", true, []string{"-c"}, nil, opts{}, true},
		{"command flags anywhere", false, []string{"1001", "--json", "-c", "a.ini"}, []string{"1001"}, opts{config: "a.ini", json: true}, false},
		{"command keeps other dashes", false, []string{"-help", "-5", "-config"}, []string{"-help", "-5", "-config"}, opts{}, false},
		{"command missing file", false, []string{"--config"}, nil, opts{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o opts
			scan := commandFlags
			if tc.global {
				scan = globalFlags
			}
			rest, err := scan(tc.words, &o)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if !tc.err && (!reflect.DeepEqual(rest, tc.rest) || o != tc.want) {
				t.Errorf("rest %q opts %+v; want %q %+v", rest, o, tc.rest, tc.want)
			}
		})
	}
}
