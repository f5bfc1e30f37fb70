package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/audit"
	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/events"
)

// fakeExec is a test Executor: "Echo" returns its args, "Sleep" waits
// args.ms milliseconds (or until ctx ends), "Panic" panics, "Fail" fails.
// It records the order in which commands ran.
type fakeExec struct {
	mu  sync.Mutex
	ran []string // request ids
}

func (f *fakeExec) Exec(ctx context.Context, channel string, req command.Request) command.Response {
	f.mu.Lock()
	f.ran = append(f.ran, req.ID)
	f.mu.Unlock()
	if channel != Channel {
		return command.Response{Error: command.Errorf(command.CodeInternal, "channel %q", channel)}
	}
	switch req.Command {
	case "Echo":
		return command.Response{OK: true, Result: req.Args}
	case "Sleep":
		ms, _ := req.Args.Int("ms")
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return command.Response{Error: command.Errorf(command.CodeTimeout, "cancelled")}
		}
		return command.Response{OK: true}
	case "Panic":
		panic("boom")
	default:
		return command.Response{Error: command.Errorf(command.CodeUnknownCommand, "unknown command %q", req.Command)}
	}
}

func (f *fakeExec) order() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ran...)
}

// socketPath returns a short socket path (sun_path is ~108 bytes).
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gpctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "run", "ctl.sock")
}

type harness struct {
	path string
	exec *fakeExec
	bus  *events.Bus
	stop func() // cancels Serve and waits for it
}

// testCommands is the part of a command table the server itself reads: its
// stream command.
var testCommands = command.Specs{{Name: "Subscribe", Stream: true,
	Params: []command.Param{{Name: "since", Kind: command.Int}}}}

func start(t *testing.T, busCap int) *harness {
	t.Helper()
	h := &harness{path: socketPath(t), exec: &fakeExec{}, bus: events.NewBus(busCap)}
	ln, err := Listen(h.path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Exec: h.exec, Commands: testCommands, Bus: h.bus}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Serve did not return after cancel")
			}
		})
	}
	t.Cleanup(h.stop)
	return h
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialT(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(testCtx(t), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn is a bare connection for testing the wire format.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, path string) *rawConn {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) recv(v any) {
	c.t.Helper()
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		c.t.Fatalf("reading reply: %v", err)
	}
	if err := json.Unmarshal(line, v); err != nil {
		c.t.Fatalf("reply %q: %v", line, err)
	}
}

func TestRoundTrip(t *testing.T) {
	h := start(t, 100)
	c := dialT(t, h.path)
	ctx := testCtx(t)

	tests := []struct {
		name     string
		req      command.Request
		wantOK   bool
		wantCode string
	}{
		{"ok", command.Request{Command: "Echo", Args: command.Args{"number": "1001"}}, true, ""},
		{"own id", command.Request{ID: "my-7", Command: "Echo"}, true, ""},
		{"error", command.Request{Command: "Nope"}, false, command.CodeUnknownCommand},
		{"panic", command.Request{Command: "Panic"}, false, command.CodeInternal},
		{"after panic", command.Request{Command: "Echo"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.Do(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.OK != tt.wantOK {
				t.Fatalf("ok = %v, want %v (%+v)", resp.OK, tt.wantOK, resp.Error)
			}
			if resp.ID == "" || (tt.req.ID != "" && resp.ID != tt.req.ID) {
				t.Errorf("reply id %q for request id %q", resp.ID, tt.req.ID)
			}
			if tt.wantCode != "" && (resp.Error == nil || resp.Error.Code != tt.wantCode) {
				t.Errorf("error = %+v, want code %s", resp.Error, tt.wantCode)
			}
			if tt.req.Command == "Echo" && tt.req.Args != nil {
				got, _ := resp.Result.(map[string]any)
				if got["number"] != "1001" {
					t.Errorf("result = %v", resp.Result)
				}
			}
		})
	}
}

func TestOrderOnOneConnection(t *testing.T) {
	h := start(t, 100)
	c := dialRaw(t, h.path)
	// Pipeline many requests in one write; a slow one must not be overtaken.
	var b strings.Builder
	const n = 50
	for i := range n {
		ms := 0
		if i%7 == 0 {
			ms = 20
		}
		fmt.Fprintf(&b, `{"id":"r%d","command":"Sleep","args":{"ms":%d}}`+"\n", i, ms)
	}
	c.send(b.String())
	for i := range n {
		var resp command.Response
		c.recv(&resp)
		if want := fmt.Sprintf("r%d", i); resp.ID != want || !resp.OK {
			t.Fatalf("reply %d: %+v, want ok id %s", i, resp, want)
		}
	}
	ran := h.exec.order()
	for i, id := range ran {
		if want := fmt.Sprintf("r%d", i); id != want {
			t.Fatalf("ran[%d] = %s, want %s", i, id, want)
		}
	}
}

func TestConcurrentClients(t *testing.T) {
	h := start(t, 100)
	ctx := testCtx(t)
	const clients, perClient = 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := Dial(ctx, h.path)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range perClient {
				v := fmt.Sprintf("%d-%d", i, j)
				resp, err := c.Do(ctx, command.Request{Command: "Echo", Args: command.Args{"v": v}})
				if err != nil {
					errs <- err
					return
				}
				if got := resp.Result.(map[string]any)["v"]; got != v {
					errs <- fmt.Errorf("client %d got %v, want %s", i, got, v)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(h.exec.order()); got != clients*perClient {
		t.Errorf("%d commands ran, want %d", got, clients*perClient)
	}
}

func TestConcurrentDoOnOneClient(t *testing.T) {
	h := start(t, 100)
	c := dialT(t, h.path)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			v := fmt.Sprint(i)
			resp, err := c.Do(ctx, command.Request{Command: "Echo", Args: command.Args{"v": v}})
			if err != nil {
				t.Error(err)
				return
			}
			if got := resp.Result.(map[string]any)["v"]; got != v {
				t.Errorf("got %v, want %s", got, v)
			}
		})
	}
	wg.Wait()
}

