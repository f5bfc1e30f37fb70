package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/control"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/testutil"
)

const testToken = "s3cret-test-token-4f9a"

// newHTTPDaemon serves a test daemon (with a real phone when withPhone)
// over the HTTP API on a loopback httptest server. It returns the daemon,
// its audit log, its log and a client with the token.
func newHTTPDaemon(t *testing.T, withPhone bool) (*Daemon, *syncBuffer, *syncBuffer, *testutil.API) {
	t.Helper()
	d, audit := newTestDaemon(t)
	var logBuf syncBuffer
	d.log = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if withPhone {
		d.phone = newTestPhone(t, d.bus)
	}
	srv := httptest.NewUnstartedServer(nil)
	ctx, cancel := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	hs := d.httpServer(testToken, "")
	hs.Heartbeat = 100 * time.Millisecond
	srv.Config.Handler = hs.Handler(srv.Listener.Addr().String())
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(cancel) // runs first: the streams end, then Close can wait
	return d, audit, &logBuf, testutil.NewAPI(srv.Listener.Addr().String(), testToken)
}

// Every route of the OpenAPI document exists on the server and is
// guarded: 401 (with WWW-Authenticate: Bearer) without a token or with a
// wrong one, 403 for a foreign Host even with the token, and with the
// token an answer from the route itself, never 404/405. Every command is
// in the document on its own route.
func TestHTTPOpenAPIWalk(t *testing.T) {
	d, _, _, api := newHTTPDaemon(t, true)
	doc := api.OpenAPI(t)
	if doc.OpenAPI != "3.1.0" || doc.Components.SecuritySchemes["bearerAuth"].Scheme != "bearer" {
		t.Errorf("document: openapi %q, bearerAuth %+v", doc.OpenAPI, doc.Components.SecuritySchemes["bearerAuth"])
	}
	for _, c := range d.commands {
		op, ok := doc.Paths[c.Route.Path][strings.ToLower(c.Route.Method)]
		if !ok || op.OperationID != c.Name {
			t.Errorf("%s: no operation at %s %s in the document", c.Name, c.Route.Method, c.Route.Path)
		}
	}
	for _, p := range []string{"/v1/events/ws", "/v1/commands/{name}", "/v1/session", "/v1/openapi.json"} {
		if doc.Paths[p] == nil {
			t.Errorf("the document has no %s", p)
		}
	}
	if probes := api.WalkOpenAPI(t); len(probes) < len(d.commands)+5 {
		t.Errorf("only %d operations in the document", len(probes))
	}
}

// A route the API does not serve is 404 not_found, a method a path is
// not served with is 405 with Allow — both JSON, both after the token.
func TestHTTPNoRoute(t *testing.T) {
	_, _, _, api := newHTTPDaemon(t, false)
	if r := api.Do(t, "GET", "/v1/nope", nil); r.Status != 404 || r.Code() != command.CodeNotFound {
		t.Errorf("GET /v1/nope: %s", r)
	}
	if r := api.Do(t, "GET", "/v1/calls", nil); r.Status != 405 || r.Code() != command.CodeMethodNotAllowed ||
		r.Header.Get("Allow") != "POST" {
		t.Errorf("GET /v1/calls: %s (Allow %q)", r, r.Header.Get("Allow"))
	}
	noToken := *api
	noToken.Token = ""
	if r := noToken.Do(t, "GET", "/v1/nope", nil); r.Status != 401 {
		t.Errorf("GET /v1/nope without a token: %s, want 401", r)
	}
}

