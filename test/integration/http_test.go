package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// streamWait bounds waiting for the events of a whole SIPp run.
const streamWait = 2 * time.Minute

// TestHTTPGuardedAndLoopback: a real daemon's every HTTP route (walked from
// its OpenAPI document) answers 401 without the token and with a wrong
// one, 403 for Host evil.example, and with the token the route itself;
// every socket the daemon listens on is a loopback one.
func TestHTTPGuardedAndLoopback(t *testing.T) {
	d := startDaemon(t, "")
	d.API(t).WalkOpenAPI(t)
	socks, err := testutil.ListeningSockets(d.Pid())
	if err != nil {
		t.Fatal(err)
	}
	var tcp, udp int
	for _, s := range socks {
		if !s.Addr.Addr().IsLoopback() {
			t.Errorf("the daemon listens on %s %s, beyond loopback", s.Proto, s.Addr)
		}
		if s.Proto == "tcp" || s.Proto == "tcp6" {
			tcp++
		} else {
			udp++
		}
	}
	if tcp < 2 || udp < 1 { // SIP TCP and HTTP; SIP UDP
		t.Errorf("found %d TCP listeners and %d UDP sockets (%v); the /proc reading is broken", tcp, udp, socks)
	}
}

// TestHTTPDialHangup: POST /v1/calls places a call to a SIPp UAS or to a
// second daemon and replies with its id; POST /v1/calls/{id}/hangup ends
// it. Errors on the way have their documented status: 404 for an unknown
// call, 409 for a command the call's state does not allow, 400 for bad
// arguments.
func TestHTTPDialHangup(t *testing.T) {
	d := startDaemon(t, "")
	api := d.API(t)
	ev := api.SSE(t, "/v1/events", "")
	callee := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	for _, peer := range []string{"sipp", "daemon"} {
		t.Run(peer, func(t *testing.T) {
			var target string
			var uas *testutil.SIPp
			if peer == "sipp" {
				uas = oneCallUAS(t, "uas.xml")
				target = "sip:1001@" + uas.Addr()
			} else {
				target = "sip:1001@" + callee.SIPAddr()
			}
			r := api.Do(t, "POST", "/v1/calls", map[string]any{"number": target, "hold": false})
			var res struct {
				Call      string `json:"call"`
				SIPCallID string `json:"sipCallId"`
			}
			if r.Status != http.StatusOK || json.Unmarshal(r.Result, &res) != nil || res.Call == "" {
				t.Fatalf("POST /v1/calls: %s", r)
			}
			id := res.Call
			ev.WaitType(t, eventWait, "call.established", id)

			for _, tt := range []struct {
				method, path string
				body         any
				status       int
				code         string
			}{
				{"POST", "/v1/calls/" + id + "/answer", nil, 409, "wrong_state"},
				{"POST", "/v1/calls/" + id + "/dtmf", map[string]string{"digits": "12x"}, 400, "bad_args"},
				{"POST", "/v1/calls/" + id + "/hangup", map[string]any{"all": "sometimes"}, 400, "bad_args"},
				{"POST", "/v1/calls/" + id + "7/hangup", nil, 404, "no_such_call"},
				{"POST", "/v1/calls/" + id + "7/hold", nil, 404, "no_such_call"},
			} {
				if got := api.Do(t, tt.method, tt.path, tt.body); got.Status != tt.status || got.Code() != tt.code {
					t.Errorf("%s %s %v: %s, want %d %s", tt.method, tt.path, tt.body, got, tt.status, tt.code)
				}
			}
			st := d.Status(t)
			if c, ok := st.Call(id); !ok || c.State != "established" {
				t.Fatalf("after the refused commands the call is %+v (found %v), want established", c, ok)
			}

			if r := api.Do(t, "POST", "/v1/calls/"+id+"/hangup", nil); r.Status != http.StatusOK {
				t.Fatalf("POST /v1/calls/%s/hangup: %s", id, r)
			}
			ev.WaitType(t, eventWait, "call.ended", id)
			if r := api.Do(t, "POST", "/v1/calls/"+id+"/hangup", nil); r.Status != 404 || r.Code() != "no_such_call" {
				t.Errorf("hangup of the ended call: %s, want 404 no_such_call", r)
			}
			if uas != nil {
				wantSIPpOK(t, "uas.xml", uas.Wait())
			}
		})
	}
}