func TestBadRequests(t *testing.T) {
	h := start(t, 100)
	tests := []struct {
		name   string
		line   string
		wantID string
	}{
		{"not json", "hello\n", ""},
		{"truncated", `{"id":"1","command":"Echo"` + "\n", ""},
		{"wrong types keep id", `{"id":"x","command":5}` + "\n", "x"},
		{"no command", `{"id":"y","args":{}}` + "\n", "y"},
		{"args not object", `{"id":"z","command":"Echo","args":[1]}` + "\n", "z"},
		{"oversized", `{"id":"big","command":"Echo","args":{"pad":"` + strings.Repeat("x", MaxLineSize) + `"}}` + "\n", ""},
	}
	c := dialRaw(t, h.path)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.send(tt.line)
			var resp command.Response
			c.recv(&resp)
			if resp.OK || resp.Error == nil || resp.Error.Code != CodeBadRequest {
				t.Fatalf("reply %+v, want bad_request", resp)
			}
			if resp.ID != tt.wantID {
				t.Errorf("id %q, want %q", resp.ID, tt.wantID)
			}
			// The connection stays usable.
			c.send(`{"id":"after","command":"Echo"}` + "\n")
			c.recv(&resp)
			if !resp.OK || resp.ID != "after" {
				t.Fatalf("after bad line: %+v", resp)
			}
		})
	}
}

func TestLineLimit(t *testing.T) {
	h := start(t, 100)
	c := dialRaw(t, h.path)
	prefix, suffix := `{"id":"max","command":"Echo","args":{"pad":"`, `"}}`
	pad := strings.Repeat("x", MaxLineSize-len(prefix)-len(suffix))
	c.send(prefix + pad + suffix + "\n") // exactly MaxLineSize bytes: accepted
	var resp struct {
		ID     string
		OK     bool
		Result map[string]string
	}
	c.recv(&resp)
	if !resp.OK || resp.ID != "max" || len(resp.Result["pad"]) != len(pad) {
		t.Fatalf("line of exactly MaxLineSize bytes: ok=%v id=%q", resp.OK, resp.ID)
	}
	c.send(prefix + pad + "x" + suffix + "\n") // one byte more: refused
	var bad command.Response
	c.recv(&bad)
	if bad.OK || bad.Error == nil || bad.Error.Code != CodeBadRequest {
		t.Fatalf("line of MaxLineSize+1 bytes: %+v", bad)
	}
}