// No reply carries a CORS header: not a preflight, not a request with an
// Origin, with or without the token.
func TestHTTPNoCORS(t *testing.T) {
	_, _, _, api := newHTTPDaemon(t, true)
	noToken := *api
	noToken.Token = ""
	for _, c := range []struct {
		api            *testutil.API
		method, origin string
	}{
		{api, "OPTIONS", "http://evil.example"},
		{&noToken, "OPTIONS", "http://evil.example"},
		{api, "GET", "http://evil.example"},
		{api, "GET", "null"},
		{api, "GET", "http://" + strings.TrimPrefix(api.Base, "http://")},
	} {
		r := c.api.Do(t, c.method, "/v1/status", nil, "Origin", c.origin, "Access-Control-Request-Method", "POST")
		for k := range r.Header {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				t.Errorf("%s /v1/status from %s: %s: %s", c.method, c.origin, k, r.Header.Get(k))
			}
		}
	}
}

// Arguments from the path, the query string and the JSON body reach the
// command typed by its parameters; errors have the documented status.
func TestHTTPCommands(t *testing.T) {
	big := `{"number":"` + strings.Repeat("1", 1<<20) + `"}`
	tests := []struct {
		method, path string
		body         any
		status       int
		code         string
		result       string // a substring of the result's JSON
	}{
		{"PUT", "/v1/audio/volume", `{"level":30}`, 200, "", `"volume":30`},
		{"POST", "/v1/audio/mic/down", `{"steps":3}`, 200, "", `"micVolume":70`},
		{"POST", "/v1/audio/volume/up", nil, 200, "", `"volume":40`},
		{"POST", "/v1/audio/mute", `{"state":"ON"}`, 200, "", `"muted":true`},
		{"PUT", "/v1/audio/input", `{"device":"tone:440"}`, 200, "", `"input":"tone:440"`},
		{"GET", "/v1/status?json", nil, 200, "", `"calls":[]`},
		{"GET", "/v1/status?json=false", nil, 200, "", `"accounts":[`},
		{"GET", "/v1/devices", nil, 200, "", `null`},
		{"POST", "/v1/commands/setvolume", `{"args":{"level":20}}`, 200, "", `"volume":20`},
		{"POST", "/v1/commands/Hangup", `{"args":{"all":true}}`, 200, "", `"ended":0`},
		{"GET", "/v1/wait/call.ended?timeout=30ms", nil, 504, command.CodeTimeout, ""},

		{"PUT", "/v1/audio/volume", `{"level":101}`, 400, command.CodeBadArgs, ""},
		{"PUT", "/v1/audio/volume", `{"level":"loud"}`, 400, command.CodeBadArgs, ""},
		{"PUT", "/v1/audio/volume", nil, 400, command.CodeBadArgs, ""},
		{"PUT", "/v1/audio/sideways", `{"device":"null"}`, 400, command.CodeBadArgs, ""},
		{"PUT", "/v1/audio/output", `{"device":"tone:1"}`, 404, command.CodeNoSuchDevice, ""},
		{"POST", "/v1/calls", `{}`, 400, command.CodeBadArgs, ""},
		{"POST", "/v1/calls", `{"number":1001}`, 400, command.CodeBadArgs, ""},
		{"POST", "/v1/calls", `{"number":"1001","x":1}`, 400, command.CodeBadArgs, ""},
		{"POST", "/v1/calls", `{"number":"1001","account":"7"}`, 404, command.CodeNoSuchAccount, ""},
		{"POST", "/v1/calls", `{"number":"1001","hold":"maybe"}`, 400, command.CodeBadArgs, ""},
		{"POST", "/v1/calls", `{"number":`, 400, command.CodeBadRequest, ""},
		{"POST", "/v1/calls", `["1001"]`, 400, command.CodeBadRequest, ""},
		{"POST", "/v1/calls", `{"number":"1"} {"number":"2"}`, 400, command.CodeBadRequest, ""},
		{"POST", "/v1/calls", big, 400, command.CodeBadRequest, ""},
		{"POST", "/v1/calls?number=1001", `{"number":"1002"}`, 400, command.CodeBadArgs, ""},
		{"POST", "/v1/calls/9/hangup", nil, 404, command.CodeNoSuchCall, ""},
		{"POST", "/v1/calls/9/hangup", `{"call":"8"}`, 400, command.CodeBadArgs, ""},
		{"POST", "/v1/calls/9/answer", nil, 404, command.CodeNoSuchCall, ""},
		{"POST", "/v1/calls/9/hold", nil, 404, command.CodeNoSuchCall, ""},
		{"POST", "/v1/calls/9/dtmf", `{"digits":"12x"}`, 400, command.CodeBadArgs, ""},
		{"GET", "/v1/status?json=maybe", nil, 400, command.CodeBadArgs, ""},
		{"GET", "/v1/status?json=1&json=0", nil, 400, command.CodeBadArgs, ""},
		{"GET", "/v1/wait/call.ended?timeout=5", nil, 400, command.CodeBadArgs, ""},
		{"POST", "/v1/commands/Frobnicate", nil, 404, command.CodeUnknownCommand, ""},
		{"POST", "/v1/commands/Dial", `{"number":"1001"}`, 400, command.CodeBadRequest, ""},
		{"POST", "/v1/commands/Subscribe", nil, 400, command.CodeBadArgs, ""},
		{"POST", "/v1/messages", `{"to":"1001","text":"hi"}`, 503, command.CodeUnavailable, ""},
		{"POST", "/v1/accounts/1/register", nil, 503, command.CodeUnavailable, ""},
	}
	_, _, _, api := newHTTPDaemon(t, true)
	for _, tt := range tests {
		got := api.Do(t, tt.method, tt.path, tt.body)
		name := tt.method + " " + tt.path
		if got.Status != tt.status || got.Code() != tt.code {
			t.Errorf("%s %.40v: %.300s, want %d %q", name, tt.body, got, tt.status, tt.code)
			continue
		}
		if got.OK != (tt.code == "") || !strings.Contains(string(got.Result), tt.result) {
			t.Errorf("%s %v: %s, want ok=%v and a result containing %s", name, tt.body, got, tt.code == "", tt.result)
		}
	}
}

