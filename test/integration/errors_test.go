package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/control"
	"github.com/gophone/gophone/internal/testutil"
)

// TestCLIErrors: bad input through the real CLI fails with a one-line
// `gophone: MESSAGE (CODE)` on stderr, the exit status of its class (2 for
// a bad command line, 1 for a command the daemon refused) and changes
// nothing the daemon reports.
func TestCLIErrors(t *testing.T) {
	d := startDaemon(t, "")
	before := d.Status(t)

	cases := []struct {
		args []string
		exit int
		code string
	}{
		{[]string{"frobnicate"}, 2, "unknown_command"},
		{[]string{"setvolume", "101"}, 2, "bad_args"},
		{[]string{"setvolume", "abc"}, 2, "bad_args"},
		{[]string{"setmicvolume", "-1"}, 2, "bad_args"},
		{[]string{"mute", "maybe"}, 2, "bad_args"},
		{[]string{"setdevice", "sideways", "null"}, 2, "bad_args"},
		{[]string{"hangup", "999"}, 1, "no_such_call"},
		{[]string{"answer"}, 1, "no_ringing_call"},
		{[]string{"reject"}, 1, "no_ringing_call"},
		{[]string{"hold"}, 1, "no_active_call"},
		{[]string{"hold", "999"}, 1, "no_such_call"},
		{[]string{"transfer", "1001"}, 1, "no_active_call"},
		{[]string{"senddtmf", "1", "999"}, 1, "no_such_call"},
		{[]string{"setdevice", "input", "nosuchdevice"}, 1, "no_such_device"},
		{[]string{"setdevice", "output", "nosuchdevice"}, 1, "no_such_device"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			r := d.RunCLI(tc.args...)
			wantCLIError(t, r, tc.exit, tc.code)
		})
	}
	if after := d.Status(t); !reflect.DeepEqual(before, after) {
		t.Errorf("status changed by failed commands:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestCLIBadDTMFDigits: a digit string with a character that is not a
// DTMF digit is refused as bad_args with nothing sent, and — like every
// other bad argument (setvolume abc, mute maybe) — as a usage error, exit 2.
func TestCLIBadDTMFDigits(t *testing.T) {
	d := startDaemon(t, "")
	before := d.Status(t)
	r := d.RunCLI("senddtmf", "12x")
	if r.Exit == 0 || !strings.Contains(r.Stderr, "(bad_args)") {
		t.Fatalf("senddtmf 12x: %s; want a bad_args failure", r)
	}
	if r.Exit != 2 {
		t.Errorf("senddtmf 12x exited %d, want 2 (usage error) as the other bad_args errors do: %s", r.Exit, r)
	}
	if after := d.Status(t); !reflect.DeepEqual(before, after) {
		t.Errorf("status changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// wantCLIError checks a failed client run: exit status, no stdout, and one
// line `gophone: MESSAGE (CODE)` on stderr.
func wantCLIError(t *testing.T, r testutil.CLIResult, exit int, code string) {
	t.Helper()
	if r.Exit != exit {
		t.Errorf("exit %d, want %d: %s", r.Exit, exit, r)
	}
	if strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("stdout not empty: %s", r)
	}
	line := strings.TrimSuffix(r.Stderr, "\n")
	if strings.Contains(line, "\n") {
		t.Errorf("stderr is not one line: %q", r.Stderr)
	}
	if !strings.HasPrefix(line, "gophone: ") || !strings.HasSuffix(line, " ("+code+")") ||
		len(line) <= len("gophone: ")+len(" ("+code+")") {
		t.Errorf("stderr %q, want `gophone: MESSAGE (%s)`", r.Stderr, code)
	}
}

// TestSetDeviceUnknownKeepsAudio: a refused device switch leaves both
// devices as they were, and a valid switch afterwards still works.
func TestSetDeviceUnknownKeepsAudio(t *testing.T) {
	d := startDaemon(t, "[Settings]\naudioInput=tone:440\n")
	before := d.Status(t).Audio
	if before.Input != "tone:440" || before.Output != "null" {
		t.Fatalf("audio at start: %+v", before)
	}
	wantCLIError(t, d.RunCLI("setdevice", "input", "nosuchdevice"), 1, "no_such_device")
	wantCLIError(t, d.RunCLI("setdevice", "output", "tone:440"), 1, "no_such_device")
	if got := d.Status(t).Audio; got != before {
		t.Errorf("audio after refused switches %+v, want %+v", got, before)
	}
	d.MustRun(t, "setdevice", "input", "null")
	if got := d.Status(t).Audio.Input; got != "null" {
		t.Errorf("input after setdevice input null: %q", got)
	}
}

// TestSetDeviceMissingFile: switching the input to a WAV file that does
// not exist, or the output to a file in a directory that does not exist,
// is refused with no_such_device (as an unknown device name is) and leaves
// the devices as they were.
func TestSetDeviceMissingFile(t *testing.T) {
	d := startDaemon(t, "[Settings]\naudioInput=tone:440\n")
	before := d.Status(t).Audio
	missing := filepath.Join(t.TempDir(), "no", "such.wav")
	wantCLIError(t, d.RunCLI("setdevice", "input", "file:"+missing), 1, "no_such_device")
	wantCLIError(t, d.RunCLI("setdevice", "output", "file:"+missing), 1, "no_such_device")
	if got := d.Status(t).Audio; got != before {
		t.Errorf("audio after refused switches %+v, want %+v", got, before)
	}
}

// TestControlSocketBadRequest: a line that is not a valid request gets a
// bad_request reply on the control socket, and the same connection then
// runs a valid request.
func TestControlSocketBadRequest(t *testing.T) {
	d := startDaemon(t, "")
	conn, err := net.Dial("unix", d.SocketPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(eventWait))
	r := bufio.NewReader(conn)
	roundTrip := func(line string) command.Response {
		t.Helper()
		if _, err := conn.Write([]byte(line + "\n")); err != nil {
			t.Fatalf("write %q: %v", line, err)
		}
		reply, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("reply to %q: %v", line, err)
		}
		var resp command.Response
		if err := json.Unmarshal(reply, &resp); err != nil {
			t.Fatalf("reply to %q is not a response: %v: %s", line, err, reply)
		}
		return resp
	}
	for _, bad := range []string{
		`{"id":"1","command":`,   // truncated JSON
		`not json at all`,        // not JSON
		`["Status"]`,             // JSON, not an object
		`{"id":"2","args":{}}`,   // no command
		`{"id":"3","command":7}`, // command of the wrong type
	} {
		resp := roundTrip(bad)
		if resp.OK || resp.Error == nil || resp.Error.Code != control.CodeBadRequest {
			t.Errorf("reply to %q: %+v; want error %s", bad, resp, control.CodeBadRequest)
		}
	}
	resp := roundTrip(`{"id":"ok1","command":"Frobnicate"}`)
	if resp.OK || resp.Error == nil || resp.Error.Code != command.CodeUnknownCommand || resp.ID != "ok1" {
		t.Errorf("unknown command: %+v; want error unknown_command with id ok1", resp)
	}
	resp = roundTrip(`{"id":"ok2","command":"SetVolume","args":{"level":"loud"}}`)
	if resp.OK || resp.Error == nil || resp.Error.Code != command.CodeBadArgs || resp.ID != "ok2" {
		t.Errorf("bad args: %+v; want error bad_args with id ok2", resp)
	}
	resp = roundTrip(`{"id":"ok3","command":"Status"}`)
	if !resp.OK || resp.ID != "ok3" {
		t.Errorf("Status after bad lines: %+v", resp)
	}
}

// TestControlSocketConcurrentClients: 20 clients, each on its own
// connection, ask for Status at the same time and all get ok.
func TestControlSocketConcurrentClients(t *testing.T) {
	d := startDaemon(t, "")
	sock := d.SocketPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), eventWait)
	defer cancel()
	const n = 20
	start := make(chan struct{})
	errs := make(chan string, n*5)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, err := control.Dial(ctx, sock)
			if err != nil {
				errs <- "dial: " + err.Error()
				return
			}
			defer c.Close()
			<-start
			for range 5 {
				resp, err := c.Do(ctx, command.Request{Command: "Status"})
				switch {
				case err != nil:
					errs <- err.Error()
				case !resp.OK:
					errs <- "not ok: " + resp.Error.Error()
				default:
					if _, ok := resp.Result.(map[string]any)["calls"]; !ok {
						errs <- "result without calls"
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	d.Status(t) // still answering the CLI
}

// TestDaemonSurvivesGarbageSIP: garbage datagrams and a truncated INVITE on
// the SIP port neither crash the daemon nor create calls.
func TestDaemonSurvivesGarbageSIP(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	conn, err := net.Dial("udp", d.SIPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	invite := "INVITE sip:gophone@" + d.SIPAddr() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bKgarbage1;rport\r\n" +
		"From: <sip:x@" + local + ">;tag=g1\r\n" +
		"To: <sip:gophone@" + d.SIPAddr() + ">\r\n" +
		"Call-ID: garbage-1@test\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:x@" + local + ">\r\n" +
		"Content-Type: application/sdp\r\n" +
		"Content-Length: 300\r\n\r\n" +
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
	datagrams := [][]byte{
		{0x00},
		[]byte("\r\n\r\n"),
		[]byte("hello, gophone"),
		{0xff, 0xfe, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00},
		[]byte("SIP/2.0 200 OK\r\n\r\n"),
		[]byte("INVITE sip:gophone@" + d.SIPAddr() + " SIP/2.0\r\nVia: SIP/2.0/UDP"),
		[]byte(invite),
		[]byte(invite[:len(invite)/2]),
		[]byte(strings.Repeat("A", 1400)),
	}
	for _, dg := range datagrams {
		if _, err := conn.Write(dg); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	// An OPTIONS after the garbage, on the same socket, is answered: the
	// daemon read past everything before it.
	options := "OPTIONS sip:gophone@" + d.SIPAddr() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bKgarbage2;rport\r\n" +
		"From: <sip:x@" + local + ">;tag=g2\r\n" +
		"To: <sip:gophone@" + d.SIPAddr() + ">\r\n" +
		"Call-ID: garbage-2@test\r\n" +
		"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(options)); err != nil {
		t.Fatalf("send OPTIONS: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(eventWait))
	buf := make([]byte, 65535)
	var replies []string
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no answer to OPTIONS after the garbage: %v; replies so far: %q", err, replies)
		}
		msg := string(buf[:n])
		first, _, _ := strings.Cut(msg, "\r\n")
		replies = append(replies, first)
		if strings.Contains(msg, "Call-ID: garbage-2@test") {
			if !strings.HasPrefix(first, "SIP/2.0 200") {
				t.Errorf("OPTIONS answered %q, want 200", first)
			}
			break
		}
		if strings.Contains(msg, "Call-ID: garbage-1@test") && strings.HasPrefix(first, "SIP/2.0 2") {
			t.Errorf("the truncated INVITE was accepted: %q", first)
		}
	}
	t.Logf("replies: %q", replies)
	st := d.Status(t)
	if len(st.Calls) != 0 {
		t.Errorf("garbage created calls: %+v", st.Calls)
	}
	select {
	case <-d.Exited():
		t.Fatalf("daemon exited: %v", d.ExitErr())
	default:
	}
	// And it still takes a real call.
	uac := testutil.NewSIPp(t, scenario(t, "uac_autoanswer.xml"))
	wantSIPpOK(t, "uac_autoanswer.xml", uac.Run(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001"))
}