func TestUnterminatedLastLine(t *testing.T) {
	h := start(t, 100)
	c := dialRaw(t, h.path)
	c.send(`{"id":"1","command":"Echo"}`)
	c.conn.(*net.UnixConn).CloseWrite()
	var resp command.Response
	c.recv(&resp)
	if !resp.OK || resp.ID != "1" {
		t.Fatalf("reply %+v", resp)
	}
}

func TestSubscribeRaw(t *testing.T) {
	h := start(t, 5)
	for range 10 {
		h.bus.Publish(events.Event{Type: events.CallRinging})
	}
	c := dialRaw(t, h.path)
	c.send(`{"id":"s","command":"subscribe","args":{"since":2}}` + "\n")
	var resp struct {
		ID     string
		OK     bool
		Result struct {
			Subscribed bool
			Last       uint64
		}
	}
	c.recv(&resp)
	if !resp.OK || resp.ID != "s" || !resp.Result.Subscribed || resp.Result.Last != 10 {
		t.Fatalf("subscribe reply %+v", resp)
	}
	var gap events.Event
	c.recv(&gap)
	if gap.Type != events.Gap || gap.From != 3 || gap.To != 5 || gap.Seq != 0 {
		t.Fatalf("first event %+v, want gap 3-5", gap)
	}
	for want := uint64(6); want <= 10; want++ {
		var e events.Event
		c.recv(&e)
		if e.Seq != want {
			t.Fatalf("seq %d, want %d", e.Seq, want)
		}
	}
	h.bus.Publish(events.Event{Type: events.CallEnded, Call: "1"})
	var e events.Event
	c.recv(&e)
	if e.Seq != 11 || e.Type != events.CallEnded || e.Call != "1" {
		t.Fatalf("live event %+v", e)
	}
}

func TestSubscribeBadArgs(t *testing.T) {
	h := start(t, 5)
	c := dialRaw(t, h.path)
	c.send(`{"id":"s","command":"Subscribe","args":{"since":"soon"}}` + "\n")
	var resp command.Response
	c.recv(&resp)
	if resp.OK || resp.Error == nil || resp.Error.Code != command.CodeBadArgs || resp.ID != "s" {
		t.Fatalf("reply %+v, want bad_args", resp)
	}
	// A refused Subscribe leaves the connection usable.
	c.send(`{"id":"e","command":"Echo"}` + "\n")
	c.recv(&resp)
	if !resp.OK || resp.ID != "e" {
		t.Fatalf("after refused Subscribe: %+v", resp)
	}
}