// The HTTP status map is total: every code the commands return maps to
// the status DESIGN §5 documents.
func TestHTTPStatusMap(t *testing.T) {
	want := map[string]int{
		"bad_args": 400, "bad_request": 400, "unauthorized": 401, "forbidden": 403,
		"not_found": 404, "unknown_command": 404, "no_such_call": 404, "no_such_account": 404,
		"no_such_device": 404, "method_not_allowed": 405, "wrong_state": 409, "no_active_call": 409,
		"no_ringing_call": 409, "busy": 409, "unsupported": 422, "internal": 500, "sip_error": 502,
		"unavailable": 503, "not_running": 503, "timeout": 504,
	}
	for _, code := range command.Codes() {
		if want[code] == 0 {
			t.Errorf("code %q is not documented here", code)
		}
	}
	for code, status := range want {
		if got := command.HTTPStatus(code); got != status {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, status)
		}
	}
	if command.HTTPStatus("") != 200 || command.HTTPStatus("no_such_code") != 500 {
		t.Error("HTTPStatus: success is not 200 or an unknown code is not 500")
	}
}

// Commands from the API are in the audit log as channel "http", and the
// token is neither there nor in the daemon's log, whatever the client
// sends.
func TestHTTPAuditNoToken(t *testing.T) {
	_, audit, log, api := newHTTPDaemon(t, true)
	api.Do(t, "PUT", "/v1/audio/volume", `{"level":40}`)
	api.Do(t, "POST", "/v1/commands/SetVolume", map[string]any{"args": map[string]any{"level": 50, "token": testToken}})
	api.Do(t, "GET", "/v1/status?token="+testToken, nil)
	api.Do(t, "POST", "/v1/session", map[string]string{"token": testToken})
	api.Do(t, "POST", "/v1/session", map[string]string{"token": "wrong" + testToken})
	s := api.SSE(t, "/v1/events?since=0", "")
	s.Close()
	lines := audit.String()
	for _, want := range []string{`"channel":"http","command":"SetVolume","args":{"level":40},"outcome":"ok"`,
		`"command":"SetVolume","args":{"level":50,"token":"***"},"outcome":"bad_args"`,
		`"command":"Subscribe","args":{"since":0},"outcome":"ok"`} {
		if !strings.Contains(lines, want) {
			t.Errorf("audit log lacks %s:\n%s", want, lines)
		}
	}
	for name, text := range map[string]string{"audit log": lines, "log": log.String()} {
		if strings.Contains(text, testToken) {
			t.Errorf("the %s holds the token:\n%s", name, text)
		}
	}
}