// TestHTTPEventStreamsUnderLoad: 10 SSE and 10 WebSocket clients (and the
// control socket's `gophone events`) connected while SIPp makes 500 calls
// into the daemon: every client receives every event, seq strictly
// increasing without a gap; a client that disconnects midway and resumes
// with Last-Event-ID gets exactly the events it missed.
func TestHTTPEventStreamsUnderLoad(t *testing.T) {
	const calls = 500
	rtp := testutil.FreePortRange(t, 200)
	d := startDaemon(t, fmt.Sprintf("[Settings]\nautoAnswer=all\nmaxConcurrentCalls=100\nrtpPorts=%d-%d\n", rtp, rtp+199))
	api := d.API(t)
	var clients []*testutil.Stream
	var names []string
	for i := range 10 {
		clients = append(clients, api.SSE(t, "/v1/events?since=0", ""))
		names = append(names, "SSE "+strconv.Itoa(i))
	}
	for i := range 10 {
		clients = append(clients, api.WebSocket(t, "/v1/events/ws?since=0"))
		names = append(names, "WebSocket "+strconv.Itoa(i))
	}
	socket := d.Events(t)
	leaver := api.SSE(t, "/v1/events?since=0", "")

	uac := testutil.NewSIPp(t, scenario(t, "uac_autoanswer.xml"))
	uac.Start(d.SIPAddr(), 3*time.Minute, "-m", strconv.Itoa(calls), "-r", "25", "-l", "50", "-s", "1001")

	// The leaver goes away a third of the way in and comes back later.
	leaver.WaitFor(t, streamWait, func(e testutil.StreamEvent) bool { return e.Seq >= calls })
	leaver.Close()
	first := leaver.All()
	lastID := first[len(first)-1].ID
	// (Client 0's WaitFor cursor is kept for counting the ends below.)
	clients[1].WaitFor(t, streamWait, func(e testutil.StreamEvent) bool { return e.Seq >= 2*calls })
	resumed := api.SSE(t, "/v1/events", lastID)

	r := uac.Wait()
	wantSIPpOK(t, "uac_autoanswer.xml", r)
	if got := r.Stat("SuccessfulCall(C)"); got != strconv.Itoa(calls) {
		t.Fatalf("successful calls %s, want %d", got, calls)
	}
	// Every call's end is in the stream; nothing follows it.
	ended := map[string]bool{}
	last := clients[0].WaitFor(t, streamWait, func(e testutil.StreamEvent) bool {
		if e.Type == "call.ended" {
			ended[e.Call] = true
		}
		return len(ended) == calls
	})
	want := clients[0].All()
	if n := len(want); n < 4*calls || want[n-1].Seq != last.Seq {
		t.Fatalf("client 0: %d events, the last seq %d, after the %dth call.ended (seq %d)", n, want[n-1].Seq, calls, last.Seq)
	}
	check := func(name string, got []testutil.StreamEvent, from uint64) {
		t.Helper()
		for i, e := range got {
			if e.Seq != from+uint64(i) || e.Type == "gap" {
				t.Errorf("%s: event %d is seq %d %s, want seq %d", name, i, e.Seq, e.Raw, from+uint64(i))
				return
			}
			if e.ID != "" && e.ID != strconv.FormatUint(e.Seq, 10) {
				t.Errorf("%s: frame id %s for seq %d", name, e.ID, e.Seq)
				return
			}
			if string(e.Raw) != string(want[e.Seq-1].Raw) {
				t.Errorf("%s: seq %d is %s, client 0 got %s", name, e.Seq, e.Raw, want[e.Seq-1].Raw)
				return
			}
		}
	}
	check(names[0], want, 1)
	for i, c := range clients[1:] {
		c.WaitFor(t, streamWait, func(e testutil.StreamEvent) bool { return e.Seq >= last.Seq })
		got := c.All()
		if len(got) != len(want) {
			t.Errorf("%s: %d events, client 0 %d", names[i+1], len(got), len(want))
		}
		check(names[i+1], got, 1)
	}
	resumed.WaitFor(t, streamWait, func(e testutil.StreamEvent) bool { return e.Seq >= last.Seq })
	check("the leaver before leaving", first, 1)
	check("the leaver after resuming", resumed.All(), first[len(first)-1].Seq+1)
	if len(first)+len(resumed.All()) != len(want) {
		t.Errorf("the leaver got %d+%d events, client 0 %d", len(first), len(resumed.All()), len(want))
	}
	// The control socket's stream still carries the same events.
	socket.WaitFor(t, streamWait, func(e testutil.Event) bool { return e.Seq >= last.Seq })
	if got := socket.All(); len(got) != len(want) {
		t.Errorf("gophone events: %d events, the HTTP clients %d", len(got), len(want))
	}
}