func TestClientSubscribe(t *testing.T) {
	tests := []struct {
		name      string
		published int
		since     uint64
		want      []string // "gap A-B" or "seq N"
	}{
		{"everything", 3, 0, []string{"seq 1", "seq 2", "seq 3", "seq 4"}},
		{"resume", 4, 2, []string{"seq 3", "seq 4", "seq 5"}},
		{"gap", 12, 1, []string{"gap 2-7", "seq 8", "seq 9", "seq 10", "seq 11", "seq 12", "seq 13"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, 5)
			for range tt.published {
				h.bus.Publish(events.Event{Type: events.CallRinging})
			}
			c := dialT(t, h.path)
			var got []string
			stop := errors.New("stop")
			err := c.Subscribe(testCtx(t), tt.since, func(e events.Event) error {
				if e.Type == events.Gap {
					got = append(got, fmt.Sprintf("gap %d-%d", e.From, e.To))
				} else {
					got = append(got, fmt.Sprintf("seq %d", e.Seq))
				}
				if e.Seq == uint64(tt.published) {
					// Caught up: the next one is live.
					h.bus.Publish(events.Event{Type: events.CallEnded})
				}
				if len(got) == len(tt.want) {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) {
				t.Fatalf("Subscribe = %v, want fn's error", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestClientSubscribeContext(t *testing.T) {
	h := start(t, 5)
	c := dialT(t, h.path)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Subscribe(ctx, 0, func(events.Event) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Subscribe = %v, want deadline exceeded", err)
	}
}

func TestDoContext(t *testing.T) {
	h := start(t, 5)
	c := dialT(t, h.path)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Do(ctx, command.Request{Command: "Sleep", Args: command.Args{"ms": 200}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do = %v, want deadline exceeded", err)
	}
	// The late reply is discarded and the client keeps working.
	resp, err := c.Do(testCtx(t), command.Request{Command: "Echo"})
	if err != nil || !resp.OK {
		t.Fatalf("Do after timeout: %+v, %v", resp, err)
	}
}

func TestServeStops(t *testing.T) {
	h := start(t, 5)
	c := dialT(t, h.path)
	sub := dialRaw(t, h.path)
	sub.send(`{"command":"Subscribe"}` + "\n")
	var ack command.Response
	sub.recv(&ack)

	errc := make(chan error, 1)
	go func() {
		resp, err := c.Do(context.Background(), command.Request{Command: "Sleep", Args: command.Args{"ms": 60000}})
		if err == nil && resp.OK {
			err = errors.New("command completed")
		}
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	h.stop()
	select {
	case err := <-errc:
		// Either the cancelled command's reply got out before the
		// connection closed, or the connection closed first.
		if err != nil && !errors.Is(err, ErrClientClosed) {
			t.Errorf("Do after Serve stopped = %v, want ErrClientClosed or an error reply", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Do still waiting after Serve stopped")
	}
	// The connection is closed either way.
	if _, err := c.Do(testCtx(t), command.Request{Command: "Echo"}); !errors.Is(err, ErrClientClosed) {
		t.Errorf("Do on closed connection = %v, want ErrClientClosed", err)
	}
	if _, err := sub.r.ReadBytes('\n'); err == nil {
		t.Error("subscriber connection still open")
	}
	if _, err := Dial(testCtx(t), h.path); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial after stop = %v, want ErrNotRunning", err)
	}
}

func TestListen(t *testing.T) {
	t.Run("modes", func(t *testing.T) {
		path := socketPath(t)
		ln, err := Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
			t.Errorf("socket mode %v, want socket 0600", fi.Mode())
		}
		di, err := os.Stat(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if di.Mode().Perm() != 0o700 {
			t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
		}
	})
	t.Run("stale socket replaced", func(t *testing.T) {
		path := socketPath(t)
		os.MkdirAll(filepath.Dir(path), 0o700)
		old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		old.SetUnlinkOnClose(false)
		old.Close() // leaves the socket file behind, like a crashed daemon
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("stale socket missing: %v", err)
		}
		if _, err := Dial(testCtx(t), path); !errors.Is(err, ErrNotRunning) {
			t.Fatalf("Dial on stale socket = %v, want ErrNotRunning", err)
		}
		ln, err := Listen(path)
		if err != nil {
			t.Fatalf("Listen over stale socket: %v", err)
		}
		ln.Close()
	})
	t.Run("live socket refused", func(t *testing.T) {
		h := start(t, 5)
		if ln, err := Listen(h.path); !errors.Is(err, ErrAlreadyRunning) {
			if ln != nil {
				ln.Close()
			}
			t.Fatalf("second Listen = %v, want ErrAlreadyRunning", err)
		}
		// The running daemon is untouched.
		c := dialT(t, h.path)
		if resp, err := c.Do(testCtx(t), command.Request{Command: "Echo"}); err != nil || !resp.OK {
			t.Fatalf("daemon after refused Listen: %+v, %v", resp, err)
		}
	})
	t.Run("not a socket", func(t *testing.T) {
		path := socketPath(t)
		os.MkdirAll(filepath.Dir(path), 0o700)
		os.WriteFile(path, []byte("keep me"), 0o600)
		if ln, err := Listen(path); err == nil {
			ln.Close()
			t.Fatal("Listen replaced a regular file")
		}
		if data, _ := os.ReadFile(path); string(data) != "keep me" {
			t.Fatal("regular file changed")
		}
	})
}

func TestDialNotRunning(t *testing.T) {
	_, err := Dial(testCtx(t), socketPath(t))
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Dial = %v, want ErrNotRunning", err)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSubscribeAudited(t *testing.T) {
	path := socketPath(t)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	srv := &Server{Exec: &fakeExec{}, Commands: testCommands, Bus: events.NewBus(5), Audit: audit.New(&log)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	c := dialRaw(t, path)
	c.send(`{"id":"s","command":"Subscribe","args":{"since":0}}` + "\n")
	var resp command.Response
	c.recv(&resp)
	var line map[string]any
	if err := json.Unmarshal([]byte(log.String()), &line); err != nil {
		t.Fatalf("audit line %q: %v", log.String(), err)
	}
	if line["channel"] != Channel || line["command"] != "Subscribe" || line["outcome"] != "ok" {
		t.Errorf("audit line %v", line)
	}
}