// A browser signs in with the token and gets a session cookie (HttpOnly,
// SameSite=Strict, not the token) that the API and the streams accept
// until it signs out. The token is never taken from the URL; another
// origin's POST is refused even with the cookie.
func TestHTTPSession(t *testing.T) {
	_, _, _, api := newHTTPDaemon(t, true)
	if r := api.Do(t, "POST", "/v1/session", `{"token":"nope"}`); r.Status != 401 || r.Header.Get("Set-Cookie") != "" {
		t.Errorf("sign-in with a wrong token: %s, Set-Cookie %q", r, r.Header.Get("Set-Cookie"))
	}
	browser := *api
	browser.Token = ""
	if r := browser.Do(t, "GET", "/v1/status?token="+testToken, nil); r.Status != 401 {
		t.Errorf("token in the query: %s, want 401", r)
	}
	if r := browser.Do(t, "GET", "/v1/status?access_token="+testToken, nil); r.Status != 401 {
		t.Errorf("token in the query: %s, want 401", r)
	}
	r := browser.Do(t, "POST", "/v1/session", map[string]string{"token": testToken})
	cookies := (&http.Response{Header: r.Header}).Cookies()
	if r.Status != 200 || len(cookies) != 1 {
		t.Fatalf("sign-in: %s, cookies %v", r, cookies)
	}
	c := cookies[0]
	if c.Name != "gophone_session" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" ||
		strings.Contains(c.Value, testToken) || len(c.Value) < 40 {
		t.Errorf("session cookie %+v", c)
	}
	cookie := c.Name + "=" + c.Value
	if r := browser.Do(t, "GET", "/v1/status", nil, "Cookie", cookie); r.Status != 200 {
		t.Errorf("status with the session: %s", r)
	}
	if r := browser.Do(t, "PUT", "/v1/audio/volume", `{"level":10}`, "Cookie", cookie,
		"Origin", "http://localhost:8080", "Sec-Fetch-Site", "same-site"); r.Status != 403 {
		t.Errorf("a same-site page's POST with the session: %s, want 403", r)
	}
	if r := browser.Do(t, "PUT", "/v1/audio/volume", `{"level":10}`, "Cookie", cookie,
		"Sec-Fetch-Site", "same-origin"); r.Status != 200 {
		t.Errorf("the API's own page's POST with the session: %s", r)
	}
	if r := browser.Do(t, "GET", "/v1/status", nil, "Cookie", cookie, "Authorization", "Bearer wrong"); r.Status != 401 {
		t.Errorf("a wrong bearer token beside the session: %s, want 401", r)
	}
	if r := browser.Do(t, "GET", "/v1/status", nil, "Cookie", c.Name+"=forged"); r.Status != 401 {
		t.Errorf("a forged session: %s, want 401", r)
	}
	if r := browser.Do(t, "DELETE", "/v1/session", nil, "Cookie", cookie); r.Status != 200 {
		t.Errorf("sign-out: %s", r)
	}
	if r := browser.Do(t, "GET", "/v1/status", nil, "Cookie", cookie); r.Status != 401 {
		t.Errorf("status after sign-out: %s, want 401", r)
	}
}

// SSE: frames carry id = seq, event = type, data = the event; a client
// resumes with Last-Event-ID (or ?since) exactly after what it saw; one
// too far behind the ring gets a gap event (id = its "to") first; an idle
// stream gets heartbeats.
func TestHTTPSSE(t *testing.T) {
	d, _, _, api := newHTTPDaemon(t, false) // the test daemon's ring holds 100 events
	publish := func(n int) {
		for range n {
			d.bus.Publish(events.Event{Type: events.CallIncoming, Call: "1"})
		}
	}
	publish(5)
	s := api.SSE(t, "/v1/events?since=2", "")
	publish(2)
	for want := uint64(3); want <= 7; want++ {
		e := s.WaitFor(t, 5*time.Second, func(testutil.StreamEvent) bool { return true })
		if e.Seq != want || e.ID != strconv.FormatUint(want, 10) || e.SSEType != e.Type || e.Type != events.CallIncoming {
			t.Fatalf("frame %+v (data %s), want seq %d with id and event lines", e, e.Raw, want)
		}
	}
	waitHeartbeat(t, s)
	s.Close()

	// Resume: Last-Event-ID wins over since.
	publish(3) // 8-10
	r := api.SSE(t, "/v1/events?since=1", "7")
	if e := r.WaitFor(t, 5*time.Second, func(testutil.StreamEvent) bool { return true }); e.Seq != 8 {
		t.Errorf("resumed at %d, want 8", e.Seq)
	}
	r.Close()

	// Past the ring: 150 more events, the ring keeps 61-160.
	publish(150)
	g := api.SSE(t, "/v1/events", "20")
	e := g.WaitFor(t, 5*time.Second, func(testutil.StreamEvent) bool { return true })
	if e.Type != events.Gap || e.From != 21 || e.To != 60 || e.ID != "60" || e.SSEType != "gap" {
		t.Errorf("first frame after falling behind: id %s %s, want gap 21-60 with id 60", e.ID, e.Raw)
	}
	if e := g.WaitFor(t, 5*time.Second, func(testutil.StreamEvent) bool { return true }); e.Seq != 61 {
		t.Errorf("after the gap: seq %d, want 61", e.Seq)
	}

	for _, bad := range []string{"/v1/events?since=x", "/v1/events?since=-1x", "/v1/events?from=1"} {
		if r := api.Do(t, "GET", bad, nil); r.Status != 400 || r.Code() != command.CodeBadArgs {
			t.Errorf("GET %s: %s, want 400 bad_args", bad, r)
		}
	}
	if r := api.Do(t, "GET", "/v1/events", nil, "Last-Event-ID", "abc"); r.Status != 400 {
		t.Errorf("Last-Event-ID abc: %s, want 400", r)
	}
}

// waitHeartbeat waits for an idle stream's heartbeat (the test server
// sends one every 100 ms).
func waitHeartbeat(t *testing.T, s *testutil.Stream) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for s.Heartbeats() == 0 {
		select {
		case <-s.Done():
			t.Fatalf("stream ended: %v", s.Err())
		case <-deadline:
			t.Fatal("no heartbeat on an idle stream within 5s")
		case <-time.After(10 * time.Millisecond): // polling interval
		}
	}
}

// WebSocket: one event per text message from ?since, pings when idle, gap
// when behind the ring; the stream ends with the server.
func TestHTTPWebSocket(t *testing.T) {
	d, _, _, api := newHTTPDaemon(t, false)
	for range 3 {
		d.bus.Publish(events.Event{Type: events.CallEnded, Call: "2"})
	}
	ws := api.WebSocket(t, "/v1/events/ws?since=1")
	d.bus.Publish(events.Event{Type: events.DTMFReceived, Digit: "5"})
	for _, want := range []uint64{2, 3, 4} {
		if e := ws.WaitFor(t, 5*time.Second, func(testutil.StreamEvent) bool { return true }); e.Seq != want {
			t.Fatalf("message seq %d (%s), want %d", e.Seq, e.Raw, want)
		}
	}
	waitHeartbeat(t, ws)
	for range 200 {
		d.bus.Publish(events.Event{Type: events.CallEnded})
	}
	g := api.WebSocket(t, "/v1/events/ws?since=10")
	if e := g.WaitFor(t, 5*time.Second, func(testutil.StreamEvent) bool { return true }); e.Type != events.Gap ||
		e.From != 11 || e.To != 104 {
		t.Errorf("first message when behind: %s, want gap 11-104", e.Raw)
	}
	noToken := *api
	noToken.Token = ""
	if r := noToken.Do(t, "GET", "/v1/events/ws", nil); r.Status != 401 {
		t.Errorf("websocket without a token: %s", r)
	}
	d.bus.Close()
	select {
	case <-ws.Done():
	case <-time.After(5 * time.Second):
		t.Error("websocket still open after the bus closed")
	}
}

// A client that stops reading is not buffered for: once it reads again it
// gets a gap event for what the ring no longer holds, then the events
// after it in order — over SSE and over WebSocket.
func TestHTTPSlowClientGetsGap(t *testing.T) {
	d, _, _, api := newHTTPDaemon(t, false) // a ring of 100 events
	big := strings.Repeat("x", 16<<10)

	req, _ := http.NewRequest("GET", api.Base+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(api.Base, "http")+"/v1/events/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + testToken}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)

	// 2000 events of 16 KiB: 32 MiB, more than the socket buffers hold.
	const n = 2000
	for range n {
		d.bus.Publish(events.Event{Type: events.MessageReceived, Text: big})
	}
	check := func(name string, next func() (events.Event, bool)) {
		t.Helper()
		var gaps int
		var prev uint64
		for prev < n {
			e, ok := next()
			if !ok {
				t.Fatalf("%s: stream ended after seq %d", name, prev)
			}
			switch {
			case e.Type == events.Gap:
				if e.From != prev+1 || e.To < e.From {
					t.Fatalf("%s: gap %d-%d after seq %d", name, e.From, e.To, prev)
				}
				gaps++
				prev = e.To
			case e.Seq != prev+1:
				t.Fatalf("%s: seq %d after %d without a gap event", name, e.Seq, prev)
			default:
				prev = e.Seq
			}
		}
		if gaps == 0 {
			t.Errorf("%s: a client that did not read for %d events of 16 KiB got no gap event", name, n)
		}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	check("SSE", func() (events.Event, bool) {
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e events.Event
				return e, json.Unmarshal([]byte(data), &e) == nil
			}
		}
		return events.Event{}, false
	})
	check("WebSocket", func() (events.Event, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, data, err := ws.Read(ctx)
		var e events.Event
		return e, err == nil && json.Unmarshal(data, &e) == nil
	})
}

// docs/API.md, the HTTP reference, names every command of the table.
func TestAPIDocNamesEveryCommand(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "API.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !regexp.MustCompile(`\b` + c.Name + `\b`).Match(b) {
			t.Errorf("docs/API.md does not mention %s (%s %s)", c.Name, c.Route.Method, c.Route.Path)
		}
	}
}

// BenchmarkFrontEnds: one command (Accounts) through the control socket
// and through the HTTP API (a kept-alive connection), from request to
// reply, on a real daemon and phone.
func BenchmarkFrontEnds(b *testing.B) {
	b.Run("socket", func(b *testing.B) {
		d, _ := newTestDaemon(b)
		d.phone = newTestPhone(b, d.bus)
		dir, err := os.MkdirTemp("", "gph")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "ctl.sock")
		ln, err := control.Listen(path)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv := &control.Server{Exec: d, Commands: d.commands.Specs(), Bus: d.bus}
		go srv.Serve(ctx, ln)
		c, err := control.Dial(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ResetTimer()
		for b.Loop() {
			if resp, err := c.Do(ctx, command.Request{Command: "Accounts"}); err != nil || !resp.OK {
				b.Fatal(err, resp.Error)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		d, _ := newTestDaemon(b)
		d.phone = newTestPhone(b, d.bus)
		srv := httptest.NewUnstartedServer(nil)
		srv.Config.Handler = d.httpServer(testToken, "").Handler(srv.Listener.Addr().String())
		srv.Start()
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL+"/v1/accounts", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		b.ResetTimer()
		for b.Loop() {
			resp, err := srv.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
}
